"""Optimal-transport couplings of consecutive snapshots, chained into sample paths.

See docs/theory.md#learning-from-snapshots.

Snapshots are unpaired: nothing says which sample of q_{t_{k+1}} a sample of q_{t_k} became. An optimal-transport
plan π_k between the empirical measures of two consecutive snapshots (squared Euclidean cost in the data's units,
the metric of the kinetic energy) pairs them the way the least-action motion would. Chaining the plans
k = 0, 1, ..., K−1 gives *paths*: sequences (x_0, x_1, ..., x_K) with x_k a sample of snapshot k. With equal snapshot
sizes and uniform weights every exact plan is a permutation and the chaining is deterministic; otherwise the next
sample is drawn from the plan's row π_k(i, ·)/a_i (a Markov chain through the plans), so every path visits real
samples and the k-th positions are distributed exactly as snapshot k.

Exact plans (POT's network simplex, ``ot.emd``) cost O(n² log n) memory and time; beyond ``max_exact`` samples per
snapshot both snapshots are split into random blocks of about ``max_exact`` samples that are coupled exactly block
by block (minibatch OT: a slight blur of the plan, at a cost linear in n).

:func:`coupling_snr` says whether couplings carry information at all: the displacement W2 between consecutive
snapshots against the W2 between two random halves of one snapshot (what an OT match of independent samples of
the *same* law moves by). Where the ratio is small the coupled displacements are mostly sampling noise, and worse,
biased: conditioned on a sample in the tail of its snapshot, its partner lies further in (regression to the mean),
so a velocity regressed on noisy couplings contracts the tails by an amount ∝ 1/Δt.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ot_plan", "chain_paths", "coupling_snr", "MAX_EXACT"]

#: Samples per snapshot up to which plans are exact (2000 × 2000: about 1.5 s on one core).
MAX_EXACT = 4096


def _emd(a: np.ndarray, b: np.ndarray, wa: np.ndarray, wb: np.ndarray):
    import ot

    cost = ot.dist(a, b)  # squared Euclidean
    top = float(cost.max())
    # the network simplex compares costs with absolute tolerances: scale them to O(1), so the plan does not
    # depend on the data's units (a plan is invariant under scaling the cost)
    plan = ot.emd(wa, wb, cost / top if top > 0 else cost, numItermax=max(100000, 50 * a.shape[0] * b.shape[0]))
    i, j = np.nonzero(plan > 0)
    return i, j, plan[i, j]


def ot_plan(a: np.ndarray, b: np.ndarray, *, wa=None, wb=None, max_exact: int = MAX_EXACT, rng=None):
    """Optimal-transport plan between the empirical measures of ``a`` (n, d) and ``b`` (m, d) with weights ``wa``,
    ``wb`` (default uniform; normalised to mass one each) as its non-zero entries ``(i, j, mass)``.

    Exact when n, m ≤ ``max_exact``; otherwise exact within random blocks of at most ``max_exact`` samples of each
    (the blocks pair a random part of ``a`` with a random part of ``b`` of the same share of the mass).
    """
    n, m = a.shape[0], b.shape[0]
    wa = np.full(n, 1.0 / n) if wa is None else np.asarray(wa, dtype=np.float64) / np.sum(wa)
    wb = np.full(m, 1.0 / m) if wb is None else np.asarray(wb, dtype=np.float64) / np.sum(wb)
    if max(n, m) <= max_exact:
        return _emd(a, b, wa, wb)
    rng = np.random.default_rng(rng)
    blocks = int(np.ceil(max(n, m) / max_exact))
    pa, pb = np.array_split(rng.permutation(n), blocks), np.array_split(rng.permutation(m), blocks)
    rows, cols, mass = [], [], []
    for ia, ib in zip(pa, pb):
        sa, sb = wa[ia].sum(), wb[ib].sum()
        i, j, w = _emd(a[ia], b[ib], wa[ia] / sa, wb[ib] / sb)
        rows.append(ia[i])
        cols.append(ib[j])
        mass.append(w * 0.5 * (sa + sb))  # each block carries its share of the mass
    mass = np.concatenate(mass)
    return np.concatenate(rows), np.concatenate(cols), mass / mass.sum()


def _successors(plan, n: int):
    """For each row i of a plan: its columns and their conditional probabilities (CSR-like, sorted by row)."""
    i, j, w = plan
    order = np.argsort(i, kind="stable")
    i, j, w = i[order], j[order], w[order]
    starts = np.searchsorted(i, np.arange(n + 1))
    row_mass = np.add.reduceat(w, starts[:-1]) if w.size else np.zeros(n)
    row_mass = np.where(np.diff(starts) > 0, row_mass, 1.0)
    return starts, j, w / np.repeat(row_mass, np.diff(starts))


def chain_paths(xs, *, weights=None, n_paths: int | None = None, max_exact: int = MAX_EXACT, seed=0) -> np.ndarray:
    """Paths through all snapshots ``xs[k]`` (n_k, d) along chained OT plans: array (n_paths, K+1, d).

    ``weights``: None or one (n_k,) array per snapshot (the plans then couple the normalised weighted measures).
    ``n_paths`` defaults to the size of the first snapshot; the starts are its samples (drawn with their weights
    when the number differs or weights are given). With equal sizes, no weights and exact plans the paths are
    the n permutation chains, deterministic.
    """
    rng = np.random.default_rng(seed)
    K1 = len(xs)
    ws = [None] * K1 if weights is None else [np.asarray(w, dtype=np.float64) for w in weights]
    n0 = xs[0].shape[0]
    n_paths = n0 if n_paths is None else int(n_paths)
    if n_paths == n0 and ws[0] is None:
        idx = np.arange(n0)
    else:
        p0 = None if ws[0] is None else ws[0] / ws[0].sum()
        idx = rng.choice(n0, size=n_paths, replace=True, p=p0)
    out = np.empty((n_paths, K1, xs[0].shape[1]))
    out[:, 0] = xs[0][idx]
    for k in range(K1 - 1):
        plan = ot_plan(xs[k], xs[k + 1], wa=ws[k], wb=ws[k + 1], max_exact=max_exact, rng=rng)
        starts, cols, prob = _successors(plan, xs[k].shape[0])
        lo, hi = starts[idx], starts[idx + 1]
        single = hi - lo == 1
        nxt = np.empty(n_paths, dtype=np.int64)
        nxt[single] = cols[lo[single]]
        for p in np.flatnonzero(~single):  # split rows (unequal sizes, weights, blocks): draw the successor
            nxt[p] = rng.choice(cols[lo[p]:hi[p]], p=prob[lo[p]:hi[p]] / prob[lo[p]:hi[p]].sum())
        idx = nxt
        out[:, k + 1] = xs[k + 1][idx]
    return out


def _w2sq(a: np.ndarray, b: np.ndarray) -> float:
    i, j, w = _emd(a, b, np.full(a.shape[0], 1.0 / a.shape[0]), np.full(b.shape[0], 1.0 / b.shape[0]))
    return float(np.sum(w * np.sum((a[i] - b[j]) ** 2, axis=1)))


def coupling_snr(xs, *, n_max: int = 1000, stride: int = 1, seed=0) -> np.ndarray:
    """Signal-to-noise ratio of the OT coupling of snapshots ``stride`` apart, for each such pair (k, k + stride).

    With m = min(n_max, n_k/2, n_{k+stride}) samples of each: S² = W2²(x_k, x_{k+stride}) between m samples of
    each, N² = W2²(A, B) between two disjoint random halves of m samples of snapshot k, which is what independent
    samples of one law are moved by; the ratio is sqrt(max(S² − N², 0)/N²). About 1 or less: the couplings are
    mostly noise.
    """
    rng = np.random.default_rng(seed)
    out = []
    for a, b in zip(xs[:-stride], xs[stride:]):
        m = int(min(n_max, a.shape[0] // 2, b.shape[0]))
        if m < 4:
            out.append(np.nan)
            continue
        perm = rng.permutation(a.shape[0])
        half_a, half_b = a[perm[:m]], a[perm[m:2 * m]]
        signal = _w2sq(half_a, b[rng.choice(b.shape[0], m, replace=False)])
        noise = _w2sq(half_a, half_b)
        out.append(np.sqrt(max(signal - noise, 0.0) / noise) if noise > 0 else np.inf)
    return np.array(out)
