"""Held-out-time protocol for measured data: leave one snapshot out, fit, push, score
(docs/theory.md#field-and-sample-metrics).

For each interior snapshot i (neither the first nor the last time): fit on every other snapshot, push m samples
of snapshot i−1 from t_{i−1} to t_i with the fitted flow, and compare them with m samples of snapshot i. The
noise floor is the same metric between the two disjoint halves of snapshot i, so m = min(n_{i−1}, ⌊n_i/2⌋) and
metric and floor compare sets of equal sizes. A value at its floor means the fit predicts the unseen time as
well as a second draw of the data would.
"""

from __future__ import annotations

import json
import time

import numpy as np
import xarray as xr

from amphys.data.snapshots import check_snapshots, split_snapshots
from amphys.diagnostics.fields import push_samples
from amphys.diagnostics.scoring import SampleMetrics
from amphys.errors import InputError, describe

__all__ = ["held_out", "HELD_OUT_METRICS"]

#: The sample metrics of the protocol (exact W2 is left out: its cost grows fast with the snapshot size).
HELD_OUT_METRICS = ("mmd2", "energy_distance", "sliced_w2")


def held_out(snapshots, config=None, *, fit=None, seed: int = 0, kernel: str = "rbf", bandwidth=None,
             paper_scale: float = 1.0, n_projections: int = 500, push_steps: int = 200,
             **fit_overrides) -> xr.Dataset:
    """Leave-one-snapshot-out scores of a fitting method (see the module docstring).

    Parameters
    ----------
    snapshots : Snapshots with at least 3 distinct times.
    config, **fit_overrides : passed to the fitting function for every fit (:func:`amphys.fit` by default, which
        also gets ``progress=False`` unless given).
    fit : the fitting function ``fit(snapshots, config, **overrides) -> model`` (a FitResult, or any callable
        v(t, x), pushed with RK4 when it has no ``push``); default :func:`amphys.fit`. Lets other methods be
        scored by the same protocol.
    seed : seed of the subsampling and of the sliced-W2 directions.
    kernel, bandwidth, paper_scale : MMD kernel (:func:`~amphys.diagnostics.mmd2`); the RBF bandwidth defaults to
        the median heuristic of the held-out snapshot, shared by metric and floor.

    Returns
    -------
    xarray.Dataset over ``time`` (the held-out times): mmd2, mmd2_floor, energy_distance, energy_distance_floor,
    sliced_w2, sliced_w2_floor, n_compared, fit_seconds; attrs: fit statuses (JSON), settings.
    """
    ds = check_snapshots(snapshots, name="snapshots", min_times=3)
    scorer = SampleMetrics(kernel=kernel, bandwidth=bandwidth, paper_scale=paper_scale,
                           n_projections=n_projections)
    if fit is None:
        from amphys.workflows.fitting import fit

        fit_overrides.setdefault("progress", False)
    elif not callable(fit):
        raise InputError(f"fit: expected a function fit(snapshots, config, **overrides) -> model, got "
                         f"{describe(fit)}")
    parts = split_snapshots(ds)
    times = np.array([p[0] for p in parts])
    t_all = np.asarray(ds["time"].values)
    rng = np.random.default_rng(seed)
    rows, statuses = [], []
    for i in range(1, len(parts) - 1):
        start = time.perf_counter()
        model = fit(ds.isel(sample=np.flatnonzero(t_all != times[i])), config, **fit_overrides)
        seconds = time.perf_counter() - start
        statuses.append(str(getattr(model, "status", "n/a")))
        prev, cur = parts[i - 1][1], parts[i][1]
        m = min(prev.shape[0], cur.shape[0] // 2)
        if m < 2:
            raise InputError(f"snapshots: time {times[i]} needs at least 4 samples to be split in halves")
        x0 = prev[rng.choice(prev.shape[0], m, replace=False)]
        perm = rng.permutation(cur.shape[0])
        a, b = cur[perm[:m]], cur[perm[m:2 * m]]
        pushed = push_samples(model, x0, float(times[i - 1]), [float(times[i])], n_steps=push_steps)[0]
        scores = scorer.score(pushed, a, b, names=HELD_OUT_METRICS, seed=seed)
        row = {"n_compared": m, "fit_seconds": seconds}
        row.update({k: scores[k] for name in HELD_OUT_METRICS for k in (name, name + "_floor")})
        rows.append(row)
    variables = {k: ("time", np.asarray([r[k] for r in rows], dtype=np.int64 if k == "n_compared" else float))
                 for k in rows[0]}
    return xr.Dataset(variables, coords={"time": times[1:-1]},
                      attrs={"protocol": "held_out/1", "fit_status": json.dumps(statuses),
                             "kernel": kernel, "seed": int(seed), "n_projections": int(n_projections),
                             "fit": getattr(fit, "__name__", type(fit).__name__),
                             "fit_overrides": json.dumps(fit_overrides, default=str, sort_keys=True),
                             "units_x": str(ds.attrs.get("units_x", "1")),
                             "units_t": str(ds.attrs.get("units_t", "1"))})
