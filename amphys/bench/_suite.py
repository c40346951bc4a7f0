"""One benchmark case (a system with parameters) run through every method, and the assembly of many cases into
one ``xarray.Dataset`` and one markdown table.

Dataset layout (``amphys.io.write`` to HDF5):

- coordinates ``case`` (labels), ``row`` (method names of :data:`METHODS`; not called "method", which is a
  keyword of ``DataArray.sel``: ``sel(method="oracle")`` would silently select nothing), ``time_index``;
- ``eval_time (case, time_index)``: the evaluation times (NaN-padded);
- per-time metrics ``(case, row, time_index)``: the variables of :func:`amphys.evaluate` (NaN where a
  method has no such metric, e.g. the velocity of score matching);
- summaries ``(case, row)``: ``<metric>_mean`` over the evaluation times (sample metrics over the times after
  the first, where the pushed set is still the initial draw, unless the case says otherwise), ``action_gap``,
  ``data_residual`` (+ ``_floor``: the weak continuity residual on the training snapshots, mean over them),
  ``train_s`` (training wall seconds), ``extra_s`` (Langevin tuning), ``status``, ``note``;
- ``best_mode (case)``: the AM time-integral mode with the lowest mean velocity error;
- attrs: benchmark, scale, machine (JSON), command, cut cases (JSON), scale settings (JSON).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import numpy as np
import xarray as xr

from amphys.bench import _methods as mt
from amphys.bench._common import fmt, slug

__all__ = ["Case", "METHODS", "LABELS", "run_case", "assemble", "markdown_table", "headline", "log"]

METHODS = ("am-mc", "am-quadrature", "am-snapshots", "am-sampler", "sm", "sm-paper", "cfm", "oracle", "static")
PHYSICS_METHODS = ("am-mc", "am-quadrature", "am-snapshots", "am-sampler", "sm", "cfm", "oracle")
LABELS = {
    "am-mc": "AM default (time_integral=mc)",
    "am-quadrature": "AM, quadrature",
    "am-snapshots": "AM, snapshots",
    "am-sampler": "AM, mc + exact sampler",
    "sm": "SM (DSM) + annealed Langevin",
    "sm-paper": "SM (SSM) + Langevin, paper protocol",
    "cfm": "minibatch-OT CFM",
    "oracle": "oracle (true AM target, RK4)",
    "static": "no motion (v = 0)",
}
AM_MODES = {"am-mc": "mc", "am-quadrature": "quadrature", "am-snapshots": "snapshots"}
PER_TIME = ("velocity_error", "velocity_error_root", "cosine", "kinetic_energy_model", "kinetic_energy_target",
            "continuity_residual", "continuity_residual_threshold", "continuity_p_value", "mmd2", "mmd2_floor",
            "mmd2_threshold", "energy_distance", "energy_distance_floor", "energy_distance_threshold", "sliced_w2",
            "sliced_w2_floor", "sliced_w2_threshold", "w2", "w2_floor", "w2_threshold", "pushed_nonfinite")
SAMPLE_VARS = {"mmd2", "mmd2_floor", "mmd2_threshold", "energy_distance", "energy_distance_floor",
               "energy_distance_threshold", "sliced_w2", "sliced_w2_floor", "sliced_w2_threshold", "w2", "w2_floor",
               "w2_threshold", "pushed_nonfinite"}


def log(message: str):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class Case:
    """One system configuration of a benchmark.

    label : row label. system, params : ``amphys.systems.get(system, **params)``. key : short name for the JSON
    headline (default: from the label). quick : part of ``--quick``. full_only : {method: reason} of rows run
    only with ``--full`` (listed as cut otherwise).
    methods : rows to run (names of :data:`METHODS`). n, n_times, steps, hidden : overrides of the scale.
    eval_times : explicit evaluation times (default: the scale's count, evenly spaced over the window).
    kernel, paper_scale : MMD kernel. include_t0 : average sample metrics over every time, the first included.
    """

    label: str
    system: str
    params: dict = dataclasses.field(default_factory=dict)
    key: str = ""
    quick: bool = True
    methods: tuple = PHYSICS_METHODS
    full_only: dict = dataclasses.field(default_factory=dict)
    n: int | None = None
    n_times: int | None = None
    n_eval: int | None = None
    steps: int | None = None
    hidden: int | None = None
    eval_times: tuple | None = None
    kernel: str = "rbf"
    paper_scale: float = 1.0
    include_t0: bool = False


@dataclasses.dataclass
class CaseResult:
    case: Case
    times: np.ndarray
    reports: dict
    trained: dict
    seconds: float
    extra: dict = dataclasses.field(default_factory=dict)


def case_methods(case: Case, scale) -> tuple:
    """The rows of ``case`` at ``scale``: those in ``full_only`` are dropped below ``--full``."""
    return tuple(m for m in case.methods if scale.name == "full" or m not in case.full_only)


def case_scale(case: Case, scale):
    changes = {k: getattr(case, k) for k in ("n", "n_times", "n_eval", "steps", "hidden") if getattr(case, k)}
    return dataclasses.replace(scale, **changes) if changes else scale


def run_case(case: Case, scale, *, seed: int = 0, extra_rows=None, am_curve=None) -> CaseResult:
    """Generate the data of ``case``, train every method, score each with :func:`amphys.evaluate`.

    ``extra_rows(name, model, trained) -> dict`` may add per-method results (hydrogen's Bohmian-field metrics);
    ``am_curve(system, times) -> (curve_fn, every)`` asks AM fits for a metric curve along training.
    """
    from amphys import systems
    from amphys.data.synthetic import generate

    start = time.perf_counter()
    sc = case_scale(case, scale)
    system = systems.get(case.system, **case.params)
    t_data = np.linspace(*system.t_span, sc.n_times)
    data = generate(system, t_data, sc.n, seed=seed, progress=False)
    times, xs = mt.snapshot_arrays(data)
    ev = np.asarray(case.eval_times if case.eval_times is not None else np.linspace(*system.t_span, sc.eval_times))
    log(f"{case.label}: {system.name} d={system.dim}, {sc.n_times} snapshots x {sc.n} samples")
    trained, reports, extra = {}, {}, {}
    curve_fn, every = am_curve(system, ev) if am_curve is not None else (None, 0)
    for name in case_methods(case, scale):
        if name in AM_MODES or name == "am-sampler":
            mode = AM_MODES.get(name, "mc")
            tr = mt.fit_am(data, sc, time_integral=mode, sampler=system if name == "am-sampler" else None,
                           seed=seed, curve=curve_fn, curve_every=every)
        elif name == "sm":
            tr = mt.fit_sm(times, xs, sc, seed=seed)
        elif name == "sm-paper":
            tr = mt.fit_sm_paper(times, xs, sc, system, seed=seed)
        elif name == "cfm":
            tr = mt.fit_cfm(times, xs, sc, seed=seed)
        elif name == "oracle":
            tr = mt.Trained(mt.oracle(system), 0.0, note="no training")
        elif name == "static":
            tr = mt.Trained(lambda t, x: np.zeros(np.shape(x)), 0.0, note="no training")
        else:
            raise ValueError(f"unknown method {name!r}")
        sample_only = isinstance(tr.model, mt.SampleOnly)
        t0 = time.perf_counter()
        reports[name] = mt.score_model(tr.model, system, ev, sc, seed=seed + 1, sample_only=sample_only,
                                       kernel=case.kernel, paper_scale=case.paper_scale)
        if not sample_only:
            reports[name] = _with_data_residual(reports[name], data, tr.model, seed + 1)
        if extra_rows is not None:
            extra[name] = extra_rows(name, tr.model, system, ev, sc, seed + 1, sample_only)
        trained[name] = tr
        r = reports[name]
        verr = float(r["velocity_error_root"].mean()) if "velocity_error_root" in r else float("nan")
        mmd = float(r["mmd2"].mean()) if "mmd2" in r else float("nan")
        log(f"  {name:14s} train {tr.train_s:7.1f} s  eval {time.perf_counter() - t0:6.1f} s  "
            f"rel.v.err {verr:.3g}  mmd2 {mmd:.3g}  [{tr.status}]")
    return CaseResult(case, ev, reports, trained, time.perf_counter() - start, extra)


def _with_data_residual(report: xr.Dataset, data, model, seed: int) -> xr.Dataset:
    """Add the weak continuity residual of the model on the *training* snapshots (every snapshot time; the
    data-only self-check of a fit, docs/theory.md#weak-continuity-residual) as ``data_residual`` /
    ``data_residual_floor`` means."""
    from amphys.diagnostics import continuity_residual

    res = continuity_residual(data, model, seed=seed)
    return report.assign(data_residual=float(res["continuity_residual"].mean()),
                         data_residual_floor=float(res["continuity_residual_floor"].mean()))


def _time_mean(values: np.ndarray, include_t0: bool, sample: bool) -> float:
    v = values if (include_t0 or not sample or values.size < 2) else values[1:]
    v = v[np.isfinite(v)]
    return float(np.mean(v)) if v.size else float("nan")


def assemble(benchmark: str, results: list[CaseResult], scale, info: dict, *, command: str, cut: list[str],
             methods: tuple = METHODS) -> xr.Dataset:
    """All cases of one benchmark as one Dataset (layout in the module docstring)."""
    cases = [r.case.label for r in results]
    used = [m for m in methods if any(m in r.reports for r in results)]
    n_t = max(r.times.size for r in results)
    shape3 = (len(cases), len(used), n_t)
    per_time = {k: np.full(shape3, np.nan) for k in PER_TIME}
    summary = {f"{k}_mean": np.full(shape3[:2], np.nan) for k in PER_TIME if not k.startswith("pushed")}
    summary.update({k: np.full(shape3[:2], np.nan) for k in ("action_gap", "data_residual", "data_residual_floor",
                                                              "train_s", "extra_s")})
    status = np.full(shape3[:2], "", dtype=object)
    note = np.full(shape3[:2], "", dtype=object)
    eval_time = np.full((len(cases), n_t), np.nan)
    best = []
    for i, r in enumerate(results):
        eval_time[i, : r.times.size] = r.times
        for j, m in enumerate(used):
            if m not in r.reports:
                continue
            rep, tr = r.reports[m], r.trained[m]
            for k in PER_TIME:
                if k in rep.data_vars:
                    vals = np.asarray(rep[k].values, dtype=np.float64)
                    per_time[k][i, j, : vals.size] = vals
                    if not k.startswith("pushed"):
                        summary[f"{k}_mean"][i, j] = _time_mean(vals, r.case.include_t0, k in SAMPLE_VARS)
            for k in ("action_gap", "data_residual", "data_residual_floor"):
                if k in rep.data_vars:
                    summary[k][i, j] = float(rep[k])
            summary["train_s"][i, j], summary["extra_s"][i, j] = tr.train_s, tr.extra_s
            status[i, j], note[i, j] = tr.status, tr.note
        modes = [(summary["velocity_error_mean"][i, used.index(m)], m) for m in AM_MODES if m in used
                 and m in r.reports and np.isfinite(summary["velocity_error_mean"][i, used.index(m)])]
        best.append(min(modes)[1] if modes else "")
    dims3, dims2 = ("case", "row", "time_index"), ("case", "row")
    variables = {k: (dims3, v) for k, v in per_time.items()}
    variables.update({k: (dims2, v) for k, v in summary.items()})
    variables["status"] = (dims2, status.astype(str))
    variables["note"] = (dims2, note.astype(str))
    variables["eval_time"] = (("case", "time_index"), eval_time)
    variables["best_mode"] = (("case",), np.array(best, dtype=str))
    variables["case_seconds"] = (("case",), np.array([r.seconds for r in results]))
    variables["case_key"] = (("case",), np.array([slug(r.case.key or r.case.label) for r in results], dtype=str))
    variables["system_params"] = (("case",), np.array([json.dumps({"system": r.case.system, **r.case.params},
                                                                  sort_keys=True) for r in results], dtype=str))
    attrs = {"benchmark": benchmark, "scale": scale.name, "machine": json.dumps(info, sort_keys=True),
             "command": command, "cut_cases": json.dumps(cut), "scale_settings": json.dumps(
                 dataclasses.asdict(scale), sort_keys=True, default=str),
             "method_labels": json.dumps({m: LABELS[m] for m in used})}
    return xr.Dataset(variables, coords={"case": cases, "row": used, "time_index": np.arange(n_t)}, attrs=attrs)


def markdown_table(ds: xr.Dataset) -> str:
    """One table, rows grouped by case; a floor row per case (independent exact sets: MMD², W2; the floor of the
    weak residual of the oracle on the training snapshots); ★ marks the best AM time-integral mode."""
    cols = "| case | method | rel. L² v-error | cosine | MMD² | W2 | weak residual (data) | train s |"
    lines = [cols, "|" + "---|" * 8]
    methods = list(ds["row"].values)
    for i, case in enumerate(ds["case"].values):
        best = str(ds["best_mode"].values[i])
        for j, m in enumerate(methods):
            if not str(ds["status"].values[i, j]):
                continue
            g = lambda k, i=i, j=j: ds[k].values[i, j]  # noqa: E731
            label = LABELS[m] + (" ★" if m == best else "")
            train = fmt(g("train_s"), 3) if m not in ("oracle", "static") else "—"
            lines.append(f"| {case} | {label} | {fmt(g('velocity_error_root_mean'))} | {fmt(g('cosine_mean'))} | "
                         f"{fmt(g('mmd2_mean'))} | {fmt(g('w2_mean'))} | {fmt(g('data_residual'))} | "
                         f"{train} |")
        j_or = methods.index("oracle") if "oracle" in methods else 0
        lines.append(f"| {case} | *floor (independent exact sets)* | — | — | "
                     f"{fmt(ds['mmd2_floor_mean'].values[i, j_or])} | {fmt(ds['w2_floor_mean'].values[i, j_or])} | "
                     f"{fmt(ds['data_residual_floor'].values[i, j_or])} | — |")
    return "\n".join(lines)


def headline(ds: xr.Dataset, extra: dict | None = None) -> dict:
    """Flat JSON figures: ``<case>_<method>_{verr,mmd2,w2,train_s}`` and ``<case>_best_mode``."""
    out = {"benchmark": ds.attrs["benchmark"], "scale": ds.attrs["scale"]}
    for i in range(ds.sizes["case"]):
        c = str(ds["case_key"].values[i])
        out[f"{c}_best_mode"] = str(ds["best_mode"].values[i])
        methods = list(ds["row"].values)
        j_or = methods.index("oracle") if "oracle" in methods else 0
        out[f"{c}_mmd2_floor"] = _num(ds["mmd2_floor_mean"].values[i, j_or])
        for j, m in enumerate(ds["row"].values):
            if not str(ds["status"].values[i, j]):
                continue
            key = f"{c}_{slug(m)}"
            out[f"{key}_verr"] = _num(ds["velocity_error_root_mean"].values[i, j])
            out[f"{key}_mmd2"] = _num(ds["mmd2_mean"].values[i, j])
            out[f"{key}_w2"] = _num(ds["w2_mean"].values[i, j])
            out[f"{key}_train_s"] = _num(ds["train_s"].values[i, j])
    out.update(extra or {})
    return out


def _num(v):
    v = float(v)
    return round(v, 6) if np.isfinite(v) else None
