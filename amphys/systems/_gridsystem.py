"""Shared machinery of the numerical systems (SPEC §3.2, §3.4, §3.6): lazy solve, checkpoints, fields.

A grid system solves its PDE once, on first use, and keeps the state at ``n_frames`` checkpoint times
evenly spaced over ``t_span``. The state at any other time ``t`` is obtained by advancing the nearest
earlier checkpoint with the system's own time stepper (a partial last step, or a linear blend of the two
bracketing steps, whichever keeps the scheme's order), so no time-interpolation error is added. The few
most recent times are cached.

From a state, a subclass gives the density values ``q ≥ 0`` at the centres of a grid and the probability
flux ``j = q v`` (on the same grid, or per axis on a staggered face grid). Then

- ``log_density(t, x)`` is the log of the multilinear interpolant of ``q`` (normalised to integrate to 1);
- ``sample(t, n, rng)`` draws exactly from that interpolant (:class:`amphys.systems._grid.GridDensity`);
- ``velocity(t, x) = j(x)/q(x)`` with ``j`` and ``q`` interpolated separately (PHYSICS.md §3), set to 0
  where ``q(x) < density_threshold · max q`` and outside the grid's domain. ``masked_mass_fraction``
  reports the largest probability mass, over the checkpoints, of the cells below that threshold.
"""

from __future__ import annotations

import abc
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from amphys.errors import InputError, describe
from amphys.systems._grid import Grid, GridDensity, interpolate
from amphys.systems.base import System, as_rng, check_count, check_points, check_time, positive

__all__ = ["GridSystem", "GridFields", "check_frames"]

_CACHE = 4


@dataclass(frozen=True)
class GridFields:
    """Normalised fields at one time: ``density`` (values ``density.q`` on ``grid``) and the flux ``j = q v``.

    ``flux`` is an array ``grid.shape + (d,)`` on the cell centres, or a list of ``d`` pairs ``(face_grid, J_a)``.
    """

    t: float
    grid: Grid
    density: GridDensity
    flux: object

    @property
    def q(self) -> np.ndarray:
        return self.density.q

    def flux_at(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(q(x), j(x))`` at points ``x`` ``(n, d)`` by multilinear interpolation."""
        if isinstance(self.flux, np.ndarray):
            both = interpolate(self.grid, np.concatenate([self.q[..., None], self.flux], axis=-1), x)
            return np.maximum(both[:, 0], 0.0), both[:, 1:]
        q = np.maximum(interpolate(self.grid, self.q, x), 0.0)
        j = np.stack([interpolate(g, f, x) for g, f in self.flux], axis=1)
        return q, j


def check_frames(n_frames) -> int:
    if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 2:
        raise InputError(f"n_frames: expected an integer ≥ 2 (checkpoints over t_span), got {describe(n_frames)}")
    return int(n_frames)


def frame_steps(t_span, n_frames: int, dt, default_dt: float) -> tuple[int, float]:
    """Steps per stored frame and the step used: the largest step ≤ ``dt`` (default ``default_dt``) that divides
    the frame spacing (t1 − t0)/(n_frames − 1) exactly, so every frame falls on a step."""
    length = t_span[1] - t_span[0]
    if dt is None:
        dt = default_dt
    else:
        dt = positive(dt, "dt")
        if dt > length:
            raise InputError(f"dt: expected a step ≤ the length of t_span ({length}), got {dt}")
    gap = length / (n_frames - 1)
    steps = int(np.ceil(gap / dt - 1e-9))
    return steps, gap / steps


class GridSystem(System):
    """Base of the grid systems. Subclasses set ``grid``, ``dim``, ``t_span``, ``n_frames``,
    ``density_threshold`` and implement ``_solve``, ``_advance`` and ``_fields``."""

    grid: Grid
    n_frames: int
    density_threshold: float = 1e-8
    sample_method: str = "multilinear"

    # -- to implement ---------------------------------------------------------------------------------------
    @abc.abstractmethod
    def _solve(self) -> list:
        """States at ``self.frame_times`` (called once)."""

    @abc.abstractmethod
    def _advance(self, state, t0: float, t1: float):
        """The state at ``t1 ≥ t0`` from ``state`` at ``t0`` (a checkpoint), with the system's own stepper."""

    @abc.abstractmethod
    def _fields(self, state) -> tuple[Grid, np.ndarray, object]:
        """``(grid, q, flux)`` of a state: the grid of the fields (``self.grid`` or a refinement), unnormalised
        density values and the flux in the form of :class:`GridFields`."""

    # -- machinery ------------------------------------------------------------------------------------------
    @property
    def frame_times(self) -> np.ndarray:
        """Checkpoint times, evenly spaced over ``t_span``."""
        return np.linspace(self.t_span[0], self.t_span[1], self.n_frames)

    @property
    def frames(self) -> list:
        """The solver's state at each of :attr:`frame_times` (solves on first use)."""
        if getattr(self, "_frames", None) is None:
            self._cache = OrderedDict()
            self._masked = None
            self._frames = self._solve()
        return self._frames

    @property
    def masked_mass_fraction(self) -> float:
        """Largest mass fraction, over the checkpoints, of the cells where the velocity is masked (set to 0)."""
        if getattr(self, "_masked", None) is None:
            self._masked = max(self._masked_fraction(self._density(s)) for s in self.frames)
        return self._masked

    def _density(self, state) -> np.ndarray:
        """Density values of a state (for diagnostics); subclasses may give a cheaper one than ``_fields``."""
        return self._fields(state)[1]

    def _masked_fraction(self, q: np.ndarray) -> float:
        total = q.sum()
        return float(q[q < self.density_threshold * q.max()].sum() / total) if total > 0 else 1.0

    def _check_t(self, t) -> float:
        t = check_time(t)
        t0, t1 = self.t_span
        tol = 1e-12 * (t1 - t0)
        if not t0 - tol <= t <= t1 + tol:
            raise InputError(f"t: expected a time in t_span [{t0}, {t1}] (the solution is computed there), got {t}")
        return min(max(t, t0), t1)

    def fields(self, t) -> GridFields:
        """Normalised density and flux on the grid at time ``t`` (cached for the last few times)."""
        t = self._check_t(t)
        frames = self.frames
        if t in self._cache:
            self._cache.move_to_end(t)
            return self._cache[t]
        times = self.frame_times
        k = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1))
        state = frames[k] if t == times[k] else self._advance(frames[k], float(times[k]), t)
        grid, q, flux = self._fields(state)
        density = GridDensity(grid, q)
        if isinstance(flux, np.ndarray):
            flux = flux / density.norm
        else:
            flux = [(g, f / density.norm) for g, f in flux]
        out = GridFields(t, grid, density, flux)
        self._cache[t] = out
        if len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        return out

    # -- protocol -------------------------------------------------------------------------------------------
    def sample(self, t, n, rng=None) -> np.ndarray:
        n = check_count(n)
        rng = as_rng(rng)
        return self.fields(t).density.sample(n, rng, self.sample_method)

    def log_density(self, t, x) -> np.ndarray:
        x = check_points(x, self.dim)
        p = self.fields(t).density.pdf(x)
        with np.errstate(divide="ignore"):
            return np.log(p)

    def velocity(self, t, x) -> np.ndarray:
        x = check_points(x, self.dim)
        f = self.fields(t)
        q, j = f.flux_at(x)
        keep = (q > 0) & (q >= self.density_threshold * f.q.max())
        v = np.zeros_like(j)
        v[keep] = j[keep] / q[keep, None]
        return v
