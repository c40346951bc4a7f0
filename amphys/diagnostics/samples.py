"""Two-sample distances between sample sets (docs/theory.md#field-and-sample-metrics): MMD², energy distance,
sliced and exact W2.

All take ``x (n, d)`` and ``y (m, d)`` float arrays and return a float. The pairwise statistics are computed
blockwise (:mod:`amphys.diagnostics._blocks`), so memory stays bounded (a few tiles of 2048² doubles) for n, m
up to 50,000 and beyond; cost is O(n m d).

A value is only meaningful next to its **noise floor**: the same metric between two independent sets drawn from
the reference distribution with the same sizes (:func:`amphys.evaluate` reports it beside each metric).
"""

from __future__ import annotations

import math

import numpy as np

from amphys._checks import check_int
from amphys.diagnostics._blocks import DEFAULT_BLOCK, as_samples, pair_sums
from amphys.errors import InputError, describe, unknown_name

__all__ = ["mmd2", "energy_distance", "sliced_w2", "w2", "median_bandwidth", "PAPER_ALPHAS",
           "BANDWIDTH_MULTIPLIERS"]

#: Bandwidth multipliers of the default multi-scale RBF kernel (times the median heuristic).
BANDWIDTH_MULTIPLIERS = (0.5, 1.0, 2.0)

#: Inverse squared lengths α_j of the AM paper's kernel k(x, x') = Σ_j exp(−α_j ‖x − x'‖²), in the official
#: code's length unit (Bohr radius = 4π). See :func:`mmd2` for where this comes from.
PAPER_ALPHAS = (1e-4, 1e-4, 1e-4)

W2_MAX_N = 5000


def median_bandwidth(x, y=None, *, max_points: int = 1000, seed: int = 0) -> float:
    """Median heuristic: the median Euclidean distance between distinct points of the pooled sample.

    At most ``max_points`` points (drawn without replacement with a fixed ``seed``, split evenly between ``x``
    and ``y``) enter, so the cost is bounded. Returns a positive float (1.0 if every point coincides).
    """
    rng = np.random.default_rng(seed)
    x = as_samples(x, "x")
    sets = [x] if y is None else [x, as_samples(y, "y", x.shape[1])]
    per = max(2, max_points // len(sets))
    pool = np.concatenate([s[rng.choice(s.shape[0], per, replace=False)] if s.shape[0] > per else s
                           for s in sets])
    diff = pool[:, None, :] - pool[None, :, :]
    r = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))[np.triu_indices(pool.shape[0], 1)]
    med = float(np.median(r))
    return med if med > 0 else 1.0


def _rbf_sum(alphas):
    """f(r²) = Σ_j exp(−α_j r²). Where α ratios are powers of two (the default multipliers 0.5, 1, 2 give
    ratios 4 and 4) the larger exponents come from repeated squaring of the smaller one: one ``exp`` per pair.
    """
    alphas = sorted(float(a) for a in alphas)
    plan = []  # (number of squarings from the previous term, or None for a fresh exp)
    for k, a in enumerate(alphas):
        if k == 0:
            plan.append(None)
            continue
        ratio = a / alphas[k - 1]
        p = round(math.log2(ratio)) if ratio >= 1 else -1
        plan.append(p if p >= 0 and abs(ratio - 2.0 ** p) <= 1e-12 * ratio else None)

    def f(r2):
        term = np.exp(-alphas[0] * r2)
        out = term.copy()
        for a, p in zip(alphas[1:], plan[1:]):
            if p is None:
                term = np.exp(-a * r2)
            else:
                for _ in range(p):
                    term = term * term
            out += term
        return out

    return f


