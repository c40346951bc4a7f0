"""Exceptions raised by amphys.

Every error names the argument or file at fault, what was expected, what came, and where possible a fix.
All derive from :class:`AmphysError`; input problems are also ``ValueError`` so generic handlers work.
"""

from __future__ import annotations

__all__ = [
    "AmphysError",
    "InputError",
    "UnknownNameError",
    "FileFormatError",
    "CheckpointError",
    "TrainingDiverged",
]


class AmphysError(Exception):
    """Base class of every error amphys raises on purpose."""


class InputError(AmphysError, ValueError):
    """An argument, parameter or data value is not valid."""


class UnknownNameError(InputError):
    """A name (system, metric, option value) is not one amphys knows; the message lists the valid ones."""


class FileFormatError(InputError):
    """A file is missing, unreadable, corrupt, or not in a format amphys reads."""


class CheckpointError(AmphysError):
    """A checkpoint or model file cannot be used (corrupt, truncated, foreign or from another config)."""


class TrainingDiverged(AmphysError):
    """Training produced a non-finite loss or an exploding gradient."""


def describe(value, limit: int = 60) -> str:
    """Short description of a value for error messages: ``repr`` cut to ``limit`` characters, plus its type."""
    text = " ".join(repr(value).split())  # one line: arrays and containers print over several
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({type(value).__name__})"


def unknown_name(kind: str, name, known) -> UnknownNameError:
    """Build the error for an unknown ``name`` of ``kind``, listing the ``known`` names and the closest match."""
    import difflib

    known = sorted(known)
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UnknownNameError(f"unknown {kind} {name!r}; known: {', '.join(known)}{hint}")
