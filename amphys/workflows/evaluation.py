"""``amphys.evaluate``: score a velocity field against a System (ground truth) or Snapshots.

The model is seen only as a velocity callable v(t, x) -> (n, d) (a FitResult, or any other method's field), so
the same report scores baselines too. Result: an ``xarray.Dataset`` over ``time`` (the metric names of
docs/theory.md#field-and-sample-metrics), saved with ``amphys.io.write``.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import xarray as xr

from amphys._checks import check_count, check_times
from amphys._deprecation import renamed_keyword
from amphys.data.snapshots import check_snapshots, snapshot_times, split_snapshots
from amphys.diagnostics._report import report_attrs
from amphys.diagnostics.continuity import continuity_test
from amphys.diagnostics.fields import action_gap, call_velocity, field_metrics, push_samples
from amphys.diagnostics.projection import project_gradient
from amphys.diagnostics.scoring import FIELD_METRICS, METRICS, SAMPLE_METRICS, SampleMetrics
from amphys.diagnostics.target import am_target
from amphys.errors import InputError, describe, unknown_name
from amphys.systems import System

__all__ = ["evaluate", "METRICS", "FIELD_METRICS", "SAMPLE_METRICS", "SampleMetrics"]

TARGETS = ("auto", "am_velocity", "projection", "velocity")
#: Keywords of :func:`evaluate` that set one field of its :class:`SampleMetrics`.
SAMPLE_OPTIONS = tuple(f.name for f in dataclasses.fields(SampleMetrics))


#: What :func:`evaluate` computes when ``metrics`` is not given: every metric but the exact W2, whose noise
#: threshold costs 19 more exact optimal-transport problems per time (about 0.4–4 s each at 1000 points on 2 CPU
#: cores: it made a default evaluation 10x slower); ask for it by name ("w2") or with the group "sample".
DEFAULT_METRICS = tuple(m for m in METRICS if m != "w2")


def _check_metrics(metrics) -> list[str]:
    if metrics is None:
        return list(DEFAULT_METRICS)
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    out = []
    for name in names:
        if name == "field":
            out += FIELD_METRICS
        elif name == "sample":
            out += SAMPLE_METRICS
        elif name in METRICS:
            out.append(name)
        else:
            raise unknown_name("metric", name, list(METRICS) + ["field", "sample"])
    return list(dict.fromkeys(out))


def _sample_metrics(sample_metrics, options: dict) -> SampleMetrics:
    """``sample_metrics`` (default settings when None) with the shorthand keywords ``options`` applied."""
    for key in options:
        if key not in SAMPLE_OPTIONS:
            raise unknown_name("keyword of evaluate", key, ("n_per_time",) + SAMPLE_OPTIONS)
    if sample_metrics is None:
        return SampleMetrics(**options)
    if not isinstance(sample_metrics, SampleMetrics):
        raise InputError(f"sample_metrics: expected a SampleMetrics, got {describe(sample_metrics)}")
    return dataclasses.replace(sample_metrics, **options)


def evaluate(model, reference, times=None, metrics=None, *, n_per_time: int = 2000, seed: int = 0, t0=None,
             target: str = "auto", sample_metrics: SampleMetrics | None = None, n_test: int = 128,
             push_steps: int = 200, projection: dict | None = None, **options) -> xr.Dataset:
    """Score ``model`` against ``reference`` at ``times`` (docs/theory.md#field-and-sample-metrics).

    Parameters
    ----------
    model : a FitResult or any callable v(t, x) -> (n, d). Sample metrics push with ``model.push(x0, t0,
        times)`` when it exists, else with numpy RK4 (``push_steps`` steps over the window).
    reference : a System — field metrics against its AM target on fresh samples x ~ q_t, sample metrics of
        pushed samples against fresh exact samples, each with its noise threshold (95% quantile of the metric
        between two independent exact sets of the same sizes, 19 replicates); or Snapshots — sample metrics with
        each snapshot split in random halves A/B: the pushed A-half of the first snapshot is compared with B_t,
        the threshold from random splits of the snapshot at t into sets of the same sizes; field metrics only if
        the data carry ``v_true`` of the AM target. The calibrated continuity test runs on the reference samples
        at ``times`` (at least 4), with a System also at :data:`CONTINUITY_REFINE` more times between them.
    times : evaluation times; default 11 evenly spaced over the system's ``t_span``, or every snapshot time.
    metrics : names from :data:`METRICS` (or the groups "field", "sample"); default all that apply except the
        exact ``w2`` (:data:`DEFAULT_METRICS`: with its noise threshold it is 20 exact OT problems per time; the
        sliced W2 stands in for it). Floors and thresholds come with their metric. An unknown name raises
        :class:`~amphys.errors.UnknownNameError`.
    n_per_time : samples per time (System reference); ``n=`` is its deprecated spelling.
    seed : seed of every random draw.
    t0 : time of the pushed samples; default the first evaluation time (System) or the first snapshot.
    target : "auto" (``am_velocity`` where the system has it in closed form, else the gradient projection of its
        physical velocity, :func:`~amphys.diagnostics.am_target`), or force "am_velocity", "projection" or
        "velocity" (the physical field, for contrast only: it is not the AM target when not a gradient).
    sample_metrics : settings of the sample metrics (:class:`~amphys.diagnostics.scoring.SampleMetrics`: MMD
        kernel and bandwidth, sliced-W2 directions, exact-W2 size); default ``SampleMetrics()``.
    n_test : unused since the calibrated continuity test replaced the weak residual (kept for callers).
    projection : options of :func:`~amphys.diagnostics.project_gradient` (``n_grid``, ``box``, ...).
    **options : ``kernel``, ``bandwidth``, ``paper_scale``, ``n_projections``, ``w2_max_n``: shorthand for the
        fields of ``sample_metrics`` (e.g. ``kernel="paper"``).

    Returns
    -------
    xarray.Dataset over ``time``: velocity_error, velocity_error_root, cosine, kinetic_energy_model,
    kinetic_energy_target, action_gap (scalar); continuity_residual, continuity_residual_threshold,
    continuity_residual_within_noise, continuity_p_value, continuity_p_value_holm; for each sample metric M of
    mmd2, energy_distance, sliced_w2, w2: M, M_threshold, M_within_noise (bool) and M_floor (one null value);
    mmd_bandwidth, pushed_nonfinite, and with a projected target ``target_nongradient_fraction``
    (E‖v − ∇s*‖²/E‖v‖² of the physical field); attrs: ``target``, ``fit_config`` (JSON), ``versions`` (JSON),
    settings, ``continuity_p_value_all``, ``continuity_transport_ratio`` (+ ``_se``), ``continuity_verdict``.
    """
    n_per_time = renamed_keyword(options, "n", "n_per_time", n_per_time, default=2000, where="evaluate")
    wanted, explicit = _check_metrics(metrics), metrics is not None
    if target not in TARGETS:
        raise unknown_name("target", target, TARGETS)
    scorer = _sample_metrics(sample_metrics, options)
    if not (callable(model) or callable(getattr(model, "velocity", None))):
        raise InputError(f"model: expected a FitResult or a callable v(t, x) -> (n, d), got {describe(model)}")
    if isinstance(reference, System):
        n_per_time = check_count(n_per_time, "n_per_time", low=4)
        times = _evaluation_times(times, np.linspace(*reference.t_span, 11))
        if (not explicit and reference.dim > 3 and not reference.has_am_velocity
                and target in ("auto", "projection")):
            wanted = [m for m in wanted if m not in FIELD_METRICS]  # no grid projection above d = 3
        data, info = _evaluate_system(model, reference, times, wanted, scorer, n=n_per_time, seed=seed, t0=t0,
                                      target=target, push_steps=push_steps, projection=projection or {})
        ref_snaps = info.pop("snapshots")
    elif isinstance(reference, xr.Dataset):
        check_snapshots(reference, name="reference")
        times = _evaluation_times(times, snapshot_times(reference))
        if not explicit and "v_true" not in reference.data_vars:
            wanted = [m for m in wanted if m not in FIELD_METRICS]  # no ground truth in the data
        data, info = _evaluate_snapshots(model, reference, times, wanted, scorer, seed=seed, t0=t0,
                                         push_steps=push_steps)
        ref_snaps = reference
    else:
        raise InputError(f"reference: expected a System (ground truth) or Snapshots (xarray.Dataset), got "
                         f"{describe(reference)}")
    continuity: dict = {}
    _add_residual(data, continuity, ref_snaps, model, times, wanted, explicit=explicit, seed=seed,
                  system=reference if isinstance(reference, System) else None)
    _add_spread(data, ref_snaps, model, times)
    settings = {"n_per_time": n_per_time if isinstance(reference, System) else -1, "seed": int(seed),
                "kernel": scorer.kernel, "paper_scale": float(scorer.paper_scale),
                "n_projections": int(scorer.n_projections), "w2_max_n": int(scorer.w2_max_n),
                "n_test": int(n_test), "n_rep": int(scorer.n_rep), **info, **continuity}
    return _report(data, times, report_attrs(model, reference, settings))


def _evaluation_times(times, default) -> np.ndarray:
    if times is None:
        return np.asarray(default, dtype=np.float64)
    return check_times(times, "times")


#: With a system as reference the continuity test also draws samples at this many times between consecutive
#: evaluation times: its quadrature in time must resolve the motion (rotating OU, true field, 2000 samples:
#: at 11 times the rules disagree by 68 noise units and the true field is rejected at p = 1e-117; at 41 times,
#: 3.6 units and p = 1).
CONTINUITY_REFINE = 3


def _add_residual(data: dict, attrs: dict, snapshots, model, times, wanted, *, explicit: bool, seed: int,
                  system=None):
    """The calibrated continuity test (:func:`~amphys.diagnostics.continuity_test`) on the reference samples at
    ``times``, when asked for and computable (at least 4 times): per time the residual R, its 95% null quantile,
    p-values (raw and Holm-adjusted); overall p-value, transport ratio and the verdict in words, as attrs. With a
    ``system``, fresh samples at :data:`CONTINUITY_REFINE` more times between evaluation times join the test (the
    per-time columns stay those of ``times``)."""
    if "continuity_residual" not in wanted:
        return
    if times.size < 4:
        if explicit:
            raise InputError(f"metrics: 'continuity_residual' needs at least 4 evaluation times for the "
                             f"continuity test, got {times.size}")
        return
    if isinstance(snapshots, xr.Dataset):
        by_time = {t: x for t, x, _ in split_snapshots(snapshots)}
        all_t = np.array(sorted(by_time))
        snapshots = [(float(t), by_time[all_t[np.argmin(np.abs(all_t - t))]]) for t in times]
    keep = np.arange(times.size)
    if system is not None and CONTINUITY_REFINE > 0:
        fine = np.concatenate([np.linspace(a, b, CONTINUITY_REFINE + 2)[:-1] for a, b in zip(times[:-1], times[1:])]
                              + [times[-1:]])
        keep = np.arange(times.size) * (CONTINUITY_REFINE + 1)
        given = dict(zip(keep.tolist(), snapshots))
        n = len(snapshots[0][1])
        rng = np.random.default_rng([int(seed), 31])
        snapshots = [given[i] if i in given else (float(t), system.sample(float(t), n, rng))
                     for i, t in enumerate(fine)]
    res = continuity_test(snapshots, model, seed=seed)
    data["continuity_residual"] = res.residual[keep]
    data["continuity_residual_threshold"] = res.residual_threshold[keep]
    data["continuity_residual_within_noise"] = res.residual[keep] <= res.residual_threshold[keep]
    data["continuity_p_value"] = res.p_value[keep]
    data["continuity_p_value_holm"] = res.p_value_holm[keep]
    attrs.update(continuity_p_value_all=float(res.p_value_all),
                 continuity_transport_ratio=float(res.transport_ratio),
                 continuity_transport_ratio_se=float(res.transport_ratio_se),
                 continuity_truncation_z=float(res.info["truncation_z"] or 0.0),
                 continuity_verdict=res.verdict())


def _add_spread(data: dict, snapshots, model, times) -> None:
    """Ensemble fits: the estimated field error from the data alone at the evaluation times."""
    if getattr(getattr(model, "config", None), "ensemble", 1) <= 1 or not hasattr(model, "velocity_spread"):
        return
    pairs = snapshots if isinstance(snapshots, list) else [
        (float(t), x) for t, x, _ in split_snapshots(snapshots) if np.any(np.isclose(times, t, rtol=1e-12))]
    data.update(spread_columns(model, pairs))


def spread_columns(model, pairs) -> dict:
    """Per (t, samples) pair (docs/theory.md#learning-from-snapshots): ``velocity_spread`` = sqrt(E_q ‖spread‖²)
    in the data's units, the estimated size of ‖v − v*‖ from an ensemble's members, and
    ``velocity_spread_relative`` = that over sqrt(E_q ‖v‖²) of the model (comparable to velocity_error_root)."""
    spread, rel = [], []
    for t, x in pairs:
        e2 = float(np.mean(model.velocity_spread(t, x) ** 2))
        v2 = float(np.mean(np.sum(call_velocity(model, t, x) ** 2, axis=1)))
        spread.append(np.sqrt(e2))
        rel.append(np.sqrt(e2 / v2) if v2 > 0 else np.inf)
    return {"velocity_spread": np.array(spread), "velocity_spread_relative": np.array(rel)}


def _report(data: dict, times, attrs: dict) -> xr.Dataset:
    def dtype(k):
        return np.int64 if k == "pushed_nonfinite" else (bool if k.endswith("_within_noise") else np.float64)

    variables = {k: ("time", np.asarray(v, dtype=dtype(k))) for k, v in data.items() if k != "action_gap"}
    if "action_gap" in data:
        variables["action_gap"] = ((), float(data["action_gap"]))
    return xr.Dataset(variables, coords={"time": times}, attrs=attrs)


def _field_rows(data: dict, wanted, times, rows) -> None:
    """The per-time field metrics of ``rows`` (and the action gap) that were asked for, into ``data``."""
    for name in FIELD_METRICS[:-1]:
        if name in wanted:
            data[name] = [r[name] for r in rows]
    if "action_gap" in wanted:
        data["action_gap"] = action_gap(times, [r["mean_sq_error"] for r in rows])


def _sample_rows(data: dict, rows) -> None:
    for key in rows[0]:
        data[key] = [r[key] for r in rows]


# -- a System as the reference ---------------------------------------------------------------------------------
def _evaluate_system(model, system, times, wanted, scorer, *, n, seed, t0, target, push_steps, projection):
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3 * times.size + 1)]
    refs = [system.sample(float(t), n, streams[3 * k]) for k, t in enumerate(times)]
    data: dict = {}
    info: dict = {"reference": "system", "target": "none"}
    if any(m in wanted for m in FIELD_METRICS):
        _system_fields(data, info, model, system, times, refs, wanted, target, projection)
    sample_names = [m for m in SAMPLE_METRICS if m in wanted]
    if sample_names:
        start = times[0] if t0 is None else float(t0)
        x0 = system.sample(start, n, streams[-1])
        pushed = push_samples(model, x0, start, times, n_steps=push_steps)
        _sample_rows(data, [scorer.score(pushed[k], refs[k], system.sample(float(t), n, streams[3 * k + 1]),
                                         names=sample_names, seed=seed + k, sampler=_sampler(system, t))
                            for k, t in enumerate(times)])
        info["t0"] = float(start)
    info["snapshots"] = [(float(t), x) for t, x in zip(times, refs)]
    return data, info


def _sampler(system, t):
    """Draws of q_t for the null replicates of the noise thresholds."""
    return lambda k, rng: system.sample(float(t), k, rng)


def _system_fields(data, info, model, system, times, refs, wanted, target, projection) -> None:
    """Field metrics against the system's AM target (closed form or projection) or its physical velocity."""
    kind = target
    if target == "auto":
        kind = "am_velocity" if system.has_am_velocity else "projection"
    if kind == "am_velocity" and not system.has_am_velocity:
        raise InputError(f"target: system {system.name!r} has no closed-form am_velocity; use "
                         "target='auto' or 'projection'")
    info["target"] = kind
    rows, proj_info, nongradient = [], None, []
    for t, x in zip(times, refs):
        v = call_velocity(model, t, x)
        if kind == "velocity":
            vt = np.asarray(system.velocity(float(t), x), dtype=np.float64)
        elif kind == "am_velocity":
            vt = np.asarray(system.am_velocity(float(t), x), dtype=np.float64)
        else:
            f = _projected_target(system, float(t), projection, forced=target == "projection")
            vt = f(x)
            proj_info = proj_info or _projection_summary(f.projection)
            nongradient.append(f.projection.nongradient_fraction)
        rows.append(field_metrics(v, vt))
    _field_rows(data, wanted, times, rows)
    if proj_info:
        info["projection"] = json.dumps(proj_info, sort_keys=True)
        data["target_nongradient_fraction"] = nongradient


def _projected_target(system, t: float, projection: dict, *, forced: bool):
    """The AM target at ``t`` from :func:`am_target`; with ``forced``, the grid projection even where a closed
    form exists (to check the projection against it)."""
    if system.dim > 3:
        raise InputError(f"target: the gradient projection needs d <= 3, system has d = {system.dim}")
    f = am_target(system, t, **projection)
    if not (forced and f.kind == "am_velocity"):
        return f
    proj = project_gradient(system, t, **projection)
    g = proj.velocity
    f_ = lambda x: g(x)  # noqa: E731
    f_.kind, f_.projection = "projection", proj
    return f_


def _projection_summary(proj) -> dict:
    return {"t": proj.t, "n_grid": list(proj.n_grid), "lo": proj.lo.tolist(), "hi": proj.hi.tolist(),
            "kinetic_energy": proj.kinetic_energy, "kinetic_energy_physical": proj.kinetic_energy_physical,
            "nongradient_fraction": proj.nongradient_fraction, "mass": proj.mass,
            "iterations": proj.info.get("iterations"), "seconds": proj.info.get("seconds")}


# -- Snapshots as the reference --------------------------------------------------------------------------------
def _evaluate_snapshots(model, ds, times, wanted, scorer, *, seed, t0, push_steps):
    by_time = {t: x for t, x, _ in split_snapshots(ds)}
    all_t = np.array(sorted(by_time))
    missing = [float(t) for t in times if not np.any(np.isclose(all_t, t, rtol=1e-12, atol=1e-12))]
    if missing:
        raise InputError(f"times: {missing} are not snapshot times of the reference; available: "
                         f"{all_t.tolist()}")
    data: dict = {}
    info: dict = {"reference": "snapshots", "target": "none"}
    want_field = [m for m in FIELD_METRICS if m in wanted]
    if want_field:
        _snapshot_fields(data, model, ds, times, wanted, want_field)
        info["target"] = "am_velocity"
    sample_names = [m for m in SAMPLE_METRICS if m in wanted]
    if sample_names:
        start = all_t[0] if t0 is None else float(t0)
        if not np.any(np.isclose(all_t, start, rtol=1e-12, atol=1e-12)):
            raise InputError(f"t0: {start} is not a snapshot time; available: {all_t.tolist()}")
        rng = np.random.default_rng(seed)
        halves = {}
        for t in {float(t) for t in times} | {float(start)}:
            x = by_time[all_t[np.argmin(np.abs(all_t - t))]]
            perm = rng.permutation(x.shape[0])
            halves[t] = (x[perm[: x.shape[0] // 2]], x[perm[x.shape[0] // 2:]])
        pushed = push_samples(model, halves[float(start)][0], float(start), times, n_steps=push_steps)
        _sample_rows(data, [scorer.score(pushed[k], halves[float(t)][1], halves[float(t)][0], names=sample_names,
                                         seed=seed) for k, t in enumerate(times)])
        info["t0"] = float(start)
    return data, info


def _snapshot_fields(data, model, ds, times, wanted, want_field) -> None:
    """Field metrics against the ``v_true`` the Snapshots carry (only when it is the AM target)."""
    if "v_true" not in ds.data_vars or ds.attrs.get("v_true_target", "am_velocity") != "am_velocity":
        raise InputError(f"metrics: {want_field} need the true AM velocity; these Snapshots carry no "
                         "'v_true' of the AM target. Pass the System as reference, or ask only for sample "
                         "metrics and 'continuity_residual'")
    tt = np.asarray(ds["time"].values)
    rows = []
    for t in times:
        k = np.isclose(tt, t, rtol=1e-12, atol=1e-12)
        x = np.asarray(ds["x"].values[k], dtype=np.float64)
        rows.append(field_metrics(call_velocity(model, t, x), np.asarray(ds["v_true"].values[k])))
    _field_rows(data, wanted, times, rows)
