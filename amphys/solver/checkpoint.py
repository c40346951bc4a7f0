"""Atomic torch files and safe loading (``weights_only=True``) for checkpoints and saved models."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from amphys.errors import CheckpointError, InputError

__all__ = ["CHECKPOINT_FORMAT", "atomic_torch_save", "load_checkpoint"]

CHECKPOINT_FORMAT = "amphys-checkpoint/1"


def atomic_torch_save(obj, path) -> Path:
    """``torch.save`` to a temporary file next to ``path``, then ``os.replace`` (never a half-written file)."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"output {str(path)!r}: directory {str(directory)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path) -> dict:
    """``torch.load(weights_only=True)`` of an amphys file; :class:`CheckpointError` if it is missing, corrupt or
    foreign (no ``format`` entry)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{str(path)!r}: file not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise CheckpointError(f"{str(path)!r}: not a readable amphys model or checkpoint "
                              f"({type(exc).__name__}: {first})") from None
    if not isinstance(state, dict) or "format" not in state:
        raise CheckpointError(f"{str(path)!r}: not an amphys model or checkpoint (no 'format' entry)")
    return state
