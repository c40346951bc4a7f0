"""Harmonic oscillator states (Schrödinger; exact; SPEC §3.5, PHYSICS §3 items 2-3 and vortex paragraph)."""

from __future__ import annotations

import numbers

import numpy as np

from amphys.errors import InputError, describe, unknown_name
from amphys.systems._oscillator_states import Superposition, Vortex
from amphys.systems._schrodinger import GaussianState
from amphys.systems.base import (
    System,
    as_rng,
    as_vector,
    check_count,
    check_points,
    check_t_span,
    check_time,
    positive,
)

__all__ = ["HarmonicOscillator"]

STATES = ("coherent", "squeezed", "superposition", "vortex")
_USES = {"x0": ("coherent", "squeezed"), "p0": ("coherent", "squeezed"), "squeeze": ("squeezed",),
         "coefficients": ("superposition",)}
#: The default squeeze gives σ_0 = 0.4 at ħ = m = ω = 1 (benchmark S-HO (a), PHYSICS §5).
DEFAULT_SQUEEZE = 0.4 * np.sqrt(2.0)
MAX_EIGENSTATES = 24


class HarmonicOscillator(System):
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
        (PHYSICS §3 item 2). ``squeeze = 1`` is the coherent state.
    ``"superposition"``
        Real superposition of eigenstates along the first axis, the other axes in the ground state::

            ψ = Σ_k c_k φ_k(x_1/ℓ) e^{-iω(k+½)t} · Π_{j≥2} φ_0(x_j/ℓ) e^{-iωt/2} · ℓ^{-d/2},

        φ_k the Hermite functions, c normalised to Σc_k² = 1. For c = (1, 1)/√2 (the default) PHYSICS §3
        item 3 gives q, v = -sqrt(2ħω/m) sin ωt/(1 + 2ξ² + 2√2ξ cos ωt) e_1, and ⟨x_1⟩ = sqrt(ħ/(2mω)) cos ωt;
        in general ⟨x_1⟩ = ℓ√2 Σ_k c_k c_{k+1} sqrt(k+1) cos ωt.
    ``"vortex"`` (d = 2 only)
        ψ ∝ e^{-|ξ|²/2}(1 + (ξ_1 + iξ_2) e^{-iωt}), ξ = x/ℓ: a node of winding +1 at
        ξ = -(cos ωt, sin ωt), the density rotating rigidly at rate ω. E|v_B|² = ħω/(2m) while the Action
        Matching target carries E|∇s*|² ≈ 0.39 ħω/m (PHYSICS §3, SPEC §3.5): the control that guards against
        scoring AM against Bohm.

    Velocity: the Bohmian velocity v = j/q = (ħ/m) Im(∇ψ/ψ) (:meth:`velocity`).

    - coherent, squeezed: a gradient, s* = p_c·(x - x_c)/m + ½ Σ_i (σ̇_i/σ_i)(x_i - x_{c,i})².
    - superposition: the phase depends on x_1 only, ψ = f(x_1, t) × (a real positive function) × e^{-iγ(t)}.
      Away from the instants at which f has a real zero, f ≠ 0 on the whole line, so arg f has a single-valued
      continuous branch in x_1 and v = (ħ/m)∂_1 arg f e_1 is its gradient: ``velocity_is_gradient`` is True in
      every d (no vortex can form: a vortex needs the phase to wind in a plane, and here it does not depend on
      x_2, x_3). s* = (ħ/m) arg f is computed from the roots of the polynomial f/φ_0 (continuous in x_1).
      Nodes: for two states at t = nπ/ω (PHYSICS §3 item 3); for more states at other isolated instants too.
      Near a node instant v has a Lorentzian spike; keep the window away from them (the default does for
      two states).
    - vortex: arg ψ winds by 2π around the node, ∮v·dl = 2πħ/m: not a gradient (``velocity_is_gradient`` is
      False); :meth:`am_velocity` raises (use ``amphys.diagnostics.project_gradient``); no
      :meth:`am_potential`.

    Samplers are exact: Gaussian states directly; superposition and vortex by the envelope rejection method of
    PHYSICS §3 ("Exact sampling"), acceptance 1/K for K non-zero coefficients (½ for the vortex), each
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

    def __init__(self, dim=1, omega=1.0, state="coherent", t_span=None, x0=None, p0=None, squeeze=None,
                 coefficients=None, mass=1.0, hbar=1.0):
        if not isinstance(state, str) or state not in STATES:
            raise unknown_name("state of system 'harmonic'", state, STATES)
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim not in (1, 2, 3):
            raise InputError(f"dim: expected 1, 2 or 3, got {describe(dim)}")
        if state == "vortex" and dim != 2:
            raise InputError(f"dim: state 'vortex' is two-dimensional, got dim = {dim}; pass dim=2")
        given = {"x0": x0, "p0": p0, "squeeze": squeeze, "coefficients": coefficients}
        for key, value in given.items():
            if value is not None and state not in _USES[key]:
                users = " and ".join(repr(s) for s in _USES[key])
                raise InputError(
                    f"{key}: not a parameter of state {state!r} (only of {users}); leave it unset")
        self.dim = d = int(dim)
        self.state = state
        self.omega = positive(omega, "omega")
        self.mass = positive(mass, "mass")
        self.hbar = positive(hbar, "hbar")
        w = self.omega
        self.velocity_is_gradient = state != "vortex"
        params = {"dim": d, "omega": w, "state": state}

        if state in ("coherent", "squeezed"):
            x0v = as_vector(x0, d, "x0") if x0 is not None else np.eye(d)[0] * 2.0
            p0v = as_vector(p0 if p0 is not None else 0.0, d, "p0")
            sigma_c = np.sqrt(self.hbar / (2.0 * self.mass * w))
            params.update(x0=x0v.tolist(), p0=p0v.tolist())
            if state == "squeezed":
                sq = as_vector(squeeze if squeeze is not None else DEFAULT_SQUEEZE, d, "squeeze")
                if np.any(sq <= 0):
                    raise InputError(
                        f"squeeze: expected positive values (σ_0 / sqrt(ħ/2mω)), got {sq.tolist()}")
                params["squeeze"] = sq.tolist()
                sigma0 = sq * sigma_c
            else:
                sigma0 = np.full(d, sigma_c)
            self._impl = GaussianState(x0v, p0v, sigma0, w, self.mass, self.hbar)
            default_span = (0.0, 2.0 * np.pi / w)
        elif state == "superposition":
            c = self._coefficients(coefficients)
            params["coefficients"] = c.tolist()
            self._impl = Superposition(c, d, w, self.mass, self.hbar)
            default_span = (np.pi / (6.0 * w), 5.0 * np.pi / (6.0 * w))
        else:
            self._impl = Vortex(w, self.mass, self.hbar)
            default_span = (0.0, 2.0 * np.pi / w)

        self.t_span = check_t_span(t_span) if t_span is not None else default_span
        params.update(t_span=list(self.t_span), mass=self.mass, hbar=self.hbar)
        self._params = params

    @staticmethod
    def _coefficients(coefficients) -> np.ndarray:
        if coefficients is None:
            return np.array([1.0, 1.0]) / np.sqrt(2.0)
        try:
            c = np.asarray(coefficients)
        except (TypeError, ValueError):
            c = None
        if c is None or c.ndim != 1 or c.size == 0 or not np.issubdtype(c.dtype, np.number):
            raise InputError(
                f"coefficients: expected a 1-D sequence of real numbers, got {describe(coefficients)}")
        if np.iscomplexobj(c):
            raise InputError("coefficients: expected real coefficients (a real superposition), got complex")
        c = c.astype(np.float64)
        if c.size > MAX_EIGENSTATES:
            raise InputError(f"coefficients: at most {MAX_EIGENSTATES} eigenstates "
                             f"(φ_0..φ_{MAX_EIGENSTATES - 1}) are supported, got {c.size}")
        if not np.all(np.isfinite(c)) or not np.any(c != 0):
            raise InputError(f"coefficients: expected finite values, not all zero, got {c.tolist()}")
        c = np.where(np.abs(c) < 1e-12 * np.abs(c).max(), 0.0, c)   # negligible terms would only spoil roots
        return c / np.sqrt(np.sum(c * c))

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
        return self._impl.vortex_point(check_time(t))

    def psi(self, t, x) -> np.ndarray:
        """The wavefunction ψ(x, t), complex, shape ``(n,)``."""
        return self._impl.psi(check_time(t), check_points(x, self.dim))

    # -- protocol --------------------------------------------------------------------------------------------
    def sample(self, t, n, rng=None) -> np.ndarray:
        """Exact samples of q_t = |ψ|², shape ``(n, d)``."""
        t, n, rng = check_time(t), check_count(n), as_rng(rng)
        return self._impl.sample(t, n, rng)

    def log_density(self, t, x) -> np.ndarray:
        """log |ψ(x, t)|², ``-inf`` on nodes, shape ``(n,)``."""
        return self._impl.log_density(check_time(t), check_points(x, self.dim))

    def velocity(self, t, x) -> np.ndarray:
        """Bohmian velocity (ħ/m) Im(∇ψ/ψ), shape ``(n, d)``; 0 on a node, where it is undefined (j = 0)."""
        return self._impl.velocity(check_time(t), check_points(x, self.dim))

    def am_potential(self, t, x) -> np.ndarray:
        """s* = (ħ/m) arg ψ on a continuous branch (up to a function of t), shape ``(n,)``; not for vortex."""
        if self.state == "vortex":
            raise NotImplementedError(
                "state 'vortex' has a non-gradient Bohmian velocity and no closed-form AM potential; use "
                "amphys.diagnostics.project_gradient(system, t)")
        return self._impl.potential(check_time(t), check_points(x, self.dim))

    @property
    def has_am_potential(self) -> bool:
        return self.state != "vortex"
