"""The four states of the isotropic harmonic oscillator behind ``amphys.systems.get("harmonic", state=...)``.

Each is a small final :class:`~amphys.systems.schrodinger.wave.WaveState` of iħ∂_tψ = -(ħ²/2m)Δψ + ½mω²|x|²ψ,
built as ``State(dim, omega, mass, hbar, **own)`` where ``own`` are the state's own parameters (None: the default).
What the ``harmonic`` system reads from a state class:

- ``parameters``: the names of its own parameters (kept, checked, as attributes of the state);
- ``dims``: the dimensions it exists in;
- ``default_span(omega)``: its default time window.

Lengths are scaled by the oscillator length ℓ = sqrt(ħ/(mω)), ξ = x/ℓ; ψ(x) = ℓ^{-d/2} ψ_ξ(ξ).
"""

from __future__ import annotations

import numpy as np

from amphys._checks import as_vector
from amphys.errors import InputError, describe
from amphys.systems.schrodinger.gaussian import GaussianState
from amphys.systems.schrodinger.hermite import (
    HermiteDensitySampler,
    hermite_monomials,
    polynomial_phase,
    scaled_hermite,
)
from amphys.systems.schrodinger.wave import WaveState, node_safe_divide

__all__ = ["Coherent", "Squeezed", "Superposition", "Vortex", "DEFAULT_SQUEEZE", "MAX_EIGENSTATES"]

#: The default squeeze gives σ_0 = 0.4 at ħ = m = ω = 1 (benchmark S-HO (a), docs/benchmarks.md).
DEFAULT_SQUEEZE = 0.4 * np.sqrt(2.0)
MAX_EIGENSTATES = 24


def _one_period(omega: float) -> tuple[float, float]:
    return (0.0, 2.0 * np.pi / omega)


def _centre(dim: int, x0, p0):
    """x0 (default (2, 0, ...), benchmark S-HO (a)) and p0 (default 0) as vectors of length ``dim``."""
    return (as_vector(x0, dim, "x0") if x0 is not None else np.eye(dim)[0] * 2.0,
            as_vector(p0 if p0 is not None else 0.0, dim, "p0"))


class Coherent(GaussianState):
    """A displaced ground state: per axis ψ_0 = (2πσ_c²)^{-1/4} exp(-(x - x_0)²/(4σ_c²) + i p_0(x - x_0)/ħ),
    σ_c = sqrt(ħ/(2mω)). q_t = N(x_c(t), σ_c² I), x_c = x_0 cos ωt + (p_0/(mω)) sin ωt; v = ẋ_c (uniform)."""

    parameters, dims, default_span = ("x0", "p0"), (1, 2, 3), staticmethod(_one_period)

    def __init__(self, dim: int, omega: float, mass: float, hbar: float, *, x0=None, p0=None):
        x0, p0 = _centre(dim, x0, p0)
        super().__init__(x0, p0, np.full(dim, np.sqrt(hbar / (2.0 * mass * omega))), omega, mass, hbar)


class Squeezed(GaussianState):
    """The coherent state with σ_0 = squeeze · σ_c per axis: q_t = N(x_c, σ_t²) with
    σ_t² = σ_0² cos²ωt + (ħ/(2mωσ_0))² sin²ωt (breathing at 2ω); v = ẋ_c + (x - x_c) σ̇/σ. ``squeeze = 1`` is the
    coherent state."""

    parameters, dims, default_span = ("x0", "p0", "squeeze"), (1, 2, 3), staticmethod(_one_period)

    def __init__(self, dim: int, omega: float, mass: float, hbar: float, *, x0=None, p0=None, squeeze=None):
        x0, p0 = _centre(dim, x0, p0)
        self.squeeze = as_vector(squeeze if squeeze is not None else DEFAULT_SQUEEZE, dim, "squeeze")
        if np.any(self.squeeze <= 0):
            raise InputError(
                f"squeeze: expected positive values (σ_0 / sqrt(ħ/2mω)), got {self.squeeze.tolist()}")
        sigma_c = np.sqrt(hbar / (2.0 * mass * omega))
        super().__init__(x0, p0, self.squeeze * sigma_c, omega, mass, hbar)


def _coefficients(coefficients) -> np.ndarray:
    """Real c_0..c_N, N < 24, not all zero; entries below 1e-12 of the largest set to zero (they would only spoil
    the roots). Default (1, 1). Not normalised (the state normalises)."""
    if coefficients is None:
        return np.array([1.0, 1.0])
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
    return np.where(np.abs(c) < 1e-12 * np.abs(c).max(), 0.0, c)


