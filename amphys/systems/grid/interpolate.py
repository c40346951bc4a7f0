"""Multilinear interpolation of grid values in space, and bracketing of stored frames in time.

:func:`interpolate` errs by ≤ (h²/8) max|∂²f| per axis and is exact for multilinear f. In time,
:func:`time_bracket` and linear blending of two stored frames give an error ≤ (Δt²/8) max|∂²_t f|.
"""

from __future__ import annotations

import numpy as np

from amphys.errors import InputError
from amphys.systems.grid.mesh import Grid

__all__ = ["interpolate", "time_bracket"]


def _locate(grid: Grid, x: np.ndarray):
    """Lower corner index ``(n, d)``, fractions ``(n, d)`` and the mask of points where the interpolant lives."""
    s = (x - grid.lo) / grid.h - 0.5
    n = np.asarray(grid.shape)
    if grid.periodic:
        inside = np.all((x >= grid.lo) & (x <= grid.hi), axis=1)
        i0 = np.floor(s)
        frac = s - i0
        i0 = np.mod(i0.astype(np.int64), n)
    else:
        eps = 1e-9  # round-off in (x - lo)/h at the outer centres
        inside = np.all((s >= -eps) & (s <= n - 1 + eps), axis=1)
        i0 = np.clip(np.floor(s), 0, n - 2).astype(np.int64)
        frac = np.clip(s - i0, 0.0, 1.0)
    return i0, frac, inside


def interpolate(grid: Grid, field, x, *, fill: float = 0.0) -> np.ndarray:
    """Multilinear interpolation of centre values ``field`` (``grid.shape`` or ``grid.shape + (c,)``) at ``x``.

    Returns ``(n,)`` or ``(n, c)``. On a bounded grid the interpolant lives on the hull of the centres and is
    ``fill`` outside; on a periodic grid it wraps around and is ``fill`` outside the box. Error ≤ (h²/8)·max|∂²f|
    per axis; exact for multilinear ``f``.
    """
    field = np.asarray(field)
    x = np.asarray(x, dtype=np.float64).reshape(-1, grid.dim)
    extra = field.shape[grid.dim:]
    flat = field.reshape(grid.size, -1)
    i0, frac, inside = _locate(grid, x)
    n = np.asarray(grid.shape)
    strides = np.cumprod((list(grid.shape[1:]) + [1])[::-1])[::-1]
    out = np.zeros((x.shape[0], flat.shape[1]), dtype=np.result_type(flat.dtype, np.float64))
    for corner in range(2 ** grid.dim):
        bits = [(corner >> (grid.dim - 1 - a)) & 1 for a in range(grid.dim)]
        w = np.ones(x.shape[0])
        lin = np.zeros(x.shape[0], dtype=np.int64)
        for a, b in enumerate(bits):
            idx = i0[:, a] + b
            if grid.periodic:
                idx = np.where(idx >= n[a], idx - n[a], idx)
            w = w * (frac[:, a] if b else 1.0 - frac[:, a])
            lin += idx * strides[a]
        out += w[:, None] * flat[lin]
    out[~inside] = fill
    return out.reshape((x.shape[0],) + extra)


def time_bracket(times, t: float) -> tuple[int, float]:
    """``(k, θ)`` with ``t = (1-θ) times[k] + θ times[k+1]``; linear blending then errs by ≤ (Δt²/8)·max|f''|."""
    times = np.asarray(times, dtype=np.float64)
    span = times[-1] - times[0]
    if not times[0] - 1e-12 * span <= t <= times[-1] + 1e-12 * span:
        raise InputError(f"t: expected a time in [{times[0]}, {times[-1]}], got {t}")
    k = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2))
    theta = float(np.clip((t - times[k]) / (times[k + 1] - times[k]), 0.0, 1.0))
    return k, theta


