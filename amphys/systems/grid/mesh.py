"""A regular cell-centred grid on a box, and its construction from user arguments (``n_grid``, ``box``).

A :class:`Grid` splits a box ``[lo, hi]`` (per axis) into ``shape`` equal cells of spacing
``h = (hi - lo)/shape``; grid values live at the cell centres ``x_j = lo + (j + ½) h``. A grid is
*periodic* (split-step Fourier) or *bounded* (finite volumes with walls at ``lo`` and ``hi``).
"""

from __future__ import annotations

import numbers

import numpy as np

from amphys.errors import InputError, describe

__all__ = ["Grid", "make_grid"]


class Grid:
    """A regular cell-centred grid on a box.

    Parameters
    ----------
    box : array ``(d, 2)`` of ``[lo, hi]`` per axis.
    shape : tuple of ``d`` cell counts (each ≥ 2).
    periodic : the grid wraps around (values at ``lo`` and ``hi`` coincide).
    """

    def __init__(self, box, shape, *, periodic: bool = False):
        box = np.asarray(box, dtype=np.float64).reshape(-1, 2)
        self.lo = box[:, 0].copy()
        self.hi = box[:, 1].copy()
        self.shape = tuple(int(n) for n in shape)
        if len(self.shape) != len(self.lo) or min(self.shape) < 2 or np.any(self.hi <= self.lo):
            raise InputError(f"grid: expected hi > lo and ≥ 2 cells per axis, got box {box.tolist()}, "
                             f"shape {self.shape}")
        self.h = (self.hi - self.lo) / np.asarray(self.shape)
        self.periodic = bool(periodic)

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def cell_volume(self) -> float:
        return float(np.prod(self.h))

    @property
    def box(self) -> np.ndarray:
        return np.stack([self.lo, self.hi], axis=1)

    def axes(self) -> list[np.ndarray]:
        """Cell-centre coordinates along each axis."""
        return [self.lo[a] + (np.arange(n) + 0.5) * self.h[a] for a, n in enumerate(self.shape)]

    def mesh(self) -> list[np.ndarray]:
        """Centre coordinates as ``d`` arrays of ``shape`` (``ij`` indexing)."""
        return np.meshgrid(*self.axes(), indexing="ij")

    def points(self) -> np.ndarray:
        """All cell centres, shape ``(size, d)`` in C order."""
        return np.stack([m.ravel() for m in self.mesh()], axis=1)

    def wavenumbers(self) -> list[np.ndarray]:
        """Angular wavenumbers ``2π fftfreq(n, h)`` per axis (for spectral methods on a periodic grid)."""
        return [2 * np.pi * np.fft.fftfreq(n, self.h[a]) for a, n in enumerate(self.shape)]

    def staggered(self, axis: int) -> Grid:
        """The bounded grid of the faces normal to ``axis`` (walls included): ``shape[axis] + 1`` nodes there."""
        box = self.box.copy()
        box[axis] += [-0.5 * self.h[axis], 0.5 * self.h[axis]]
        shape = list(self.shape)
        shape[axis] += 1
        return Grid(box, shape, periodic=False)

    def boundary_max(self, values) -> float:
        """Largest ``|values|`` over the cells touching the box's faces (wall or wrap-around seam)."""
        values = np.abs(np.asarray(values))
        out = 0.0
        for a in range(self.dim):
            out = max(out, float(values.take(0, axis=a).max()), float(values.take(-1, axis=a).max()))
        return out

    def __repr__(self) -> str:
        kind = "periodic" if self.periodic else "bounded"
        return f"Grid(box={self.box.tolist()}, shape={self.shape}, {kind})"


def make_grid(dim: int, n_grid, box, *, default_n: int, default_half_width, periodic: bool,
              min_n: int = 8) -> Grid:
    """A :class:`Grid` from user arguments.

    ``n_grid``: None (``default_n``), an int, or one int per axis (each ≥ ``min_n``). ``box``: None
    (``[-w, w]`` per axis with ``default_half_width`` w, a scalar or one per axis), a half-width L (``[-L, L]^d``),
    a pair ``(lo, hi)`` for every axis, or a ``(d, 2)`` array.
    """
    n = default_n if n_grid is None else n_grid
    if isinstance(n, numbers.Integral) and not isinstance(n, bool):
        shape = (int(n),) * dim
    else:
        try:
            shape = tuple(int(v) for v in n)
            ok = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in n)
        except TypeError:
            ok = False
        if not ok or len(shape) != dim:
            raise InputError(f"n_grid: expected an integer or {dim} integers (cells per axis), got {describe(n)}")
    if min(shape) < min_n:
        raise InputError(f"n_grid: expected at least {min_n} cells per axis, got {shape}; use a finer grid")
    if box is None:
        w = np.broadcast_to(np.asarray(default_half_width, dtype=np.float64), (dim,))
        arr = np.stack([-w, w], axis=1)
    else:
        try:
            arr = np.asarray(box, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"box: expected a half-width, a pair (lo, hi) or a ({dim}, 2) array, "
                             f"got {describe(box)}") from None
        if arr.ndim == 0:
            arr = np.tile([-float(arr), float(arr)], (dim, 1))
        elif arr.shape == (2,):
            arr = np.tile(arr, (dim, 1))
        if arr.shape != (dim, 2):
            raise InputError(f"box: expected a half-width, a pair (lo, hi) or a ({dim}, 2) array, "
                             f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr[:, 1] <= arr[:, 0]):
        raise InputError(f"box: expected finite lo < hi on every axis, got {arr.tolist()}")
    return Grid(arr, shape, periodic=periodic)