class Superposition(WaveState):
    """ψ = [Σ_k c_k φ_k(ξ_1) e^{-iω(k+½)t}] Π_{j≥2} φ_0(ξ_j) e^{-iωt/2}, real c normalised to Σc_k² = 1
    (``coefficients``; default (1, 1)/√2), φ_k the Hermite functions; the other axes in the ground state.

    Writing φ_k = h_k φ_0 (h_k = H_k/sqrt(2^k k!)), ψ = ℓ^{-d/2} Π_j φ_0(ξ_j) e^{-iωdt/2} P(ξ_1, t) with the
    polynomial P = Σ_k c_k h_k(ξ_1) e^{-iωkt}. Hence log q = -(d/2) log π - |ξ|² + log|P|² - d log ℓ, and only
    the first velocity component is non-zero: v_1 = (ħ/(mℓ)) Im(∂_ξ P / P), with h_k' = sqrt(2k) h_{k-1}.
    """

    parameters, dims = ("coefficients",), (1, 2, 3)

    @staticmethod
    def default_span(omega: float) -> tuple[float, float]:
        """(π/6, 5π/6)/ω: away from the node instants nπ/ω of the two-state default."""
        return (np.pi / (6.0 * omega), 5.0 * np.pi / (6.0 * omega))

    def __init__(self, dim: int, omega: float, mass: float, hbar: float, *, coefficients=None):
        self.coefficients = _coefficients(coefficients)
        self.c = self.coefficients / np.sqrt(np.sum(self.coefficients * self.coefficients))
        self.kmax = self.c.size - 1
        self.dim, self.omega, self.mass, self.hbar = dim, omega, mass, hbar
        self.ell = np.sqrt(hbar / (mass * omega))
        self._active = np.flatnonzero(self.c != 0.0)
        self._samplers = {int(k): HermiteDensitySampler(int(k)) for k in self._active}
        self._monomials = hermite_monomials(self.kmax)

    def _poly(self, t: float, xi1: np.ndarray, derivative: bool = False):
        """P(ξ_1, t)/s^N (and ∂_ξP/s^N) with s = max(1, |ξ_1|), N = kmax, and log s^N."""
        h, log_s = scaled_hermite(self.kmax, xi1)
        s = np.exp(log_s)
        k = np.arange(self.kmax + 1)
        # h_k/s^N = (h_k/s^k) s^{k-N}; s^{k-N} <= 1 (may underflow harmlessly).
        scale = s[None, :] ** (k - self.kmax)[:, None]
        weights = self.c * np.exp(-1j * self.omega * k * t)
        p = weights @ (h * scale)
        if not derivative:
            return p, self.kmax * log_s
        # ∂_ξ h_k = sqrt(2k) h_{k-1}; (h_{k-1}/s^{k-1}) s^{k-1-N}
        dh = np.zeros_like(h)
        dh[1:] = np.sqrt(2.0 * k[1:])[:, None] * h[:-1] * s[None, :] ** (k[1:] - 1 - self.kmax)[:, None]
        return p, weights @ dh

    def psi(self, t, x):
        xi = x / self.ell
        p, log_sn = self._poly(t, xi[:, 0])
        log_amp = -0.25 * self.dim * np.log(np.pi) - 0.5 * np.sum(xi * xi, axis=1) + log_sn \
            - 0.5 * self.dim * np.log(self.ell)
        return p * np.exp(log_amp - 0.5j * self.dim * self.omega * t)

    def log_density(self, t, x):
        xi = x / self.ell
        p, log_sn = self._poly(t, xi[:, 0])
        with np.errstate(divide="ignore"):
            log_p2 = np.log(np.abs(p) ** 2) + 2.0 * log_sn
        log_norm = -0.5 * self.dim * np.log(np.pi) - self.dim * np.log(self.ell)
        return log_norm - np.sum(xi * xi, axis=1) + log_p2

    def velocity(self, t, x):
        p, dp = self._poly(t, x[:, 0] / self.ell, derivative=True)
        v = np.zeros_like(x)
        scale = self.hbar / (self.mass * self.ell)
        v[:, 0] = scale * node_safe_divide(np.imag(dp * np.conj(p)), np.abs(p) ** 2)
        return v

    def potential(self, t, x):
        """(ħ/m) × a phase of P continuous in ξ_1 (roots of P; see polynomial_phase)."""
        weights = self.c * np.exp(-1j * self.omega * np.arange(self.kmax + 1) * t)
        return (self.hbar / self.mass) * polynomial_phase(weights @ self._monomials, x[:, 0] / self.ell)

    def sample(self, t, n, rng):
        """Envelope rejection (docs/theory.md#schrodinger): |ψ|² <= K Σ_k c_k²|φ_k|² over K non-zero terms;
        acceptance 1/K."""
        act = self._active
        probs = self.c[act] ** 2
        probs = probs / probs.sum()
        out = np.empty((n, self.dim))
        filled = 0
        while filled < n:
            m = int(1.1 * act.size * (n - filled)) + 16
            comp = rng.choice(act.size, size=m, p=probs)
            xi1 = np.empty(m)
            for j, k in enumerate(act):
                sel = comp == j
                xi1[sel] = self._samplers[int(k)].sample(int(sel.sum()), rng)
            h, log_s = scaled_hermite(self.kmax, xi1)
            k = np.arange(self.kmax + 1)
            h = h * np.exp((k[:, None] - self.kmax) * log_s[None, :])       # h_k / s^N
            p = (self.c * np.exp(-1j * self.omega * k * t)) @ h
            env = act.size * (self.c[act] ** 2 @ h[act] ** 2)
            keep = rng.random(m) * env < np.abs(p) ** 2
            xi = np.empty((int(keep.sum()), self.dim))
            xi[:, 0] = xi1[keep]
            xi[:, 1:] = rng.standard_normal((xi.shape[0], self.dim - 1)) * np.sqrt(0.5)
            take = min(xi.shape[0], n - filled)
            out[filled:filled + take] = xi[:take]
            filled += take
        return out * self.ell


