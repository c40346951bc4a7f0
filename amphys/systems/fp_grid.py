"""Fokker–Planck equation of overdamped Langevin dynamics in a general potential, on a grid.

SDE: dX = −∇V(X) dt + √(2D) dW with a scalar diffusion D > 0, d = 1, 2. Fokker–Planck:
∂_t q = ∇·(q∇V + D∇q) = −∇·(q v) with the probability-flow velocity v = −∇V − D∇log q, a gradient
(of −V − D log q), hence the AM target (docs/theory.md#fokker-planck). Stationary state q_∞ ∝ exp(−V/D).

Scheme (docs/theory.md#fokker-planck, "Non-Gaussian potential"): finite volumes on a bounded box with zero-flux
walls and Scharfetter–Gummel face fluxes J_{i+½} = (D/h)[B(w) q_i − B(−w) q_{i+1}], w = (V_{i+1} − V_i)/D,
B(w) = w/(e^w − 1), on every axis; implicit Euler in time, (I + Δt A) q^{n+1} = q^n, with the sparse
matrix factorised once (scipy.sparse.linalg.splu). I + ΔtA is an M-matrix with unit column sums, so the
scheme is positive and conserves mass for every Δt, and its discrete equilibrium is exactly exp(−V_i/D).
Error O(h²) in space and O(Δt) in time (observed orders 1.99 and 0.97, tests/test_fp_grid.py).

Velocity: on each face v = J/q̄ (q̄ the mean of the two cells; in 1D, where v is unique, exactly J/q at
the faces); at any point the face fluxes (multilinear on the staggered face grids) and q (multilinear on
the centres) are interpolated separately and divided; v is 0 where q < ``density_threshold``·max q.
Between checkpoints the state is advanced with the same steps and blended linearly between the two
bracketing steps (error O(Δt²), below the scheme's O(Δt)).

Potentials: "double-well" (V = (x₁² − 1)² + ½Σ_{i≥2}x_i², default), "harmonic" (½|x|², the OU process
dX = −X dt + √(2D) dW), or a callable V(x) on points ``(n, d)``. Initial data: "gaussian"
N(x0, sigma0² I) (default N(0, 0.2²), benchmark OU-W of docs/benchmarks.md: the density splits into the two
wells), a
callable q₀(x) on points ``(n, d)``, or a non-negative array on the grid (normalised here).

Default: d = 1, D = 0.25, t ∈ [0, 1]; 1D: 400 cells on [−2.5, 2.5], Δt = 1e-4 (under a second; error
against a fine reference 4e-4 in q and 5e-4 in v); 2D: 128² cells on [−2.5, 2.5] × [−3, 3], Δt = 5e-4
(a few seconds; errors about 3e-3). Units: dimensionless.

Reference: D. L. Scharfetter, H. K. Gummel, IEEE Trans. Electron Devices 16, 64 (1969); H. Risken, The
Fokker–Planck Equation (Springer, 1989).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from amphys._checks import as_vector, check_t_span, positive
from amphys.errors import InputError, describe
from amphys.systems.base import dimension, param
from amphys.systems.grid.initial import check_initial_values, describe_initial, initial_values
from amphys.systems.grid.mesh import make_grid
from amphys.systems.grid.potentials import potential_on, resolve_potential
from amphys.systems.grid.system import GridSystem, SolveRecord, check_frames, frame_steps
from amphys.systems.grid.unresolved import warn

__all__ = ["FokkerPlanckGrid", "bernoulli"]

_POTENTIALS = ("double-well", "harmonic")
_INITIALS = ("gaussian",)
_N_GRID = {1: 400, 2: 128}
_WIDTH = {1: (2.5,), 2: (2.5, 3.0)}
_DT = {1: 1e-4, 2: 5e-4}
#: warn when q on the wall cells exceeds this fraction of max q (the box, not the potential, confines)
EDGE_TOL = 1e-8
#: warn when Δt · max|ΔV| over the initial density (its fastest compression rate) exceeds this
RATE_TOL = 0.5


def _diffusion(value, name: str) -> float:
    try:
        return positive(value, name)
    except InputError:
        raise InputError(f"{name}: expected a positive scalar D (isotropic noise √(2D) dW), got "
                         f"{describe(value)}") from None


def bernoulli(w: np.ndarray) -> np.ndarray:
    """B(w) = w/(e^w − 1), with B(0) = 1 (stable for all w)."""
    w = np.asarray(w, dtype=np.float64)
    small = np.abs(w) < 1e-6
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        out = w / np.expm1(w)
    out = np.where(small, 1.0 - 0.5 * w, out)
    return np.where(np.isfinite(out), out, 0.0)


class FokkerPlanckGrid(GridSystem):
    """Scharfetter–Gummel finite-volume solution of the Fokker–Planck equation (see the module docstring).

    Parameters
    ----------
    dim : int
        Dimension d = 1 or 2.
    potential : str or callable
        "double-well" (V = (x₁² − 1)² + ½Σ_{i≥2}x_i²), "harmonic" (½|x|²), or V(x) on points ``(n, d)``.
    diffusion : float
        Scalar diffusion D > 0 (noise √(2D) dW; isotropic, so the velocity is a gradient).
    initial : str, callable or array
        "gaussian" (N(x0, sigma0² I)), q₀(x) on points ``(n, d)``, or a non-negative array on the grid.
        Normalised here.
    n_grid : int or sequence of int
        Cells per axis (default 400 in 1D, 128² in 2D).
    box : float, pair or (d, 2) array
        Box with zero-flux walls: a half-width L, (lo, hi) for every axis, or per axis (default [−2.5, 2.5]
        in 1D, [−2.5, 2.5] × [−3, 3] in 2D).
    t_span : (float, float)
        Time window; the initial density is at t_span[0].
    x0 : float or sequence
        Mean of the "gaussian" initial density.
    sigma0 : float
        Standard deviation of the "gaussian" initial density.
    dt : float
        Implicit Euler step, reduced to divide the checkpoint spacing (default 1e-4 in 1D, 5e-4 in 2D).
    n_frames : int
        Number of checkpoints stored over t_span.
    density_threshold : float
        The velocity is set to 0 where q < density_threshold·max q.
    """

    name = "fp-grid"
    units_x = "1"
    units_t = "1"
    velocity_is_gradient = True

    dim: int = param(1, dimension(1, 2))
    potential: str | Callable = "double-well"
    diffusion: float = param(0.25, _diffusion)
    initial: str | Callable | np.ndarray = param("gaussian", to_json=describe_initial)
    n_grid: int | Sequence[int] | None = None
    box: float | Sequence | None = None
    t_span: tuple[float, float] = param((0.0, 1.0), check_t_span)
    _: KW_ONLY
    x0: float | Sequence[float] = 0.0
    sigma0: float = param(0.2, positive)
    dt: float | None = None
    n_frames: int = param(41, check_frames)
    density_threshold: float = param(1e-12, positive)

    def _setup(self) -> None:
        _, self._V = resolve_potential(self.potential, _POTENTIALS)
        self.grid = make_grid(self.dim, self.n_grid, self.box, default_n=_N_GRID[self.dim],
                              default_half_width=_WIDTH[self.dim], periodic=False)
        self.n_grid, self.box = self.grid.shape, self.grid.box.tolist()
        self.x0 = as_vector(self.x0, self.dim, "x0")
        #: the step used: the largest ≤ ``dt`` that divides the checkpoint spacing
        self.steps_per_frame, self.dt = frame_steps(self.t_span, self.n_frames, self.dt, _DT[self.dim])
        self.V = potential_on(self._V, self.grid.points(), self.grid.shape)
        self._q0 = self._initial()
        self._coef = self._face_coefficients()
        self._check_rate()

    def _initial(self) -> np.ndarray:
        name, q = initial_values(self.initial, self.grid, _INITIALS)
        if name == "gaussian":
            pts = self.grid.points()
            q = np.exp(-0.5 * np.sum((pts - self.x0) ** 2, axis=1) / self.sigma0**2).reshape(self.grid.shape)
            q = check_initial_values(q)
        return q / (q.sum() * self.grid.cell_volume)

    def _check_rate(self) -> None:
        lap = np.zeros(self.grid.shape)
        for a in range(self.dim):
            lap += np.gradient(np.gradient(self.V, self.grid.h[a], axis=a), self.grid.h[a], axis=a)
        rate = float(np.abs(lap[self._q0 > 1e-6 * self._q0.max()]).max())
        if self.dt * rate > RATE_TOL:
            warn(f"fp-grid: dt = {self.dt:.3g} is large against the compression rate max|ΔV| = {rate:.3g} on the "
                 f"initial density (dt·rate = {self.dt * rate:.2f} > {RATE_TOL}); implicit Euler stays positive "
                 "but its O(dt) error may be large: reduce dt")

    # -- scheme -----------------------------------------------------------------------------------------------
    def _face_coefficients(self):
        """Per axis: (a, b) on the interior faces, J_face/h = a q_lo − b q_hi."""
        out = []
        D = self.diffusion
        for a in range(self.dim):
            lo = [slice(None)] * self.dim
            hi = [slice(None)] * self.dim
            lo[a] = slice(0, -1)
            hi[a] = slice(1, None)
            w = (self.V[tuple(hi)] - self.V[tuple(lo)]) / D
            scale = D / self.grid.h[a] ** 2
            out.append((scale * bernoulli(w), scale * bernoulli(-w), tuple(lo), tuple(hi)))
        return out

    def operator(self) -> sp.csc_matrix:
        """The matrix A of dq/dt = −A q (zero column sums: mass is conserved)."""
        idx = np.arange(self.grid.size).reshape(self.grid.shape)
        rows, cols, vals = [], [], []
        for a_c, b_c, lo, hi in self._coef:
            i, j = idx[lo].ravel(), idx[hi].ravel()
            a_c, b_c = a_c.ravel(), b_c.ravel()
            rows += [i, i, j, j]
            cols += [i, j, i, j]
            vals += [a_c, -b_c, -a_c, b_c]
        n = self.grid.size
        return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))

    def _lu(self):
        if getattr(self, "_lu_cache", None) is None:
            n = self.grid.size
            self._lu_cache = splu((sp.identity(n, format="csc") + self.dt * self.operator()).tocsc(),
                                 permc_spec="MMD_AT_PLUS_A")
        return self._lu_cache

    def run(self, q: np.ndarray, n_steps: int) -> np.ndarray:
        """``n_steps`` implicit Euler steps of size ``dt`` from grid values ``q``."""
        lu = self._lu()
        flat = q.ravel().copy()
        for _ in range(n_steps):
            flat = lu.solve(flat)
        return flat.reshape(self.grid.shape)

    def _solve(self) -> list:
        q = self._q0
        frames = [q]
        for _ in range(self.n_frames - 1):
            q = self.run(q, self.steps_per_frame)
            frames.append(q)
        self._mass_drift = max(abs(f.sum() * self.grid.cell_volume - 1.0) for f in frames)
        self._edge_ratio = max(self.grid.boundary_max(f) / f.max() for f in frames)
        if self._edge_ratio > EDGE_TOL:
            warn(f"fp-grid: q on the wall cells reaches {self._edge_ratio:.2g} of its maximum (> {EDGE_TOL:g}): "
                 "the walls, not the potential, confine the density; enlarge box")
        return frames

    mass_drift = SolveRecord("Largest |mass − 1| over the checkpoints (round-off of the sparse solves).")
    edge_ratio = SolveRecord("Largest q on the wall cells relative to max q, over the checkpoints.")

    def _advance(self, state, t0, t1):
        n = int(np.floor((t1 - t0) / self.dt + 1e-9))
        theta = (t1 - t0) / self.dt - n
        q = self.run(state, n)
        if theta > 1e-9:
            q = (1 - theta) * q + theta * self.run(q, 1)
        return q

    def face_flux(self, q: np.ndarray) -> list[np.ndarray]:
        """J_a on the faces normal to each axis (walls included, where J = 0): arrays of ``staggered`` shape."""
        out = []
        for a, (a_c, b_c, lo, hi) in enumerate(self._coef):
            shape = list(self.grid.shape)
            shape[a] += 1
            J = np.zeros(shape)
            inner = [slice(None)] * self.dim
            inner[a] = slice(1, -1)
            J[tuple(inner)] = self.grid.h[a] * (a_c * q[lo] - b_c * q[hi])
            out.append(J)
        return out

    def _fields(self, state):
        return self.grid, state, [(self.grid.staggered(a), J) for a, J in enumerate(self.face_flux(state))]
