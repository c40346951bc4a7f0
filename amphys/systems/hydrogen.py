"""Hydrogen superpositions (Schrödinger, Coulomb potential; exact; docs/theory.md#schrodinger)."""

from __future__ import annotations

import numpy as np

from amphys._checks import check_float, check_points, check_t_span, positive
from amphys.errors import InputError, unknown_name
from amphys.systems.base import param
from amphys.systems.schrodinger.hydrogen_states import PaperState, S2pzState
from amphys.systems.schrodinger.wave import Rescaled, WavefunctionSystem

__all__ = ["Hydrogen"]

STATES = {"paper": PaperState, "1s+2pz": S2pzState}


class Hydrogen(WavefunctionSystem):
    r"""Two superpositions of hydrogen eigenstates, with exact samplers and Bohmian velocities.

    Schrödinger equation (ħ = m = 1, Bohr radius a = ``bohr_radius``, so the Coulomb coupling is 1/a)::

        i ∂_t ψ = -½ Δψ - ψ/(a r),      eigenstates ψ_{nlm}, E_n = -1/(2 n² a²).

    Both states are ψ = (ψ_A e^{-iE_A t} + e^{iφ} ψ_B e^{-iE_B t})/√2 with φ = ``relative_phase`` on the
    second term; spherical harmonics in the Condon–Shortley convention. In atomic units (a = 1):

    ``"paper"`` (the Action Matching paper's state)
        ψ_A = ψ_{3,2,-1} = (x - iy) z e^{-r/3}/(81√π), ψ_B = ψ_{2,1,0} = z e^{-r/2}/√(32π). The density
        rotates rigidly about z: q(x, t) = q(R_z(Ωt)ᵀx, 0) with Ω = -(E_3 - E_2) = -5/72, period
        2π·72/5 ≈ 90.48 (:attr:`period`). It vanishes on the plane z = 0. φ = π flips the sign of ψ_B
        relative to ψ_A, which is the density rotated by half a turn: that is the official code's state (its
        Y_2^{-1} carries an extra factor (-1)^m = -1 against Condon–Shortley), so ``relative_phase=np.pi``
        reproduces its data. ⟨r⟩ = (10.5 + 5)/2 = 7.75 at all t (the cross term integrates to zero);
        ⟨x⟩ + i⟨y⟩ = A e^{-i(φ + (E_3 - E_2)t)}, A = C_A C_B ∫x²z² e^{-5r/6} d³x = 2^{10}√2·3^4/5^7 ≈ 1.5014;
        E|v_B|² = 0.02511 (quadrature). The state has vortex lines, where
        ψ_A e^{-iE_3 t}/z = -e^{iφ} ψ_B e^{-iE_2 t}/z, i.e. ρ e^{r/6} = 81/√32 in a half-plane turning with
        the density: the Bohmian velocity is not a gradient (∮v·dl = ±2π around a line),
        ``velocity_is_gradient = False``, and :meth:`am_velocity` raises — the AM target is its q-weighted
        gradient projection (E|∇s*|² = 0.0154), computed by ``amphys.diagnostics.project_gradient``.
    ``"1s+2pz"``
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

    state: str = "paper"
    bohr_radius: float = param(1.0, positive)
    relative_phase: float = param(0.0, check_float)
    t_span: tuple[float, float] | None = None

    def _setup(self) -> None:
        if not isinstance(self.state, str) or self.state not in STATES:
            raise unknown_name("state of system 'hydrogen'", self.state, STATES)
        a = self.bohr_radius
        self._au = STATES[self.state](self.relative_phase)      # the state in atomic units
        self.wave = Rescaled(self._au, a)
        if a != 1.0:
            self.units_x = f"bohr/{a:.10g} (the Bohr radius is {a:.10g} length units; hbar = m = 1)"
            self.units_t = f"(hbar/hartree)/{a * a:.10g} (hbar = m = 1)"
        if self.t_span is not None:
            self.t_span = check_t_span(self.t_span)
        elif self.state == "paper":
            self.t_span = (0.0, self.period)
        else:
            shift = self.relative_phase % np.pi
            delta = self._au.delta
            self.t_span = (a * a * (np.pi / 6.0 + shift) / delta, a * a * (5.0 * np.pi / 6.0 + shift) / delta)

    # -- extras: scaled to the system's units ----------------------------------------------------------------
    @property
    def energies(self) -> tuple[float, float]:
        """(E_A, E_B) of the two terms in the system's energy unit (hartree / a²)."""
        a2 = self.bohr_radius ** 2
        return (self._au.E_A / a2, self._au.E_B / a2)

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
