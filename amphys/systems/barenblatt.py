"""Porous medium equation, Barenblatt–Pattle self-similar solution (exact; docs/theory.md#porous-medium)."""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy.special import gammaln

from amphys._checks import check_dim, check_points, check_t_span, positive
from amphys.errors import InputError, describe
from amphys.systems.base import System, param

__all__ = ["Barenblatt", "porous_exponent"]


def porous_exponent(value, name: str = "m") -> float:
    """The exponent m > 1 of the porous medium equation ∂_t ρ = Δ(ρ^m)."""
    try:
        m = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number m > 1, got {describe(value)}") from None
    if not np.isfinite(m):
        raise InputError(f"{name}: expected a finite exponent m > 1, got {m}")
    if m <= 1.0:
        raise InputError(
            f"{name}: expected m > 1 (porous medium equation), got m = {m}; m = 1 is the heat "
            "equation, whose Gaussian solution is amphys.systems.get('ou', drift=0.0, diffusion=1.0, "
            "...), and m < 1 (fast diffusion) is not supported")
    return m


class Barenblatt(System):
    r"""Barenblatt–Pattle solution of the porous medium equation in d dimensions (exact).

    PDE, for m > 1 (m → 1 is the heat equation, which this class rejects)::

        ∂_t ρ = Δ(ρ^m) = -∇·(ρ v),    v = -(m/(m-1)) ∇ρ^{m-1}   (Darcy's law: a gradient).

    Solution, started from a point mass M at t = 0::

        ρ(x, t) = t^{-α} (C - k|x|² t^{-2β})_+^{1/(m-1)},
        α = d/(d(m-1)+2),  β = α/d,  k = β(m-1)/(2m),
        C = [M k^{d/2} Γ(m/(m-1)+d/2) / (π^{d/2} Γ(m/(m-1)))]^{2β(m-1)}   (computed in logs with gammaln).

    The support is the ball |x| ≤ R(t) = sqrt(C/k) t^β. The system's probability density is q_t = ρ/M
    (:meth:`log_density`); the physical ρ is :meth:`log_rho`.

    Velocity: inside the support v(x, t) = β x / t (α(m-1) + 2β = 1 and (m/(m-1))·2k = β), a gradient
    with potential s* = β|x|²/(2t). :meth:`velocity` returns β x / t at every x, also outside the support:
    that is the velocity of the exact flow map X_t = X_{t0}(t/t0)^β (:meth:`flow_map`), which carries the
    support onto itself; q_t = 0 there, so no q-weighted quantity depends on it.

    Sampler: |x|²/R(t)² ~ Beta(d/2, m/(m-1)) independent of the uniform direction Θ. It is drawn as
    x = R(t) G / sqrt(|G|² + 2Z), G ~ N(0, I_d), Z ~ Gamma(m/(m-1)): with Y = |G|²/2 ~ Gamma(d/2)
    independent of Θ = G/|G|, Y/(Y+Z) ~ Beta(d/2, m/(m-1)), so this equals R sqrt(U) Θ with U ~ Beta —
    exact and vectorised.

    Parameters
    ----------
    dim : int
        Spatial dimension d >= 1.
    m : float
        Exponent m > 1.
    mass : float
        Total mass M > 0 of ρ (sets the constant C, hence the radius; q_t is normalised to 1 whatever M).
    t_span : (float, float)
        Time window (t0, t1) with 0 < t0 < t1 (the solution is a Dirac mass at t = 0). The formulas hold for
        every t > 0.

    Units
    -----
    Dimensionless (``units_x = units_t = "1"``): the PDE has unit diffusion coefficient.

    References
    ----------
    G. I. Barenblatt, "On some unsteady motions of a liquid or gas in a porous medium", Prikl. Mat. Mekh. 16
    (1952) 67–78. R. E. Pattle, "Diffusion from an instantaneous point source with a concentration-dependent
    coefficient", Quart. J. Mech. Appl. Math. 12 (1959) 407–409. J. L. Vázquez, *The Porous Medium Equation*,
    Oxford (2007), §4.4 and Ch. 17.
    """

    name = "barenblatt"
    units_x = "1"
    units_t = "1"
    velocity_is_gradient = True

    dim: int = param(1, check_dim)
    m: float = param(2.0, porous_exponent)
    mass: float = param(1.0, positive)
    t_span: tuple[float, float] = param((1.0, 2.0), partial(check_t_span, t_min=0.0))

    def _setup(self) -> None:
        d, m = self.dim, self.m
        p = 1.0 / (m - 1.0)                       # exponent of the profile
        self.beta = 1.0 / (d * (m - 1.0) + 2.0)
        self.alpha = d * self.beta
        self.k = self.beta * (m - 1.0) / (2.0 * m)
        # bracket = log C / (2β(m-1)); p log C = 2β·bracket is computed without the factor (m-1) cancelling.
        bracket = (np.log(self.mass) + 0.5 * d * np.log(self.k) + gammaln(p + 1.0 + 0.5 * d)
                   - 0.5 * d * np.log(np.pi) - gammaln(p + 1.0))
        self._p = p
        self._log_c = 2.0 * self.beta * (m - 1.0) * bracket
        self._p_log_c = 2.0 * self.beta * bracket      # log of C^{1/(m-1)}, the peak of ρ at t = 1
        self._log_r1 = 0.5 * (self._log_c - np.log(self.k))   # log R(1)

    @property
    def C(self) -> float:
        """The constant C of the profile."""
        return float(np.exp(self._log_c))

    # -- extras ---------------------------------------------------------------------------------------------
    def _check_time(self, t, name: str = "t") -> float:
        t = super()._check_time(t, name)
        if t <= 0:
            raise InputError(f"{name}: expected t > 0 (the Barenblatt solution is a point mass at t = 0), "
                             f"got {t}")
        return t

    def radius(self, t) -> float:
        """Support radius R(t) = sqrt(C/k) t^β."""
        return self._radius(self._check_time(t))

    def _radius(self, t: float) -> float:
        return float(np.exp(self._log_r1 + self.beta * np.log(t)))

    def second_moment(self, t) -> float:
        """E_{q_t}|x|² = R(t)² d(m-1)/(d(m-1)+2m)."""
        d, m = self.dim, self.m
        return self.radius(t) ** 2 * d * (m - 1.0) / (d * (m - 1.0) + 2.0 * m)

    def peak(self, t) -> float:
        """ρ(0, t) = C^{1/(m-1)} t^{-α} (physical density, integrates to ``mass``)."""
        t = self._check_time(t)
        return float(np.exp(self._p_log_c - self.alpha * np.log(t)))

    def flow_map(self, x, t0, t1) -> np.ndarray:
        """Exact transport X_{t1} = X_{t0} (t1/t0)^β of points ``x`` (shape ``(n, d)``) from t0 to t1."""
        t0, t1 = self._check_time(t0, "t0"), self._check_time(t1, "t1")
        x = check_points(x, self.dim)
        return x * (t1 / t0) ** self.beta

    def log_rho(self, t, x) -> np.ndarray:
        """log ρ(x, t) (mass ``mass``), ``-inf`` outside the support; shape ``(n,)``."""
        return self._log_rho(*self._checked(t, x))

    def _log_rho(self, t: float, x: np.ndarray) -> np.ndarray:
        r2 = np.sum(x * x, axis=1) * np.exp(-2.0 * (self._log_r1 + self.beta * np.log(t)))  # |x|²/R²
        out = np.full(x.shape[0], -np.inf)
        inside = r2 < 1.0
        out[inside] = self._p_log_c - self.alpha * np.log(t) + self._p * np.log1p(-r2[inside])
        return out

    # -- physics -------------------------------------------------------------------------------------------
    def _sample(self, t, n, rng) -> np.ndarray:
        """Exact samples of q_t (see the class docstring)."""
        g = rng.standard_normal((n, self.dim))
        z = rng.standard_gamma(self._p + 1.0, size=n)
        scale = self._radius(t) / np.sqrt(np.sum(g * g, axis=1) + 2.0 * z)
        return g * scale[:, None]

    def _log_density(self, t, x) -> np.ndarray:
        """log q_t(x) = log(ρ/M), ``-inf`` outside the support."""
        return self._log_rho(t, x) - np.log(self.mass)

    def _velocity(self, t, x) -> np.ndarray:
        """v = β x / t (exact inside the support; the flow map's velocity outside)."""
        return (self.beta / t) * x

    def _am_potential(self, t, x) -> np.ndarray:
        """s* = β|x|²/(2t) (= -(m/(m-1))ρ^{m-1} on the support up to a function of t)."""
        return (0.5 * self.beta / t) * np.sum(x * x, axis=1)
