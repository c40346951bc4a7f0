"""Porous medium equation with general initial data on a grid, by conservative finite volumes.

PDE: ∂_tρ = Δ(ρ^m), m > 1, x ∈ R^d (d = 1, 2), ρ ≥ 0 with compact support (finite propagation speed).
Continuity form: ρv = −∇(ρ^m), so v = −∇P with pressure P = (m/(m−1)) ρ^{m−1}, a gradient (the AM
target), zero outside the support. q_t = ρ_t / M with the conserved mass M (docs/theory.md#porous-medium).

Scheme (docs/theory.md#porous-medium, "General initial data"): cells of size h hold ρ_i; face flux
F = −(ρ_{i+1}^m − ρ_i^m)/h, zero at the walls; explicit Euler with Δt = ``cfl``·Δt_max recomputed every
step, Δt_max = 1/(2m max ρ^{m−1} Σ_a h_a^{−2}) (= h²/(2dm max ρ^{m−1}) for equal spacing), which makes
the update monotone: ρ stays ≥ 0, obeys the maximum principle, and the mass is conserved to round-off
(the fluxes telescope). Error O(h²) + O(Δt) = O(h²) where ρ is smooth; near the front
ρ ~ (R − |x|)^{1/(m−1)}, so the L¹ order against Barenblatt is about 1.9 for m = 2 and 1.8 for m = 3
(tests/test_pme_grid.py). The box must hold the support for the whole run: density in the wall cells
raises an error.

Velocity on the grid: v = −∇_h P by central differences, one-sided next to the front, zero outside the
support; the flux ρv and ρ are interpolated multilinearly and divided. Errors in the front cells are O(1)
but carry O(h) of the mass. The scheme also spreads positive but negligible values a few cells beyond the
front (down to underflow); below ``density_threshold``·max ρ they count as outside the support for
``log_density``, ``sample`` and ``velocity``. The state between checkpoints is advanced from the previous
one with the same step rule (its last step is a linear interpolation between two steps of the scheme).

Initial data (``initial``): "bumps" (default; d = 2: Barenblatt bumps of masses .4, .35, .25 at
(−1, 0), (1, .4), (.2, −1.2), each at Barenblatt time .02, merging around t ≈ .3, benchmark PME-M of
docs/benchmarks.md;
d = 1: masses .6 and .4 at −1 and 1), "barenblatt" (unit mass at the origin at Barenblatt time 0.1, so
ρ(t) is the Barenblatt profile at time 0.1 + t), a callable ρ₀(x) on points ``(n, d)`` (point values at
the cell centres), or a non-negative array on the grid. ρ is not normalised (the dynamics depend on the
mass).

Default: d = 2, m = 2, the bumps, t ∈ [0, 1], 256² cells on [−4, 4]² (benchmark PME-M; L¹ error
about 1.6e-4 by the measured order), about 2000 steps, 3–4 s on one core; d = 1: 512 cells on [−4, 4].
Units: dimensionless.

Reference: J. L. Vázquez, The Porous Medium Equation (Oxford, 2007); G. I. Barenblatt (1952); R. E.
Pattle (1959).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY

import numpy as np
from scipy.special import gammaln

from amphys._checks import check_t_span, positive
from amphys.errors import InputError
from amphys.systems.barenblatt import porous_exponent
from amphys.systems.base import dimension, param
from amphys.systems.grid.initial import check_initial_values, describe_initial, initial_values
from amphys.systems.grid.mesh import make_grid
from amphys.systems.grid.system import GridSystem, SolveRecord, check_frames

__all__ = ["PorousMediumGrid", "barenblatt_profile"]

_INITIALS = ("bumps", "barenblatt")
_N_GRID = {1: 512, 2: 256}
#: raise when the wall cells hold more than this fraction of max ρ
WALL_TOL = 1e-12


def _cfl(value, name: str) -> float:
    cfl = positive(value, name)
    if cfl > 1:
        raise InputError(f"{name}: expected a fraction of the stability bound in (0, 1], got {cfl}; above 1 the "
                         "explicit scheme loses positivity")
    return cfl


def barenblatt_profile(x, tau: float, m: float, mass: float = 1.0, centre=None) -> np.ndarray:
    """Barenblatt–Pattle solution ρ(x, τ) = τ^{−α}(C − k|x − c|²τ^{−2β})_+^{1/(m−1)} of mass ``mass``, x ``(n, d)``.

    α = d/(d(m−1)+2), β = α/d, k = β(m−1)/(2m), C from the mass (docs/theory.md#porous-medium).
    """
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[1]
    alpha = d / (d * (m - 1) + 2)
    beta = alpha / d
    k = beta * (m - 1) / (2 * m)
    p = 1 / (m - 1)
    log_c = (np.log(mass) + 0.5 * d * np.log(k) + gammaln(p + 1 + d / 2) - 0.5 * d * np.log(np.pi)
             - gammaln(p + 1)) / (p + d / 2)
    c = np.exp(log_c)
    r2 = np.sum((x - (0.0 if centre is None else np.asarray(centre))) ** 2, axis=1)
    return tau**-alpha * np.maximum(c - k * r2 * tau ** (-2 * beta), 0.0) ** p


class PorousMediumGrid(GridSystem):
    """Finite-volume solution of ∂_tρ = Δ(ρ^m) in 1D/2D (see the module docstring).

    Parameters
    ----------
    dim : int
        Dimension d = 1 or 2.
    m : float
        Exponent m > 1.
    initial : str, callable or array
        "bumps" (Barenblatt bumps that merge), "barenblatt" (unit mass at Barenblatt time 0.1), ρ₀(x) on
        points ``(n, d)``, or a non-negative array on the grid. Not normalised: the dynamics depend on the mass.
    n_grid : int or sequence of int
        Cells per axis (default 512 in 1D, 256² in 2D).
    box : float, pair or (d, 2) array
        Box with walls: a half-width L for [−L, L]^d, (lo, hi) for every axis, or per axis (default [−4, 4]^d).
    t_span : (float, float)
        Time window; the initial data are at t_span[0].
    n_frames : int
        Number of checkpoints stored over t_span.
    cfl : float
        Time step as a fraction, in (0, 1], of the explicit stability bound (recomputed every step).
    density_threshold : float
        Cells with ρ below this fraction of max ρ count as outside the support (density and velocity 0).
    """

    name = "pme-grid"
    units_x = "1"
    units_t = "1"
    velocity_is_gradient = True

    dim: int = param(2, dimension(1, 2))
    m: float = param(2.0, porous_exponent)
    initial: str | Callable | np.ndarray = param("bumps", to_json=describe_initial)
    n_grid: int | Sequence[int] | None = None
    box: float | Sequence | None = None
    t_span: tuple[float, float] = param((0.0, 1.0), check_t_span)
    _: KW_ONLY
    n_frames: int = param(41, check_frames)
    cfl: float = param(0.9, _cfl)
    density_threshold: float = param(1e-10, positive)

    def _setup(self) -> None:
        self.grid = make_grid(self.dim, self.n_grid, self.box, default_n=_N_GRID[self.dim], default_half_width=4.0,
                              periodic=False)
        self.n_grid, self.box = self.grid.shape, self.grid.box.tolist()
        self._rho0 = self._initial()
        self.mass = float(self._rho0.sum() * self.grid.cell_volume)
        self.n_steps = 0

    def _initial(self) -> np.ndarray:
        name, rho = initial_values(self.initial, self.grid, _INITIALS)
        if name is None:
            return rho
        pts = self.grid.points()
        if name == "barenblatt":
            rho = barenblatt_profile(pts, 0.1, self.m)
        elif self.dim == 2:
            rho = sum(barenblatt_profile(pts, 0.02, self.m, mk, c) for mk, c in
                      [(0.4, (-1.0, 0.0)), (0.35, (1.0, 0.4)), (0.25, (0.2, -1.2))])
        else:
            rho = sum(barenblatt_profile(pts, 0.02, self.m, mk, (c,)) for mk, c in [(0.6, -1.0), (0.4, 1.0)])
        return check_initial_values(rho.reshape(self.grid.shape))

    # -- scheme -----------------------------------------------------------------------------------------------
    def max_step(self, rho: np.ndarray) -> float:
        """The explicit stability bound 1 / (2m max ρ^{m−1} Σ_a h_a^{−2})."""
        return 1.0 / (2 * self.m * float(rho.max()) ** (self.m - 1) * float(np.sum(self.grid.h**-2.0)))

    def step(self, rho: np.ndarray, dt: float) -> np.ndarray:
        """One explicit conservative step of size ``dt`` (a new array)."""
        P = rho * rho if self.m == 2 else np.power(rho, self.m)
        out = rho.copy()
        for a in range(self.dim):
            F = np.diff(P, axis=a)
            F *= dt / self.grid.h[a] ** 2  # = −(face flux)·dt/h, the mass moved into the lower cell
            lo = [slice(None)] * self.dim
            hi = [slice(None)] * self.dim
            lo[a] = slice(0, -1)
            hi[a] = slice(1, None)
            out[tuple(lo)] += F
            out[tuple(hi)] -= F
        return out

    def _run(self, rho: np.ndarray, t: float, t_end: float) -> np.ndarray:
        while t < t_end:
            dt = self.cfl * self.max_step(rho)
            if t + dt >= t_end - 1e-14 * max(1.0, abs(t_end)):
                dt = t_end - t
                t = t_end
            else:
                t += dt
            rho = self.step(rho, dt)
            self.n_steps += 1
        return rho

    def _solve(self) -> list:
        times = self.frame_times
        rho = self._rho0
        frames = [rho]
        self._check_wall(rho, times[0])
        for k in range(1, len(times)):
            rho = self._run(rho, float(times[k - 1]), float(times[k]))
            self._check_wall(rho, times[k])
            frames.append(rho)
        self._mass_drift = max(abs(f.sum() * self.grid.cell_volume - self.mass) for f in frames) / self.mass
        self.solve_steps = self.n_steps
        return frames

    mass_drift = SolveRecord("Largest relative change of the mass over the checkpoints (round-off).")

    def _check_wall(self, rho: np.ndarray, t: float) -> None:
        wall = self.grid.boundary_max(rho)
        if wall > WALL_TOL * rho.max():
            raise InputError(f"box: the density reaches the wall cells at t = {t:.4g} (ρ = {wall:.3g} there, "
                             f"max ρ = {rho.max():.3g}); the PME has finite speed of propagation and the box must "
                             "hold the support for all of t_span: enlarge box or shorten t_span")

    def _advance(self, state, t0, t1):
        return self._run(state, t0, t1)

    def pressure_velocity(self, rho: np.ndarray) -> np.ndarray:
        """v = −∇_h P, P = (m/(m−1))ρ^{m−1}, central inside the support, one-sided next to the front, 0 outside;
        shape ``grid.shape + (d,)``."""
        inside = rho > self.density_threshold * rho.max()
        P = np.where(inside, self.m / (self.m - 1) * np.power(rho, self.m - 1), 0.0)
        v = np.zeros(rho.shape + (self.dim,))
        for a in range(self.dim):
            h = self.grid.h[a]
            up = np.zeros_like(inside)
            down = np.zeros_like(inside)
            dP_up = np.zeros_like(P)
            dP_down = np.zeros_like(P)
            lo = [slice(None)] * self.dim
            hi = [slice(None)] * self.dim
            lo[a] = slice(0, -1)
            hi[a] = slice(1, None)
            lo, hi = tuple(lo), tuple(hi)
            diff = (P[hi] - P[lo]) / h
            up[lo] = inside[hi]
            dP_up[lo] = diff
            down[hi] = inside[lo]
            dP_down[hi] = diff
            grad = np.where(up & down, 0.5 * (dP_up + dP_down), np.where(up, dP_up, np.where(down, dP_down, 0.0)))
            v[..., a] = np.where(inside, -grad, 0.0)
        return v

    def _density(self, state):
        return state

    def _fields(self, state):
        # the explicit scheme spreads positive but negligible values (down to underflow) a few cells beyond the
        # front each step; below density_threshold·max ρ they count as outside the support (mass ≤ 1e-10·M)
        rho = np.where(state > self.density_threshold * state.max(), state, 0.0)
        return self.grid, rho, rho[..., None] * self.pressure_velocity(rho)
