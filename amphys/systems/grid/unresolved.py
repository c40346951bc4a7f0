"""The warning a numerical system gives when its grid, box or time step does not resolve the solution."""

from __future__ import annotations

import warnings

__all__ = ["UnresolvedWarning", "warn"]


class UnresolvedWarning(UserWarning):
    """A numerical system's grid, box or time step does not resolve the solution (results may be inaccurate)."""


def warn(message: str) -> None:
    warnings.warn(message, UnresolvedWarning, stacklevel=3)
