"""Fitting: learn the Action Matching flow of Snapshots (``amphys.fit``).

The bridge between the xarray Snapshots of :mod:`amphys.data` and the array-level solver of
:mod:`amphys.solver`: it checks the data, hands arrays (or rows read on demand) and the config to
:func:`amphys.solver.train.train`, and wraps what comes back in a :class:`~amphys.workflows.result.FitResult`,
which answers in the data's physical units:

>>> import amphys                                                    # doctest: +SKIP
>>> data = amphys.generate("barenblatt", [1.0, 1.25, 1.5, 1.75, 2.0], 2000)
>>> model = amphys.fit(data, steps=2000, hidden=128)
>>> model.velocity(1.5, data["x"].values[:5])       # (5, d), physical units
>>> model.push(x0, 1.0, [1.5, 2.0]).shape            # (2, n, d)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amphys.data.lazy import is_lazy
from amphys.data.snapshots import check_snapshots, split_snapshots
from amphys.errors import InputError, TrainingDiverged, describe
from amphys.solver.config import FitConfig
from amphys.solver.status import FitStatus
from amphys.solver.train import train
from amphys.workflows.result import FitResult

__all__ = ["fit"]


def _make_config(config, overrides) -> FitConfig:
    if config is None:
        config = FitConfig()
    elif isinstance(config, dict):
        config = FitConfig.from_dict(config)
    elif isinstance(config, (str, Path)):
        config = FitConfig.from_toml(config)
    elif not isinstance(config, FitConfig):
        raise InputError(f"config: expected a FitConfig, a dict of its fields or a TOML path, got {describe(config)}")
    return config.replace(**overrides) if overrides else config


def _as_sampler(sampler):
    if sampler is None:
        return None
    if hasattr(sampler, "sample") and callable(sampler.sample):
        return lambda t, n, rng: sampler.sample(t, n, rng)
    if callable(sampler):
        return sampler
    raise InputError(f"sampler: expected a System (with .sample) or a callable sampler(t, n, rng) -> (n, d), got "
                     f"{describe(sampler)}")


def _lazy_parts(ds):
    """Times, one :class:`~amphys.solver.rows.Rows` per time (positions read on demand) and weights (in memory)."""
    from amphys.data.lazy import RowReader
    from amphys.solver.rows import Rows

    t = np.asarray(ds["time"].values, dtype=np.float64)
    times, starts = np.unique(t, return_index=True)
    ends = np.append(starts[1:], t.size)
    del t
    reader = RowReader(ds, time_of=lambda i: times[np.searchsorted(starts, i, side="right") - 1])
    xs = [Rows(reader, a, b) for a, b in zip(starts, ends)]
    weights = None
    if "weight" in ds.data_vars:
        w = np.asarray(ds["weight"].values, dtype=np.float64)
        weights = [w[a:b] for a, b in zip(starts, ends)]
    note = (f"data read on demand ({reader.n_rows} samples on disk, {reader.mode} reads, blocks of "
            f"{reader.chunk_rows}); ")
    return times, xs, weights, note


def _memory_parts(ds):
    """Times, positions and weights (None when unweighted) per time of in-memory Snapshots, checked finite."""
    parts = split_snapshots(ds)
    times = np.array([p[0] for p in parts])
    xs = [p[1] for p in parts]
    for t, x in zip(times, xs):
        if not np.all(np.isfinite(x)):
            raise InputError(f"snapshots: variable 'x' has NaN or inf at time {t:g}; drop or fix those rows "
                             "before fitting")
    weights = None if parts[0][2] is None else [p[2] for p in parts]
    return times, xs, weights, ""


def fit(snapshots, config=None, *, sampler=None, checkpoint=None, resume: bool = False, progress: bool = True,
        callback=None, distributed: bool | None = None, throw: bool = False, **overrides) -> FitResult:
    """Fit an Action Matching model s_θ(t, x) to ``snapshots`` (docs/theory.md#the-action-matching-loss).

    Parameters
    ----------
    snapshots : xarray.Dataset in the Snapshots schema (docs/theory.md#data-schema), at least 2 distinct times.
    config : :class:`~amphys.solver.config.FitConfig`, a dict of its fields, a TOML path, or None (defaults).
    sampler : a ground-truth System (or callable ``sampler(t, n, rng) -> (n, d)``) to draw samples between
        snapshots (``x_source="sampler"``, chosen automatically for ``time_integral`` "mc"/"quadrature").
    checkpoint : path of a training checkpoint written every ``checkpoint_every`` steps and at the end.
    resume : continue from ``checkpoint`` when it exists (same config), to the same result as an uninterrupted
        run.
    progress : show a progress bar (loss and steps/s).
    callback : ``callback(step, record) -> bool`` after every step; True stops training (status ``STOPPED``).
    distributed : data-parallel training over the processes of a ``torchrun`` launch: None (default) = on when
        the torchrun environment (RANK, WORLD_SIZE, LOCAL_RANK) is set, True = required, False = off. Every rank
        returns the same model; save it on rank 0 (docs/scaling.md).
    throw : with True, a fit that the divergence guard stopped raises :class:`~amphys.errors.TrainingDiverged`
        (its ``result`` attribute holds the FitResult with the last good weights); with False (default) the
        result is returned with ``status`` ``FitStatus.DIVERGED`` (:class:`~amphys.solver.status.FitStatus`).
    **overrides : FitConfig fields, e.g. ``steps=2000``.

    Lazily opened data (``amphys.io.read(path, chunks={"sample": N})``, dask-backed) is never loaded whole: one
    streaming pass computes the normalisation and checks the values, then every batch reads only its rows.

    Data with a ``weight`` variable is fitted with the unbalanced loss (``loss="auto"``; the result's message
    says so); asking for a balanced loss on weighted data is an error.
    """
    cfg = _make_config(config, overrides)
    ds = check_snapshots(snapshots, min_times=2)
    times, xs, weights, note = _lazy_parts(ds) if is_lazy(ds) else _memory_parts(ds)
    if weights is not None and cfg.loss == "auto":
        note += "data carries weights: loss 'unbalanced' chosen (loss='auto'); "
    out = train(times, xs, weights, cfg, sampler=_as_sampler(sampler), checkpoint=checkpoint, resume=resume,
                progress=progress, callback=callback, distributed=distributed)
    result = FitResult(out.model, out.config, out.history, out.status, note + out.message,
                       units_x=str(ds.attrs.get("units_x", "1")), units_t=str(ds.attrs.get("units_t", "1")),
                       dim_names=[str(v) for v in ds["dim"].values], wall_time=out.wall_time,
                       integral=out.integral, source=str(ds.attrs.get("source", "")))
    if throw and result.status == FitStatus.DIVERGED:
        error = TrainingDiverged(f"training diverged: {result.message}; the last good weights are in this "
                                 "error's .result (or pass throw=False to get the result returned)")
        error.result = result
        raise error
    return result
