"""Hydrogen superpositions (Schrödinger, Coulomb potential; exact; SPEC §3.5, PHYSICS §3 items 4-5)."""

from __future__ import annotations

import numpy as np

from amphys.errors import InputError, describe, unknown_name
from amphys.systems._hydrogen_states import PaperState, S2pzState
from amphys.systems.base import System, as_rng, check_count, check_points, check_t_span, check_time, positive

__all__ = ["Hydrogen"]

STATES = ("paper", "1s+2pz")


class Hydrogen(System):
    r"""Two superpositions of hydrogen eigenstates, with exact samplers and Bohmian velocities.

    Schrödinger equation (ħ = m = 1, Bohr radius a = ``bohr_radius``, so the Coulomb coupling is 1/a)::

        i ∂_t ψ = -½ Δψ - ψ/(a r),      eigenstates ψ_{nlm}, E_n = -1/(2 n² a²).

    Both states are ψ = (ψ_A e^{-iE_A t} + e^{iφ} ψ_B e^{-iE_B t})/√2 with φ = ``relative_phase`` on the
    second term; spherical harmonics in the Condon–Shortley convention. In atomic units (a = 1):

    ``"paper"`` (the Action Matching paper's state, PHYSICS §3 item 5)
        ψ_A = ψ_{3,2,-1} = (x - iy) z e^{-r/3}/(81√π), ψ_B = ψ_{2,1,0} = z e^{-r/2}/√(32π). The density
        rotates rigidly about z: q(x, t) = q(R_z(Ωt)ᵀx, 0) with Ω = -(E_3 - E_2) = -5/72, period
        2π·72/5 ≈ 90.48 (:attr:`period`). It vanishes on the plane z = 0. φ = π flips the sign of ψ_B
        relative to ψ_A, which is the density rotated by half a turn: that is the official code's state (its
        Y_2^{-1} carries an extra factor (-1)^m = -1 against Condon–Shortley), so ``relative_phase=np.pi``
        reproduces its data. ⟨r⟩ = (10.5 + 5)/2 = 7.75 at all t (the cross term integrates to zero);
        ⟨x⟩ + i⟨y⟩ = A e^{-i(φ + (E_3 - E_2)t)}, A = C_A C_B ∫x²z² e^{-5r/6} d³x = 2^{10}√2·3^4/5^7 ≈ 1.5014;
        E|v_B|² = 0.02511 (quadrature; PHYSICS quotes 0.0250). The state has vortex lines, where
        ψ_A e^{-iE_3 t}/z = -e^{iφ} ψ_B e^{-iE_2 t}/z, i.e. ρ e^{r/6} = 81/√32 in a half-plane turning with
        the density: the Bohmian velocity is not a gradient (∮v·dl = ±2π around a line),
        ``velocity_is_gradient = False``, and :meth:`am_velocity` raises — the AM target is its q-weighted
        gradient projection (E|∇s*|² = 0.0154), computed by ``amphys.diagnostics.project_gradient``.
    ``"1s+2pz"`` (PHYSICS §3 item 4)
        ψ_A = φ_1s = e^{-r}/√π, ψ_B = φ_2pz = z e^{-r/2}/√(32π), Δ = E_2 - E_1 = 3/8, u = φ_2pz/φ_1s.
        Axisymmetric with real components: no vortices, the velocity is the exact AM target,
        s* = -atan2(u sin(Δt - φ), 1 + u cos(Δt - φ)), ``velocity_is_gradient = True``.
        ⟨z⟩ = (128√2/243) cos(Δt - φ); node surfaces at Δt - φ = nπ.

    Velocity: Bohmian, v = Im(∇ψ/ψ), evaluated from the analytic gradient in complex arithmetic. It is smooth
    across the nodal plane z = 0 of ``"paper"`` (the factor z carries no phase); on a point where ψ vanishes
    for another reason (a vortex line, a node surface of ``"1s+2pz"``) v is undefined and 0 is returned (j = 0
    there).

    Sampler (exact, no Markov chain): propose from ½|ψ_A|² + ½|ψ_B|² — each |ψ_nlm|² is separable; for n = l+1
    the radius is Gamma(2l+3, scale n/2) (3d: Gamma(7, 3/2), 2p: Gamma(5, 1), 1s: Gamma(3, ½)); cos θ is
    ±sqrt(Beta(3/2, 2)) for |Y_2^{±1}|² ∝ u²(1-u²), ±U^{1/3} for |Y_1^0|², uniform for Y_0^0; φ uniform — and
    accept with probability |ψ(t)|²/(|ψ_A|² + |ψ_B|²) <= 1 (Cauchy–Schwarz). The acceptance is ½. The test is
    made at the requested t directly; for ``"paper"`` this is the same as accepting at t = 0 and rotating by
    R_z(Ωt), since the envelope is axisymmetric. Vectorised, in batches of 2^20 proposals.

    Parameters
    ----------
    state : str
        ``"paper"`` (default) or ``"1s+2pz"``.
    bohr_radius : float
        The Bohr radius a > 0 in the length unit of the data. With ħ = m fixed, lengths scale by a, times
        by a², velocities by 1/a, densities by a^{-3}: ψ_a(x, t) = a^{-3/2} ψ_1(x/a, t/a²).
        ``bohr_radius=4π`` is the official code's unit system (ħ = m_e = e = ε_0 = 1), where T = 14000 is
        14000/(16π²) = 88.66 a.u.
    relative_phase : float
        φ, the phase of the second term (ψ_{2,1,0} resp. φ_2pz) relative to the first.
    t_span : (float, float), optional
        Default: ``"paper"`` one period (0, 2π·72/5 · a²); ``"1s+2pz"`` ((π/6 + φ')/Δ, (5π/6 + φ')/Δ) · a²
        with φ' = φ mod π — the window of benchmark S-H, away from the node instants.

    Units
    -----
    Atomic units for ``bohr_radius=1``: lengths in bohr, times in ħ/hartree (``units_x``, ``units_t``).
    Otherwise lengths in bohr/a and times in (ħ/hartree)/a².

    References
    ----------
    L. D. Landau, E. M. Lifshitz, *Quantum Mechanics* §36 (hydrogen eigenfunctions); D. Bohm, Phys. Rev. 85
    (1952) 166; K. Neklyudov et al., "Action Matching: Learning Stochastic Dynamics from Samples", ICML 2023
    (code: necludov/action-matching, ``core/hmodel.py``).
    """

    name = "hydrogen"
    units_x = "bohr"
    units_t = "hbar/hartree (atomic time)"
    dim = 3

    def __init__(self, state="paper", bohr_radius=1.0, relative_phase=0.0, t_span=None):
        if not isinstance(state, str) or state not in STATES:
            raise unknown_name("state of system 'hydrogen'", state, STATES)
        self.state = state
        self.bohr_radius = a = positive(bohr_radius, "bohr_radius")
        try:
            phase = float(relative_phase)
        except (TypeError, ValueError):
            raise InputError(
                f"relative_phase: expected a real number (radians), got {describe(relative_phase)}") from None
        if not np.isfinite(phase):
            raise InputError(f"relative_phase: expected a finite number (radians), got {phase}")
        self.relative_phase = phase
        self._impl = PaperState(phase) if state == "paper" else S2pzState(phase)
        self.velocity_is_gradient = state == "1s+2pz"
        if a != 1.0:
            self.units_x = f"bohr/{a:.10g} (the Bohr radius is {a:.10g} length units; hbar = m = 1)"
            self.units_t = f"(hbar/hartree)/{a * a:.10g} (hbar = m = 1)"
        if t_span is not None:
            self.t_span = check_t_span(t_span)
        elif state == "paper":
            self.t_span = (0.0, self.period)
        else:
            delta = self._impl.delta
            shift = phase % np.pi
            self.t_span = (a * a * (np.pi / 6.0 + shift) / delta, a * a * (5.0 * np.pi / 6.0 + shift) / delta)
        self._params = {"state": state, "bohr_radius": a, "relative_phase": phase,
                        "t_span": list(self.t_span)}

    # -- scaling to atomic units -----------------------------------------------------------------------------
    def _au(self, t, x):
        a = self.bohr_radius
        return check_time(t) / (a * a), check_points(x, 3) / a

    @property
    def energies(self) -> tuple[float, float]:
        """(E_A, E_B) of the two terms in the system's energy unit (hartree / a²)."""
        a2 = self.bohr_radius ** 2
        return (self._impl.E_A / a2, self._impl.E_B / a2)

    @property
    def period(self) -> float:
        """Period of the density, 2π/|E_A - E_B|: 2π·72/5·a² ≈ 90.48 a² (paper), 16π/3·a² (1s+2pz)."""
        e_a, e_b = self.energies
        return 2.0 * np.pi / abs(e_a - e_b)

    @property
    def angular_velocity(self) -> float:
        """State ``"paper"``: Ω = -(E_3 - E_2) = -5/(72a²); q at t is q at 0 turned by R_z(Ωt)."""
        if self.state != "paper":
            raise InputError(f"angular_velocity: only state 'paper' rotates rigidly, this is {self.state!r}")
        e_a, e_b = self.energies
        return -(e_a - e_b)

    def potential_energy(self, x) -> np.ndarray:
        """V(x) = -1/(a r), shape ``(n,)`` (-inf at the origin)."""
        x = check_points(x, 3)
        with np.errstate(divide="ignore"):
            return -1.0 / (self.bohr_radius * np.sqrt(np.sum(x * x, axis=1)))

    def psi(self, t, x) -> np.ndarray:
        """The wavefunction ψ(x, t), complex, shape ``(n,)``."""
        t_au, x_au = self._au(t, x)
        return self._impl.psi(t_au, x_au) * self.bohr_radius ** -1.5

    # -- protocol --------------------------------------------------------------------------------------------
    def sample(self, t, n, rng=None) -> np.ndarray:
        """Exact samples of q_t, shape ``(n, 3)`` (envelope rejection, see the class docstring)."""
        t, n, rng = check_time(t), check_count(n), as_rng(rng)
        a = self.bohr_radius
        return self._impl.sample(t / (a * a), n, rng) * a

    def log_density(self, t, x) -> np.ndarray:
        """log |ψ(x, t)|², ``-inf`` on nodes (the plane z = 0 for ``"paper"``), shape ``(n,)``."""
        t_au, x_au = self._au(t, x)
        return self._impl.log_density(t_au, x_au) - 3.0 * np.log(self.bohr_radius)

    def velocity(self, t, x) -> np.ndarray:
        """Bohmian velocity Im(∇ψ/ψ) (ħ = m = 1), shape ``(n, 3)``; 0 where it is undefined (ψ = 0)."""
        t_au, x_au = self._au(t, x)
        return self._impl.velocity(t_au, x_au) / self.bohr_radius

    def am_potential(self, t, x) -> np.ndarray:
        """State ``"1s+2pz"``: s* = -atan2(u sin(Δt - φ), 1 + u cos(Δt - φ)), shape ``(n,)``."""
        if self.state != "1s+2pz":
            raise NotImplementedError(
                "state 'paper' has vortex lines: its Bohmian velocity is not a gradient and the AM potential "
                "has no closed form; use amphys.diagnostics.project_gradient(system, t)")
        t_au, x_au = self._au(t, x)
        return self._impl.potential(t_au, x_au)

    @property
    def has_am_potential(self) -> bool:
        return self.state == "1s+2pz"
