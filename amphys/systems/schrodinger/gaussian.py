"""Gaussian wave packets in a harmonic potential (ω = 0: free), exact solutions of the Schrödinger equation.

:class:`GaussianState` is a product over axes of one-dimensional packets, given by its initial centre, momentum and
width and the frequency ω: the state of ``gaussian-packet`` (ω = 0), and with the widths that
:mod:`~amphys.systems.schrodinger.oscillator_states` sets, the coherent and squeezed states of ``harmonic``.
"""

from __future__ import annotations

import numpy as np

from amphys.systems.schrodinger.wave import WaveState

__all__ = ["GaussianState"]


def _wrap(angle):
    """Angle reduced to [-π, π)."""
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


class GaussianState(WaveState):
    r"""A product over axes of Gaussian packets solving iħ∂_tψ = -(ħ²/2m)Δψ + ½mω²|x|²ψ exactly (ω >= 0).

    Per axis, with initial state ψ_0 = (2πσ_0²)^{-1/4} exp(-(x-x_0)²/(4σ_0²) + i p_0 (x-x_0)/ħ)::

        ψ = (2πσ_0²)^{-1/4} Z^{-1/2} exp( i m Ż/(2ħZ) (x-x_c)² + i p_c (x-x_c)/ħ + i S/ħ ),
        Z(t) = cos ωt + i (ħ/(2mσ_0²)) sin(ωt)/ω          (Z̈ = -ω²Z, Z(0) = 1),
        x_c = x_0 cos ωt + (p_0/m) sin(ωt)/ω,   p_c = m ẋ_c,   S = ∫_0^t (p_c²/2m - ½mω²x_c²) dt'.

    Z^{-1/2} is taken on the branch continuous in t from 1 (its phase is the Gouy phase, e^{-iωt/2} for the
    coherent state). Then q = N(x_c, σ_t²) with σ_t = σ_0|Z|, and the Bohmian velocity
    v = p_c/m + Re(Ż/Z)(x - x_c) with Re(Ż/Z) = σ̇/σ is the gradient of
    s* = p_c(x - x_c)/m + ½ Re(Ż/Z)(x - x_c)² (docs/theory.md#schrodinger; Heller, J. Chem. Phys. 62 (1975) 1544).
    """

    def __init__(self, x0, p0, sigma0, omega: float, mass: float, hbar: float):
        self.x0, self.p0, self.sigma0 = (np.asarray(a, dtype=np.float64) for a in (x0, p0, sigma0))
        self.dim = self.x0.size
        self.omega, self.mass, self.hbar = float(omega), float(mass), float(hbar)
        self._c = self.hbar / (2.0 * self.mass * self.sigma0 ** 2)   # Ż(0) = i c

    def evolve(self, t: float):
        """x_c, p_c, Z, Ż and S at time t (each of shape (d,))."""
        w, m = self.omega, self.mass
        sin1 = t * np.sinc(w * t / np.pi)            # sin(ωt)/ω, = t at ω = 0
        sin2 = t * np.sinc(2.0 * w * t / np.pi)      # sin(2ωt)/(2ω)
        cos = np.cos(w * t)
        xc = self.x0 * cos + (self.p0 / m) * sin1
        pc = self.p0 * cos - m * w * w * self.x0 * sin1
        z = cos + 1j * self._c * sin1
        zdot = -w * w * sin1 + 1j * self._c * cos
        action = ((self.p0 ** 2 / (2.0 * m) - 0.5 * m * w * w * self.x0 ** 2) * sin2
                  + 0.5 * self.x0 * self.p0 * (np.cos(2.0 * w * t) - 1.0))
        return xc, pc, z, zdot, action

    def mean_std(self, t: float):
        """Centre x_c(t) and standard deviations σ_t per axis."""
        xc, _, z, _, _ = self.evolve(t)
        return xc, self.sigma0 * np.abs(z)

    def psi(self, t: float, x: np.ndarray) -> np.ndarray:
        xc, pc, z, zdot, action = self.evolve(t)
        w_t = self.omega * t
        gouy = w_t + _wrap(np.angle(z) - w_t)        # continuous arg Z (same quadrant as ωt)
        dx = x - xc
        expo = (1j * self.mass * zdot / (2.0 * self.hbar * z)) * dx ** 2 + 1j * (pc * dx + action) / self.hbar
        amp = (2.0 * np.pi * self.sigma0 ** 2) ** -0.25 * np.abs(z) ** -0.5
        return np.prod(amp) * np.exp(np.sum(expo, axis=1) - 0.5j * np.sum(gouy))

    def log_density(self, t: float, x: np.ndarray) -> np.ndarray:
        xc, std = self.mean_std(t)
        u = (x - xc) / std
        return -0.5 * np.sum(u * u, axis=1) - np.sum(np.log(std)) - 0.5 * x.shape[1] * np.log(2.0 * np.pi)

    def velocity(self, t: float, x: np.ndarray) -> np.ndarray:
        xc, pc, z, zdot, _ = self.evolve(t)
        return pc / self.mass + np.real(zdot / z) * (x - xc)

    def potential(self, t: float, x: np.ndarray) -> np.ndarray:
        xc, pc, z, zdot, _ = self.evolve(t)
        dx = x - xc
        return np.sum(pc * dx / self.mass + 0.5 * np.real(zdot / z) * dx ** 2, axis=1)

    def sample(self, t: float, n: int, rng: np.random.Generator) -> np.ndarray:
        xc, std = self.mean_std(t)
        return xc + std * rng.standard_normal((n, xc.size))


