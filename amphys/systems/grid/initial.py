"""Initial data of the grid systems: a name from a system's set, a callable of the cell centres, or grid values.

One parser for the three grid systems. ``initial`` is

- a name from the system's documented set: the system builds those values itself (they may depend on other
  parameters, or be computed later, as the relaxed ground state of ``schrodinger-grid``);
- a callable ``f(x)`` of the cell centres ``x`` of shape ``(n, d)``, returning ``(n,)`` point values;
- an array of the grid's shape.

Values are checked once: a density (``pme-grid``, ``fp-grid``) must be finite and non-negative with positive mass,
a wavefunction (``schrodinger-grid``) finite and not identically zero. In :meth:`System.params` a callable is
stored by its name and an array as ``"array"`` (:func:`describe_initial`).
"""

from __future__ import annotations

import numpy as np

from amphys.errors import InputError, describe, unknown_name
from amphys.systems.grid.mesh import Grid

__all__ = ["initial_values", "check_initial_values", "describe_initial"]

#: per kind: (dtype, symbol of the initial data in messages, word for the array)
_KINDS = {"density": (np.float64, "q₀", "an array"), "wavefunction": (np.complex128, "ψ₀", "a complex array")}


def initial_values(initial, grid: Grid, names, *, kind: str = "density", what: str = "initial data"):
    """``(name, None)`` when ``initial`` is one of ``names``, else ``(None, values)`` with the values of a callable
    or an array on ``grid`` (shape ``grid.shape``, checked by :func:`check_initial_values`)."""
    dtype, symbol, array_word = _KINDS[kind]
    if isinstance(initial, str):
        if initial not in names:
            raise unknown_name(what, initial, names)
        return initial, None
    if callable(initial):
        try:
            values = np.asarray(initial(grid.points()), dtype=dtype)
        except (TypeError, ValueError) as exc:
            raise InputError(f"initial: calling it on the cell centres failed: {exc}") from exc
        if values.shape != (grid.size,):
            raise InputError(f"initial: expected {symbol}(x) of shape ({grid.size},), got shape {values.shape}")
        values = values.reshape(grid.shape)
    else:
        try:
            values = np.array(initial, dtype=dtype)
        except (TypeError, ValueError):
            raise InputError(f"initial: expected one of {list(names)}, a callable or {array_word} of shape "
                             f"{grid.shape}, got {describe(initial)}") from None
        if values.shape != grid.shape:
            raise InputError(f"initial: expected {array_word} of the grid's shape {grid.shape}, got shape "
                             f"{values.shape}")
    return None, check_initial_values(values, kind)


def check_initial_values(values: np.ndarray, kind: str = "density") -> np.ndarray:
    """``values`` if they are valid initial data of ``kind`` ("density" or "wavefunction")."""
    if kind == "wavefunction":
        if not np.all(np.isfinite(values)) or not np.any(values != 0):
            raise InputError("initial: expected finite values, not all zero")
    elif not np.all(np.isfinite(values)) or values.min() < 0 or not values.max() > 0:
        raise InputError("initial: expected finite, non-negative values with positive mass; got "
                         f"min {np.nanmin(values):.3g}, max {np.nanmax(values):.3g}")
    return values


def describe_initial(initial) -> str:
    """The name of the initial data in :meth:`System.params`: a name, a callable's name, or ``"array"``."""
    if isinstance(initial, str):
        return initial
    if callable(initial):
        return getattr(initial, "__name__", "callable")
    return "array"
