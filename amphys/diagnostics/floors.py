r"""Readable noise thresholds of two-sample metrics (docs/theory.md#noise-thresholds-of-sample-metrics).

A metric between two finite sample sets is not 0 when they come from the same law, and its null mean can even be
negative (unbiased MMD², energy distance). What a reader needs is a **threshold**: the 95% quantile of the metric
between two independent sets of the same sizes from the same law, and whether the value is below it.

Null replicates: ``metric(sampler(n), sampler(m))`` with two fresh independent sets when a sampler of the
reference law is known (a System), else a random split of the pooled data into sets of sizes n and m (a
permutation null: exact under "same law"). With ``n_rep`` replicates the threshold is the k-th largest,
k = ⌊(n_rep + 1)(1 − level)⌋. Under the null the observed value and the replicates are exchangeable, so
P(value > threshold) = k/(n_rep + 1) exactly, whatever the metric, its bias or the sizes: 19 replicates (k = 1,
the maximum) is the smallest count that gives an exact 5% "outside noise" decision; 39 or 99 give a less variable
threshold at a higher cost.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from amphys._checks import check_float, check_int
from amphys.diagnostics._blocks import as_samples
from amphys.errors import InputError, describe

__all__ = ["metric_floor", "MetricFloor"]


@dataclasses.dataclass
class MetricFloor:
    """``value`` of the metric; ``threshold`` (upper ``level`` quantile of the metric between independent sets
    of the same sizes, an order statistic of ``null``); ``within_noise`` (value ≤ threshold); ``p_value``
    ((1 + #{null ≥ value}) / (1 + n_rep), exact under exchangeability); ``method`` ("sampler" or
    "permutation")."""

    value: float
    threshold: float
    within_noise: bool
    p_value: float
    null: np.ndarray
    method: str

    def __str__(self) -> str:
        return f"{self.value:.3g} (noise ≤ {self.threshold:.3g})"


def metric_floor(metric, x, y, *, sampler=None, pool=None, n_rep: int = 19, level: float = 0.95, seed: int = 0,
                 value: float | None = None) -> MetricFloor:
    """Value and noise threshold of a two-sample ``metric(x, y)`` (MMD², energy distance, sliced W2, W2, ...).

    Parameters
    ----------
    metric : callable(a, b) -> float; use the same settings (bandwidth, directions) as for the value.
    x, y : the two compared sets, (n, d) and (m, d).
    sampler : callable(k, rng) -> (k, d) samples of the reference law (e.g.
        ``lambda k, rng: system.sample(t, k, rng)``); then each replicate is ``metric(sampler(n), sampler(m))``.
    pool : without a sampler, samples of the reference law to split at random into sets of sizes n and m
        (drawn with replacement when the pool is smaller than n + m); default x ∪ y.
    n_rep, level : replicates and level; (n_rep + 1)(1 − level) ≥ 1 is needed (19 at level 0.95).
    seed : seed of the replicates.
    value : the metric's value when already computed.
    """
    if not callable(metric):
        raise InputError(f"metric: expected a callable metric(a, b) -> float, got {describe(metric)}")
    x, y = as_samples(x, "x"), as_samples(y, "y", x.shape[1])
    n_rep = check_int(n_rep, "n_rep", low=1)
    level = check_float(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    k = int(math.floor((n_rep + 1) * (1.0 - level) + 1e-9))
    if k < 1:
        raise InputError(f"n_rep: expected at least {math.ceil(1 / (1 - level) - 1e-9) - 1} replicates for an "
                         f"exact level {level:g}, got {n_rep}")
    if sampler is not None and not callable(sampler):
        raise InputError(f"sampler: expected a callable sampler(k, rng) -> samples, got {describe(sampler)}")
    n, m = x.shape[0], y.shape[0]
    rng = np.random.default_rng(seed)
    val = float(metric(x, y)) if value is None else float(value)
    null = np.empty(n_rep)
    if sampler is not None:
        for r in range(n_rep):
            null[r] = metric(as_samples(sampler(n, rng), "sampler(k, rng)", x.shape[1]),
                             as_samples(sampler(m, rng), "sampler(k, rng)", x.shape[1]))
        method = "sampler"
    else:
        data = np.concatenate([x, y]) if pool is None else as_samples(pool, "pool", x.shape[1])
        replace = data.shape[0] < n + m
        for r in range(n_rep):
            idx = rng.choice(data.shape[0], n + m, replace=replace)
            null[r] = metric(data[idx[:n]], data[idx[n:]])
        method = "permutation" if not replace else "bootstrap"
    thr = float(np.sort(null)[::-1][k - 1])
    return MetricFloor(value=val, threshold=thr, within_noise=bool(val <= thr),
                       p_value=float((1 + np.sum(null >= val)) / (1 + n_rep)), null=null, method=method)
