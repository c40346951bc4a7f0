"""Free Gaussian wave packet (Schrödinger, V = 0; exact; SPEC §3.5, PHYSICS §3 item 1)."""

from __future__ import annotations

import numbers

import numpy as np

from amphys.errors import InputError, describe
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

__all__ = ["GaussianPacket"]


class GaussianPacket(System):
    r"""A free Gaussian wave packet that moves and spreads (exact), a product over the d axes.

    Schrödinger equation with V = 0::

        iħ ∂_t ψ = -(ħ²/2m) Δψ.

    State, per axis i, with τ_s = 2mσ_0²/ħ and v_0 = p_0/m (PHYSICS §3 item 1)::

        ψ_i = (2πσ_0²)^{-1/4} (1 + it/τ_s)^{-1/2}
              exp[-(x_i - x_{0,i} - v_{0,i} t)²/(4σ_0²(1 + it/τ_s))
                  + i p_{0,i}(x_i - μ_i)/ħ + i p_{0,i}² t/(2mħ)],

    which is ψ_0 = (2πσ_0²)^{-1/4} exp(-(x - x_0)²/(4σ_0²) + i p_0(x - x_0)/ħ) evolved freely (the same as
    PHYSICS's form up to a constant phase). Density q_t = N(μ_t, σ_t² I) with μ_t = x_0 + v_0 t and
    σ_t² = σ_0²(1 + t²/τ_s²).

    Velocity (Bohmian, j/q = (ħ/m)∇arg ψ; a gradient, hence also the Action Matching target)::

        v = v_0 + (x - μ_t) t/(τ_s² + t²),      s* = v_0·(x - μ_t) + |x - μ_t|² t/(2(τ_s² + t²)).

    :meth:`psi` returns the wavefunction itself, an exact solution (including its time-dependent phase).

    Parameters
    ----------
    dim : int
        Spatial dimension d >= 1.
    x0, p0 : float or array of shape (d,)
        Initial centre and momentum (a scalar is used on every axis).
    sigma0 : float or array of shape (d,)
        Initial position spread σ_0 > 0 (standard deviation of q_0 along each axis).
    mass, hbar : float
        Particle mass m > 0 and reduced Planck constant ħ > 0 (both 1 in atomic units).
    t_span : (float, float)
        Time window; the formulas hold for every real t.

    Units
    -----
    Atomic units by default (ħ = m = 1): positions in bohr, times in ħ/hartree (``units_x``, ``units_t``).
    With other ``mass``/``hbar`` the units are whatever those numbers are expressed in.

    References
    ----------
    C. Cohen-Tannoudji, B. Diu, F. Laloë, *Quantum Mechanics*, Vol. 1, Complement G_I (free Gaussian packet);
    D. Bohm, Phys. Rev. 85 (1952) 166 (velocity field j/q).
    """

    name = "gaussian-packet"
    units_x = "bohr"
    units_t = "hbar/hartree (atomic time)"
    velocity_is_gradient = True

    def __init__(self, dim=1, x0=0.0, p0=1.0, sigma0=1.0, mass=1.0, hbar=1.0, t_span=(0.0, 1.0)):
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral) or dim < 1:
            raise InputError(f"dim: expected a positive integer (spatial dimension), got {describe(dim)}")
        self.dim = d = int(dim)
        x0v = as_vector(x0, d, "x0")
        p0v = as_vector(p0, d, "p0")
        sig = as_vector(sigma0, d, "sigma0")
        if np.any(sig <= 0):
            raise InputError(f"sigma0: expected positive spreads, got {sig.tolist()}")
        self.mass = positive(mass, "mass")
        self.hbar = positive(hbar, "hbar")
        self.t_span = check_t_span(t_span)
        self._state = GaussianState(x0v, p0v, sig, 0.0, self.mass, self.hbar)
        self._params = {"dim": d, "x0": x0v.tolist(), "p0": p0v.tolist(), "sigma0": sig.tolist(),
                        "mass": self.mass, "hbar": self.hbar, "t_span": list(self.t_span)}

    @property
    def spreading_time(self) -> np.ndarray:
        """τ_s = 2mσ_0²/ħ per axis: the width has grown by √2 at t = τ_s."""
        return 2.0 * self.mass * self._state.sigma0 ** 2 / self.hbar

    def mean_std(self, t):
        """Centre μ_t and per-axis standard deviation σ_t of q_t, each of shape (d,)."""
        return self._state.mean_std(check_time(t))

    def psi(self, t, x) -> np.ndarray:
        """The wavefunction ψ(x, t), complex, shape ``(n,)``."""
        return self._state.psi(check_time(t), check_points(x, self.dim))

    def sample(self, t, n, rng=None) -> np.ndarray:
        """Exact samples μ_t + σ_t N(0, I), shape ``(n, d)``."""
        t, n, rng = check_time(t), check_count(n), as_rng(rng)
        return self._state.sample(t, n, rng)

    def log_density(self, t, x) -> np.ndarray:
        """log q_t(x) = log N(x; μ_t, σ_t² I), shape ``(n,)``."""
        return self._state.log_density(check_time(t), check_points(x, self.dim))

    def velocity(self, t, x) -> np.ndarray:
        """Bohmian velocity v = v_0 + (x - μ_t) t/(τ_s² + t²), shape ``(n, d)``."""
        return self._state.velocity(check_time(t), check_points(x, self.dim))

    def am_potential(self, t, x) -> np.ndarray:
        """s* with ∇s* = v (up to a function of t), shape ``(n,)``."""
        return self._state.potential(check_time(t), check_points(x, self.dim))
