"""Smooth paths in time through chained couplings, and the choice of their smoothness.

See docs/theory.md#learning-from-snapshots.

A path visits one sample per snapshot, x_0, ..., x_K at the observed times τ_0 < ... < τ_K (normalised time). Its
position and velocity at any τ are linear in those samples:

    x(τ) = Σ_k W_k(τ) x_k,        u(τ) = dx/dτ = Σ_k W′_k(τ) x_k,

with the weights of a penalised cubic spline: the cubic spline f with knots at the observed times that minimises
Σ_k (f(τ_k) − x_k)² + λ ∫_0^1 f‴(τ)² dτ. At λ = 0 it interpolates (not-a-knot-like); as λ grows it tends to the
least-squares quadratic, so λ pools the snapshots: a velocity at τ draws on several snapshots around it, which
is what stops the error from growing with the number of snapshots (finite differences of noisy positions grow
like 1/Δt). A third-derivative penalty leaves quadratics (constant acceleration) unpenalised and keeps the ends
unbiased for them.

:func:`loo_smoothing` chooses λ from the data alone: each held-out interior snapshot j is removed, the paths are
rebuilt around it (the plan from j−1 to j+1), the spline through the remaining knots gives the positions at τ_j of
the paths that started from the samples of snapshot j−1 — the previous snapshot pushed along the estimated path —
and the energy distance to the held-out samples scores it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SplineWeights", "spline_weights", "loo_smoothing", "SMOOTHING_GRID"]

#: Candidates of λ tried by :func:`loo_smoothing` (normalised time τ ∈ [0, 1]).
SMOOTHING_GRID = (0.0, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
_GAUSS = np.polynomial.legendre.leggauss(4)


@dataclass(frozen=True)
class SplineWeights:
    """W(τ) and W′(τ) on a fine grid of τ: ``grid`` (G,), ``value`` (G, K+1), ``slope`` (G, K+1)."""

    grid: np.ndarray
    value: np.ndarray
    slope: np.ndarray

    def at(self, tau: np.ndarray):
        """(W, W′) at times ``tau`` by linear interpolation on the grid: two (len(tau), K+1) arrays."""
        tau = np.clip(np.asarray(tau, dtype=np.float64), self.grid[0], self.grid[-1])
        pos = (tau - self.grid[0]) / (self.grid[-1] - self.grid[0]) * (self.grid.size - 1)
        i = np.minimum(pos.astype(np.int64), self.grid.size - 2)
        f = (pos - i)[:, None]
        return ((1 - f) * self.value[i] + f * self.value[i + 1], (1 - f) * self.slope[i] + f * self.slope[i + 1])


def _design(knots: np.ndarray):
    from scipy.interpolate import BSpline

    k = 3
    t = np.concatenate([[knots[0]] * k, knots, [knots[-1]] * k])
    return BSpline, t, len(t) - k - 1


def spline_weights(knots, lam: float, *, grid=None, n_grid: int = 1025) -> SplineWeights:
    """Weights of the penalised cubic spline with knots ``knots`` (increasing, normalised time) and penalty
    ``lam`` on ∫f‴², evaluated on ``grid`` (default: ``n_grid`` points over [knots[0], knots[-1]]).

    Two knots give the straight line (linear interpolation); three give the least-squares quadratic when λ > 0
    and the interpolating quadratic when λ = 0.
    """
    knots = np.asarray(knots, dtype=np.float64)
    grid = np.linspace(knots[0], knots[-1], n_grid) if grid is None else np.asarray(grid, dtype=np.float64)
    K1 = knots.size
    if K1 < 4:  # polynomial through/closest to the few knots: degree K1 - 1 (a line or a parabola)
        deg = K1 - 1
        V = np.vander(knots, deg + 1, increasing=True)
        H = np.linalg.pinv(V)
        G = np.vander(grid, deg + 1, increasing=True)
        dG = np.zeros_like(G)
        dG[:, 1:] = G[:, :-1] * np.arange(1, deg + 1)
        return SplineWeights(grid, G @ H, dG @ H)
    BSpline, t, nb = _design(knots)
    B = BSpline.design_matrix(knots, t, 3).toarray()
    basis = [BSpline(t, np.eye(nb)[j], 3) for j in range(nb)]
    R = np.zeros((nb, nb))
    xg, wg = _GAUSS
    for a, b in zip(knots[:-1], knots[1:]):  # ∫ f‴² exactly: f‴ is constant on each interval
        mid = 0.5 * (a + b) + 0.5 * (b - a) * xg
        D = np.stack([f.derivative(3)(mid) for f in basis], axis=1)
        R += (D * (0.5 * (b - a) * wg)[:, None]).T @ D
    # λ = 0: among the interpolating splines (nb = K1 + 2 coefficients, K1 conditions) the one with least ∫f‴²
    eps = 1e-10 * np.trace(B.T @ B) / max(np.trace(R), 1e-300)
    H = np.linalg.solve(B.T @ B + max(lam, eps) * R, B.T)
    clipped = np.clip(grid, knots[0], knots[-1])
    value = BSpline.design_matrix(clipped, t, 3).toarray() @ H
    slope = np.stack([f.derivative(1)(clipped) for f in basis], axis=1) @ H
    return SplineWeights(grid, value, slope)


def _energy_distance(a: np.ndarray, b: np.ndarray, max_n: int = 1500, rng=None) -> float:
    """Energy distance 2E|X−Y| − E|X−X′| − E|Y−Y′| (V-statistics on at most ``max_n`` samples of each)."""
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(rng)
    a = a[rng.choice(a.shape[0], min(max_n, a.shape[0]), replace=False)]
    b = b[rng.choice(b.shape[0], min(max_n, b.shape[0]), replace=False)]
    return float(2 * cdist(a, b).mean() - cdist(a, a).mean() - cdist(b, b).mean())


def loo_smoothing(tau: np.ndarray, xs, *, candidates=SMOOTHING_GRID, max_held: int = 6, window: int | None = None,
                  n_max: int = 400, seed: int = 0):
    """Choose λ by leave-one-snapshot-out (module docstring): returns (λ, mean score per candidate, held-out
    indices). Needs at least 4 snapshots (else returns λ = 0 and no scores).

    Cost control: at most ``max_held`` interior snapshots, evenly spread, are held out, with at most ``n_max``
    samples of each snapshot (random subsets): a choice costs about K·max_held exact couplings of n_max samples
    (11 s for K = 21 on one core). ``window`` (default: all) limits each held-out path to that many snapshots on
    either side; a window shorter than the spline's bandwidth (≈ λ^{1/6} of the time span) cannot see the bias of
    strong smoothing over the whole span (measured: rotating OU, 21 snapshots, window 5 chose λ = 1e-2 and a field
    error of 0.57; all snapshots chose 1e-6).
    """
    from amphys.solver.coupling import chain_paths

    K1 = len(xs)
    if K1 < 4:
        return 0.0, np.array([]), np.array([], dtype=int)
    rng = np.random.default_rng(seed)
    sub = [x[rng.choice(len(x), min(n_max, len(x)), replace=False)] for x in xs]
    interior = np.arange(1, K1 - 1)
    held = interior[np.unique(np.linspace(0, interior.size - 1, min(max_held, interior.size)).round().astype(int))]
    scores = np.zeros((len(candidates), held.size))
    for h, j in enumerate(held):
        reach = K1 if window is None else window
        keep = np.array([k for k in range(max(0, j - reach), min(K1, j + reach + 1)) if k != j])
        start = int(np.flatnonzero(keep == j - 1)[0])
        parts = [sub[k] for k in keep]
        # paths through the kept snapshots, through the samples of snapshot j - 1 (chained both ways from there)
        ahead = chain_paths(parts[start:], seed=seed + h)
        full = ahead
        if start > 0:
            behind = chain_paths(parts[start::-1], seed=seed + h)[:, ::-1]
            full = np.concatenate([behind[:, :-1], ahead], axis=1)
        for c, lam in enumerate(candidates):
            w = spline_weights(tau[keep], lam, grid=np.array([tau[j]]))
            pred = np.einsum("k,nkd->nd", w.value[0], full)
            scores[c, h] = _energy_distance(pred, sub[j], rng=seed + h)
    mean = scores.mean(axis=1)
    return float(candidates[_least_within_noise(scores)]), mean, held


def _least_within_noise(scores: np.ndarray) -> int:
    """Index of the first (least smoothing) candidate whose mean score is within one standard error of the best,
    the standard error of the paired differences over the held-out snapshots.

    Why the least and not the best: leaving snapshot j out doubles the gap the spline bridges at τ_j, so the
    criterion rewards more smoothing than the full set of knots needs, and its curve is flat beyond the right λ
    (measured: symmetric OU and fp-grid double well, 11 snapshots, the scores of λ = 1e-4 … 1e-2 agree within noise
    while the field error vs the truth grows from 0.066 to 0.109 and from 0.29 to 0.61; docs/benchmarks.md).
    """
    mean = scores.mean(axis=1)
    best = int(np.argmin(mean))
    if scores.shape[1] < 2:
        return best
    diff = scores - scores[best]
    se = diff.std(axis=1, ddof=1) / np.sqrt(scores.shape[1])
    return int(np.flatnonzero(diff.mean(axis=1) <= se)[0])
