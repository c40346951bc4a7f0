"""Shared machinery of the numerical systems (pme-grid, fp-grid, schrodinger-grid): lazy solve, checkpoints, fields.

A grid system solves its PDE once, on first use, and keeps the state at ``n_frames`` checkpoint times
evenly spaced over ``t_span``. The state at any other time ``t`` is obtained by advancing the nearest
earlier checkpoint with the system's own time stepper (a partial last step, or a linear blend of the two
bracketing steps, whichever keeps the scheme's order), so no time-interpolation error is added. The few
most recent times are cached.

From a state, a subclass gives the density values ``q ≥ 0`` at the centres of a grid and the probability
flux ``j = q v`` (on the same grid, or per axis on a staggered face grid). Then

- ``log_density(t, x)`` is the log of the multilinear interpolant of ``q`` (normalised to integrate to 1);
- ``sample(t, n, rng)`` draws exactly from that interpolant (:class:`amphys.systems.grid.density.GridDensity`);
- ``velocity(t, x) = j(x)/q(x)`` with ``j`` and ``q`` interpolated separately (docs/theory.md#schrodinger), set
  to 0 where ``q(x) < density_threshold · max q`` and outside the grid's domain. ``masked_mass_fraction``
  reports the largest probability mass, over the checkpoints, of the cells below that threshold.
"""

from __future__ import annotations

import abc
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from amphys._checks import check_int, positive
from amphys.errors import InputError
from amphys.systems.base import System
from amphys.systems.grid.density import GridDensity
from amphys.systems.grid.interpolate import interpolate
from amphys.systems.grid.mesh import Grid

__all__ = ["GridSystem", "GridFields", "SolveRecord", "check_frames", "frame_steps"]

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


def check_frames(n_frames, name: str = "n_frames") -> int:
    """A number of checkpoints over t_span: an integer ≥ 2."""
    return check_int(n_frames, name, low=2)


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


class SolveRecord:
    """A read-only number that the solve stores as ``self._<name>``, read after solving (first use solves):
    ``mass_drift = SolveRecord("Largest |mass − 1| over the checkpoints.")`` in a grid system's class body."""

    def __init__(self, doc: str):
        self.__doc__ = doc

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        _ = obj.frames
        return getattr(obj, f"_{self.name}")

    def __set__(self, obj, value):
        raise AttributeError(f"{self.name}: read-only, recorded by the solve")


class GridSystem(System):
    """Abstract base of the grid systems. A final grid system declares ``dim``, ``t_span``, ``n_frames`` and
    ``density_threshold`` among its parameters, sets ``self.grid`` in ``_setup`` and writes ``_solve``,
    ``_advance`` and ``_fields``; sampling, density and velocity follow (module docstring). Times outside
    ``t_span`` are refused: the solution is computed there only."""

    #: how :meth:`sample` draws from the grid density (see :class:`~amphys.systems.grid.density.GridDensity`)
    sample_method = "multilinear"

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

    def _check_time(self, t, name: str = "t") -> float:
        t = super()._check_time(t, name)
        t0, t1 = self.t_span
        tol = 1e-12 * (t1 - t0)
        if not t0 - tol <= t <= t1 + tol:
            raise InputError(f"{name}: expected a time in t_span [{t0}, {t1}] (the solution is computed there), "
                             f"got {t}")
        return min(max(t, t0), t1)

    def _state_at(self, t: float):
        """The solver's state at a checked time ``t``: a checkpoint, or one advanced from the one before."""
        times = self.frame_times
        k = int(np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1))
        return self.frames[k] if t == times[k] else self._advance(self.frames[k], float(times[k]), t)

    def fields(self, t) -> GridFields:
        """Normalised density and flux on the grid at time ``t`` (cached for the last few times)."""
        return self._fields_at(self._check_time(t))

    def _fields_at(self, t: float) -> GridFields:
        _ = self.frames
        if t in self._cache:
            self._cache.move_to_end(t)
            return self._cache[t]
        grid, q, flux = self._fields(self._state_at(t))
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
    def _sample(self, t, n, rng) -> np.ndarray:
        return self._fields_at(t).density.sample(n, rng, self.sample_method)

    def _log_density(self, t, x) -> np.ndarray:
        p = self._fields_at(t).density.pdf(x)
        with np.errstate(divide="ignore"):
            return np.log(p)

    def _velocity(self, t, x) -> np.ndarray:
        f = self._fields_at(t)
        q, j = f.flux_at(x)
        keep = (q > 0) & (q >= self.density_threshold * f.q.max())
        v = np.zeros_like(j)
        v[keep] = j[keep] / q[keep, None]
        return v
