"""Benchmark ``snapshots``: learning a flow from finite snapshots (N samples at K times, nothing in between).

For each case (a system with an exact AM target) and setting (K snapshots of N samples, a seed) every row of
:mod:`amphys.bench._snapshot_rows` is trained on the same data and scored by

- ``verr``: the relative field error ‖v − v*‖/‖v*‖ (q-weighted) against the AM target, the mean over 11
  evaluation times spread evenly over the window, on 2000 fresh exact samples each (``verr_t`` per time);
- ``ed``: a held-out-time energy distance: the samples of the snapshot before the middle interval pushed by the
  row's flow to the middle of that interval (a time no row saw), against fresh exact samples there, with the
  floor (two independent exact sets: mean and standard deviation over 5 pairs) and not moving (``ed_static``);
- ``calib`` (ensemble row): E‖spread‖² / E‖v − v*‖², the error bar's calibration.

Tables: the main table at (K = 11, N = 2000); the error vs K ∈ {3, 6, 11, 21, 41, 81} at N = 2000 (seeds
0, 1, 2 for the default row at K ≥ 11); the error vs N ∈ {500, 2000, 8000} at K = 11. ``--tiny`` is the test
configuration. Cases run one after another (``--cases`` selects some), so a long run can be split over
processes and merged (:func:`merge`).
"""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import xarray as xr

from amphys.bench._common import BenchOutput, fmt, header, machine
from amphys.bench._snapshot_rows import fit_row, torchcfm_available
from amphys.bench._suite import log
from amphys.bench.physics import OU_ROTATIONAL

__all__ = ["CASES", "Plan", "PLANS", "run_snapshots", "merge", "markdown"]

OU_SYMMETRIC = {"drift": [[1.0, 0.5], [0.5, 1.0]], "diffusion": 0.3, "mean0": [2.0, 1.0], "cov0": 0.1,
                "t_span": [0.0, 1.0]}
