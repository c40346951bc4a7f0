"""Prediction: the population at unobserved times, by pushing observed samples along a learned flow.

A bridge like :mod:`amphys.workflows.fitting`: it joins a fitted model (anything with ``push(x0, t0, times)``) and
Snapshots. It imports no torch itself; the model does the transport.

>>> model = amphys.load_model("model.pt")                                  # doctest: +SKIP
>>> data = amphys.io.read("data/measured_example.csv")                     # doctest: +SKIP
>>> pred = predict(model, data, [0.25, 1.0, 4.0])                          # doctest: +SKIP
>>> pred["extrapolated"].values.any()   # 4.0 s is past the last snapshot (3.0 s)        # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import xarray as xr

from amphys._checks import check_count, check_time, check_times
from amphys._deprecation import renamed_keyword
from amphys.data.snapshots import check_snapshots, make_snapshots, snapshot_times, split_snapshots
from amphys.errors import InputError, describe

__all__ = ["predict", "ExtrapolationWarning", "classify_times"]

#: Two times closer than this fraction of the observed span count as the same time.
_TIME_RTOL = 1e-9


class ExtrapolationWarning(UserWarning):
    """A prediction at a time outside the span the model was trained on (less reliable)."""


def _same(a: float, b: float, span: float) -> bool:
    return abs(a - b) <= _TIME_RTOL * max(span, abs(a), abs(b), 1e-300)


def _nearest(observed: np.ndarray, t: float, span: float) -> int:
    """Index of the observed time nearest to ``t``; the earlier one on a tie (up to round-off)."""
    dist = np.abs(observed - t)
    return int(np.flatnonzero(dist <= dist.min() + _TIME_RTOL * max(span, abs(t), 1e-300))[0])


def classify_times(times, observed, span) -> list[str]:
    """``"observed"`` (a time of the data), ``"interpolation"`` (inside ``span``) or ``"extrapolation"``."""
    t0, t1 = span
    width = t1 - t0
    out = []
    for t in np.asarray(times, dtype=np.float64):
        if any(_same(t, o, width) for o in observed):
            out.append("observed")
        elif t0 - _TIME_RTOL * width <= t <= t1 + _TIME_RTOL * width:
            out.append("interpolation")
        else:
            out.append("extrapolation")
    return out


def _check_model(model, d: int, units_x: str, units_t: str):
    if not callable(getattr(model, "push", None)):
        raise InputError(f"model: expected a fitted model with push(x0, t0, times) (amphys.fit or "
                         f"amphys.load_model), got {describe(model)}")
    dim = getattr(model, "dim", None)
    if dim is not None and int(dim) != d:
        raise InputError(f"mismatched dimensions: the model was fitted on {dim}-dimensional positions but the data "
                         f"have {d} coordinates; use data with the same coordinates as the training data")
    for name, data_unit in (("units_x", units_x), ("units_t", units_t)):
        model_unit = str(getattr(model, name, "1") or "1")
        if "1" not in (model_unit, data_unit) and model_unit != data_unit:
            raise InputError(f"{name}: the model was fitted on data in {model_unit!r} but these data are in "
                             f"{data_unit!r}; convert the data (or read them with {name}={model_unit!r} if the "
                             "label is wrong)")


def predict(model, snapshots, times, *, from_time=None, n_per_time: int | None = None, seed: int | None = 0,
            progress: bool = False, **renamed) -> xr.Dataset:
    """Predict samples at ``times`` by pushing observed samples along the learned flow.

    Parameters
    ----------
    model : a :class:`~amphys.workflows.result.FitResult` (or any object with ``push(x0, t0, times) -> (T, n,
        d)``).
    snapshots : observed samples (Snapshots, docs/theory.md#data-schema), in the units the model was trained in.
    times : increasing times at which to predict (physical units).
    from_time : push the samples of this observed time to every requested time; default: for each requested
        time, the samples of the nearest observed time (the earlier one on a tie).
    n_per_time : push at most ``n_per_time`` samples per source time (a random subset, drawn with ``seed``);
        default: all. ``n=`` is its deprecated spelling.
    seed : seed of that subset.

    Returns
    -------
    Snapshots (one snapshot per requested time; ``min_times=1``) with ``source = "predicted"`` and the extra
    variables ``source_time(sample)`` (the observed time the sample was pushed from) and ``extrapolated(sample)``
    (1 where the time lies outside the model's training span). ``attrs["prediction"]`` (JSON) lists for each
    time its regime (``observed``, ``interpolation``, ``extrapolation``) and its source time. Predicting outside
    the training span warns with :class:`ExtrapolationWarning`.
    """
    n_per_time = renamed_keyword(renamed, "n", "n_per_time", n_per_time, default=None, where="predict")
    if renamed:
        raise TypeError(f"predict() got an unexpected keyword argument {next(iter(renamed))!r}")
    ds = check_snapshots(snapshots, min_times=1, name="snapshots")
    target = check_times(times, "times", min_count=1)
    parts = split_snapshots(ds)
    observed = np.array([p[0] for p in parts])
    units_x, units_t = str(ds.attrs.get("units_x", "1")), str(ds.attrs.get("units_t", "1"))
    _check_model(model, ds.sizes["dim"], units_x, units_t)
    span = tuple(float(v) for v in getattr(model, "t_span", None) or (observed[0], observed[-1]))
    if n_per_time is not None:
        n_per_time = check_count(n_per_time, "n_per_time", low=2)
    sources = _sources(observed, target, from_time, span[1] - span[0])
    regimes = classify_times(target, snapshot_times(ds), span)
    out_x, out_w = _push_from_sources(model, parts, target, sources, n_per_time, seed=seed, progress=progress,
                                      width=span[1] - span[0])
    extrapolated = [t for t, r in zip(target, regimes) if r == "extrapolation"]
    if extrapolated:
        u = "" if units_t == "1" else f" {units_t}"
        warnings.warn(ExtrapolationWarning(
            f"predicting at {', '.join(f'{t:g}' for t in extrapolated)}{u}, outside the span the model was trained "
            f"on [{span[0]:g}, {span[1]:g}]{u}: extrapolated flows are less reliable"), stacklevel=2)
    info = {"times": target.tolist(), "regime": regimes, "source_time": [float(observed[k]) for k in sources],
            "trained_span": list(span), "observed_times": observed.tolist(),
            "n_per_time": [x.shape[0] for x in out_x]}
    return _prediction_dataset(ds, model, out_x, out_w, info, observed[sources])


def _sources(observed: np.ndarray, target: np.ndarray, from_time, width: float) -> np.ndarray:
    """Index of the observed time pushed to each requested time: ``from_time``'s, or the nearest one."""
    if from_time is None:
        return np.array([_nearest(observed, t, width) for t in target])
    from_time = check_time(from_time, "from_time")
    match = [k for k, o in enumerate(observed) if _same(from_time, o, width)]
    if not match:
        raise InputError(f"from_time: {from_time:g} is not an observed time of the data; observed times: "
                         f"{', '.join(f'{o:g}' for o in observed)}")
    return np.full(target.size, match[0])


def _push_from_sources(model, parts, target, sources, n_per_time, *, seed, progress: bool, width: float):
    """Positions and weights at each requested time: the source snapshot (or its subset of ``n_per_time``
    samples) pushed by ``model``, or copied where the requested time is the source time itself."""
    d = parts[0][1].shape[1]
    rng = np.random.default_rng(seed)
    out_x: list = [None] * target.size
    out_w: list = [None] * target.size
    groups = sorted(set(sources.tolist()))
    if progress:
        from tqdm.auto import tqdm

        groups = tqdm(groups, desc="predict", unit="source", leave=False)
    for k in groups:
        t0, x0, w0 = parts[k]
        if n_per_time is not None and n_per_time < x0.shape[0]:
            pick = np.sort(rng.choice(x0.shape[0], size=n_per_time, replace=False))
            x0, w0 = x0[pick], None if w0 is None else w0[pick]
        elif n_per_time is not None and n_per_time > x0.shape[0]:
            raise InputError(f"n_per_time: {n_per_time} samples requested but the snapshot at time {t0:g} has only "
                             f"{x0.shape[0]}; lower n_per_time or leave it unset to push them all")
        idx = np.flatnonzero(sources == k)
        moving = [i for i in idx if not _same(target[i], t0, width)]
        for i in idx:
            if i not in moving:
                out_x[i], out_w[i] = x0.copy(), w0
        if moving:
            pushed = np.asarray(model.push(x0, t0, target[moving]), dtype=np.float64)
            if pushed.shape != (len(moving), x0.shape[0], d):
                raise InputError(f"model.push returned shape {pushed.shape}, expected "
                                 f"{(len(moving), x0.shape[0], d)}")
            for j, i in enumerate(moving):
                out_x[i], out_w[i] = pushed[j], w0
    return out_x, out_w


def _prediction_dataset(ds, model, out_x, out_w, info: dict, source_times) -> xr.Dataset:
    """The predicted Snapshots with ``source_time``, ``extrapolated`` and the ``prediction`` attrs."""
    target, counts, span = np.asarray(info["times"]), info["n_per_time"], info["trained_span"]
    attrs = {"prediction": json.dumps(info), "system": ds.attrs.get("system", "{}")}
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_json"):
        attrs["fit_config"] = config.to_json()
    weights = None if any(w is None for w in out_w) else np.concatenate(out_w)
    pred = make_snapshots(np.repeat(target, counts), np.concatenate(out_x), weight=weights,
                          dim_names=[str(v) for v in ds["dim"].values], units_x=str(ds.attrs.get("units_x", "1")),
                          units_t=str(ds.attrs.get("units_t", "1")), source="predicted", attrs=attrs, min_times=1,
                          name="prediction")
    pred["source_time"] = ("sample", np.repeat(source_times, counts))
    pred["source_time"].attrs["description"] = "observed time whose samples were pushed to this time"
    flag = np.repeat([r == "extrapolation" for r in info["regime"]], counts).astype(np.int8)
    pred["extrapolated"] = ("sample", flag)
    pred["extrapolated"].attrs["description"] = (f"1 where the time is outside the training span "
                                                 f"[{span[0]:g}, {span[1]:g}]")
    return pred
