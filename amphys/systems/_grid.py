"""Regular grids for the numerical systems: cells, interpolation, sampling a grid density (SPEC §3.7).

A :class:`Grid` splits a box ``[lo, hi]`` (per axis) into ``shape`` equal cells of spacing
``h = (hi - lo)/shape``; grid values live at the cell centres ``x_j = lo + (j + ½) h``. A grid is
*periodic* (split-step Fourier) or *bounded* (finite volumes with walls at ``lo`` and ``hi``).

Two densities are attached to non-negative grid values ``q_j`` (:class:`GridDensity`):

- the piecewise-constant density (``q_j`` on cell ``j``), sampled by ``method="cells"``: inverse CDF over
  cells (probabilities = cell masses, ``searchsorted`` on a cumulative sum), then a uniform jitter inside
  the cell;
- the multilinear interpolant of the centre values (zero outside the hull of the centres on a bounded
  grid), sampled *exactly* by ``method="multilinear"``: pick a dual cell (between 2^d neighbouring centres)
  by its mass, a corner c with probability ∝ q_c, then on each axis u = √U towards that corner (density
  2u); a multilinear function on a cube is the mixture of these corner products. ``GridDensity.pdf`` is
  this interpolant, so the numerical systems' ``sample`` and ``log_density`` describe the same density.

Both are exact for their own density. Against a smooth density sampled at the centres, the multilinear one
errs by O(h²) pointwise, the piecewise-constant one by O(h) pointwise and O(h²) in the weak sense.

Interpolation (:func:`interpolate`) is multilinear: error ≤ (h²/8) max|∂²f| per axis, exact for
multilinear f. In time, :func:`time_bracket` and linear blending of two stored frames give an error
≤ (Δt²/8) max|∂²_t f|.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from amphys.errors import InputError, describe

__all__ = ["UnresolvedWarning", "Grid", "GridDensity", "make_grid", "interpolate", "time_bracket", "sample_mixture",
           "warn"]


class UnresolvedWarning(UserWarning):
    """A numerical system's grid, box or time step does not resolve the solution (results may be inaccurate)."""


def warn(message: str) -> None:
    warnings.warn(message, UnresolvedWarning, stacklevel=3)


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


# -- interpolation ---------------------------------------------------------------------------------------------
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


# -- densities on a grid ---------------------------------------------------------------------------------------
def _corner_mean(grid: Grid, q: np.ndarray) -> np.ndarray:
    """Mean of the 2^d corner values of every dual cell (between neighbouring centres)."""
    m = q
    for a in range(grid.dim):
        if grid.periodic:
            m = 0.5 * (m + np.roll(m, -1, axis=a))
        else:
            lo = [slice(None)] * grid.dim
            hi = [slice(None)] * grid.dim
            lo[a] = slice(0, -1)
            hi[a] = slice(1, None)
            m = 0.5 * (m[tuple(lo)] + m[tuple(hi)])
    return m


class GridDensity:
    """A probability density given by non-negative values ``q`` at the centres of ``grid`` (normalised here).

    ``pdf`` is the multilinear interpolant (integrates to 1); ``sample(n, rng, method)`` draws exactly from it
    (``"multilinear"``) or from the piecewise-constant cell density (``"cells"``, SPEC §3.7).
    """

    def __init__(self, grid: Grid, q):
        q = np.asarray(q, dtype=np.float64)
        if q.shape != grid.shape:
            raise InputError(f"density: expected grid values of shape {grid.shape}, got shape {q.shape}")
        if not np.all(np.isfinite(q)) or q.min() < 0:
            raise InputError("density: expected finite non-negative grid values, got "
                             f"min {np.nanmin(q):.3g} (or NaN/inf)")
        self.grid = grid
        self._dual = _corner_mean(grid, q)
        norm = self._dual.sum() * grid.cell_volume
        if not norm > 0:
            raise InputError("density: the grid values have zero total mass; nothing to sample")
        self.norm = float(norm)  # the values were divided by this
        self.q = q / norm  # the interpolant of these values integrates to 1
        self._dual = self._dual / norm
        self._cdf = {}

    def pdf(self, x) -> np.ndarray:
        """Multilinear interpolant at ``x`` ``(n, d)``; zero outside its domain."""
        return np.maximum(interpolate(self.grid, self.q, x), 0.0)

    def cell_masses(self) -> np.ndarray:
        """Probabilities of the cells under the piecewise-constant density (sum to 1)."""
        return self.q / self.q.sum()

    def _cumulative(self, method: str) -> np.ndarray:
        if method not in self._cdf:
            w = self.q if method == "cells" else self._dual
            c = np.cumsum(w.ravel())
            self._cdf[method] = c / c[-1]
        return self._cdf[method]

    def sample(self, n: int, rng: np.random.Generator, method: str = "multilinear") -> np.ndarray:
        """``n`` exact samples, shape ``(n, d)``, of the multilinear or the piecewise-constant density."""
        if method not in ("cells", "multilinear"):
            raise InputError(f"method: expected 'cells' or 'multilinear', got {describe(method)}")
        g = self.grid
        cdf = self._cumulative(method)
        idx = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), cdf.size - 1)
        if method == "cells":
            sub = np.stack(np.unravel_index(idx, g.shape), axis=1)
            return g.lo + g.h * (sub + rng.random((n, g.dim)))
        dual_shape = self._dual.shape
        sub = np.stack(np.unravel_index(idx, dual_shape), axis=1)
        # corner values of the chosen dual cells, corner index bit a (from the left) = upper neighbour on axis a
        corners = np.empty((n, 2 ** g.dim))
        for corner in range(2 ** g.dim):
            index = []
            for a in range(g.dim):
                j = sub[:, a] + ((corner >> (g.dim - 1 - a)) & 1)
                index.append(j % g.shape[a] if g.periodic else j)
            corners[:, corner] = self.q[tuple(index)]
        cum = np.cumsum(corners, axis=1)
        pick = (cum < rng.random(n)[:, None] * cum[:, -1:]).sum(axis=1)
        pick = np.minimum(pick, 2 ** g.dim - 1)
        x = np.empty((n, g.dim))
        root = np.sqrt(rng.random((n, g.dim)))
        for a in range(g.dim):
            upper = (pick >> (g.dim - 1 - a)) & 1
            u = np.where(upper == 1, root[:, a], 1.0 - root[:, a])
            x[:, a] = g.lo[a] + g.h[a] * (sub[:, a] + 0.5 + u)
        if g.periodic:
            x = g.lo + np.mod(x - g.lo, g.hi - g.lo)
        return x


def sample_mixture(parts, n: int, rng: np.random.Generator, method: str = "multilinear") -> np.ndarray:
    """Samples of ``Σ w_k p_k`` for ``parts = [(w_k, GridDensity_k)]`` (weights ≥ 0 summing to 1)."""
    weights = np.array([w for w, _ in parts], dtype=np.float64)
    counts = rng.multinomial(n, weights / weights.sum())
    draws = [p.sample(int(c), rng, method) for (_, p), c in zip(parts, counts, strict=True) if c > 0]
    x = np.concatenate(draws, axis=0) if draws else np.empty((0, parts[0][1].grid.dim))
    return x[rng.permutation(x.shape[0])]
