"""Sweeps of the AM velocity error (docs/benchmarks.md) on barenblatt 2D and rotational OU (OU-G):

- vs samples per snapshot n (fixed number of snapshots K), per time-integral mode;
- vs number of snapshots K (fixed n per snapshot, so the total data grows with K), per mode;
- vs time-integral mode at the base (n, K): mc, quadrature, snapshots from the data, and mc / quadrature with
  the exact sampler (fresh samples at any time: the limit n → ∞, K → ∞).

Every point is one default-config fit (the scale's network and budget) scored by the mean over the evaluation
times of the relative L² error ‖v − v*‖/‖v*‖ against the closed-form AM target, on fresh samples. With several
seeds (``--full``) the mean and the standard deviation over seeds are stored.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import xarray as xr

from amphys.bench import _methods as mt
from amphys.bench._common import BenchOutput, fmt, header, machine
from amphys.bench._suite import log
from amphys.bench.physics import OU_ROTATIONAL

__all__ = ["run_sweeps", "SYSTEMS", "MODES", "VARIANTS"]

SYSTEMS = {"barenblatt 2D (m=2)": ("barenblatt", {"dim": 2, "m": 2.0}),
           "rotational OU (OU-G)": ("ou", OU_ROTATIONAL)}
MODES = ("mc", "quadrature", "snapshots")
VARIANTS = ("mc", "quadrature", "snapshots", "mc + sampler", "quadrature + sampler")


def _error(system, times, n_per, n_times, mode, sampler, scale, seed, cache):
    from amphys.data.synthetic import generate

    key = (n_per, n_times, mode, sampler, seed)
    if key in cache:
        return cache[key]
    t_data = np.linspace(*system.t_span, n_times)
    data = generate(system, t_data, n_per, seed=seed, progress=False)
    tr = mt.fit_am(data, scale, time_integral=mode, sampler=system if sampler else None, seed=seed)
    rep = mt.score_model(tr.model, system, times, scale, seed=seed + 1, metrics=["velocity_error_root"])
    cache[key] = (float(rep["velocity_error_root"].mean()), tr.train_s)
    return cache[key]


def _stats(values):
    a = np.asarray(values, dtype=np.float64)
    return float(np.mean(a)), float(np.std(a)) if a.size > 1 else float("nan")


def run_sweeps(scale, folder, *, seed: int = 0, command: str) -> BenchOutput:
    from amphys import systems

    start = time.perf_counter()
    info = machine()
    sw = scale.sweep
    seeds = tuple(seed + s for s in sw.get("seeds", (0,)))
    ns, ks = tuple(sw["n"]), tuple(sw["n_times"])
    base_n, base_k = sw["base_n"], sw["base_times"]
    names = list(SYSTEMS)
    vs_n = np.full((2, len(names), len(MODES), len(ns)), np.nan)
    vs_k = np.full((2, len(names), len(MODES), len(ks)), np.nan)
    vs_mode = np.full((2, len(names), len(VARIANTS)), np.nan)
    train = np.full((len(names), len(VARIANTS)), np.nan)
    for i, label in enumerate(names):
        sys_name, params = SYSTEMS[label]
        system = systems.get(sys_name, **params)
        times = np.linspace(*system.t_span, scale.eval_times)
        cache: dict = {}
        log(f"sweeps: {label}")
        for m, mode in enumerate(MODES):
            for a, n in enumerate(ns):
                vs_n[:, i, m, a] = _stats([_error(system, times, n, base_k, mode, False, scale, s, cache)[0]
                                           for s in seeds])
            for b, k in enumerate(ks):
                vs_k[:, i, m, b] = _stats([_error(system, times, base_n, k, mode, False, scale, s, cache)[0]
                                           for s in seeds])
            log(f"  {mode:10s} vs n: {np.round(vs_n[0, i, m], 3).tolist()}  "
                f"vs K: {np.round(vs_k[0, i, m], 3).tolist()}")
        for v, variant in enumerate(VARIANTS):
            mode, sampler = variant.split(" + ")[0], variant.endswith("sampler")
            res = [_error(system, times, base_n, base_k, mode, sampler, scale, s, cache) for s in seeds]
            vs_mode[:, i, v] = _stats([r[0] for r in res])
            train[i, v] = float(np.mean([r[1] for r in res]))
        log(f"  modes at n={base_n}, K={base_k}: {np.round(vs_mode[0, i], 3).tolist()}")
    total = time.perf_counter() - start
    ds = xr.Dataset(
        {"verr_vs_n": (("system", "mode", "n"), vs_n[0]), "verr_vs_n_std": (("system", "mode", "n"), vs_n[1]),
         "verr_vs_n_times": (("system", "mode", "n_times"), vs_k[0]),
         "verr_vs_n_times_std": (("system", "mode", "n_times"), vs_k[1]),
         "verr_mode": (("system", "variant"), vs_mode[0]), "verr_mode_std": (("system", "variant"), vs_mode[1]),
         "train_s_mode": (("system", "variant"), train)},
        coords={"system": names, "mode": list(MODES), "n": list(ns), "n_times": list(ks), "variant": list(VARIANTS)},
        attrs={"benchmark": "sweeps", "scale": scale.name, "machine": json.dumps(info, sort_keys=True),
               "command": command, "metric": "mean over evaluation times of ||v - v*|| / ||v*|| (relative L2)",
               "base_n": base_n, "base_n_times": base_k, "seeds": json.dumps(list(seeds)), "wall_s": total,
               "scale_settings": json.dumps(dataclasses.asdict(scale), sort_keys=True, default=str)})
    from amphys.bench._figures import plot_sweeps

    fig = plot_sweeps(ds, Path(folder) / "sweeps.png")
    md = _markdown(ds, scale, info, command, total, fig)
    head = {"benchmark": "sweeps", "scale": scale.name, "wall_s": round(total, 1)}
    for i in range(len(names)):
        key = "barenblatt" if i == 0 else "ou_rot"
        for v, variant in enumerate(VARIANTS):
            head[f"{key}_{variant.replace(' + ', '_').replace(' ', '_')}_verr"] = round(float(vs_mode[0, i, v]), 6)
        head[f"{key}_mc_verr_n{ns[-1]}"] = round(float(vs_n[0, i, 0, -1]), 6)
    log(f"sweeps: done in {total:.0f} s")
    return BenchOutput("sweeps", ds, md, head, files=[fig])


def _markdown(ds, scale, info, command, total, fig) -> str:
    base_n, base_k = ds.attrs["base_n"], ds.attrs["base_n_times"]
    lines = [f"### sweeps — AM velocity error vs data and time-integral mode (--{scale.name})", "",
             header("sweeps", scale, info, command), "",
             f"Every point: one default-config fit (width {scale.hidden}, depth {scale.depth}, batch "
             f"{scale.batch_size}, {scale.steps} steps), seeds {ds.attrs['seeds']}; metric: "
             f"{ds.attrs['metric']} at {scale.eval_times} times, {scale.n_eval} fresh samples each. "
             f"Figure: `{fig.name}`.", ""]
    head = "| system | " + " | ".join(ds["variant"].values) + " |"
    lines += [f"Velocity error by time-integral mode at n = {base_n} per snapshot, K = {base_k} snapshots:", "",
              head, "|" + "---|" * (1 + ds.sizes["variant"])]
    for i, s in enumerate(ds["system"].values):
        lines.append(f"| {s} | " + " | ".join(fmt(v) for v in ds["verr_mode"].values[i]) + " |")
    for var, dim, title in (("verr_vs_n", "n", f"vs samples per snapshot n (K = {base_k})"),
                            ("verr_vs_n_times", "n_times", f"vs number of snapshots K (n = {base_n})")):
        lines += ["", f"Velocity error {title}:", "",
                  "| system | mode | " + " | ".join(f"{dim}={v}" for v in ds[dim].values) + " |",
                  "|" + "---|" * (2 + ds.sizes[dim])]
        for i, s in enumerate(ds["system"].values):
            for m, mode in enumerate(ds["mode"].values):
                lines.append(f"| {s} | {mode} | " + " | ".join(fmt(v) for v in ds[var].values[i, m]) + " |")
    lines += ["", f"Wall time of the sweeps: {total:.0f} s."]
    return "\n".join(lines)
