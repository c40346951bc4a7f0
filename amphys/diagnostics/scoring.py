"""Sample metrics of transported samples, each beside its noise threshold
(docs/theory.md#noise-thresholds-of-sample-metrics).

A set of pushed samples is compared with a reference set of the true law. ``<metric>_threshold`` is the 95%
quantile of the same metric between two independent sets of the same sizes from the true law (19 null replicates
by :func:`~amphys.diagnostics.metric_floor`: from the system's sampler, or by resampling the data), so
``<metric>_within_noise`` (value ≤ threshold) is an exact 5% decision; ``<metric>_floor`` (kept for existing
readers) is one such null value, the metric between a second reference set and the first one.
:class:`SampleMetrics` holds the settings of the four metrics, checked once, and scores one
time; the names of every metric a report may hold are here too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from amphys._checks import check_choice, check_int
from amphys.diagnostics import samples as sm
from amphys.diagnostics.floors import metric_floor
from amphys.errors import InputError

__all__ = ["SampleMetrics", "FIELD_METRICS", "SAMPLE_METRICS", "METRICS", "KERNELS"]

FIELD_METRICS = ("velocity_error", "velocity_error_root", "cosine", "kinetic_energy_model",
                 "kinetic_energy_target", "action_gap")
SAMPLE_METRICS = ("mmd2", "energy_distance", "sliced_w2", "w2")
METRICS = FIELD_METRICS + ("continuity_residual",) + SAMPLE_METRICS
KERNELS = ("rbf", "paper")


@dataclasses.dataclass(frozen=True)
class SampleMetrics:
    """Settings of the sample metrics (:mod:`amphys.diagnostics.samples`).

    kernel, bandwidth, paper_scale : MMD kernel (:func:`~amphys.diagnostics.mmd2`); the RBF bandwidth defaults to
        the median heuristic of the reference set at each time, shared by the metric and its floor.
    n_projections : directions of the sliced W2.
    w2_max_n : exact W2 on the first ``w2_max_n`` points of each set, floor at the same size (default 1000:
        about 0.4 s per call on a 2-core CPU against 1.7 s at 2000; at most 5000, the size POT's network simplex
        handles in reasonable time).
    n_rep : null replicates of each threshold (19: the maximum of 19 is an exact 5% level; 39 or 99 give a less
        variable threshold at 2 or 5 times the cost; 0 skips the thresholds). Each replicate costs one evaluation
        of the metric, so thresholds multiply the cost of the sample metrics by about n_rep + 1 (the exact W2
        dominates: about 0.4–4 s per call at 1000 points on a loaded 2-core machine; drop it from ``metrics`` or
        lower ``w2_max_n`` when that matters).
    """

    kernel: str = "rbf"
    bandwidth: float | Sequence[float] | None = None
    paper_scale: float = 1.0
    n_projections: int = 500
    w2_max_n: int = 1000
    n_rep: int = 19

    def __post_init__(self):
        check_choice(self.kernel, "kernel", KERNELS)
        check_int(self.n_rep, "n_rep", low=0)
        if 0 < self.n_rep < 19:
            raise InputError(f"n_rep: expected 0 (no thresholds) or at least 19 null replicates for an exact 5% "
                             f"level, got {self.n_rep}")
        check_int(self.w2_max_n, "w2_max_n", low=2, high=sm.W2_MAX_N)

    def score(self, pushed, ref, ref2, *, names=SAMPLE_METRICS, seed: int = 0, sampler=None, pool=None) -> dict:
        """The metrics ``names`` of ``pushed`` against ``ref``, their ``_floor`` (``ref2`` against ``ref``), their
        ``_threshold`` and ``_within_noise`` (:func:`~amphys.diagnostics.metric_floor` with ``sampler(k, rng)``
        of the true law, else by resampling ``pool``, default ``ref`` ∪ ``ref2``).

        Also ``pushed_nonfinite`` (pushed samples with NaN or inf: the metrics are then NaN and not within the
        noise, the floors are not NaN) and, for the RBF kernel, ``mmd_bandwidth``. ``seed`` fixes the sliced-W2
        directions and the null replicates.
        """
        wanted = [m for m in SAMPLE_METRICS if m in names]
        if not wanted:
            return {}
        finite = bool(np.all(np.isfinite(pushed)))
        out: dict = {"pushed_nonfinite": int((~np.all(np.isfinite(pushed), axis=1)).sum())}
        bandwidth = None
        if self.kernel == "rbf":
            bandwidth = sm.median_bandwidth(ref) if self.bandwidth is None else self.bandwidth
            out["mmd_bandwidth"] = float(np.atleast_1d(bandwidth)[0])
        for name in wanted:
            metric = self._metric(name, bandwidth, seed, min(pushed.shape[0], ref.shape[0], ref2.shape[0]))
            out[name] = metric(pushed, ref) if finite else float("nan")
            out[name + "_floor"] = metric(ref2, ref)
            if self.n_rep:
                null_pool = np.concatenate([ref, ref2]) if pool is None else pool
                sizes = np.zeros((pushed.shape[0], ref.shape[1]))  # only the size of the pushed set matters here
                fl = metric_floor(metric, sizes, ref, sampler=sampler, pool=null_pool,
                                  n_rep=self.n_rep, seed=seed, value=out[name])
                out[name + "_threshold"], out[name + "_within_noise"] = fl.threshold, fl.within_noise
        return out

    def _metric(self, name: str, bandwidth, seed: int, size: int):
        if name == "mmd2":
            return lambda a, b: sm.mmd2(a, b, kernel=self.kernel, bandwidth=bandwidth, paper_scale=self.paper_scale)
        if name == "energy_distance":
            return sm.energy_distance
        if name == "sliced_w2":
            return lambda a, b: sm.sliced_w2(a, b, n_projections=self.n_projections, seed=seed)
        m = min(self.w2_max_n, size)
        return lambda a, b: sm.w2(a[:m], b[:m], max_n=self.w2_max_n)
