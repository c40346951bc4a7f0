"""Schrödinger equation on a periodic grid by split-step Fourier (docs/theory.md#schrodinger).

PDE: iħ∂_tψ = −(ħ²/2m)Δψ + V(x)ψ in d = 1, 2, 3 on a periodic box (the box must hold the state: |ψ|
small on its faces, else the state wraps around). q_t = |ψ|², continuity ∂_t q + ∇·j = 0 with
j = (ħ/m) Im(ψ̄∇ψ); Bohmian velocity v = j/q = (ħ/m)∇arg ψ.

Scheme: Strang splitting (:class:`amphys.systems.schrodinger.splitstep.SplitStep`): unitary, norm conserved to
round-off, global error O(Δt²), spectral in space. For the fields, ψ and ∇ψ are evaluated spectrally
(trigonometric interpolation, exact for a band-limited ψ) on a grid ``refine`` times finer; q and j there
are interpolated multilinearly to any point (error O((h/refine)²)) and divided; v is set to 0 where
q < ``density_threshold``·max q (the mass there is :attr:`masked_mass_fraction`). The state between
checkpoints is propagated from the previous one (whole steps and a partial Strang step): the scheme's
O(Δt²) error and no time-interpolation error. ``sample`` draws exactly from the multilinear interpolant
of |ψ|² on the refined grid.

Units: those of ħ and m (atomic units with the defaults ħ = m = 1).

Potentials (``potential``): "double-well" (V = (x₁² − 1)² + ½Σ_{i≥2}x_i², default), "harmonic" (½|x|²),
"free", "softened-coulomb" (−1/√(|x|² + 1)), or a callable V(x) on points ``(n, d)``.
Initial states (``initial``): "packet" (default), ψ₀ = Π_a (2πσ₀²)^{−¼} exp(−(x_a − x0_a)²/4σ₀² +
i p0_a x_a/ħ); "ground", imaginary-time relaxation from the packet with p0 = 0 (a stationary state);
a callable ψ₀(x) on points ``(n, d)``; or a complex array on the grid. ψ₀ is normalised here.

Default: a packet from x0 = (−1, ½) with momentum p0 = (1, 0), σ₀ = ½, in the 2D double well: it runs
over the barrier and back while breathing and sloshing in y; t ∈ [0, 4], 128² cells on
[−4.5, 4.5] × [−8, 8], Δt = 2.5e-3 (1600 steps, 1–2 s on one core), fields on the 4× refined grid.
Against a 256², Δt = 1e-3 reference: q off by 2e-4 and v by 5e-4–4e-3 (relative, over samples of q).
In a separable potential a product state stays a product, hence vortex-free.

``velocity_is_gradient``: always True in 1D (v is unique). In 2D/3D it is True only when no checkpoint
shows a vortex, a grid plaquette with all corners above the density threshold around which the phase winds
(:attr:`vortex_counts`); vortices born and gone between checkpoints are not seen. Where it is False, the AM
target is the gradient projection (``amphys.diagnostics.project_gradient``), not ``velocity``.

Reference: M. D. Feit, J. A. Fleck, A. Steiger, J. Comput. Phys. 47, 412 (1982); G. Strang, SIAM J.
Numer. Anal. 5, 506 (1968).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY
from functools import partial

import numpy as np

from amphys._checks import as_vector, check_int, check_t_span, positive
from amphys.errors import InputError
from amphys.systems.base import dimension, param
from amphys.systems.grid.initial import describe_initial, initial_values
from amphys.systems.grid.mesh import make_grid
from amphys.systems.grid.potentials import potential_on, resolve_potential
from amphys.systems.grid.system import GridSystem, SolveRecord, check_frames, frame_steps
from amphys.systems.grid.unresolved import warn
from amphys.systems.schrodinger.splitstep import SplitStep

__all__ = ["SchrodingerGrid"]

_POTENTIALS = ("double-well", "harmonic", "free", "softened-coulomb")
_INITIALS = ("packet", "ground")
# per potential: box half-width, x0 and p0 (first axis, other axes), sigma0, cells per axis by dimension
_DEFAULTS = {
    "double-well": dict(width=(4.5, 8.0), x0=(-1.0, 0.5), p0=(1.0, 0.0), sigma0=0.5,
                        n={1: 256, 2: 128, 3: (96, 48, 48)}),
    "harmonic": dict(width=(9.0, 9.0), x0=(1.5, 0.0), p0=(0.0, 1.0), sigma0=0.5, n={1: 256, 2: 128, 3: 64}),
    "free": dict(width=(18.0, 18.0), x0=(-2.0, 0.0), p0=(1.0, 0.0), sigma0=1.0, n={1: 256, 2: 128, 3: 64}),
    "softened-coulomb": dict(width=(32.0, 32.0), x0=(-1.0, 0.0), p0=(0.0, 0.5), sigma0=1.0,
                             n={1: 512, 2: 192, 3: 96}),
    "callable": dict(width=(8.0, 8.0), x0=(0.0, 0.0), p0=(0.0, 0.0), sigma0=0.5, n={1: 256, 2: 128, 3: 64}),
}
_REFINE = {1: 8, 2: 4, 3: 1}
_DT = {1: 2.5e-3, 2: 2.5e-3, 3: 5e-3}
#: warn when |ψ|² on the box faces exceeds this fraction of max |ψ|² (wrap-around)
EDGE_TOL = 1e-10
#: warn when |ψ̂| on the Nyquist planes exceeds this fraction of max |ψ̂| (aliasing)
ALIAS_TOL = 1e-6
#: warn when the potential phase Δt·(max V − min V)/ħ across the initial state exceeds this
PHASE_TOL = 1.0


def _per_axis(pair, dim):
    return np.array([pair[0]] + [pair[1]] * (dim - 1), dtype=np.float64)


class SchrodingerGrid(GridSystem):
    """Split-step Fourier solution of the Schrödinger equation on a periodic grid (see the module docstring).

    Parameters
    ----------
    dim : int
        Dimension d = 1, 2 or 3.
    potential : str or callable
        "double-well" (V = (x₁² − 1)² + ½Σ_{i≥2}x_i²), "harmonic" (½|x|²), "free", "softened-coulomb"
        (−1/√(|x|² + 1)), or V(x) on points ``(n, d)`` returning ``(n,)``.
    initial : str, callable or array
        "packet" (Gaussian at x0 with momentum p0 and width sigma0), "ground" (imaginary-time relaxation), ψ₀(x)
        on points ``(n, d)``, or a complex array on the grid. Normalised here.
    n_grid : int or sequence of int
        Cells per axis (default by potential and dimension; 128² for the 2D double well).
    box : float, pair or (d, 2) array
        Periodic box: a half-width L for [−L, L]^d, (lo, hi) for every axis, or per axis (default by potential).
    dt : float
        Time step, reduced to divide the checkpoint spacing (default 2.5e-3; 5e-3 in 3D).
    t_span : (float, float)
        Time window; the initial state is at t_span[0].
    mass : float
        Particle mass m (1 in atomic units).
    hbar : float
        Reduced Planck constant ħ (1 in atomic units).
    x0 : float or sequence
        Centre of the "packet" (default by potential).
    p0 : float or sequence
        Momentum of the "packet" (default by potential).
    sigma0 : float or sequence
        Position width(s) σ₀ of the "packet" (default by potential: ½, or 1 for "free" and "softened-coulomb").
    n_frames : int
        Number of checkpoints stored over t_span (states between them are propagated from the previous one).
    density_threshold : float
        The velocity is set to 0 where q < density_threshold·max q.
    relax_steps : int
        Largest number of imaginary-time steps for ``initial="ground"``.
    refine : int
        The fields are evaluated spectrally on a grid this many times finer before multilinear interpolation
        (default 8, 4, 1 in 1D, 2D, 3D).
    """

    name = "schrodinger-grid"
    units_x = "1 (units of hbar and m; bohr for hbar = m = 1)"
    units_t = "1 (units of hbar and m; hbar/hartree for hbar = m = 1)"

    dim: int = param(2, dimension(1, 2, 3))
    potential: str | Callable = "double-well"
    initial: str | Callable | np.ndarray = param("packet", to_json=describe_initial)
    n_grid: int | Sequence[int] | None = None
    box: float | Sequence | None = None
    dt: float | None = None
    t_span: tuple[float, float] = param((0.0, 4.0), check_t_span)
    _: KW_ONLY
    mass: float = param(1.0, positive)
    hbar: float = param(1.0, positive)
    x0: float | Sequence[float] | None = None
    p0: float | Sequence[float] | None = None
    sigma0: float | Sequence[float] | None = None
    n_frames: int = param(41, check_frames)
    density_threshold: float = param(1e-8, positive)
    relax_steps: int = param(20000, partial(check_int, low=1))
    refine: int | None = None

    def _setup(self) -> None:
        pot_name, self._V = resolve_potential(self.potential, _POTENTIALS)
        defaults = _DEFAULTS[pot_name if pot_name in _DEFAULTS else "callable"]
        self.grid = make_grid(self.dim, self.n_grid, self.box, default_n=defaults["n"][self.dim],
                              default_half_width=_per_axis(defaults["width"], self.dim), periodic=True)
        self.n_grid, self.box = self.grid.shape, self.grid.box.tolist()
        self.x0 = as_vector(_per_axis(defaults["x0"], self.dim) if self.x0 is None else self.x0, self.dim, "x0")
        self.p0 = as_vector(_per_axis(defaults["p0"], self.dim) if self.p0 is None else self.p0, self.dim, "p0")
        self.sigma0 = as_vector(defaults["sigma0"] if self.sigma0 is None else self.sigma0, self.dim, "sigma0")
        if np.any(self.sigma0 <= 0):
            raise InputError(f"sigma0: expected positive widths, got {self.sigma0.tolist()}")
        self.refine = check_int(_REFINE[self.dim] if self.refine is None else self.refine, "refine", low=1, high=8)
        #: the step used: the largest ≤ ``dt`` that divides the checkpoint spacing
        self.steps_per_frame, self.dt = frame_steps(self.t_span, self.n_frames, self.dt, _DT[self.dim])
        V = potential_on(self._V, self.grid.points(), self.grid.shape)
        self.propagator = SplitStep(self.grid, V, self.dt, mass=self.mass, hbar=self.hbar)
        name, psi = initial_values(self.initial, self.grid, _INITIALS, kind="wavefunction", what="initial state")
        self._psi0 = self._packet(self.p0) if name == "packet" else psi      # None for "ground": relaxed later
        self._check_phase()

    # -- set-up -----------------------------------------------------------------------------------------------
    def _packet(self, p0) -> np.ndarray:
        log = np.zeros(self.grid.shape, dtype=np.complex128)
        for a, xa in enumerate(self.grid.mesh()):
            s = self.sigma0[a]
            log += -0.25 * np.log(2 * np.pi * s**2) - (xa - self.x0[a]) ** 2 / (4 * s**2) + 1j * p0[a] * xa / self.hbar
        return np.exp(log)

    def _check_phase(self) -> None:
        psi = self._psi0 if self._psi0 is not None else self._packet(np.zeros(self.dim))
        q = np.abs(psi) ** 2
        V = self.propagator.V[q > 1e-6 * q.max()]
        phase = self.dt * float(V.max() - V.min()) / self.hbar
        if phase > PHASE_TOL:
            warn(f"schrodinger-grid: dt = {self.dt:.3g} turns the potential phase by {phase:.2f} rad per step "
                 f"across the initial state (> {PHASE_TOL}); the Strang error may be large, reduce dt")

    # -- solve ------------------------------------------------------------------------------------------------
    def _normalise(self, psi: np.ndarray) -> np.ndarray:
        return psi / np.sqrt(np.sum(np.abs(psi) ** 2) * self.grid.cell_volume)

    def _solve(self) -> list:
        if self._psi0 is None:  # "ground"
            start = self._normalise(self._packet(np.zeros(self.dim)))
            psi, self._ground_energy, ok = self.propagator.relax(start, max_steps=self.relax_steps)
            if not ok:
                warn(f"schrodinger-grid: imaginary-time relaxation did not converge in {self.relax_steps} steps "
                     f"(energy {self._ground_energy:.10g}); raise relax_steps")
            self._psi0 = psi
        psi = self._normalise(self._psi0)
        frames = [psi]
        for _ in range(self.n_frames - 1):
            psi = self.propagator.run(psi, self.steps_per_frame)
            frames.append(psi)
        self._check_resolution(frames)
        return frames

    def _check_resolution(self, frames) -> None:
        edge = max(self.grid.boundary_max(np.abs(p) ** 2) / float(np.max(np.abs(p) ** 2)) for p in frames)
        alias = max(self.propagator.nyquist_ratio(p) for p in frames)
        self._edge_ratio, self._nyquist_ratio = edge, alias
        if edge > EDGE_TOL:
            warn(f"schrodinger-grid: |ψ|² on the box faces reaches {edge:.2g} of its maximum (> {EDGE_TOL:g}): "
                 "the state wraps around the periodic box; enlarge box")
        if alias > ALIAS_TOL:
            warn(f"schrodinger-grid: |ψ̂| at the Nyquist wavenumber reaches {alias:.2g} of its maximum "
                 f"(> {ALIAS_TOL:g}): aliasing; use more cells (n_grid)")

    edge_ratio = SolveRecord("Largest |ψ|² on the box faces relative to max |ψ|², over the checkpoints.")
    nyquist_ratio = SolveRecord("Largest |ψ̂| on the Nyquist planes relative to max |ψ̂|, over the checkpoints.")

    @property
    def ground_energy(self) -> float:
        """Energy of the relaxed ground state (``initial="ground"`` only)."""
        _ = self.frames
        if getattr(self, "_ground_energy", None) is None:
            raise AttributeError("ground_energy: only for initial='ground'")
        return self._ground_energy

    def _advance(self, state, t0, t1):
        return self.propagator.advance(state, t1 - t0)

    def _fields(self, state):
        return self.propagator.refined(state, self.refine)

    def _density(self, state):
        return np.abs(state) ** 2

    # -- extras -----------------------------------------------------------------------------------------------
    def wavefunction(self, t) -> np.ndarray:
        """ψ on the grid at time ``t`` (complex, normalised: Σ|ψ|² h^d = 1)."""
        return self._state_at(self._check_time(t)).copy()

    @property
    def vortex_counts(self) -> np.ndarray:
        """Number of grid plaquettes with phase winding (vortex points/lines) at each checkpoint."""
        if getattr(self, "_vortices", None) is None:
            self._vortices = np.array([self._count_vortices(p) for p in self.frames], dtype=np.int64)
        return self._vortices

    def _count_vortices(self, psi: np.ndarray) -> int:
        if self.dim == 1:
            return 0
        q = np.abs(psi) ** 2
        strong = q > self.density_threshold * q.max()
        total = 0
        for a in range(self.dim):
            for b in range(a + 1, self.dim):
                p1 = np.roll(psi, -1, axis=a)
                p2 = np.roll(p1, -1, axis=b)
                p3 = np.roll(psi, -1, axis=b)
                wind = (np.angle(p1 * np.conj(psi)) + np.angle(p2 * np.conj(p1))
                        + np.angle(p3 * np.conj(p2)) + np.angle(psi * np.conj(p3)))
                ok = strong & np.roll(strong, -1, axis=a) & np.roll(strong, -1, axis=b)
                ok &= np.roll(np.roll(strong, -1, axis=a), -1, axis=b)
                total += int(np.count_nonzero(np.abs(np.rint(wind / (2 * np.pi))[ok]) > 0))
        return total

    @property
    def velocity_is_gradient(self) -> bool:
        """True in 1D; in 2D/3D True iff no checkpoint shows a vortex (:attr:`vortex_counts`). Solves if needed."""
        return self.dim == 1 or int(self.vortex_counts.sum()) == 0
