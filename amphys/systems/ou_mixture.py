"""Gaussian mixture under a symmetric, isotropic-noise Ornstein–Uhlenbeck flow (exact; docs/theory.md#fokker-planck)."""

from __future__ import annotations

import numpy as np

from amphys._checks import as_matrix, check_t_span
from amphys.errors import InputError, describe
from amphys.systems.base import System, param
from amphys.systems.ou import GaussianLaw, check_diffusion, ou_transition

__all__ = ["OUMixture"]

#: Benchmark OU-M (docs/benchmarks.md): 8 components on a circle of radius 4, σ0 = 0.25, A = I, D = I, d = 2.
_DEFAULT_K, _DEFAULT_RADIUS, _DEFAULT_SIGMA0 = 8, 4.0, 0.25


def _default_means() -> np.ndarray:
    angle = 2.0 * np.pi * np.arange(_DEFAULT_K) / _DEFAULT_K
    return _DEFAULT_RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=1)


class OUMixture(System):
    r"""Gaussian-mixture initial law under dX = -A X dt + sqrt(2δ) dW with A symmetric (exact).

    Fokker–Planck equation ∂_t q = ∇·(q A x) + δ Δq. Each component stays Gaussian, so
    q_t = Σ_k w_k N(μ_k(t), Σ_k(t)), μ_k(t) = e^{-At}μ_k,
    Σ_k(t) = e^{-At}Σ_k e^{-At} + ∫_0^t e^{-As} 2δ e^{-As} ds
    (the Ornstein–Uhlenbeck formulas of :mod:`amphys.systems.ou`).

    Velocity: the probability-flow field v = -Ax - δ∇log q_t, with
    ∇log q_t = -Σ_k γ_k(x) Σ_k(t)^{-1}(x - μ_k(t)) and responsibilities γ_k from log-sum-exp. Because A is
    symmetric and the noise isotropic, v = ∇s* with s* = -½xᵀAx - δ log q_t: it is the exact Action Matching
    target (``velocity_is_gradient = True``). For a non-symmetric A or an anisotropic D the field is valid but
    not a gradient and has no closed-form projection; this class refuses those (``ou`` handles a Gaussian
    law with any drift).

    Sampler: the component k ~ w, then μ_k(t) + L_k(t) ξ (exact, vectorised; no SDE discretisation).

    Parameters
    ----------
    drift : float or array_like, shape (d, d)
        A, symmetric; a scalar means that multiple of the identity.
    diffusion : float or array_like, shape (d, d)
        δ >= 0, isotropic: a scalar, or a (d, d) multiple of the identity.
    weights : array_like, shape (K,), optional
        Non-negative component weights with a positive sum (normalised for use; ``weights`` keeps them as given);
        default uniform.
    means : array_like, shape (K, d), optional
        Initial component means. Default (benchmark OU-M): K = 8 points on the circle of radius 4 in d = 2.
    covs : float or array_like, shape (K,), (d, d) or (K, d, d), optional
        Initial component covariances, SPD: a scalar or K scalars (multiples of I), one shared matrix, or K
        matrices. Default 0.25² I.
    t_span : (float, float)
        Time window (t0, t1), t0 < t1.

    Units
    -----
    Dimensionless (``units_x = units_t = "1"``).

    References
    ----------
    H. Risken, *The Fokker–Planck Equation*, Springer (1989), §6.5 (OU transition density).
    K. Neklyudov et al., "Action Matching: learning stochastic dynamics from samples", ICML 2023.
    """

    name = "ou-mixture"
    units_x = "1"
    units_t = "1"
    velocity_is_gradient = True

    drift: float | np.ndarray = 1.0
    diffusion: float | np.ndarray = 1.0
    weights: np.ndarray | None = None
    means: np.ndarray | None = None
    covs: float | np.ndarray | None = None
    t_span: tuple[float, float] = param((0.0, 1.0), check_t_span)

    def _setup(self) -> None:
        self.means = self.means0 = self._check_means(_default_means() if self.means is None else self.means)
        K, d = self.means.shape
        self.dim = d
        A = as_matrix(self.drift, d, "drift")
        if not np.allclose(A, A.T, rtol=1e-10, atol=1e-12):
            raise InputError(
                f"drift: expected a symmetric matrix, got {A.tolist()}; with a non-symmetric drift the "
                "mixture's probability-flow velocity is not a gradient and its Action Matching target has no "
                "closed form (use system 'ou' for a rotational drift with a Gaussian law)")
        self.drift = 0.5 * (A + A.T)
        D = check_diffusion(self.diffusion, d)
        if not np.allclose(D, D[0, 0] * np.eye(d), rtol=1e-10, atol=1e-12):
            raise InputError(
                f"diffusion: expected a scalar or a multiple of the identity, got {D.tolist()}; with "
                "anisotropic noise the mixture's velocity is not a gradient and has no closed-form Action "
                "Matching target")
        self.diffusion = self.delta = float(D[0, 0])
        self.weights = self._check_weights(self.weights, K)
        self._probs = self.weights / self.weights.sum()
        self.covs = self.covs0 = self._check_covs(_DEFAULT_SIGMA0**2 if self.covs is None else self.covs, K, d)
        self._log_w = np.log(self._probs, where=self._probs > 0, out=np.full(K, -np.inf))
        self._cache: dict[float, tuple] = {}
        for t in self.t_span:
            self._state(t)  # every component covariance must be SPD over the window

    @staticmethod
    def _check_means(means) -> np.ndarray:
        try:
            mu0 = np.asarray(means, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"means: expected a (K, d) array, got {describe(means)}") from None
        if mu0.ndim != 2 or mu0.shape[0] < 1 or mu0.shape[1] < 1 or not np.all(np.isfinite(mu0)):
            raise InputError(f"means: expected a finite (K, d) array (for a 1-D mixture write [[-2], [2]]), "
                             f"got shape {mu0.shape}")
        return mu0

    @staticmethod
    def _check_weights(weights, K: int) -> np.ndarray:
        if weights is None:
            return np.full(K, 1.0 / K)
        try:
            w = np.asarray(weights, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"weights: expected {K} non-negative numbers, got {describe(weights)}") from None
        if w.shape != (K,) or not np.all(np.isfinite(w)):
            raise InputError(f"weights: expected a finite vector of length K = {K} (one per row of means), "
                             f"got shape {w.shape}")
        if np.any(w < 0) or w.sum() <= 0:
            raise InputError(f"weights: expected non-negative weights with a positive sum, got {w.tolist()}")
        return w

    @staticmethod
    def _check_covs(covs, K: int, d: int) -> np.ndarray:
        try:
            c = np.asarray(covs, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"covs: expected a scalar, (K,), (d, d) or (K, d, d) array, got {describe(covs)}"
                             ) from None
        eye = np.eye(d)
        if c.ndim == 0:
            c = np.broadcast_to(float(c) * eye, (K, d, d))
        elif c.ndim == 1 and c.shape == (K,):
            c = c[:, None, None] * eye
        elif c.ndim == 2 and c.shape == (d, d):
            c = np.broadcast_to(c, (K, d, d))
        elif c.ndim != 3 or c.shape != (K, d, d):
            raise InputError(f"covs: expected a scalar or shape ({K},), ({d}, {d}) or ({K}, {d}, {d}), "
                             f"got shape {c.shape}")
        out = np.empty((K, d, d))
        for k in range(K):
            out[k] = as_matrix(c[k], d, f"covs[{k}]", spd=True)
        return out

    # -- state at time t -----------------------------------------------------------------------------------
    def _state(self, t: float):
        """Component laws N(μ_k(t), Σ_k(t)) and stacked Cholesky factors (K, d, d) at t (cached)."""
        hit = self._cache.get(t)
        if hit is not None:
            return hit
        F, Q = ou_transition(self.drift, self.delta * np.eye(self.dim), t)
        mu = self.means0 @ F.T
        cov = np.einsum("ij,kjl,ml->kim", F, self.covs0, F) + Q
        laws = tuple(GaussianLaw(mu[k], cov[k], f"ou-mixture component {k} at t = {t}") for k in range(len(mu)))
        chol = np.stack([law.chol for law in laws])
        chol.flags.writeable = False
        state = (laws, chol)
        if len(self._cache) >= 32:
            self._cache.clear()
        self._cache[t] = state
        return state

    def component_means(self, t) -> np.ndarray:
        """μ_k(t), shape ``(K, d)``."""
        return np.stack([law.mean for law in self._state(self._check_time(t))[0]])

    def component_covs(self, t) -> np.ndarray:
        """Σ_k(t), shape ``(K, d, d)``."""
        return np.stack([law.cov for law in self._state(self._check_time(t))[0]])

    def _log_q_and_score(self, t: float, x: np.ndarray, want_score: bool = True):
        """log q_t(x) and ∇log q_t(x) in one pass over the components (streaming log-sum-exp: the running
        maximum rescales the accumulated Σ_k e^{ℓ_k} and Σ_k e^{ℓ_k} Σ_k^{-1}(x - μ_k), nothing of size K·n)."""
        top = np.full(x.shape[0], -np.inf)
        total = np.zeros(x.shape[0])
        weighted = np.zeros_like(x) if want_score else None
        for k, law in enumerate(self._state(t)[0]):
            if self.weights[k] == 0:
                continue
            if want_score:
                log_k, prec_dx = law.log_pdf(x, with_precision=True)
            else:
                log_k = law.log_pdf(x)
            log_k = log_k + self._log_w[k]
            new_top = np.maximum(top, log_k)
            rescale, term = np.exp(top - new_top), np.exp(log_k - new_top)
            total = total * rescale + term
            if want_score:
                weighted = weighted * rescale[:, None] + term[:, None] * prec_dx
            top = new_top
        logq = top + np.log(total)
        return logq, (None if weighted is None else -weighted / total[:, None])

    def score(self, t, x) -> np.ndarray:
        """∇log q_t(x) = -Σ_k γ_k Σ_k(t)^{-1}(x - μ_k(t)), shape ``(n, d)``."""
        return self._log_q_and_score(*self._checked(t, x))[1]

    # -- physics -------------------------------------------------------------------------------------------
    def _sample(self, t, n, rng) -> np.ndarray:
        """Exact samples: component k ~ weights, then μ_k(t) + L_k(t) ξ."""
        laws, chol = self._state(t)
        mu = np.stack([law.mean for law in laws])
        cdf = np.cumsum(self._probs)
        comp = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(cdf) - 1)
        xi = rng.standard_normal((n, self.dim))
        return mu[comp] + np.einsum("nij,nj->ni", chol[comp], xi)

    def _log_density(self, t, x) -> np.ndarray:
        """log q_t(x) = logsumexp_k [log w_k + log N(x; μ_k(t), Σ_k(t))]."""
        return self._log_q_and_score(t, x, want_score=False)[0]

    def _velocity(self, t, x) -> np.ndarray:
        """v = -Ax - δ∇log q_t (exact, a gradient, the AM target)."""
        return -x @ self.drift - self.delta * self._log_q_and_score(t, x)[1]

    def _am_potential(self, t, x) -> np.ndarray:
        """s* = -½xᵀAx - δ log q_t(x)."""
        log_q = self._log_q_and_score(t, x, want_score=False)[0]
        return -0.5 * np.sum((x @ self.drift) * x, axis=1) - self.delta * log_q