class Vortex(WaveState):
    """2D: ψ = (φ_00 e^{-iωt} + φ_+ e^{-2iωt})/√2, φ_00 = e^{-|ξ|²/2}/√π, φ_+ = (ξ_1 + iξ_2) e^{-|ξ|²/2}/√π.

    So ψ = ℓ^{-1} (2π)^{-1/2} e^{-|ξ|²/2} e^{-iωt} w with w = 1 + (ξ_1 + iξ_2) e^{-iωt}: a vortex (a node with
    winding +1) at ξ = -(cos ωt, sin ωt), circling the origin at rate ω. v = (ħ/(mℓ)) Im(∇_ξ w / w) with
    ∇_ξ w = e^{-iωt}(1, i).
    """

    parameters, dims, default_span = (), (2,), staticmethod(_one_period)
    velocity_is_gradient = False

    def __init__(self, dim: int, omega: float, mass: float, hbar: float):
        self.dim = 2
        self.omega, self.mass, self.hbar = omega, mass, hbar
        self.ell = np.sqrt(hbar / (mass * omega))

    def _w(self, t, xi):
        return 1.0 + (xi[:, 0] + 1j * xi[:, 1]) * np.exp(-1j * self.omega * t)

    def vortex_point(self, t):
        """Position of the node (in x units)."""
        return -self.ell * np.array([np.cos(self.omega * t), np.sin(self.omega * t)])

    def psi(self, t, x):
        xi = x / self.ell
        amp = np.exp(-0.5 * np.sum(xi * xi, axis=1)) / (self.ell * np.sqrt(2.0 * np.pi))
        return amp * np.exp(-1j * self.omega * t) * self._w(t, xi)

    def log_density(self, t, x):
        xi = x / self.ell
        with np.errstate(divide="ignore"):
            log_w2 = np.log(np.abs(self._w(t, xi)) ** 2)
        return -np.log(2.0 * np.pi) - 2.0 * np.log(self.ell) - np.sum(xi * xi, axis=1) + log_w2

    def velocity(self, t, x):
        w = self._w(t, x / self.ell)
        grad = np.exp(-1j * self.omega * t) * np.array([1.0, 1j])
        num = np.imag(grad[None, :] * np.conj(w)[:, None])
        return (self.hbar / (self.mass * self.ell)) * node_safe_divide(num, np.abs(w) ** 2)

    def sample(self, t, n, rng):
        """Envelope ½|φ_00|² + ½|φ_+|² (|ξ|² ~ Gamma(1) resp. Gamma(2), uniform angle); acceptance ½."""
        out = np.empty((n, 2))
        filled = 0
        while filled < n:
            m = int(2.2 * (n - filled)) + 16
            r2 = rng.standard_gamma(np.where(rng.random(m) < 0.5, 1.0, 2.0))
            ang = rng.uniform(0.0, 2.0 * np.pi, m)
            xi = np.sqrt(r2)[:, None] * np.stack([np.cos(ang), np.sin(ang)], axis=1)
            # accept with q / (|φ_00|² + |φ_+|²) = ½|w|² / (1 + |ξ|²)
            keep = rng.random(m) * 2.0 * (1.0 + r2) < np.abs(self._w(t, xi)) ** 2
            take = min(int(keep.sum()), n - filled)
            out[filled:filled + take] = xi[keep][:take]
            filled += take
        return out * self.ell
