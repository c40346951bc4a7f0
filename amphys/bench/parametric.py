"""Parametric estimators that are told the family of the answer: the statistical floor of the snapshots benchmark.

They use the same snapshots (N samples at K times) as the learned methods, but know the form of the field:

- **Gaussian path** (q_t Gaussian at every t, moments smooth in t): the mean μ_k and covariance Σ_k of every
  snapshot, each entry smoothed in time by a cubic smoothing spline whose λ minimises the unbiased risk estimate
  ‖(I − S_λ)m‖² + 2σ² tr S_λ with σ² the known sampling variance of that moment; then the least-action field
  v = μ̇ + M(x − μ), MΣ + ΣM = Σ̇.
- **OU family** (Ornstein–Uhlenbeck from a Gaussian start: q_t is Gaussian at every t and its moments obey
  μ̇ = −Aμ, Σ̇ = −AΣ − ΣAᵀ + 2D): the drift A, the diffusion D and the initial moments fitted by least squares
  to the mean μ_k and covariance Σ_k of every snapshot (each moment weighted by its sampling variance); then the
  least-action field of the fitted Gaussian path, v = μ̇ + M(x − μ) with M symmetric solving MΣ + ΣM = Σ̇
  (docs/theory.md#fokker-planck).
- **Self-similar scaling** (Barenblatt: x = R(t)·Z with Z of fixed law): log R²(t) = log E|x − x̄|² fitted as
  a + 2β log t by least squares over the snapshots, v = β (x − x̄)/t (docs/theory.md#porous-medium).

A method that must learn the form as well cannot beat these on the same N and K, up to noise.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_continuous_lyapunov

__all__ = ["gaussian_path", "ou_family", "self_similar", "FLOORS"]


def _ou_moments(params: np.ndarray, d: int, times: np.ndarray):
    """Means (K, d) and covariances (K, d, d) of the OU process with parameters packed as (A, chol D, μ0, chol Σ0),
    by integrating the moment equations (exact up to the integrator's tolerance)."""
    from scipy.integrate import solve_ivp

    A, mu0, cD, c0 = _unpack(params, d)
    D2 = 2 * cD @ cD.T

    def rhs(t, y):
        mu, S = y[:d], y[d:].reshape(d, d)
        return np.concatenate([-A @ mu, (-A @ S - S @ A.T + D2).ravel()])

    y0 = np.concatenate([mu0, (c0 @ c0.T).ravel()])
    sol = solve_ivp(rhs, (times[0], times[-1]), y0, t_eval=times, rtol=1e-9, atol=1e-12)
    return sol.y[:d].T, sol.y[d:].T.reshape(-1, d, d)


def _unpack(p: np.ndarray, d: int):
    il = np.tril_indices(d)
    n = len(il[0])
    A = p[:d * d].reshape(d, d)
    cD, c0 = np.zeros((d, d)), np.zeros((d, d))
    cD[il] = p[d * d:d * d + n]
    mu0 = p[d * d + n:d * d + n + d]
    c0[il] = p[d * d + n + d:]
    return A, mu0, cD, c0


def ou_family(times, xs):
    """The OU-family estimator (module docstring): returns v(t, x) -> (n, d)."""
    from scipy.optimize import least_squares

    times = np.asarray(times, dtype=np.float64)
    d = xs[0].shape[1]
    means = np.array([x.mean(axis=0) for x in xs])
    covs = np.array([np.cov(x.T).reshape(d, d) for x in xs])
    ns = np.array([x.shape[0] for x in xs], dtype=np.float64)
    il = np.tril_indices(d)

    def residual(p):
        mu, S = _ou_moments(p, d, times)
        out = []
        for k in range(times.size):  # whitened by the sampling noise of each moment (Gaussian: Var Σ_ij ≈ 2Σ²/n)
            L = np.linalg.cholesky(covs[k])
            Li = np.linalg.inv(L)
            out.append(np.sqrt(ns[k]) * Li @ (mu[k] - means[k]))
            out.append(np.sqrt(ns[k] / 2) * (Li @ (S[k] - covs[k]) @ Li.T)[il])
        return np.concatenate(out)

    # start: the drift of the mean's least-squares fit, D from the last covariance, the first moments
    c0 = np.linalg.cholesky(covs[0])
    p0 = np.concatenate([np.eye(d).ravel() * 0.5, (0.5 * np.eye(d))[il], means[0], c0[il]])
    fit = least_squares(residual, p0, method="lm", max_nfev=2000)
    A, _, cD, _ = _unpack(fit.x, d)
    D2 = 2 * cD @ cD.T
    grid = np.linspace(times[0], times[-1], 401)
    mu_g, S_g = _ou_moments(fit.x, d, grid)

    def velocity(t, x):
        t = float(t)
        i = int(np.clip(np.searchsorted(grid, t), 1, grid.size - 1))
        f = (t - grid[i - 1]) / (grid[i] - grid[i - 1])
        m = (1 - f) * mu_g[i - 1] + f * mu_g[i]
        S = (1 - f) * S_g[i - 1] + f * S_g[i]
        dm, dS = -A @ m, -A @ S - S @ A.T + D2
        M = solve_continuous_lyapunov(S, dS)  # S M + M S = Σ̇ (S symmetric)
        return dm[None, :] + (np.asarray(x) - m) @ (0.5 * (M + M.T)).T

    return velocity


def _smoother_matrix(tau: np.ndarray, lam: float):
    from scipy.interpolate import make_smoothing_spline

    eye = np.eye(tau.size)
    return np.stack([make_smoothing_spline(tau, eye[k], lam=lam)(tau) for k in range(tau.size)], axis=1)


def _smooth(tau: np.ndarray, values: np.ndarray, noise_var: np.ndarray):
    """Smoothing spline of ``values`` (K,) over normalised times ``tau`` with λ by the unbiased risk estimate."""
    from scipy.interpolate import make_smoothing_spline

    if tau.size < 5:
        coef = np.polyfit(tau, values, min(2, tau.size - 1))
        return np.poly1d(coef), np.poly1d(coef).deriv()
    sigma2 = float(np.mean(noise_var))
    best, best_risk = None, np.inf
    for lam in 10.0 ** np.arange(-10, 1):
        S = _smoother_matrix(tau, lam)
        risk = float(np.sum((values - S @ values) ** 2) + 2 * sigma2 * np.trace(S))
        if risk < best_risk:
            best, best_risk = lam, risk
    f = make_smoothing_spline(tau, values, lam=best)
    return f, f.derivative()


def gaussian_path(times, xs):
    """The Gaussian-path estimator (moments smoothed in time; module docstring): returns v(t, x) -> (n, d)."""
    times = np.asarray(times, dtype=np.float64)
    t0, T = times[0], times[-1] - times[0]
    tau = (times - t0) / T
    d = xs[0].shape[1]
    ns = np.array([x.shape[0] for x in xs], dtype=np.float64)
    means = np.array([x.mean(axis=0) for x in xs])
    covs = np.array([np.cov(x.T).reshape(d, d) for x in xs])
    mu = [_smooth(tau, means[:, i], covs[:, i, i] / ns) for i in range(d)]
    sig = {(i, j): _smooth(tau, covs[:, i, j], (covs[:, i, i] * covs[:, j, j] + covs[:, i, j] ** 2) / ns)
           for i, j in zip(*np.triu_indices(d))}

    def velocity(t, x):
        u = (float(t) - t0) / T
        m = np.array([f(u) for f, _ in mu])
        dm = np.array([g(u) for _, g in mu]) / T
        S, dS = np.zeros((d, d)), np.zeros((d, d))
        for (i, j), (f, g) in sig.items():
            S[i, j] = S[j, i] = f(u)
            dS[i, j] = dS[j, i] = g(u) / T
        M = solve_continuous_lyapunov(S, dS)
        return dm[None, :] + (np.asarray(x) - m) @ (0.5 * (M + M.T)).T

    return velocity


def self_similar(times, xs):
    """The self-similar scaling estimator (module docstring): returns v(t, x) -> (n, d)."""
    times = np.asarray(times, dtype=np.float64)
    centre = np.mean([x.mean(axis=0) for x in xs], axis=0)
    r2 = np.array([np.mean(np.sum((x - centre) ** 2, axis=1)) for x in xs])
    beta = 0.5 * np.polyfit(np.log(times), np.log(r2), 1)[0]

    def velocity(t, x):
        return beta * (np.asarray(x) - centre) / float(t)

    return velocity


#: Which floor applies to a system (by registry name); others have none.
FLOORS = {"ou": {"gaussian path": gaussian_path, "OU family": ou_family},
          "barenblatt": {"self-similar": self_similar}}