def _kernel_alphas(x, y, kernel, bandwidth, paper_scale):
    if kernel == "rbf":
        if bandwidth is None:
            bandwidth = median_bandwidth(x, y)
        h = np.atleast_1d(np.asarray(bandwidth, dtype=np.float64))
        if h.ndim != 1 or h.size == 0 or not np.all(np.isfinite(h)) or np.any(h <= 0):
            raise InputError(f"bandwidth: expected a positive number (median-heuristic scale), got "
                             f"{describe(bandwidth)}")
        if h.size == 1:
            h = h[0] * np.asarray(BANDWIDTH_MULTIPLIERS)
        return 1.0 / (2.0 * h ** 2)
    if kernel == "paper":
        s = float(paper_scale)
        if not (np.isfinite(s) and s > 0):
            raise InputError(f"paper_scale: expected a positive length ratio, got {describe(paper_scale)}")
        return np.asarray(PAPER_ALPHAS) * s ** 2
    raise unknown_name("kernel", kernel, ["rbf", "paper"])


def mmd2(x, y, *, kernel: str = "rbf", bandwidth=None, paper_scale: float = 1.0,
         block: int = DEFAULT_BLOCK) -> float:
    """Unbiased squared maximum mean discrepancy (Gretton et al. 2012, eq. 3).

    MMD²_u = 1/(n(n−1)) Σ_{i≠j} k(x_i, x_j) + 1/(m(m−1)) Σ_{i≠j} k(y_i, y_j) − 2/(nm) Σ_{i,j} k(x_i, y_j).

    Its expectation is zero when x and y come from the same law, so single values can be negative.

    Parameters
    ----------
    x, y : (n, d), (m, d) samples.
    kernel : ``"rbf"`` — k = Σ_j exp(−‖x−x′‖²/(2 h_j²)) with h_j = h × (0.5, 1, 2) and h the median heuristic
        of the pooled sample (:func:`median_bandwidth`), or ``bandwidth`` when given (a scalar h, or the list of
        h_j). To compare a metric with its noise floor, pass the same ``bandwidth`` to both (as
        :func:`amphys.evaluate` does, with h from the reference set).
        ``"paper"`` — the kernel of the Action Matching paper's hydrogen experiment (necludov/action-matching,
        ``utils/eval_utils.py``: ``MMDStatistic`` copied from josipd/torch-two-sample, called in
        ``utils/train_utils.py::evaluate`` as ``mmd(x, x_t, 1e-4*torch.ones(x.shape[1]))``):
        k = Σ_{j=1}^{3} exp(−α_j ‖x−x′‖²) with α_j = 1e-4 for all three (one α per coordinate of the 3-D data, so
        the "sum of 3 RBFs" is 3·exp(−1e-4 r²), a single length 1/√(2α) ≈ 70.7 code units ≈ 5.6 Bohr radii),
        in the code's length unit where the Bohr radius is 4π. Its ``pdist`` adds 1e-5 under the square root, a
        factor exp(−1e-9) that is dropped here. The paper reports ``|MMD²_u|`` averaged over 10 times.
    paper_scale : with ``kernel="paper"``, the size of one data length unit in the code's units: 1 for data
        in the code's units (hydrogen with ``bohr_radius=4π``), 4π for data in atomic units (α → α·(4π)²).
    block : tile size of the blockwise sums.
    """
    x = as_samples(x, "x")
    y = as_samples(y, "y", x.shape[1])
    f = _rbf_sum(_kernel_alphas(x, y, kernel, bandwidth, paper_scale))
    n, m = x.shape[0], y.shape[0]
    kxx = pair_sums([f], x, block=block)[0]
    kyy = pair_sums([f], y, block=block)[0]
    kxy = pair_sums([f], x, y, block=block)[0]
    return float(kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2.0 * kxy / (n * m))


