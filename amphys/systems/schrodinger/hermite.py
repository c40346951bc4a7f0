"""Hermite functions for superpositions of oscillator eigenstates: scaled values of h_k = φ_k/φ_0, their monomial
coefficients, an exact sampler of |φ_k|², and the continuous phase of a complex polynomial along the real line.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["scaled_hermite", "hermite_monomials", "HermiteDensitySampler", "polynomial_phase"]


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
