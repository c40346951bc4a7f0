"""Shared pieces of the analytic Schrödinger systems (private; PHYSICS §3).

- :class:`GaussianState`: a product of one-dimensional Gaussian wave packets in V = ½mω²|x|² (ω = 0: free),
  used by ``gaussian-packet`` and by the coherent and squeezed states of ``harmonic``.
- Hermite-function helpers for superpositions of oscillator eigenstates: scaled values of h_k = φ_k/φ_0, the
  monomial coefficients of h_k, and an exact sampler of |φ_k|².
- :func:`polynomial_phase`: the continuous phase of a complex polynomial along the real line.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["GaussianState", "scaled_hermite", "hermite_monomials", "HermiteDensitySampler",
           "polynomial_phase", "node_safe_divide"]


def _wrap(angle):
    """Angle reduced to [-π, π)."""
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


def node_safe_divide(num, den):
    """num/den with 0 where den == 0: the Bohmian velocity j/q is undefined on a node, where j = 0 too.

    ``den`` has shape (n,), ``num`` (n,) or (n, d). Returning 0 there keeps j = q v exact and keeps NaN out of
    grid sums (a grid may hit a node exactly).
    """
    safe = np.where(den > 0, den, 1.0)
    out = num / (safe if np.ndim(num) == 1 else safe[:, None])
    return out


class GaussianState:
    r"""A product over axes of Gaussian packets solving iħ∂_tψ = -(ħ²/2m)Δψ + ½mω²|x|²ψ exactly (ω >= 0).

    Per axis, with initial state ψ_0 = (2πσ_0²)^{-1/4} exp(-(x-x_0)²/(4σ_0²) + i p_0 (x-x_0)/ħ)::

        ψ = (2πσ_0²)^{-1/4} Z^{-1/2} exp( i m Ż/(2ħZ) (x-x_c)² + i p_c (x-x_c)/ħ + i S/ħ ),
        Z(t) = cos ωt + i (ħ/(2mσ_0²)) sin(ωt)/ω          (Z̈ = -ω²Z, Z(0) = 1),
        x_c = x_0 cos ωt + (p_0/m) sin(ωt)/ω,   p_c = m ẋ_c,   S = ∫_0^t (p_c²/2m - ½mω²x_c²) dt'.

    Z^{-1/2} is taken on the branch continuous in t from 1 (its phase is the Gouy phase, e^{-iωt/2} for the
    coherent state). Then q = N(x_c, σ_t²) with σ_t = σ_0|Z|, and the Bohmian velocity
    v = p_c/m + Re(Ż/Z)(x - x_c) with Re(Ż/Z) = σ̇/σ is the gradient of
    s* = p_c(x - x_c)/m + ½ Re(Ż/Z)(x - x_c)² (PHYSICS §3 items 1-2; Heller, J. Chem. Phys. 62 (1975) 1544).
    """

    def __init__(self, x0, p0, sigma0, omega: float, mass: float, hbar: float):
        self.x0, self.p0, self.sigma0 = (np.asarray(a, dtype=np.float64) for a in (x0, p0, sigma0))
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


# -- Hermite functions ---------------------------------------------------------------------------------------
def scaled_hermite(kmax: int, xi: np.ndarray):
    """h_k(ξ) = φ_k(ξ)/φ_0(ξ) = H_k(ξ)/sqrt(2^k k!) for k = 0..kmax, divided by s^k with s = max(1, |ξ|).

    Returns ``(h, log_s)``: ``h`` of shape (kmax+1, n) holds h_k/s^k (bounded, so no overflow far out) and
    ``log_s`` = log s. Recurrence h_{k+1} = sqrt(2/(k+1)) ξ h_k - sqrt(k/(k+1)) h_{k-1}.
    """
    xi = np.asarray(xi, dtype=np.float64)
    s = np.maximum(1.0, np.abs(xi))
    h = np.empty((kmax + 1,) + xi.shape)
    h[0] = 1.0
    if kmax >= 1:
        h[1] = np.sqrt(2.0) * xi / s
    for k in range(1, kmax):
        h[k + 1] = np.sqrt(2.0 / (k + 1)) * (xi / s) * h[k] - np.sqrt(k / (k + 1)) * h[k - 1] / s ** 2
    return h, np.log(s)


def hermite_monomials(kmax: int) -> np.ndarray:
    """Monomial coefficients of h_k(ξ) = H_k(ξ)/sqrt(2^k k!): row k holds the coefficients of ξ^0..ξ^kmax."""
    coef = np.zeros((kmax + 1, kmax + 1))
    coef[0, 0] = 1.0
    if kmax >= 1:
        coef[1, 1] = np.sqrt(2.0)
    for k in range(1, kmax):
        coef[k + 1, 1:] = np.sqrt(2.0 / (k + 1)) * coef[k, :-1]
        coef[k + 1] -= np.sqrt(k / (k + 1)) * coef[k - 1]
    return coef


def polynomial_phase(coef: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """A phase of P(ξ) = Σ_j coef[j] ξ^j (complex) that is continuous along the real ξ axis.

    With P = a_N Π_j (ξ - z_j), arg a_N + Σ_j Arg(ξ - z_j) equals arg P modulo 2π, and each term is
    continuous in real ξ when Im z_j ≠ 0 (ξ - z_j then never crosses the negative real axis). At a real root
    (a node) the phase jumps by π there, as it must. The roots are polished by Newton steps.
    """
    coef = np.asarray(coef, dtype=complex)
    nz = np.flatnonzero(np.abs(coef) > 0)
    coef = coef[: nz[-1] + 1]
    high_first = coef[::-1]
    roots = np.roots(high_first)
    deriv = np.polyder(high_first)
    for _ in range(3):            # Newton polish (companion-matrix eigenvalues lose digits when unbalanced)
        step = np.polyval(high_first, roots) / np.polyval(deriv, roots)
        better = np.abs(np.polyval(high_first, roots - step)) < np.abs(np.polyval(high_first, roots))
        roots = np.where(better, roots - step, roots)
    phase = np.full(np.shape(xi), np.angle(coef[-1]))
    for z in roots:
        phase = phase + np.angle(xi - z)
    return phase


class HermiteDensitySampler:
    """Exact sampler of |φ_k(ξ)|² = h_k(ξ)² e^{-ξ²}/√π, by rejection from N(0, k+1).

    The bound M = max_ξ |φ_k|²/N(ξ; 0, k+1) is found on a fine grid and refined by a bounded scalar search
    around the best grid point; the ratio is smooth, so this is the maximum to round-off (a 1e-9 relative
    margin is added). Acceptance is 1/M (≈ 0.6 for k ≤ 20). k = 0 is drawn directly from N(0, ½).
    """

    def __init__(self, k: int):
        self.k = int(k)
        self.var = self.k + 1.0
        if self.k == 0:
            self.log_bound = 0.0
            return
        grid = np.linspace(0.0, np.sqrt(2.0 * self.k + 1.0) + 8.0, 4000 * (self.k + 1) + 1)
        log_r = self._log_ratio(grid)
        i = int(np.argmax(log_r))
        step = grid[1] - grid[0]
        lo, hi = max(0.0, grid[i] - step), grid[i] + step
        res = minimize_scalar(lambda u: -self._log_ratio(np.array([u]))[0], bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-12})
        self.log_bound = max(float(log_r[i]), float(-res.fun)) + 1e-9

    def _log_ratio(self, xi):
        h, log_s = scaled_hermite(self.k, xi)
        with np.errstate(divide="ignore"):     # log 0 = -inf at the nodes of φ_k: never accepted
            log_h = np.log(np.abs(h[self.k]))
        log_target = 2.0 * (log_h + self.k * log_s) - xi ** 2 - 0.5 * np.log(np.pi)
        log_prop = -0.5 * xi ** 2 / self.var - 0.5 * np.log(2.0 * np.pi * self.var)
        return log_target - log_prop

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.k == 0:
            return rng.standard_normal(n) * np.sqrt(0.5)
        out = np.empty(n)
        filled = 0
        while filled < n:
            m = int(1.3 * np.exp(self.log_bound) * (n - filled)) + 16
            xi = rng.standard_normal(m) * np.sqrt(self.var)
            with np.errstate(divide="ignore"):
                log_u = np.log(rng.random(m))
            keep = xi[log_u < self._log_ratio(xi) - self.log_bound]
            take = min(keep.size, n - filled)
            out[filled:filled + take] = keep[:take]
            filled += take
        return out
