"""Held-out samples of the snapshots, for held-out model selection on finite data ("holdout").

Why: with finitely many samples the empirical AM loss is unbounded below (s can rise at the samples of the last
snapshot and fall at those of the first, with zero gradient at every sample), so a flexible network eventually
overfits and the velocity error grows while the training loss keeps falling (docs/bench/solver.md). A held-out
part of every snapshot gives an estimate of the loss of the current EMA model on samples it never saw; the estimate
uses one fixed batch (Gauss–Legendre nodes in t, the gauge s(t, x) − s(t, x̄), common random numbers across
evaluations; :meth:`amphys.solver.action.ActionMatching.holdout_score`). The fit keeps the EMA weights with the
lowest held-out loss and can stop early when it stops improving (:class:`amphys.solver.loop.Holdout`, which takes
any score, lower is better). This guards against gross overfitting; it is too noisy to rank models whose velocity
errors differ by a few percent (docs/bench/solver.md).
"""

from __future__ import annotations

import numpy as np

__all__ = ["split_holdout"]


def split_holdout(xs, ws, fraction: float, seed: int):
    """Split each snapshot into (train, held-out) parts at random: ``fraction`` of its samples (at least one, and
    none when the snapshot has fewer than 4 samples) is held out.

    Returns ``(xs_train, ws_train, xs_val, ws_val)``; the weight lists are None when ``ws`` is None.
    """
    rng = np.random.default_rng([seed, 0x5EED])
    xt, wt, xv, wv = [], [], [], []
    for k, x in enumerate(xs):
        n = len(x)
        m = 0 if n < 4 or fraction <= 0 else max(1, int(round(fraction * n)))
        perm = rng.permutation(n)
        tr, va = np.sort(perm[m:]), np.sort(perm[:m])
        xt.append(x[tr])
        xv.append(x[va])
        if ws is not None:
            wt.append(ws[k][tr])
            wv.append(ws[k][va])
    return xt, (wt if ws is not None else None), xv, (wv if ws is not None else None)