#: key -> (label, system name, parameters)
CASES = {
    "rot": ("rotating OU (OU-G)", "ou", OU_ROTATIONAL),
    "sym": ("symmetric OU", "ou", OU_SYMMETRIC),
    "bar2": ("Barenblatt d=2, m=2", "barenblatt", {"dim": 2, "m": 2.0}),
    "bar3": ("Barenblatt d=2, m=3", "barenblatt", {"dim": 2, "m": 3.0}),
    "mix": ("OU mixture (OU-M)", "ou-mixture", {}),
    "fp": ("fp-grid double well", "fp-grid", {}),
}
PARAMETRIC = ("gaussian path", "OU family", "self-similar")


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one scale runs: the network of every learned row, the main setting, the sweeps, and which rows."""

    net: dict
    n: int = 2000
    n_times: int = 11
    ks: tuple = (3, 6, 11, 21, 41, 81)
    ns: tuple = (500, 2000, 8000)
    seeds: tuple = (0, 1, 2)
    main_rows: tuple = ("default", "mixture", "exact", "cfm", "torchcfm", "ensemble", *PARAMETRIC)
    sweep_rows: tuple = ("default", "mixture", *PARAMETRIC)
    n_eval: int = 2000
    eval_times: int = 11


PLANS = {
    "tiny": Plan({"hidden": 16, "depth": 2, "batch_size": 64, "steps": 30}, n=120, n_times=5, ks=(3, 5), ns=(120,),
                 seeds=(0,), main_rows=("default", "mixture", "cfm", *PARAMETRIC), sweep_rows=("default",),
                 n_eval=200, eval_times=3),
    "quick": Plan({"hidden": 64, "depth": 3, "batch_size": 512, "steps": 2000}),
    "defaults": Plan({"hidden": 256, "depth": 4, "batch_size": 1024, "steps": 4000}, ks=(), ns=(), seeds=(0,),
                     main_rows=("default", "mixture", "cfm", "torchcfm")),
    "full": Plan({"hidden": 64, "depth": 3, "batch_size": 512, "steps": 2000},
                 sweep_rows=("default", "mixture", "cfm", "torchcfm", "exact", *PARAMETRIC)),
}


def _score(model, system, times, xs, plan: Plan, seed: int) -> dict:
    from amphys.diagnostics.samples import energy_distance
    from amphys.workflows.evaluation import evaluate

    ev = np.linspace(*system.t_span, plan.eval_times)
    rep = evaluate(model, system, times=ev, metrics=["velocity_error_root"], n_per_time=plan.n_eval,
                   seed=seed + 101)
    out = {"verr_t": rep["velocity_error_root"].values, "verr": float(rep["velocity_error_root"].mean())}
    j = (times.size - 2) // 2
    t_mid = 0.5 * (times[j] + times[j + 1])
    rng = np.random.default_rng([seed, 7])
    ref = system.sample(float(t_mid), xs[j].shape[0], rng)
    pushed = np.asarray(model.push(xs[j], float(times[j]), [float(t_mid)]))[0]
    out["ed"] = energy_distance(pushed, ref) if np.all(np.isfinite(pushed)) else float("nan")
    floors = [energy_distance(system.sample(float(t_mid), ref.shape[0], rng), ref) for _ in range(5)]
    out["ed_floor"], out["ed_floor_sd"] = float(np.mean(floors)), float(np.std(floors))
    out["ed_static"] = energy_distance(xs[j], ref)
    if getattr(model, "config", None) is not None and getattr(model.config, "ensemble", 1) > 1:
        est, true = [], []
        for t in ev:
            x = system.sample(float(t), plan.n_eval, rng)
            from amphys.diagnostics.target import am_target

            err = np.sum((model.velocity(float(t), x) - am_target(system, float(t))(x)) ** 2, axis=1)
            est.append(np.mean(model.velocity_spread(float(t), x) ** 2))
            true.append(np.mean(err))
        out["calib"] = float(np.mean(est) / np.mean(true))
        out["calib_t"] = np.array(est) / np.array(true)
    return out


def _setting(system, k: int, n: int, seed: int):
    from amphys.data.synthetic import generate

    times = np.linspace(*system.t_span, k)
    data = generate(system, times, n, seed=seed, progress=False)
    xs = [data["x"].values[data["time"].values == t] for t in times]
    return times, data, xs


def _applies(row: str, system) -> bool:
    from amphys.bench.parametric import FLOORS

    if row in PARAMETRIC:
        return row in FLOORS.get(system.name, {})
    return row != "torchcfm" or torchcfm_available()


def run_case(key: str, plan: Plan, *, seed: int = 0) -> list[dict]:
    """Every (setting, row) of one case: a list of records (row, K, N, seed, scores, train_s, status, note)."""
    from amphys import systems

    label, name, params = CASES[key]
    system = systems.get(name, **params)
    jobs = [(plan.n_times, plan.n, seed, plan.main_rows)]
    jobs += [(k, plan.n, seed, plan.sweep_rows) for k in plan.ks if k != plan.n_times]
    jobs += [(k, plan.n, seed + s, ("default",)) for s in plan.seeds[1:] for k in plan.ks if k >= plan.n_times]
    jobs += [(plan.n_times, n, seed, plan.sweep_rows) for n in plan.ns if n != plan.n]
    records = []
    for k, n, s, rows in jobs:
        times, data, xs = _setting(system, k, n, s)
        for row in rows:
            if not _applies(row, system):
                continue
            model, train_s, status, note = fit_row(row, system, data, times, xs, plan.net, seed=s)
            scores = _score(model, system, times, xs, plan, s)
            records.append({"case": key, "row": row, "K": k, "N": n, "seed": s, "train_s": train_s,
                            "status": status, "note": note, **scores})
            log(f"{key} K={k} N={n} seed={s} {row:13s} verr {scores['verr']:.4f}  ed {scores['ed']:.2e} "
                f"(floor {scores['ed_floor']:.1e}, static {scores['ed_static']:.1e})  train {train_s:6.1f} s "
                f"[{status}]")
    return records


def to_dataset(records: list[dict], attrs: dict) -> xr.Dataset:
    """Records as one Dataset over ``record`` (flat, easy to filter), per-time errors over (record, time_index)."""
    n_t = max(len(r["verr_t"]) for r in records)
    cols = {k: [r.get(k, np.nan) for r in records] for k in ("verr", "ed", "ed_floor", "ed_floor_sd", "ed_static",
                                                           "train_s", "calib")}
    verr_t = np.full((len(records), n_t), np.nan)
    for i, r in enumerate(records):
        verr_t[i, :len(r["verr_t"])] = r["verr_t"]
    data = {k: ("record", np.asarray(v, dtype=np.float64)) for k, v in cols.items()}
    for k in ("case", "row", "status", "note"):
        data[k] = ("record", np.array([str(r[k]) for r in records], dtype=str))
    for k in ("K", "N", "seed"):
        data[k] = ("record", np.array([int(r[k]) for r in records], dtype=np.int64))
    data["verr_t"] = (("record", "time_index"), verr_t)
    return xr.Dataset(data, attrs=attrs)


def merge(datasets) -> xr.Dataset:
    """Concatenate the records of several runs (e.g. cases run in separate processes)."""
    return xr.concat(list(datasets), dim="record", data_vars="all", combine_attrs="drop_conflicts")


ROWS = ("default", "mixture", "exact", "cfm", "torchcfm", "ensemble", *PARAMETRIC)


def run_snapshots(scale, folder, *, seed: int = 0, command: str, cases=None, ks=None, rows=None) -> BenchOutput:
    """Every case of the scale's plan; ``ks`` and/or ``rows`` replace the plan by those rows at those numbers of
    snapshots (N, seed and network of the plan; no sweeps): one part of a long run, merged with :func:`merge`."""
    from amphys.bench.snapshots_small import SMALL_CASES, run_small
    from amphys.errors import InputError, unknown_name

    plan = PLANS.get(scale.name, PLANS["quick"])
    for r in rows or ():
        if r not in ROWS:
            raise unknown_name("snapshots row", r, ROWS)
    if ks is not None and any(int(k) < 3 for k in ks):
        raise InputError(f"ks: expected numbers of snapshots >= 3, got {list(ks)}")
    parts = [plan] if ks is None and rows is None else [
        dataclasses.replace(plan, n_times=int(k), ks=(), ns=(), seeds=(seed,),
                            main_rows=tuple(rows) if rows else plan.main_rows)
        for k in (ks if ks is not None else (plan.n_times,))]
    keys = [*CASES, *SMALL_CASES] if cases is None else list(cases)
    start = time.perf_counter()
    info = machine()
    records, small = [], []
    for key in keys:
        if key in SMALL_CASES:
            small += run_small(key, plan, seed=seed)
        else:
            for part in parts:
                records += run_case(key, part, seed=seed)
    total = time.perf_counter() - start
    attrs = {"benchmark": "snapshots", "scale": scale.name, "machine": json.dumps(info, sort_keys=True),
             "command": command, "plan": json.dumps(dataclasses.asdict(plan), sort_keys=True), "wall_s": total}
    ds = to_dataset(records, attrs) if records else xr.Dataset(attrs=attrs)
    if small:
        ds = ds.merge(small_dataset(small), combine_attrs="override")
    return BenchOutput("snapshots", ds, markdown(ds, scale, info, command), headline(ds))


def small_dataset(records: list[dict]) -> xr.Dataset:
    """The small-sample records over ``small_record``."""
    data = {f"small_{k}": ("small_record", np.asarray([r[k] for r in records], dtype=np.float64))
            for k in ("held_out", "w1", "w1_static", "outside_ratio", "train_s")}
    for k in ("case", "row", "status"):
        data[f"small_{k}"] = ("small_record", np.array([str(r[k]) for r in records], dtype=str))
    return xr.Dataset(data)


def _pick(ds, **sel):
    keep = np.ones(ds.sizes["record"], dtype=bool)
    for k, v in sel.items():
        keep &= ds[k].values == v
    return np.flatnonzero(keep)


def headline(ds: xr.Dataset) -> dict:
    plan = json.loads(ds.attrs["plan"])
    out = {"benchmark": "snapshots", "scale": ds.attrs["scale"], "wall_s": round(float(ds.attrs["wall_s"]), 1)}
    if "small_w1" in ds:
        for c, r in sorted(set(zip(ds["small_case"].values.tolist(), ds["small_row"].values.tolist()))):
            sel = (ds["small_case"].values == c) & (ds["small_row"].values == r)
            out[f"{c}_{r}_w1_over_static"] = round(float(np.mean(ds["small_w1"].values[sel]
                                                                  / ds["small_w1_static"].values[sel])), 4)
    if "record" not in ds.dims:
        return out
    for i in _pick(ds, K=plan["n_times"], N=plan["n"], seed=int(ds["seed"].values.min())):
        key = f"{ds['case'].values[i]}_{ds['row'].values[i].replace(' ', '_')}"
        out[f"{key}_verr"] = round(float(ds["verr"].values[i]), 5)
        out[f"{key}_ed"] = float(f"{float(ds['ed'].values[i]):.4g}")
        if np.isfinite(ds["calib"].values[i]):
            out[f"{key}_calib"] = round(float(ds["calib"].values[i]), 3)
    return out


def markdown(ds: xr.Dataset, scale, info, command) -> str:
    plan = json.loads(ds.attrs["plan"])
    net = plan["net"]
    if "record" not in ds.dims:
        title = f"### snapshots — small samples (--{scale.name})"
        return "\n".join([title, "", header("snapshots", scale, info, command), "", small_markdown(ds)])
    k0, n0 = plan["n_times"], plan["n"]
    s0 = int(ds["seed"].values.min())
    cases = list(dict.fromkeys(ds["case"].values.tolist()))
    rows = list(dict.fromkeys(ds["row"].values.tolist()))
    lines = [f"### snapshots — learning from finite snapshots (--{scale.name})", "",
             header("snapshots", scale, info, command), "",
             f"Every learned row: MLP width {net['hidden']}, depth {net['depth']}, {net['batch_size']} rows per step, "
             f"{net['steps']} steps, same data and seed. verr: mean over {plan['eval_times']} times of ‖v − v*‖/‖v*‖ "
             f"against the AM target; ed: energy distance at the middle of the middle interval (held out) of the "
             f"previous snapshot pushed there, against fresh exact samples (floor: independent exact sets, mean ± sd).",
             "", f"Main table (K = {k0} snapshots, N = {n0} samples each, seed {s0}):", "",
             "| case | " + " | ".join(rows) + " | ed floor | not moving |", "|" + "---|" * (len(rows) + 3)]
    for c in cases:
        cells, floor, static = [], "—", "—"
        for r in rows:
            idx = _pick(ds, case=c, row=r, K=k0, N=n0, seed=s0)
            if idx.size:
                i = idx[0]
                cells.append(f"{fmt(ds['verr'].values[i])} / {fmt(ds['ed'].values[i], 2)}")
                floor = f"{fmt(ds['ed_floor'].values[i], 2)} ± {fmt(ds['ed_floor_sd'].values[i], 2)}"
                static = fmt(ds["ed_static"].values[i], 2)
            else:
                cells.append("—")
        lines.append(f"| {CASES[c][0]} | " + " | ".join(cells) + f" | {floor} | {static} |")
    lines += ["", "Cells: verr / ed."]
    for dim, fixed, title in (("K", ("N", n0), f"vs number of snapshots K (N = {n0})"),
                              ("N", ("K", k0), f"vs samples per snapshot N (K = {k0})")):
        values = sorted(set(ds[dim].values[ds[fixed[0]].values == fixed[1]].tolist()))
        if len(values) < 2:
            continue
        lines += ["", f"Field error {title}; the default row at K ≥ {k0}: mean ± sd over seeds:", "",
                  "| case | row | " + " | ".join(f"{dim}={v}" for v in values) + " |",
                  "|" + "---|" * (2 + len(values))]
        for c in cases:
            for r in rows:
                cells = []
                for v in values:
                    idx = _pick(ds, case=c, row=r, **{dim: v, fixed[0]: fixed[1]})
                    vals = ds["verr"].values[idx]
                    cells.append("—" if vals.size == 0 else fmt(vals[0]) if vals.size == 1 else
                                 f"{fmt(vals.mean())} ± {fmt(vals.std(), 2)}")
                if any(x != "—" for x in cells):
                    lines.append(f"| {CASES[c][0]} | {r} | " + " | ".join(cells) + " |")
    calib = [(c, float(ds["calib"].values[i])) for c in cases for i in _pick(ds, case=c, row="ensemble")]
    if calib:
        lines += ["", "Error bar calibration (ensemble of 4, K = 11, N = 2000): estimated / true q-weighted mean "
                  "squared error, " + "; ".join(f"{CASES[c][0]} {v:.2f}" for c, v in calib) + "."]
    if "small_w1" in ds:
        lines += ["", small_markdown(ds)]
    lines += ["", f"Wall time: {float(ds.attrs['wall_s']):.0f} s."]
    return "\n".join(lines)


def small_markdown(ds: xr.Dataset) -> str:
    """Leave-one-time-out W1 per held-out time and row, not moving, and the speed ratio outside/inside."""
    from amphys.bench.snapshots_small import SMALL_CASES

    rows = list(dict.fromkeys(ds["small_row"].values.tolist()))
    lines = ["Small samples (5 snapshots of 63–301 samples, 5-D; leave one interior time out, push the previous "
             "snapshot there; exact W1; in brackets the largest speed on a sphere of 3 data radii over the largest "
             "on the data):", "",
             "| case | held-out t | not moving | " + " | ".join(rows) + " |", "|" + "---|" * (3 + len(rows))]
    for c in dict.fromkeys(ds["small_case"].values.tolist()):
        for t in sorted(set(ds["small_held_out"].values[ds["small_case"].values == c].tolist())):
            sel = (ds["small_case"].values == c) & (ds["small_held_out"].values == t)
            static = fmt(ds["small_w1_static"].values[sel][0])
            cells = []
            for r in rows:
                i = np.flatnonzero(sel & (ds["small_row"].values == r))
                cells.append("—" if i.size == 0 else f"{fmt(ds['small_w1'].values[i[0]])} "
                             f"({fmt(ds['small_outside_ratio'].values[i[0]], 2)})")
            lines.append(f"| {SMALL_CASES[c][0]} | {t:.2f} | {static} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
