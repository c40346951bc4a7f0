"""Checks shared by the tests of the analytic Schrödinger systems (gaussian-packet, harmonic, hydrogen)."""

from __future__ import annotations

import numpy as np


def schrodinger_residual(psi, potential, t, x, hbar=1.0, mass=1.0, h_t=1e-4, h_x=1e-3):
    """Relative residual |iħ∂_tψ + (ħ²/2m)Δψ - Vψ| / (|ψ| · scale) of ``psi(t, x)`` at points ``x``.

    Central differences: truncation ~h_x² ψ''''/12 and h_t² ψ'''/6 (≈1e-7 relative for the states here),
    round-off ~eps/h_x² ≈ 1e-10. ``scale`` = |ħ ∂_t ψ/ψ| + |(ħ²/2m) Δψ/ψ| + |V|, so the result is a relative
    error of the balance.
    """
    x = np.asarray(x, dtype=np.float64)
    p = psi(t, x)
    dt = (psi(t + h_t, x) - psi(t - h_t, x)) / (2 * h_t)
    lap = np.zeros_like(p)
    for i in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[i] = h_x
        lap += (psi(t, x + e) - 2 * p + psi(t, x - e)) / h_x ** 2
    v = potential(x)
    res = 1j * hbar * dt + hbar ** 2 / (2 * mass) * lap - v * p
    scale = np.abs(hbar * dt) + np.abs(hbar ** 2 / (2 * mass) * lap) + np.abs(v * p)
    return np.abs(res) / scale


def velocity_from_psi(psi, t, x, hbar=1.0, mass=1.0, h=1e-6):
    """(ħ/m) Im(∇ψ/ψ) with ∇ψ by central differences of the complex wavefunction (no phase unwrapping)."""
    x = np.asarray(x, dtype=np.float64)
    p = psi(t, x)
    out = np.empty_like(x)
    for i in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[i] = h
        grad = (psi(t, x + e) - psi(t, x - e)) / (2 * h)
        out[:, i] = (hbar / mass) * np.imag(grad / p)
    return out


def circulation(velocity, t, center, radius, plane=(0, 1), dim=2, n=4000):
    """∮ v·dl around the circle of ``radius`` about ``center`` in the coordinate ``plane``, counter-clockwise.

    Trapezoid rule on a periodic smooth integrand: exponentially accurate when v is smooth on the circle.
    """
    a = 2 * np.pi * np.arange(n) / n
    i, j = plane
    pts = np.tile(np.asarray(center, dtype=np.float64), (n, 1))
    pts[:, i] += radius * np.cos(a)
    pts[:, j] += radius * np.sin(a)
    v = velocity(t, pts)
    tangent = np.zeros((n, dim))
    tangent[:, i] = -radius * np.sin(a)
    tangent[:, j] = radius * np.cos(a)
    return float(np.sum(v * tangent) * 2 * np.pi / n)

