"""Linear Ornstein–Uhlenbeck process from a Gaussian initial law: exact Gaussian marginals
(docs/theory.md#fokker-planck).

The module-level functions (:func:`ou_transition`, :func:`cov_derivative`, :func:`gaussian_am_matrix`,
:class:`GaussianLaw`) hold the formulas; :mod:`amphys.systems.ou_mixture` reuses them.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from amphys._checks import as_matrix, as_vector, check_dim, check_t_span
from amphys.errors import InputError
from amphys.systems.base import System, param

__all__ = ["OrnsteinUhlenbeck", "ou_transition", "cov_derivative", "gaussian_am_matrix",
           "GaussianLaw", "cholesky_or_raise", "check_diffusion"]

_LOG_2PI = float(np.log(2.0 * np.pi))
#: Relative asymmetry of -A + D Σ_t^{-1} below which the probability-flow field counts as a gradient.
_SYMMETRY_RTOL = 1e-10
#: Number of evenly spaced times in t_span at which that symmetry is checked.
_N_SYMMETRY_TIMES = 9


# -- formulas shared with ou_mixture -----------------------------------------------------------------------
def ou_transition(drift: np.ndarray, diffusion: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Transition of dX = -A X dt + sqrt(2D) dW over a time ``t``: ``(F, Q)``, X_t | X_0 ~ N(F X_0, Q).

    F = e^{-At} and Q = ∫_0^t e^{-As} 2D e^{-Aᵀs} ds, for any A (stable, zero, unstable, non-normal), unlike
    Σ∞ + e^{-At}(Σ0 - Σ∞)e^{-Aᵀt}, which needs a stable A:

    - general A: one Van Loan block exponential expm(t [[-A, 2D], [0, Aᵀ]]) = [[F, G], [0, e^{Aᵀt}]],
      Q = G e^{-Aᵀt} = G Fᵀ;
    - symmetric A = UΛUᵀ (exactly symmetric): F = U e^{-Λt} Uᵀ and
      Q = U [(Uᵀ 2D U)_ij (1 - e^{-(λ_i+λ_j)t})/(λ_i+λ_j)] Uᵀ (the factor is t where λ_i + λ_j = 0), numpy only.

    References: C. F. Van Loan, "Computing integrals involving the matrix exponential", IEEE Trans. Automat.
    Control 23 (1978) 395–404.
    """
    if np.array_equal(drift, drift.T):
        return _transition_symmetric(drift, diffusion, t)
    return _transition_van_loan(drift, diffusion, t)


def _transition_van_loan(drift, diffusion, t):
    d = drift.shape[0]
    block = np.zeros((2 * d, 2 * d))
    block[:d, :d] = -drift
    block[:d, d:] = 2.0 * diffusion
    block[d:, d:] = drift.T
    E = expm(t * block)
    F = E[:d, :d]
    Q = E[:d, d:] @ F.T
    return F, 0.5 * (Q + Q.T)


def _transition_symmetric(drift, diffusion, t):
    lam, U = np.linalg.eigh(drift)
    F = (U * np.exp(-lam * t)) @ U.T
    c = lam[:, None] + lam[None, :]
    safe = np.where(c == 0.0, 1.0, c)
    factor = np.where(c == 0.0, t, -np.expm1(-c * t) / safe)
    Q = U @ ((U.T @ (2.0 * diffusion) @ U) * factor) @ U.T
    return 0.5 * (F + F.T), 0.5 * (Q + Q.T)


