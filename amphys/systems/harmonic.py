"""Harmonic oscillator states (Schrödinger; exact; docs/theory.md#schrodinger): the registry-facing ``harmonic``.

The four states are small final classes in :mod:`amphys.systems.schrodinger.oscillator_states`; this system picks
one by ``state=``, passes it its own parameters, and refuses the parameters of the other states."""

from __future__ import annotations

import numpy as np

from amphys._checks import check_points, check_t_span, positive
from amphys.errors import InputError, unknown_name
from amphys.systems.base import dimension, param
from amphys.systems.schrodinger.oscillator_states import DEFAULT_SQUEEZE, Coherent, Squeezed, Superposition, Vortex
from amphys.systems.schrodinger.wave import WavefunctionSystem

__all__ = ["HarmonicOscillator", "STATES", "DEFAULT_SQUEEZE"]

#: state name -> its class (each declares ``parameters``, ``dims`` and ``default_span``)
STATES = {"coherent": Coherent, "squeezed": Squeezed, "superposition": Superposition, "vortex": Vortex}
#: the state-specific parameters of this system
_OWN = tuple(dict.fromkeys(p for kind in STATES.values() for p in kind.parameters))


class HarmonicOscillator(WavefunctionSystem):
    r"""Exact states of the isotropic harmonic oscillator in d = 1, 2 or 3 dimensions.

    Schrödinger equation::

        iħ ∂_t ψ = -(ħ²/2m) Δψ + ½ m ω² |x|² ψ.

    With ℓ = sqrt(ħ/(mω)) (oscillator length) and σ_c = ℓ/√2 (ground-state spread), ``state`` is one of

    ``"coherent"``
        A displaced ground state, per axis ψ_0 = (2πσ_c²)^{-1/4} exp(-(x - x_0)²/(4σ_c²) + i p_0(x - x_0)/ħ).
        q_t = N(x_c(t), σ_c² I), x_c = x_0 cos ωt + (p_0/(mω)) sin ωt; v = ẋ_c (uniform).
    ``"squeezed"``
        The same with σ_0 = squeeze · σ_c per axis. q_t = N(x_c, σ_t²) with
        σ_t² = σ_0² cos²ωt + (ħ/(2mωσ_0))² sin²ωt (breathing at 2ω); v = ẋ_c + (x - x_c) σ̇/σ
        (docs/theory.md#schrodinger). ``squeeze = 1`` is the coherent state.
    ``"superposition"``
        Real superposition of eigenstates along the first axis, the other axes in the ground state::

            ψ = Σ_k c_k φ_k(x_1/ℓ) e^{-iω(k+½)t} · Π_{j≥2} φ_0(x_j/ℓ) e^{-iωt/2} · ℓ^{-d/2},

        φ_k the Hermite functions, c normalised to Σc_k² = 1. For c = (1, 1)/√2 (the default) the closed form
        is v = -sqrt(2ħω/m) sin ωt/(1 + 2ξ² + 2√2ξ cos ωt) e_1 and ⟨x_1⟩ = sqrt(ħ/(2mω)) cos ωt;
        in general ⟨x_1⟩ = ℓ√2 Σ_k c_k c_{k+1} sqrt(k+1) cos ωt.
    ``"vortex"`` (d = 2 only)
        ψ ∝ e^{-|ξ|²/2}(1 + (ξ_1 + iξ_2) e^{-iωt}), ξ = x/ℓ: a node of winding +1 at
        ξ = -(cos ωt, sin ωt), the density rotating rigidly at rate ω. E|v_B|² = ħω/(2m) while the Action
        Matching target carries E|∇s*|² ≈ 0.39 ħω/m (docs/theory.md#schrodinger): the control that guards against
        scoring AM against Bohm.

    Velocity: the Bohmian velocity v = j/q = (ħ/m) Im(∇ψ/ψ) (:meth:`velocity`).

    - coherent, squeezed: a gradient, s* = p_c·(x - x_c)/m + ½ Σ_i (σ̇_i/σ_i)(x_i - x_{c,i})².
    - superposition: the phase depends on x_1 only, ψ = f(x_1, t) × (a real positive function) × e^{-iγ(t)}.
      Away from the instants at which f has a real zero, f ≠ 0 on the whole line, so arg f has a single-valued
      continuous branch in x_1 and v = (ħ/m)∂_1 arg f e_1 is its gradient: ``velocity_is_gradient`` is True in
      every d (no vortex can form: a vortex needs the phase to wind in a plane, and here it does not depend on
      x_2, x_3). s* = (ħ/m) arg f is computed from the roots of the polynomial f/φ_0 (continuous in x_1).
      Nodes: for two states at t = nπ/ω; for more states at other isolated instants too.
      Near a node instant v has a Lorentzian spike; keep the window away from them (the default does for
      two states).
    - vortex: arg ψ winds by 2π around the node, ∮v·dl = 2πħ/m: not a gradient (``velocity_is_gradient`` is
      False); :meth:`am_velocity` raises (use ``amphys.diagnostics.project_gradient``); no
      :meth:`am_potential`.

    Samplers are exact: Gaussian states directly; superposition and vortex by envelope rejection
    (docs/theory.md#schrodinger), acceptance 1/K for K non-zero coefficients (½ for the vortex), each
    |φ_k|² drawn exactly by rejection from a Gaussian with a computed bound.

    :meth:`psi` returns the wavefunction, an exact solution including its time-dependent phase.

    Parameters
    ----------
    dim : int
        1, 2 or 3 (``"vortex"``: 2 only).
    omega : float
        Angular frequency ω > 0.
    state : str
        ``"coherent"``, ``"squeezed"``, ``"superposition"`` or ``"vortex"``.
    t_span : (float, float), optional
        Default: (0, 2π/ω) for coherent, squeezed and vortex; (π/6, 5π/6)/ω for superposition (away from the
        node instants of the two-state default).
    x0, p0 : float or array of shape (d,), optional
        Coherent and squeezed states only: initial centre and momentum. A scalar is used on every axis.
        Default x0 = (2, 0, ...) [length units], p0 = 0 (benchmark S-HO (a)).
    squeeze : float or array of shape (d,), optional
        Squeezed state only: σ_0 = squeeze · sqrt(ħ/(2mω)) > 0 per axis. Default 0.4√2 ≈ 0.566, which gives
        σ_0 = 0.4 at ħ = m = ω = 1 (S-HO (a)).
    coefficients : sequence of float, optional
        Superposition only: real c_0..c_N (N < 24) of φ_0..φ_N, not all zero; normalised (entries below 1e-12
        of the largest are set to zero). Default (1, 1)/√2.
    mass, hbar : float
        m > 0 and ħ > 0.

    Units
    -----
    Dimensionless oscillator units by default (ħ = m = ω = 1): lengths in units of the oscillator length
    sqrt(ħ/(mω)), times in units of 1/ω. With other values, the units are those in which ``omega``, ``mass``
    and ``hbar`` are given (atomic units if ħ = m = 1).

    References
    ----------
    C. Cohen-Tannoudji, B. Diu, F. Laloë, *Quantum Mechanics*, Vol. 1, Ch. V and Complement G_V (coherent
    states); E. J. Heller, J. Chem. Phys. 62 (1975) 1544 (Gaussian packets); D. Bohm, Phys. Rev. 85 (1952)
    166; I. Bialynicki-Birula, Z. Bialynicka-Birula, C. Śliwa, Phys. Rev. A 61 (2000) 032110 (vortices in wave
    functions).
    """

    name = "harmonic"
    units_x = "1 (hbar = m = 1; the oscillator length sqrt(hbar/(m*omega)) is 1 at omega = 1)"
    units_t = "1 (hbar = m = 1; the period 2*pi/omega is 2*pi at omega = 1)"

    dim: int = param(1, dimension(1, 2, 3))
    omega: float = param(1.0, positive)
    state: str = "coherent"
    t_span: tuple[float, float] | None = None
    x0: float | np.ndarray | None = None
    p0: float | np.ndarray | None = None
    squeeze: float | np.ndarray | None = None
    coefficients: np.ndarray | None = None
    mass: float = param(1.0, positive)
    hbar: float = param(1.0, positive)

    def _setup(self) -> None:
        if not isinstance(self.state, str) or self.state not in STATES:
            raise unknown_name("state of system 'harmonic'", self.state, STATES)
        kind = STATES[self.state]
        if self.dim not in kind.dims:
            raise InputError(f"dim: state {self.state!r} exists for dim in {list(kind.dims)}, got dim = {self.dim}; "
                             f"pass dim={kind.dims[0]}")
        for key in _OWN:
            if getattr(self, key) is not None and key not in kind.parameters:
                users = " and ".join(repr(s) for s, k in STATES.items() if key in k.parameters)
                raise InputError(f"{key}: not a parameter of state {self.state!r} (only of {users}); leave it unset")
        self.wave = kind(self.dim, self.omega, self.mass, self.hbar, **{k: getattr(self, k) for k in kind.parameters})
        for key in kind.parameters:
            setattr(self, key, getattr(self.wave, key))
        self.t_span = check_t_span(self.t_span) if self.t_span is not None else kind.default_span(self.omega)

    # -- extras ----------------------------------------------------------------------------------------------
    @property
    def oscillator_length(self) -> float:
        """ℓ = sqrt(ħ/(mω))."""
        return float(np.sqrt(self.hbar / (self.mass * self.omega)))

    def potential_energy(self, x) -> np.ndarray:
        """V(x) = ½ m ω² |x|², shape ``(n,)``."""
        x = check_points(x, self.dim)
        return 0.5 * self.mass * self.omega ** 2 * np.sum(x * x, axis=1)

    def vortex_point(self, t) -> np.ndarray:
        """State ``"vortex"``: position of the node at time t, shape ``(2,)``."""
        if self.state != "vortex":
            raise InputError(f"vortex_point: only for state 'vortex', this system has state {self.state!r}")
        return self.wave.vortex_point(self._check_time(t))
