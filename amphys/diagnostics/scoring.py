"""Sample metrics of transported samples, each beside its noise floor (docs/theory.md#field-and-sample-metrics).

A set of pushed samples is compared with a reference set of the true law; the floor is the same metric between a
second, independent reference set and the first one (same sizes), i.e. what a perfect flow would score from
sampling noise alone. :class:`SampleMetrics` holds the settings of the four metrics, checked once, and scores one
time; the names of every metric a report may hold are here too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from amphys._checks import check_choice, check_int
from amphys.diagnostics import samples as sm

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
    """

    kernel: str = "rbf"
    bandwidth: float | Sequence[float] | None = None
    paper_scale: float = 1.0
    n_projections: int = 500
    w2_max_n: int = 1000

    def __post_init__(self):
        check_choice(self.kernel, "kernel", KERNELS)
        check_int(self.w2_max_n, "w2_max_n", low=2, high=sm.W2_MAX_N)

    def score(self, pushed, ref, ref2, *, names=SAMPLE_METRICS, seed: int = 0) -> dict:
        """The metrics ``names`` of ``pushed`` against ``ref`` and their ``_floor`` (``ref2`` against ``ref``).

        Also ``pushed_nonfinite`` (pushed samples with NaN or inf: the metrics are then NaN, the floors are not)
        and, for the RBF kernel, ``mmd_bandwidth``. ``seed`` fixes the sliced-W2 directions.
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
