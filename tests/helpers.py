"""Numerical checks shared by the tests: continuity residuals, curl, Monte-Carlo tolerances."""

from __future__ import annotations

import numpy as np


def continuity_residual(log_density, velocity, t, x, h_t=1e-5, h_x=1e-5):
    """Strong continuity residual r = ∂_t log q + ∇·v + v·∇log q at points ``x``
    (docs/theory.md#verification-identities, item 1).

    Central differences in float64 (truncation ~h², round-off ~eps/h). Returns ``(r, scale)`` where ``scale`` is
    |∂_t log q| + |∇·v| + |v·∇log q|, so that ``|r| / scale`` is a relative residual.
    """
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    dt_logq = (log_density(t + h_t, x) - log_density(t - h_t, x)) / (2 * h_t)
    v = velocity(t, x)
    div_v = np.zeros(n)
    grad_logq = np.zeros((n, d))
    for i in range(d):
        e = np.zeros(d)
        e[i] = h_x
        div_v += (velocity(t, x + e)[:, i] - velocity(t, x - e)[:, i]) / (2 * h_x)
        grad_logq[:, i] = (log_density(t, x + e) - log_density(t, x - e)) / (2 * h_x)
    transport = np.sum(v * grad_logq, axis=1)
    r = dt_logq + div_v + transport
    scale = np.abs(dt_logq) + np.abs(div_v) + np.abs(transport)
    return r, scale


def jacobian(field, t, x, h=1e-5):
    """Central-difference Jacobian J[n, i, j] = ∂v_i/∂x_j of ``field(t, x)``."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    J = np.zeros((n, d, d))
    for j in range(d):
        e = np.zeros(d)
        e[j] = h
        J[:, :, j] = (field(t, x + e) - field(t, x - e)) / (2 * h)
    return J


def max_asymmetry(field, t, x, h=1e-5):
    """Largest |J - Jᵀ| relative to the largest |J|: zero (to truncation) for a gradient field."""
    J = jacobian(field, t, x, h)
    asym = np.abs(J - np.swapaxes(J, 1, 2)).max()
    return asym / max(np.abs(J).max(), 1e-300)


def mc_tolerance(samples, k=5.0):
    """k standard errors of the mean of ``samples`` along axis 0 (for moment checks)."""
    samples = np.asarray(samples, dtype=np.float64)
    return k * samples.std(axis=0, ddof=1) / np.sqrt(samples.shape[0])
