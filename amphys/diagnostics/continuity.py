r"""Calibrated test of the continuity equation from snapshots (docs/theory.md#calibrated-continuity-test).

Snapshots (t_j, X_j), j = 0..T−1, independent between times, and a field v. Under H0 (v transports the observed
densities, ∂_t q = −∇·(q v)), for every smooth test function φ

    e(i) = E_{t_{i+1}}[φ] − E_{t_i}[φ] − ∫_{t_i}^{t_{i+1}} E_t[∇φ·v] dt = 0          (integral weak form)

The means are sample means; the integral is the local cubic quadrature of the transport means b_j = E_{t_j}[∇φ·v]
(error O(Δt⁵) per interval). Test functions: the degree ≤ 2 monomials of the standardised coordinates and 8
random Fourier features at the data scale, replaced by their principal combinations on the pooled samples with
variance ≥ 1e-3 × the largest (K = 3 in 1-D, 10–13 in 2-D): near-collinear combinations carry no signal, only
bias that whitening would amplify.

Residual covariance. e = P m − W b is linear in the per-snapshot means (m_j, b_j), independent between snapshots,
so Cov(e) = Σ_j [P_j² Cmm_j − P_j W_j (Cmg_j + Cgm_j) + W_j² Cgg_j] exactly (CLT), with C_j the covariance of the
snapshot's sample means of (φ, ∇φ·v). Added: the quadrature's disagreement with the rules of order 1 and 5, one
rank-one term per interval and rule (time-discretisation error treated as noise), and a variance floor
(+ γ λ_max I per snapshot block, γ = 0.01) so no direction counts as more than 10× more precise than the best one.

Statistics (generalised least squares, whitened by Cov(e)): ``scale`` (1 df, along the field's own predicted
increments W b: a mis-scaled field; also the transport ratio ŝ, the observed means move as ŝ × the motion the
field predicts), ``smooth`` (residuals that are a degree < 2 polynomial in time for each test function) and
``local`` (per time, the residual over the adjacent intervals: its scale direction and its full K-vector, min-p).
The overall p-value is the min-p of the three, calibrated by a parametric bootstrap of the snapshot means
(``n_sim`` Gaussian draws with the covariance used for whitening); per-time p-values are calibrated exactly and
also given Holm-adjusted over times.

Blind spot (by design): an error w with ∇·(q w) = 0 changes no E[∇φ·v]; v and v + w move the same densities and
no test on the marginals can tell them apart. Only the gradient part of v is identifiable from snapshots.
Weights of unbalanced data are ignored (the balanced continuity equation is tested).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import special
from scipy.linalg import cho_factor, cho_solve

from amphys._checks import check_choice, check_float, check_int
from amphys.diagnostics.fields import call_velocity
from amphys.diagnostics.weak import as_snapshot_list
from amphys.errors import InputError

__all__ = ["continuity_test", "ContinuityResult", "TestFunctions", "quadrature_weights"]

#: rule disagreement (in sampling-noise units) above which the snapshots are too sparse in time for the test
RESOLUTION_WARN = 10.0


class TestFunctions:
    """φ_k(x) and ∇φ_k(x)·v, k = 1..K, on standardised coordinates z = (x − μ)/σ (μ, σ of ``pooled``).

    Raw features: z_a and z_a z_b (``degree`` ≤ 2) and ``n_fourier`` features cos(ω·z + β), ω ~ N(0, I/length²),
    β ~ U[0, 2π) from ``seed``; used: their principal combinations on ``pooled`` scaled to unit variance, those
    with variance ≥ ``rtol`` × the largest.
    """

    __test__ = False  # not a pytest class

    def __init__(self, pooled: np.ndarray, *, degree: int = 2, n_fourier: int = 8, length: float = 1.0,
                 seed: int = 0, rtol: float = 1e-3):
        pooled = np.asarray(pooled, dtype=np.float64)
        self.d = d = pooled.shape[1]
        self.mu = pooled.mean(axis=0)
        sd = pooled.std(axis=0)
        self.sigma = np.where(sd > 0, sd, 1.0)
        self.degree = int(degree)
        self.pairs = [(a, b) for a in range(d) for b in range(a, d)] if degree >= 2 else []
        rng = np.random.default_rng(seed)
        self.omega = rng.standard_normal((int(n_fourier), d)) / float(length)
        self.phase = rng.uniform(0.0, 2.0 * np.pi, int(n_fourier))
        sub = pooled if pooled.shape[0] <= 20000 else pooled[rng.choice(pooled.shape[0], 20000, replace=False)]
        raw, _ = self._raw(sub, np.zeros_like(sub))
        if raw.shape[1] == 0:
            raise InputError("test functions: degree 0 and n_fourier 0 leave no test function")
        lam, V = np.linalg.eigh(np.atleast_2d(np.cov(raw.T)))
        keep = lam >= rtol * max(lam.max(), 1e-300)
        self.A = (V[:, keep] / np.sqrt(lam[keep]))[:, ::-1]  # (K_raw, K), largest variance first
        self.K = int(keep.sum())

    def __call__(self, x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(φ (n, K), ∇φ·v (n, K)) at samples ``x`` with velocities ``v``."""
        phi, g = self._raw(x, v)
        return phi @ self.A, g @ self.A

    def _raw(self, x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        z = (x - self.mu) / self.sigma
        u = v / self.sigma  # ∇_x = (1/σ) ∇_z
        phis, gs = [], []
        if self.degree >= 1:
            phis.append(z)
            gs.append(u)
        if self.pairs:
            a, b = np.array([p[0] for p in self.pairs]), np.array([p[1] for p in self.pairs])
            phis.append(z[:, a] * z[:, b])
            gs.append(u[:, a] * z[:, b] + z[:, a] * u[:, b])
        if self.omega.shape[0]:
            arg = np.einsum("nd,kd->nk", z, self.omega) + self.phase
            phis.append(np.cos(arg))
            gs.append(-np.sin(arg) * np.einsum("nd,kd->nk", u, self.omega))
        empty = np.zeros((x.shape[0], 0))
        return (np.concatenate(phis, axis=1) if phis else empty), (np.concatenate(gs, axis=1) if gs else empty)


def quadrature_weights(times: np.ndarray, i: int, order: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(indices, w) with ∫_{t_i}^{t_{i+1}} f dt ≈ Σ w_j f(t_j): the integral of the polynomial of degree ``order``
    through the order + 1 snapshots nearest the interval (one-sided near the ends; any irregular times). Error
    O(Δt^{order+2}) per interval for smooth f; order 1 is the trapezoid rule."""
    n = times.size
    p = min(int(order), n - 1)
    lo = min(max(i - ((p + 1) // 2 - 1), 0), n - (p + 1))
    idx = np.arange(lo, lo + p + 1)
    c = 0.5 * (times[i] + times[i + 1])
    scale = max(np.max(np.abs(times[idx] - c)), 1e-300)
    s = (times[idx] - c) / scale
    sa, sb = (times[i] - c) / scale, (times[i + 1] - c) / scale
    k = np.arange(p + 1)
    q = scale * (sb ** (k + 1) - sa ** (k + 1)) / (k + 1)
    return idx, np.linalg.solve(np.vander(s, p + 1, increasing=True).T, q)


def _operators(times: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """(P, W), rows = intervals, columns = snapshots: residual = P @ means − W @ transports."""
    P, W = np.zeros((times.size - 1, times.size)), np.zeros((times.size - 1, times.size))
    for i in range(times.size - 1):
        P[i, i], P[i, i + 1] = -1.0, 1.0
        idx, w = quadrature_weights(times, i, order)
        W[i, idx] = w
    return P, W


@dataclasses.dataclass
class ContinuityResult:
    """What :func:`continuity_test` found.

    Per snapshot time: ``statistic`` (the local chi-square), ``p_value`` (calibrated, not adjusted for the number
    of times), ``p_value_holm`` (Holm-adjusted over times), ``residual`` R = ‖ρ‖/(‖Δm‖ + ‖∫b‖) over the test
    functions on the adjacent intervals and ``residual_threshold`` (its 95% quantile under H0: R ≤ threshold reads
    "within noise"). Overall: ``p_value_all``, ``components`` {name: (statistic, df, p)}, ``transport_ratio`` ŝ ±
    ``transport_ratio_se`` (observed motion / the motion the field predicts; 1 when consistent), ``info``
    (``K``, ``truncation_z``: the largest quadrature-rule disagreement in noise units).
    """

    times: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    p_value_holm: np.ndarray
    residual: np.ndarray
    residual_threshold: np.ndarray
    p_value_all: float
    components: dict
    transport_ratio: float
    transport_ratio_se: float
    info: dict = dataclasses.field(default_factory=dict)

    def verdict(self, alpha: float = 0.05) -> str:
        """One plain sentence: what the overall p-value says, and what it cannot say."""
        moved = (f"{self.transport_ratio:.3g} ± {self.transport_ratio_se:.2g} times as far as the field predicts"
                 if np.isfinite(self.transport_ratio) else "while the field predicts no motion")
        tz = self.info.get("truncation_z")  # above RESOLUTION_WARN: the snapshots do not resolve the motion
        gap = (f" The quadrature rules in time disagree by {tz:.0f} noise units: at this time spacing and sample size "
               f"time discretisation alone can make such residuals; add snapshots between these times before "
               f"reading a small p as a transport error (a ratio far from 1 still points to a wrong field)."
               if tz is not None and tz > RESOLUTION_WARN else "")
        if self.p_value_all < alpha:
            head = (f"p = {self.p_value_all:.2g} < {alpha:g}: " + ("the residuals exceed sampling noise" if gap else
                    "the field does NOT transport the observed densities (residuals this large would arise from "
                    "sampling noise and time discretisation with probability p)") + f"; the means move {moved}.")
        else:
            head = (f"p = {self.p_value_all:.2g}: no evidence against continuity at this sample size and time "
                    f"spacing (not proof of correctness); the observed means move {moved}.")
        return head + gap + " An error w with div(q w) = 0 moves no density and is invisible to this test by design."

    def summary(self, alpha: float = 0.05) -> str:
        """The verdict, the components and the failing times (Holm-adjusted p < ``alpha``), as text."""
        lines = [self.verdict(alpha)]
        for name, (s, df, p) in self.components.items():
            lines.append(f"  {name:7s} statistic {s:9.3f}  df {df:3d}  p {p:.3g}")
        bad = np.flatnonzero(self.p_value_holm < alpha)
        if bad.size:
            lines.append("  failing times (Holm-adjusted p < alpha): " + ", ".join(
                f"t={self.times[i]:.4g} (p={self.p_value_holm[i]:.2g}, R={self.residual[i]:.3f})" for i in bad))
        return "\n".join(lines)


def _chi2_sf(x, df: int):
    x = np.asarray(x, dtype=np.float64)  # df >= 1
    return special.erfc(np.sqrt(np.maximum(x, 0.0) / 2.0)) if df == 1 else special.chdtrc(df, x)


def _holm(p: np.ndarray) -> np.ndarray:
    adj, running = np.empty(p.size), 0.0
    for rank, i in enumerate(np.argsort(p)):
        running = max(running, (p.size - rank) * p[i])
        adj[i] = min(running, 1.0)
    return adj


def _psd_sqrt(A: np.ndarray) -> np.ndarray:
    lam, V = np.linalg.eigh(0.5 * (A + A.T))
    return V * np.sqrt(np.maximum(lam, 0.0))


def _inv_sqrt(A: np.ndarray, rtol: float = 1e-10) -> tuple[np.ndarray, int]:
    """(H, rank), H = Λ_+^{-1/2} Vᵀ on the numerically non-null eigenspace: |H x|² = xᵀ A⁺ x."""
    lam, V = np.linalg.eigh(0.5 * (A + A.T))
    keep = lam > rtol * max(lam.max(), 1e-300)
    return (V[:, keep] / np.sqrt(lam[keep])).T, int(keep.sum())


_PAIR_NULL: dict = {}


def _pair_null(K: int) -> np.ndarray:
    """Sorted null draws of min(p_1, p_K) for (z², |Z|²), z = c·Z, Z ~ N(0, I_K), |c| = 1 (the law does not depend
    on c by rotation invariance): the exact calibration of the per-time min-p (40 000 draws, cached per K)."""
    if K not in _PAIR_NULL:
        Z = np.random.default_rng(12345).standard_normal((40000, K))
        _PAIR_NULL[K] = np.sort(np.minimum(_chi2_sf(Z[:, 0] ** 2, 1), _chi2_sf(np.sum(Z ** 2, axis=1), K)))
    return _PAIR_NULL[K]


def snapshot_moments(snaps, velocities, tf: TestFunctions):
    """Per-snapshot means m (T, K) of φ and b (T, K) of ∇φ·v, and the covariance (T, 2K, 2K) of these means."""
    T, K = len(snaps), tf.K
    m, b, C = np.empty((T, K)), np.empty((T, K)), np.empty((T, 2 * K, 2 * K))
    for j, ((_, x), v) in enumerate(zip(snaps, velocities)):
        allc = np.concatenate(tf(x, v), axis=1)
        mean = allc.mean(axis=0)
        m[j], b[j] = mean[:K], mean[K:]
        c = allc - mean
        C[j] = (c.T @ c) / ((x.shape[0] - 1) * x.shape[0])
    return m, b, C


def continuity_test(snapshots, velocity, *, order: int = 3, truncation: str = "spread", floor: float = 0.01,
                    n_fourier: int = 8, degree: int = 2, length: float = 1.0, n_sim: int = 2000,
                    seed: int = 0) -> ContinuityResult:
    """Calibrated weak-form continuity test of ``velocity`` on ``snapshots`` (see the module docstring).

    Parameters
    ----------
    snapshots : Snapshots dataset or a sequence of ``(t, x (n_t, d))`` pairs: independent samples of q_t at ≥ 4
        distinct times (each with ≥ 2 samples).
    velocity : a FitResult, any callable v(t, x) -> (n, d), or a list of arrays (one per snapshot, in time order)
        with v at the snapshot samples.
    order : quadrature order (3: local cubic; 1 is the trapezoid rule, too coarse for most data).
    truncation : "spread" (the time-discretisation error, estimated by the disagreement with the rules of order
        ± 2, is added to the covariance) or "none".
    floor : γ of the variance floor (0 disables).
    n_fourier, degree, length : the test functions (:class:`TestFunctions`); ``seed`` fixes them and the
        bootstrap.
    n_sim : Gaussian draws of the parametric bootstrap that calibrates the overall p-value (≥ 100).
    """
    snaps = as_snapshot_list(snapshots)
    times = np.array([t for t, _ in snaps])
    if np.unique(times).size != times.size or times.size < 4:
        raise InputError(f"snapshots: the continuity test needs at least 4 distinct snapshot times, got "
                         f"{np.unique(times).size}")
    order = check_int(order, "order", low=1, high=7)
    check_choice(truncation, "truncation", ("spread", "none"))
    floor = check_float(floor, "floor", low=0.0, high=1.0)
    n_sim = check_int(n_sim, "n_sim", low=100)
    check_int(n_fourier, "n_fourier", low=0), check_int(degree, "degree", low=0, high=2)
    check_float(length, "length", low=0.0, low_open=True)
    if isinstance(velocity, (list, tuple)):
        if len(velocity) != len(snaps):
            raise InputError(f"velocity: expected one array per snapshot ({len(snaps)}), got {len(velocity)}")
        vs = [call_velocity(lambda t, x, v=v: v, t, x, "velocity") for v, (t, x) in zip(velocity, snaps)]
    else:
        vs = [call_velocity(velocity, t, x, "velocity") for t, x in snaps]
    tf = TestFunctions(np.concatenate([x for _, x in snaps]), degree=degree, n_fourier=n_fourier, length=length,
                       seed=seed)
    m, b, C = snapshot_moments(snaps, vs, tf)
    res = continuity_test_moments(times, m, b, C, order=order, truncation=truncation, floor=floor, n_sim=n_sim,
                                  seed=seed)
    res.info["n"] = [int(x.shape[0]) for _, x in snaps]
    return res


def _covariance(times, m, b, C, order, truncation, floor):
    """(P, W, e, Σ, β): operators, residual (T−1, K), its covariance (D, D) and the truncation vectors."""
    T, K = m.shape
    P, W = _operators(times, order)
    e = P @ m - W @ b
    C = C.copy()
    if floor > 0:  # + γ λ_max I on each snapshot's φ and ∇φ·v blocks: telescopes over intervals like real noise
        for j in range(T):
            for sl in (slice(0, K), slice(K, 2 * K)):
                C[j, sl, sl] += floor * max(float(np.linalg.eigvalsh(C[j, sl, sl]).max()), 0.0) * np.eye(K)
    Cmm, Cmg, Cgg = C[:, :K, :K], C[:, :K, K:], C[:, K:, K:]
    S = (np.einsum("rj,sj,jkl->rksl", P, P, Cmm, optimize=True)
         - np.einsum("rj,sj,jkl->rksl", P, W, Cmg, optimize=True)
         - np.einsum("rj,sj,jlk->rksl", W, P, Cmg, optimize=True)
         + np.einsum("rj,sj,jkl->rksl", W, W, Cgg, optimize=True)).reshape((T - 1) * K, (T - 1) * K)
    S = 0.5 * (S + S.T)
    betas = []
    if truncation == "spread":  # one rank-one term per interval and neighbouring rule: each scales on its own
        for o2 in (order - 2, order + 2):
            if o2 >= 1 and T >= o2 + 2:
                P2, W2 = _operators(times, o2)
                diff = e - (P2 @ m - W2 @ b)
                for r in range(T - 1):
                    v = np.zeros_like(e)
                    v[r] = diff[r]
                    betas.append(v.ravel())
    beta = np.array(betas) if betas else np.zeros((0, S.shape[0]))
    return P, W, e, S, beta, C


def continuity_test_moments(times, m, b, C, *, order: int = 3, truncation: str = "spread", floor: float = 0.01,
                            n_sim: int = 2000, seed: int = 0, time_degree: int = 2) -> ContinuityResult:
    """The test from per-snapshot moments (:func:`snapshot_moments`): ``m``, ``b`` (T, K), ``C`` (T, 2K, 2K)."""
    times = np.asarray(times, dtype=np.float64)
    T, K = m.shape
    P, W, e, S, beta, C = _covariance(times, m, b, C, order, truncation, floor)
    D, u, beta_z = S.shape[0], W @ b, None  # u: the field's predicted increments
    if beta.shape[0]:
        H0, _ = _inv_sqrt(S)
        beta_z = float(np.max(np.linalg.norm(beta @ H0.T, axis=1)))
        S = S + beta.T @ beta
    cho = cho_factor(S + 1e-10 * np.trace(S) / D * np.eye(D), lower=True)
    rng = np.random.default_rng(seed + 7919)
    # residuals under H0: the snapshot means' Gaussian noise through (P, W), plus the truncation terms
    L = np.stack([_psd_sqrt(Cj) for Cj in C])
    Y = np.matmul(rng.standard_normal((T, n_sim, 2 * K)), L.transpose(0, 2, 1))
    Es = (P @ Y[:, :, :K].reshape(T, -1) - W @ Y[:, :, K:].reshape(T, -1)).reshape(T - 1, n_sim, K)
    Es = Es.transpose(1, 0, 2).reshape(n_sim, D)
    if beta.shape[0]:
        Es += rng.standard_normal((n_sim, beta.shape[0])) @ beta
    mid, h = 0.5 * (times[1:] + times[:-1]), np.diff(times)
    tau = (mid - 0.5 * (times[0] + times[-1])) / max(0.5 * (times[-1] - times[0]), 1e-300)
    X = np.zeros((T - 1, K, time_degree, K))
    for p in range(time_degree):
        for k in range(K):
            X[:, k, p, k] = h * tau ** p
    comps, obs_p, sim_p = {}, [], []
    for name, design in (("scale", u.reshape(D, 1)), ("smooth", X.reshape(D, -1))):
        SiX = cho_solve(cho, design)
        H, rank = _inv_sqrt(design.T @ SiX)
        A = H @ SiX.T  # |A e|² = GLS chi-square of e along span(design)
        st = float(np.sum((A @ e.ravel()) ** 2))
        comps[name] = (st, rank, float(_chi2_sf(st, rank)) if rank else 1.0)  # rank 0: a field that moves nothing
        obs_p.append(comps[name][2])
        sim_p.append(_chi2_sf(np.sum((Es @ A.T) ** 2, axis=1), rank) if rank else np.ones(n_sim))
    local = _local(times, P @ m, e, u, S, Es, K, floor, rng)
    comps["local"], ranks = (float(-np.log10(max(local["obs"], 1e-300))), T, local["p"]), np.empty(n_sim)
    ranks[np.argsort(local["sim"], kind="stable")] = np.arange(1, n_sim + 1)
    obs_p.append(local["p"]), sim_p.append(ranks / (1 + n_sim))
    hits = int(np.sum(np.min(np.array(sim_p), axis=0) <= min(obs_p)))  # calibrated min-p of the components
    p_all = float((1 + hits) / (1 + n_sim))
    if hits == 0:  # beyond the simulation's resolution: the Bonferroni bound (valid, and then smaller)
        p_all = min(p_all, 3.0 * min(obs_p[0], obs_p[1], min(1.0, 2.0 * T * local["obs"])))
    Siu = cho_solve(cho, u.ravel())
    uu = float(u.ravel() @ Siu)
    s_hat = 1.0 + float(Siu @ e.ravel()) / uu if uu > 0 else float("nan")
    return ContinuityResult(
        times=times, statistic=local["stat"], p_value=local["per_p"], p_value_holm=_holm(local["per_p"]),
        residual=local["R"], residual_threshold=local["R_thr"], p_value_all=p_all, components=comps,
        transport_ratio=s_hat, transport_ratio_se=1.0 / math.sqrt(uu) if uu > 0 else float("nan"),
        info={"K": K, "order": order, "truncation": truncation, "truncation_z": beta_z})


def _local(times, Pm, e, u, S, Es, K, floor, rng) -> dict:
    """Per time: the residual over the adjacent interval(s), its scale direction (1 df) and full K-vector, min-p
    (calibrated exactly by :func:`_pair_null`); the minimum over times, calibrated by the bootstrap ``Es``."""
    T, n_sim = times.size, Es.shape[0]
    S4, Es3 = S.reshape(T - 1, K, T - 1, K), Es.reshape(n_sim, T - 1, K)
    null_pair = _pair_null(K)
    out = {k: np.empty(T) for k in ("stat", "per_p", "R", "R_thr")}
    z2_sim, c2_sim, obs = np.zeros(n_sim), np.zeros(n_sim), 1.0
    for i in range(T):
        rows = [r for r in (i - 1, i) if 0 <= r < T - 1]
        rho, x_loc = e[rows].sum(axis=0), u[rows].sum(axis=0)
        Si = S4[rows][:, :, rows].sum(axis=(0, 2))
        fl = math.sqrt(floor * max(float(np.linalg.eigvalsh(0.5 * (Si + Si.T)).max()), 0.0)) if floor > 0 else 0.0
        H, rank = _inv_sqrt(Si + fl ** 2 * np.eye(K))
        hx = H @ x_loc
        a = H.T @ hx / max(np.linalg.norm(hx), 1e-300)  # GLS scale direction: aᵀρ ~ N(0, 1)
        z, c2 = float(a @ rho), float(np.sum((H @ rho) ** 2))
        p_pair = min(float(_chi2_sf(z * z, 1)), float(_chi2_sf(c2, rank)))
        out["stat"][i] = c2
        out["per_p"][i] = (float((1 + np.searchsorted(null_pair, p_pair, side="right")) / (1 + null_pair.size))
                           if rank == K else min(1.0, 2.0 * p_pair))
        obs = min(obs, p_pair)
        rho_s = Es3[:, rows].sum(axis=1)
        if fl > 0:
            rho_s = rho_s + fl * rng.standard_normal(rho_s.shape)
        z2_sim = np.maximum(z2_sim, (rho_s @ a) ** 2)
        c2_sim = np.maximum(c2_sim, np.sum((rho_s @ H.T) ** 2, axis=1))
        scale = np.linalg.norm(Pm[rows].sum(axis=0)) + np.linalg.norm(x_loc)
        scale = scale if scale > 0 else 1.0
        out["R"][i] = np.linalg.norm(rho) / scale
        out["R_thr"][i] = float(np.quantile(np.linalg.norm(rho_s, axis=1), 0.95)) / scale
    sim = np.minimum(_chi2_sf(z2_sim, 1), _chi2_sf(c2_sim, K))
    out.update(obs=obs, sim=sim, p=float((1 + np.sum(sim <= obs)) / (1 + n_sim)))
    return out
