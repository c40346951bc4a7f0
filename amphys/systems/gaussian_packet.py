"""Free Gaussian wave packet (Schrödinger, V = 0; exact; docs/theory.md#schrodinger)."""

from __future__ import annotations

import numpy as np

from amphys._checks import as_vector, check_dim, check_t_span, positive
from amphys.errors import InputError
from amphys.systems.base import param
from amphys.systems.schrodinger.gaussian import GaussianState
from amphys.systems.schrodinger.wave import WavefunctionSystem

__all__ = ["GaussianPacket"]


class GaussianPacket(WavefunctionSystem):
    r"""A free Gaussian wave packet that moves and spreads (exact), a product over the d axes.

    Schrödinger equation with V = 0::

        iħ ∂_t ψ = -(ħ²/2m) Δψ.

    State, per axis i, with τ_s = 2mσ_0²/ħ and v_0 = p_0/m (docs/theory.md#schrodinger)::

        ψ_i = (2πσ_0²)^{-1/4} (1 + it/τ_s)^{-1/2}
              exp[-(x_i - x_{0,i} - v_{0,i} t)²/(4σ_0²(1 + it/τ_s))
                  + i p_{0,i}(x_i - μ_i)/ħ + i p_{0,i}² t/(2mħ)],

    which is ψ_0 = (2πσ_0²)^{-1/4} exp(-(x - x_0)²/(4σ_0²) + i p_0(x - x_0)/ħ) evolved freely (the same as
    the form in docs/theory.md up to a constant phase). Density q_t = N(μ_t, σ_t² I) with μ_t = x_0 + v_0 t and
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

    dim: int = param(1, check_dim)
    x0: float | np.ndarray = 0.0
    p0: float | np.ndarray = 1.0
    sigma0: float | np.ndarray = 1.0
    mass: float = param(1.0, positive)
    hbar: float = param(1.0, positive)
    t_span: tuple[float, float] = param((0.0, 1.0), check_t_span)

    def _setup(self) -> None:
        self.x0 = as_vector(self.x0, self.dim, "x0")
        self.p0 = as_vector(self.p0, self.dim, "p0")
        self.sigma0 = as_vector(self.sigma0, self.dim, "sigma0")
        if np.any(self.sigma0 <= 0):
            raise InputError(f"sigma0: expected positive spreads, got {self.sigma0.tolist()}")
        self.wave = GaussianState(self.x0, self.p0, self.sigma0, 0.0, self.mass, self.hbar)

    @property
    def spreading_time(self) -> np.ndarray:
        """τ_s = 2mσ_0²/ħ per axis: the width has grown by √2 at t = τ_s."""
        return 2.0 * self.mass * self.sigma0 ** 2 / self.hbar

    def mean_std(self, t):
        """Centre μ_t and per-axis standard deviation σ_t of q_t, each of shape (d,)."""
        return self.wave.mean_std(self._check_time(t))
