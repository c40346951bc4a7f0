"""A probability density given by values on a grid, and its exact samplers (docs/theory.md#sampling-a-grid-density).

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
"""

from __future__ import annotations

import numpy as np

from amphys.errors import InputError, describe
from amphys.systems.grid.interpolate import interpolate
from amphys.systems.grid.mesh import Grid

__all__ = ["GridDensity", "sample_mixture"]


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
    (``"multilinear"``) or from the piecewise-constant cell density (``"cells"``,
    docs/theory.md#sampling-a-grid-density).
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