def energy_distance(x, y, *, block: int = DEFAULT_BLOCK) -> float:
    """Energy distance (Székely & Rizzo 2013) with unbiased within-set terms:

    D² = 2 E‖X − Y‖ − E‖X − X′‖ − E‖Y − Y′‖  (≥ 0, zero iff the laws agree).

    This is the *squared* form (scipy's ``energy_distance`` returns its square root); the estimate is
    unbiased, so it can be slightly negative when the laws agree. In 1-D with X ~ N(0, σ²), Y ~ N(δ, σ²):
    D² = 2·E|Z| − 4σ/√π with Z ~ N(δ, 2σ²), E|Z| = 2σ/√π·exp(−δ²/(4σ²)) + δ(1 − 2Φ(−δ/(√2σ))).
    """
    x = as_samples(x, "x")
    y = as_samples(y, "y", x.shape[1])
    n, m = x.shape[0], y.shape[0]
    sqrt = np.sqrt
    dxx = pair_sums([sqrt], x, block=block)[0] / (n * (n - 1))
    dyy = pair_sums([sqrt], y, block=block)[0] / (m * (m - 1))
    dxy = pair_sums([sqrt], x, y, block=block)[0] / (n * m)
    return float(2.0 * dxy - dxx - dyy)


def _w2_1d_squared(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Exact W2² between the empirical laws of the rows of ``u (P, n)`` and ``v (P, m)`` (uniform weights),
    via quantile functions on the union of the breakpoints i/n and j/m."""
    u = np.sort(u, axis=1)
    v = np.sort(v, axis=1)
    n, m = u.shape[1], v.shape[1]
    if n == m:
        return np.mean((u - v) ** 2, axis=1)
    levels = np.union1d(np.arange(n + 1) / n, np.arange(m + 1) / m)
    mid = 0.5 * (levels[1:] + levels[:-1])
    w = np.diff(levels)
    iu = np.minimum((mid * n).astype(np.int64), n - 1)
    iv = np.minimum((mid * m).astype(np.int64), m - 1)
    return ((u[:, iu] - v[:, iv]) ** 2) @ w


def sliced_w2(x, y, *, n_projections: int = 500, seed: int = 0, chunk: int = 50) -> float:
    """Sliced Wasserstein-2 distance SW2 = (E_θ W2²(θ·X, θ·Y))^{1/2}, θ uniform on the unit sphere.

    ``n_projections`` directions from a fixed ``seed`` (the same directions for a metric and its floor), each
    1-D W2² exact for the empirical laws (sizes may differ). For shifted laws N(0, I) and N(δ, I) in d
    dimensions, SW2 = ‖δ‖/√d (plus a finite-sample bias that the noise floor shows).
    """
    x = as_samples(x, "x")
    y = as_samples(y, "y", x.shape[1])
    n_projections = check_int(n_projections, "n_projections", low=1)
    d = x.shape[1]
    theta = np.random.default_rng(seed).standard_normal((n_projections, d))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    if d == 1:
        theta = np.ones((1, 1))
    total = 0.0
    for k in range(0, theta.shape[0], chunk):
        th = theta[k:k + chunk]
        total += _w2_1d_squared(th @ x.T, th @ y.T).sum()
    return float(np.sqrt(total / theta.shape[0]))


def w2(x, y, *, max_n: int = W2_MAX_N) -> float:
    """Exact Wasserstein-2 distance between the empirical laws of ``x`` and ``y`` (uniform weights), by the
    network simplex of POT (``ot.emd2`` on the squared Euclidean cost); returns the distance (the square root
    of the optimal cost). Cost O(n² m) time and an n×m matrix in memory, so sizes above ``max_n`` are refused
    (subsample first; :func:`amphys.evaluate` does, with the floor at the same size).
    """
    import ot

    x = as_samples(x, "x")
    y = as_samples(y, "y", x.shape[1])
    n, m = x.shape[0], y.shape[0]
    if max(n, m) > max_n:
        raise InputError(f"w2: exact W2 needs an n×m cost matrix; got n={n}, m={m} above max_n={max_n}; "
                         "subsample both sets (or use sliced_w2)")
    centre = x.mean(axis=0)
    cost = ot.dist(x - centre, y - centre, metric="sqeuclidean")
    a = np.full(n, 1.0 / n)
    b = np.full(m, 1.0 / m)
    value = ot.emd2(a, b, cost, numItermax=max(1_000_000, 200 * n * m), check_marginals=False)
    return float(np.sqrt(max(float(value), 0.0)))
