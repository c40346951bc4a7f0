"""Numerical checks shared by the tests: continuity residuals (strong and weak), curl, Monte-Carlo tolerances,
the warnings of unresolved grid runs."""

from __future__ import annotations

import warnings

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


# -- weak form of the continuity equation on grid systems: d/dt E[φ] = E[∇φ·v] for plane waves φ = cos(w·x + b) --
def plane_waves(rng, count: int, d: int, scale: float) -> list[tuple[np.ndarray, float]]:
    """``count`` test functions φ(x) = cos(w·x + b) as pairs ``(w, b)``, w ~ N(0, scale² I), b ~ U[0, 2π)."""
    return [(rng.normal(size=d) * scale, rng.uniform(0, 2 * np.pi)) for _ in range(count)]


def grid_mean(fields, w, b) -> float:
    """E_q[cos(w·x + b)] by the midpoint rule on the cells of ``fields`` (a grid system's ``fields(t)``)."""
    X = fields.grid.mesh()
    return float(np.sum(fields.q * np.cos(sum(w[a] * X[a] for a in range(len(w))) + b)) * fields.grid.cell_volume)


def grid_mean_rate(system, t: float, h: float, w, b) -> float:
    """d/dt E_q[cos(w·x + b)] at ``t`` by central differences of :func:`grid_mean` (error O(h²))."""
    return (grid_mean(system.fields(t + h), w, b) - grid_mean(system.fields(t - h), w, b)) / (2 * h)


def assert_sample_flux(x, v, w, b, rate: float, rtol: float) -> None:
    """The sample mean of ∇φ·v = −sin(w·x + b) w·v equals ``rate`` (= d/dt E[φ]) within 5 standard errors
    (Monte Carlo) plus ``rtol``·|rate| (the error of the field itself)."""
    terms = -np.sin(x @ w + b) * (v @ w)
    assert abs(terms.mean() - rate) < 5 * terms.std() / np.sqrt(len(terms)) + rtol * abs(rate)


def unresolved_messages(make) -> str:
    """Texts of the UnresolvedWarnings raised by ``make()``, joined by " | " (an unresolved run often raises
    several)."""
    from amphys.systems.grid import UnresolvedWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make()
    return " | ".join(str(w.message) for w in caught if w.category is UnresolvedWarning)
