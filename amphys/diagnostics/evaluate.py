"""``amphys.evaluate``: score a velocity field against a System (ground truth) or Snapshots (SPEC §4.3, §5).

The model is seen only as a velocity callable v(t, x) -> (n, d) (a FitResult, or any other method's field), so
the same report scores baselines too. Result: an ``xarray.Dataset`` over ``time`` (names of SPEC §4.3), saved
with ``amphys.io.write``.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from amphys.diagnostics import samples as sm
from amphys.diagnostics._report import report_attrs
from amphys.diagnostics.fields import action_gap, call_velocity, field_metrics, rk4_push
from amphys.diagnostics.projection import am_target
from amphys.diagnostics.weak import continuity_residual
from amphys.errors import InputError, describe, unknown_name

__all__ = ["evaluate", "METRICS", "FIELD_METRICS", "SAMPLE_METRICS"]

FIELD_METRICS = ("velocity_error", "velocity_error_root", "cosine", "kinetic_energy_model",
                 "kinetic_energy_target", "action_gap")
SAMPLE_METRICS = ("mmd2", "energy_distance", "sliced_w2", "w2")
METRICS = FIELD_METRICS + ("continuity_residual",) + SAMPLE_METRICS
TARGETS = ("auto", "am_velocity", "projection", "velocity")


def _check_metrics(metrics) -> list[str]:
    if metrics is None:
        return list(METRICS)
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


def _check_times(times, default):
    if times is None:
        return np.asarray(default, dtype=np.float64)
    try:
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError(f"times: expected a sequence of numbers, got {describe(times)}") from None
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise InputError(f"times: expected increasing finite times, got {describe(times)}")
    return t


def _push(model, x0, t0, times, push_steps):
    push = getattr(model, "push", None)
    if callable(push):
        out = np.asarray(push(x0, t0, times), dtype=np.float64)
    else:
        out = rk4_push(model, x0, t0, times, n_steps=push_steps)
    if out.shape != (len(times),) + x0.shape:
        raise InputError(f"model.push: expected shape {(len(times),) + x0.shape}, got {out.shape}")
    return out


class _SampleScorer:
    """Sample metrics of one time: pushed set vs reference, and the floor (second reference set vs reference)."""

    def __init__(self, wanted, *, kernel, bandwidth, paper_scale, n_projections, w2_max_n, seed):
        self.wanted = [m for m in SAMPLE_METRICS if m in wanted]
        self.kernel, self.bandwidth, self.paper_scale = kernel, bandwidth, paper_scale
        self.n_projections, self.w2_max_n, self.seed = n_projections, w2_max_n, seed

    def score(self, pushed, ref, ref2) -> dict:
        out = {}
        if not self.wanted:
            return out
        finite = np.all(np.isfinite(pushed), axis=1)
        out["pushed_nonfinite"] = int((~finite).sum())
        bw = None
        if self.kernel == "rbf":
            bw = sm.median_bandwidth(ref) if self.bandwidth is None else self.bandwidth
            out["mmd_bandwidth"] = float(np.atleast_1d(bw)[0])
        for name in self.wanted:
            if name == "mmd2":
                f = lambda a, b: sm.mmd2(a, b, kernel=self.kernel, bandwidth=bw,  # noqa: E731
                                         paper_scale=self.paper_scale)
            elif name == "energy_distance":
                f = sm.energy_distance
            elif name == "sliced_w2":
                f = lambda a, b: sm.sliced_w2(a, b, n_projections=self.n_projections, seed=self.seed)  # noqa: E731
            else:
                m = min(self.w2_max_n, pushed.shape[0], ref.shape[0], ref2.shape[0])
                f = lambda a, b, m=m: sm.w2(a[:m], b[:m], max_n=self.w2_max_n)  # noqa: E731
            out[name] = f(pushed, ref) if finite.all() else float("nan")
            out[name + "_floor"] = f(ref2, ref)
        return out


def evaluate(model, reference, times=None, metrics=None, *, n: int = 2000, seed: int = 0, t0=None,
             target: str = "auto", kernel: str = "rbf", bandwidth=None, paper_scale: float = 1.0,
             n_projections: int = 500, w2_max_n: int = 1000, n_test: int = 128, push_steps: int = 200,
             projection: dict | None = None) -> xr.Dataset:
    """Score ``model`` against ``reference`` at ``times`` (SPEC §4.3, §5).

    Parameters
    ----------
    model : a FitResult or any callable v(t, x) -> (n, d). Sample metrics push with ``model.push(x0, t0,
        times)`` when it exists, else with numpy RK4 (``push_steps`` steps over the window).
    reference : a System — field metrics against its AM target on fresh samples x ~ q_t, sample metrics of
        pushed samples against fresh exact samples, each with its noise floor (the metric between two
        independent exact sets of size ``n``); or Snapshots — sample metrics with each snapshot split in random
        halves A/B: the pushed A-half of the first snapshot is compared with B_t, the floor is A_t vs B_t (same
        sizes); field metrics only if the data carry ``v_true`` of the AM target.
        The weak continuity residual (with its floor) is computed from the reference samples at ``times``
        (needs at least 3 times).
    times : evaluation times; default 11 evenly spaced over the system's ``t_span``, or every snapshot time.
    metrics : names from :data:`METRICS` (or the groups "field", "sample"); default all that apply. Floors come
        with their metric. An unknown name raises :class:`~amphys.errors.UnknownNameError`.
    n : samples per time (System reference).  seed : seed of every random draw.
    t0 : time of the pushed samples; default the first evaluation time (System) or the first snapshot.
    target : "auto" (``am_velocity`` where the system has it in closed form, else the gradient projection of its
        physical velocity, :func:`~amphys.diagnostics.am_target`), or force "am_velocity", "projection" or
        "velocity" (the physical field, for contrast only: it is not the AM target when not a gradient).
    kernel, bandwidth, paper_scale : MMD kernel (:func:`~amphys.diagnostics.mmd2`); the RBF bandwidth defaults to
        the median heuristic of the reference set at each time, shared by the metric and its floor.
    n_projections : directions of the sliced W2.
    w2_max_n : exact W2 on the first ``w2_max_n`` points of each set, floor at the same size (default 1000:
        about 0.4 s per call on a 2-core CPU against 1.7 s at 2000; at most 5000, the size POT's network simplex
        handles in reasonable time).
    n_test : test functions of the weak residual.
    projection : options of :func:`~amphys.diagnostics.project_gradient` (``n_grid``, ``box``, ...).

    Returns
    -------
    xarray.Dataset over ``time``: velocity_error, velocity_error_root, cosine, kinetic_energy_model,
    kinetic_energy_target, action_gap (scalar), continuity_residual (+ _floor), mmd2, mmd2_floor,
    energy_distance, energy_distance_floor, sliced_w2 (+ _floor), w2, w2_floor, mmd_bandwidth, pushed_nonfinite,
    and with a projected target ``target_nongradient_fraction`` (E‖v − ∇s*‖²/E‖v‖² of the physical field);
    attrs: ``target``, ``fit_config`` (JSON), ``versions`` (JSON), settings.
    """
    from amphys.systems.base import System, check_count

    wanted = _check_metrics(metrics)
    explicit = metrics is not None
    if target not in TARGETS:
        raise unknown_name("target", target, TARGETS)
    if kernel not in ("rbf", "paper"):
        raise unknown_name("kernel", kernel, ["rbf", "paper"])
    if not (callable(model) or callable(getattr(model, "velocity", None))):
        raise InputError(f"model: expected a FitResult or a callable v(t, x) -> (n, d), got {describe(model)}")
    if isinstance(w2_max_n, bool) or not isinstance(w2_max_n, (int, np.integer)) or not 2 <= w2_max_n <= sm.W2_MAX_N:
        raise InputError(f"w2_max_n: expected an integer in [2, {sm.W2_MAX_N}], got {describe(w2_max_n)}")
    scorer = _SampleScorer(wanted, kernel=kernel, bandwidth=bandwidth, paper_scale=paper_scale,
                           n_projections=n_projections, w2_max_n=w2_max_n, seed=seed)
    if isinstance(reference, System):
        n = check_count(n, "n")
        if n < 4:
            raise InputError(f"n: expected at least 4 samples per time, got {n}")
        times = _check_times(times, np.linspace(*reference.t_span, 11))
        if (not explicit and reference.dim > 3 and not reference.has_am_velocity
                and target in ("auto", "projection")):
            wanted = [m for m in wanted if m not in FIELD_METRICS]  # no grid projection above d = 3
        data, info = _evaluate_system(model, reference, times, wanted, scorer, n=n, seed=seed, t0=t0,
                                      target=target, push_steps=push_steps, projection=projection or {})
        ref_snaps = info.pop("snapshots")
    elif isinstance(reference, xr.Dataset):
        from amphys.data.snapshots import snapshot_times, validate_snapshots

        validate_snapshots(reference, name="reference")
        times = _check_times(times, snapshot_times(reference))
        if not explicit and "v_true" not in reference.data_vars:
            wanted = [m for m in wanted if m not in FIELD_METRICS]  # no ground truth in the data
        data, info = _evaluate_snapshots(model, reference, times, wanted, scorer, seed=seed, t0=t0,
                                         push_steps=push_steps)
        ref_snaps = reference
    else:
        raise InputError(f"reference: expected a System (ground truth) or Snapshots (xarray.Dataset), got "
                         f"{describe(reference)}")
    if "continuity_residual" in wanted and times.size < 3 and explicit:
        raise InputError(f"metrics: 'continuity_residual' needs at least 3 evaluation times for its time "
                         f"derivative, got {times.size}")
    if "continuity_residual" in wanted and times.size >= 3:
        res = continuity_residual(ref_snaps, model, n_test=n_test, seed=seed, times=times)
        data["continuity_residual"] = res["continuity_residual"].values
        data["continuity_residual_floor"] = res["continuity_residual_floor"].values
    variables = {k: ("time", np.asarray(v, dtype=np.int64 if k == "pushed_nonfinite" else np.float64))
                 for k, v in data.items() if k != "action_gap"}
    if "action_gap" in data:
        variables["action_gap"] = ((), float(data["action_gap"]))
    settings = {"n": n if isinstance(reference, System) else -1, "seed": int(seed), "kernel": kernel,
                "paper_scale": float(paper_scale), "n_projections": int(n_projections),
                "w2_max_n": int(w2_max_n), "n_test": int(n_test), **info}
    return xr.Dataset(variables, coords={"time": times}, attrs=report_attrs(model, reference, settings))


def _evaluate_system(model, system, times, wanted, scorer, *, n, seed, t0, target, push_steps, projection):
    d = system.dim
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3 * times.size + 1)]
    refs = [system.sample(float(t), n, streams[3 * k]) for k, t in enumerate(times)]
    data: dict = {}
    info: dict = {"reference": "system", "target": "none"}
    want_field = [m for m in FIELD_METRICS if m in wanted]
    if want_field:
        kind = target
        if target == "auto":
            kind = "am_velocity" if system.has_am_velocity else "projection"
        if kind == "am_velocity" and not system.has_am_velocity:
            raise InputError(f"target: system {system.name!r} has no closed-form am_velocity; use "
                             "target='auto' or 'projection'")
        info["target"] = kind
        rows, proj_info, ng = [], None, []
        for t, x in zip(times, refs):
            v = call_velocity(model, t, x)
            if kind == "velocity":
                vt = np.asarray(system.velocity(float(t), x), dtype=np.float64)
            elif kind == "am_velocity":
                vt = np.asarray(system.am_velocity(float(t), x), dtype=np.float64)
            else:
                f = am_target(system, float(t), **projection) if system.dim <= 3 else None
                if f is None:
                    raise InputError(f"target: the gradient projection needs d <= 3, system has d = {d}")
                if f.kind == "am_velocity" and target == "projection":
                    f = _forced_projection(system, float(t), projection)
                vt = f(x)
                proj_info = proj_info or _projection_summary(f.projection)
                ng.append(f.projection.nongradient_fraction)
            rows.append(field_metrics(v, vt))
        for name in FIELD_METRICS[:-1]:
            if name in wanted:
                data[name] = [r[name] for r in rows]
        if "action_gap" in wanted:
            data["action_gap"] = action_gap(times, [r["mean_sq_error"] for r in rows])
        if proj_info:
            info["projection"] = json.dumps(proj_info, sort_keys=True)
            data["target_nongradient_fraction"] = ng
    if scorer.wanted:
        start = times[0] if t0 is None else float(t0)
        x0 = system.sample(start, n, streams[-1])
        pushed = _push(model, x0, start, times, push_steps)
        rows = [scorer.score(pushed[k], refs[k], system.sample(float(t), n, streams[3 * k + 1]))
                for k, t in enumerate(times)]
        for key in rows[0]:
            data[key] = [r[key] for r in rows]
        info["t0"] = float(start)
    snapshots = [(float(t), x) for t, x in zip(times, refs)]
    info["snapshots"] = snapshots
    return data, info


def _forced_projection(system, t, projection):
    from amphys.diagnostics.projection import project_gradient

    proj = project_gradient(system, t, **projection)
    f = proj.velocity
    f_ = lambda x: f(x)  # noqa: E731
    f_.kind, f_.projection = "projection", proj
    return f_


def _projection_summary(proj) -> dict:
    return {"t": proj.t, "n_grid": list(proj.n_grid), "lo": proj.lo.tolist(), "hi": proj.hi.tolist(),
            "kinetic_energy": proj.kinetic_energy, "kinetic_energy_physical": proj.kinetic_energy_physical,
            "nongradient_fraction": proj.nongradient_fraction, "mass": proj.mass,
            "iterations": proj.info.get("iterations"), "seconds": proj.info.get("seconds")}


def _evaluate_snapshots(model, ds, times, wanted, scorer, *, seed, t0, push_steps):
    from amphys.data.snapshots import split_snapshots

    parts = split_snapshots(ds)
    by_time = {t: x for t, x, _ in parts}
    all_t = np.array(sorted(by_time))
    missing = [float(t) for t in times if not np.any(np.isclose(all_t, t, rtol=1e-12, atol=1e-12))]
    if missing:
        raise InputError(f"times: {missing} are not snapshot times of the reference; available: "
                         f"{all_t.tolist()}")
    snap = {float(t): by_time[all_t[np.argmin(np.abs(all_t - t))]] for t in times}
    data: dict = {}
    info: dict = {"reference": "snapshots", "target": "none"}
    want_field = [m for m in FIELD_METRICS if m in wanted]
    if want_field:
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
        for name in FIELD_METRICS[:-1]:
            if name in wanted:
                data[name] = [r[name] for r in rows]
        if "action_gap" in wanted:
            data["action_gap"] = action_gap(times, [r["mean_sq_error"] for r in rows])
        info["target"] = "am_velocity"
    if scorer.wanted:
        start = all_t[0] if t0 is None else float(t0)
        if not np.any(np.isclose(all_t, start, rtol=1e-12, atol=1e-12)):
            raise InputError(f"t0: {start} is not a snapshot time; available: {all_t.tolist()}")
        rng = np.random.default_rng(seed)
        halves = {}
        for t in set(snap) | {float(start)}:
            x = by_time[all_t[np.argmin(np.abs(all_t - t))]]
            perm = rng.permutation(x.shape[0])
            halves[t] = (x[perm[: x.shape[0] // 2]], x[perm[x.shape[0] // 2:]])
        pushed = _push(model, halves[float(start)][0], float(start), times, push_steps)
        rows = [scorer.score(pushed[k], halves[float(t)][1], halves[float(t)][0]) for k, t in enumerate(times)]
        for key in rows[0]:
            data[key] = [r[key] for r in rows]
        info["t0"] = float(start)
    return data, info