def cov_derivative(drift: np.ndarray, diffusion: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """dΣ/dt = -AΣ - ΣAᵀ + 2D."""
    g = -drift @ cov
    return g + g.T + 2.0 * diffusion


def gaussian_am_matrix(cov: np.ndarray, cov_dot: np.ndarray) -> np.ndarray:
    """The symmetric S with SΣ + ΣS = Σ̇: the AM field of a Gaussian path is v* = μ̇ + S(x - μ)
    (docs/theory.md#fokker-planck).

    Solved in the eigenbasis of the SPD Σ = UΛUᵀ: S = U[(UᵀΣ̇U)_ij / (λ_i + λ_j)]Uᵀ, the same solution as
    ``scipy.linalg.solve_continuous_lyapunov(Σ, Σ̇)`` (λ_i + λ_j > 0, so it is unique) with numpy only.
    """
    lam, U = np.linalg.eigh(cov)
    S = U @ ((U.T @ cov_dot @ U) / (lam[:, None] + lam[None, :])) @ U.T
    return 0.5 * (S + S.T)


def cholesky_or_raise(cov: np.ndarray, what: str) -> np.ndarray:
    """Lower Cholesky factor of an SPD matrix, or an :class:`InputError` naming ``what``."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise InputError(f"{what}: the covariance is not positive definite (eigenvalues "
                         f"{np.linalg.eigvalsh(0.5 * (cov + cov.T)).tolist()}); evaluate at times where the "
                         "Gaussian law exists (e.g. inside t_span)") from None


class GaussianLaw:
    """N(μ, Σ) prepared for repeated evaluation: Σ = LLᵀ, L^{-1} and log det Σ (all read-only).

    Points are whitened with the explicit d×d inverse L^{-1} in plain matrix products (error ~cond(L)·eps, as
    for a triangular solve); scipy's threaded triangular solve on (d, n) right-hand sides was ~40× slower on
    a loaded 2-core machine.
    """

    __slots__ = ("mean", "cov", "chol", "chol_inv", "logdet")

    def __init__(self, mean: np.ndarray, cov: np.ndarray, what: str):
        self.mean = np.array(mean, dtype=np.float64)
        self.cov = 0.5 * (cov + cov.T)
        self.chol = cholesky_or_raise(self.cov, what)
        self.chol_inv = np.tril(np.linalg.inv(self.chol))
        self.logdet = float(2.0 * np.sum(np.log(np.diag(self.chol))))
        for arr in (self.mean, self.cov, self.chol, self.chol_inv):
            arr.flags.writeable = False

    def log_pdf(self, x: np.ndarray, with_precision: bool = False):
        """log N(x; μ, Σ), shape ``(n,)``; with ``with_precision`` also Σ^{-1}(x - μ), shape ``(n, d)``."""
        z = (x - self.mean) @ self.chol_inv.T
        logq = -0.5 * (np.sum(z * z, axis=1) + self.logdet + self.mean.shape[0] * _LOG_2PI)
        return (logq, z @ self.chol_inv) if with_precision else logq


def check_diffusion(diffusion, d: int | None, name: str = "diffusion") -> np.ndarray:
    """A symmetric positive semi-definite (d, d) diffusion matrix D (a scalar means δI, δ >= 0)."""
    D = as_matrix(diffusion, d, name, symmetric=True)
    D = 0.5 * (D + D.T)
    eig = np.linalg.eigvalsh(D)
    if eig.min() < -1e-12 * max(1.0, abs(eig).max()):
        raise InputError(f"{name}: expected a symmetric positive semi-definite matrix (D in dX = -AX dt + "
                         f"sqrt(2D) dW), got eigenvalues {eig.tolist()}")
    return D


def _infer_dim(dim, *values) -> int:
    if dim is not None:
        return check_dim(dim)
    for value in values:
        arr = np.asarray(value, dtype=object)
        if arr.ndim >= 1:
            return int(arr.shape[0])
    return 1


# -- the system --------------------------------------------------------------------------------------------
class OrnsteinUhlenbeck(System):
    r"""Linear Ornstein–Uhlenbeck process with a Gaussian initial law (exact).

    SDE and Fokker–Planck equation (``A = drift``, ``D = diffusion``)::

        dX = -A X dt + sqrt(2D) dW,        ∂_t q = ∇·(q A x) + ∇·(D ∇q),        X_0 ~ N(μ0, Σ0).

    Solution: q_t = N(μ_t, Σ_t) with μ_t = e^{-At} μ0 and
    Σ_t = e^{-At} Σ0 e^{-Aᵀt} + ∫_0^t e^{-As} 2D e^{-Aᵀs} ds, computed with Van Loan's block exponential
    (:func:`ou_transition`), valid for any A (also A = 0 or unstable; for stable A it equals
    Σ∞ + e^{-At}(Σ0 - Σ∞)e^{-Aᵀt} with AΣ∞ + Σ∞Aᵀ = 2D).

    Velocities:

    - :meth:`velocity` is the probability-flow field v = -Ax - D∇log q_t = -Ax + DΣ_t^{-1}(x - μ_t).
      It is a gradient iff its Jacobian -A + DΣ_t^{-1} is symmetric. ``velocity_is_gradient`` is computed:
      that Jacobian is tested for symmetry (relative 1e-10) at 9 evenly spaced times of ``t_span`` (endpoints
      included). It is True e.g. for symmetric A with D = δI; for a rotational drift it is False.
    - :meth:`am_velocity` is the Action Matching target, exact for any A: v* = μ̇_t + S_t(x - μ_t), S_t
      symmetric with S_tΣ_t + Σ_tS_t = Σ̇_t = -AΣ_t - Σ_tAᵀ + 2D;
      potential s* = ½(x - μ_t)ᵀS_t(x - μ_t) + μ̇_tᵀx.
      v_pf - v* is q_t-divergence-free, so E|v_pf|² = E|v*|² + E|v_pf - v*|².

    Formulas hold for every t at which Σ_t is positive definite (t_span is the window for generated data).

    Parameters
    ----------
    drift : float or array_like, shape (d, d)
        A; a scalar means that multiple of the identity. Any real matrix.
    diffusion : float or array_like, shape (d, d)
        D, symmetric positive semi-definite; a scalar means that multiple of the identity.
    mean0 : float or array_like, shape (d,)
        μ0; a scalar is broadcast.
    cov0 : float or array_like, shape (d, d)
        Σ0, symmetric positive definite; a scalar means that multiple of the identity.
    t_span : (float, float)
        Time window (t0, t1), t0 < t1.
    dim : int, optional
        Dimension d when every other argument is a scalar. By default d is the size of the first array
        argument (drift, diffusion, mean0, cov0 in that order), or 1.

    The defaults (A = 1, D = 0.5, μ0 = 2, Σ0 = 0.1) move: a narrow packet relaxing and spreading towards the
    stationary N(0, 0.5); they are the 1D setup of the AM loss identity in docs/theory.md#verification-identities
    (L(s*) = −0.9650542).

    Units
    -----
    Dimensionless (``units_x = units_t = "1"``); rescale A and D with your own units.

    References
    ----------
    H. Risken, *The Fokker–Planck Equation*, Springer (1989), §3.7 and §6.5.
    Y. Song et al., "Score-based generative modeling through SDEs", ICLR 2021 (probability flow).
    K. Neklyudov et al., "Action Matching: learning stochastic dynamics from samples", ICML 2023.
    """

    name = "ou"
    units_x = "1"
    units_t = "1"

    drift: float | np.ndarray = 1.0
    diffusion: float | np.ndarray = 0.5
    mean0: float | np.ndarray = 2.0
    cov0: float | np.ndarray = 0.1
    t_span: tuple[float, float] = param((0.0, 1.0), check_t_span)
    dim: int | None = None

    def _setup(self) -> None:
        self.dim = d = _infer_dim(self.dim, self.drift, self.diffusion, self.mean0, self.cov0)
        self.drift = as_matrix(self.drift, d, "drift")
        self.diffusion = check_diffusion(self.diffusion, d)
        self.mean0 = as_vector(self.mean0, d, "mean0")
        self.cov0 = as_matrix(self.cov0, d, "cov0", spd=True)
        self._cache: dict[float, tuple] = {}
        times = np.linspace(*self.t_span, _N_SYMMETRY_TIMES)
        asym = [self._pf_asymmetry(t) for t in times]  # also checks that Σ_t is SPD over the window
        self.velocity_is_gradient = bool(max(asym) <= _SYMMETRY_RTOL)

    # -- Gaussian state at time t --------------------------------------------------------------------------
    def _state(self, t: float):
        """(N(μ_t, Σ_t), μ̇_t, Σ̇_t, S_t) at time t, cached for a few recent t (arrays are read-only)."""
        hit = self._cache.get(t)
        if hit is not None:
            return hit
        F, Q = ou_transition(self.drift, self.diffusion, t)
        law = GaussianLaw(F @ self.mean0, F @ self.cov0 @ F.T + Q, f"ou at t = {t}")
        cov_dot = cov_derivative(self.drift, self.diffusion, law.cov)
        state = (law, -self.drift @ law.mean, cov_dot, gaussian_am_matrix(law.cov, cov_dot))
        for arr in state[1:]:
            arr.flags.writeable = False
        if len(self._cache) >= 32:
            self._cache.clear()
        self._cache[t] = state
        return state

    def _pf_asymmetry(self, t: float) -> float:
        J = -self.drift + self.diffusion @ np.linalg.inv(self._state(t)[0].cov)
        return float(np.abs(J - J.T).max() / max(np.abs(J).max(), 1e-300))

    def mean(self, t) -> np.ndarray:
        """μ_t = e^{-At} μ0, shape ``(d,)``."""
        return self._state(self._check_time(t))[0].mean.copy()

    def cov(self, t) -> np.ndarray:
        """Σ_t, shape ``(d, d)``."""
        return self._state(self._check_time(t))[0].cov.copy()

    def mean_dot(self, t) -> np.ndarray:
        """dμ_t/dt = -Aμ_t, shape ``(d,)``."""
        return self._state(self._check_time(t))[1].copy()

    def cov_dot(self, t) -> np.ndarray:
        """dΣ_t/dt = -AΣ_t - Σ_tAᵀ + 2D, shape ``(d, d)``."""
        return self._state(self._check_time(t))[2].copy()

    def am_matrix(self, t) -> np.ndarray:
        """S_t, the symmetric solution of S_tΣ_t + Σ_tS_t = Σ̇_t, shape ``(d, d)``."""
        return self._state(self._check_time(t))[3].copy()

    def score(self, t, x) -> np.ndarray:
        """∇log q_t(x) = -Σ_t^{-1}(x - μ_t), shape ``(n, d)``."""
        t, x = self._checked(t, x)
        return -self._state(t)[0].log_pdf(x, with_precision=True)[1]

    # -- physics -------------------------------------------------------------------------------------------
    def _sample(self, t, n, rng) -> np.ndarray:
        """Exact samples μ_t + L_t ξ, ξ ~ N(0, I), L_t the Cholesky factor of Σ_t."""
        law = self._state(t)[0]
        return rng.standard_normal((n, self.dim)) @ law.chol.T + law.mean

    def _log_density(self, t, x) -> np.ndarray:
        """log N(x; μ_t, Σ_t)."""
        return self._state(t)[0].log_pdf(x)

    def _velocity(self, t, x) -> np.ndarray:
        """Probability-flow velocity -Ax + DΣ_t^{-1}(x - μ_t) (a gradient only if ``velocity_is_gradient``;
        otherwise use :meth:`am_velocity` as the truth)."""
        prec_dx = self._state(t)[0].log_pdf(x, with_precision=True)[1]
        return -x @ self.drift.T + prec_dx @ self.diffusion.T

    def _am_velocity(self, t, x) -> np.ndarray:
        """AM target μ̇_t + S_t(x - μ_t), exact for any drift."""
        law, mu_dot, _, S = self._state(t)
        return mu_dot + (x - law.mean) @ S

    def _am_potential(self, t, x) -> np.ndarray:
        """s*(t, x) = ½(x - μ_t)ᵀS_t(x - μ_t) + μ̇_tᵀx (up to a function of t)."""
        law, mu_dot, _, S = self._state(t)
        dx = x - law.mean
        return 0.5 * np.sum((dx @ S) * dx, axis=1) + x @ mu_dot
