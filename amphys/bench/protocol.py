r"""The AM paper's hydrogen protocol at full sample size, with a field-level and a sharper sample-level yardstick
beside the paper's kernel (docs/benchmarks.md, "hydrogen-protocol").

The state, units and evaluation of the paper (:mod:`amphys.bench.hydrogen`): ψ ∝ ψ_{3,2,−1} + ψ_{2,1,0} in the
official code's units (``bohr_radius=4π``, ``relative_phase=π``), t ∈ [0, 14000], 10 evaluation times, the t = 0
samples pushed by the model and compared with fresh exact samples, **5000 per time**. Along training, at
checkpoints of the EMA weights:

- mean |MMD²| with the paper's kernel (3·exp(−10⁻⁴ r²), one length of ≈ 5.6 Bohr radii);
- mean |MMD²| with the multi-scale RBF kernel at the median bandwidth of the reference set
  (:func:`amphys.diagnostics.mmd2`, ``kernel="rbf"``), which resolves the density's structure;
- the field error against the converged gradient projection (``n_grid``³ cells, one solve rotated to every time)
  on 20,000 fresh exact samples at 11 times: pooled ‖v − ∇s*‖/‖∇s*‖ and the same on the 99% mass region
  (:func:`amphys.diagnostics.error_anatomy`).

Floors: the same MMDs between two independent exact sets of 5000 (averaged over ``floor_repeats`` draws), and the
oracle (∇s* pushed with RK4). "Time to floor": the first checkpoint where the paper-kernel MMD is at most the
paper's 5.7e-4 and where the sharp-kernel MMD is within 2× its floor.

Rows (``--quick`` and ``--full``; ``--tiny`` all but ``am-data``): ``am-exact`` (fresh exact samples, the quantum recipe
of :data:`amphys.bench.schrodinger.RECIPE`), ``am-data`` (``amphys.fit(data)`` with the same recipe, on the
snapshots alone: 101 × 2000 in ``--quick``, 101 × 5000 in ``--full``), and the two baselines on the same snapshots,
network, batch, steps and checkpoints: ``cfm`` (minibatch-OT conditional flow matching, its field scored like AM's)
and ``sm-paper`` (the paper's score-matching protocol: noise-free sliced score matching and the tracking sampler,
the Langevin step tuned once by driving the sampler with the true score ∇log q_t, as the official code did; no
velocity, so no field error). The baselines keep their own time inputs (four Fourier features), not the recipe's.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

from amphys.bench._common import BenchOutput, fmt, header, machine
from amphys.bench._suite import log

__all__ = ["run_protocol", "PROTOCOL"]

PAPER_T = 14000.0
PAPER_AM = 5.7e-4
#: sizes per scale: snapshots (times × n), evaluation samples, network, steps, checkpoints, projection grid
PROTOCOL = {
    "tiny": dict(n_times=11, n=200, n_eval=150, n_field=500, hidden=16, depth=2, batch_size=64, steps=40,
                 checkpoints=2, n_grid=16, floor_repeats=1, tracking_steps=10, tune_n=60,
                 rows=("am-exact", "cfm", "sm-paper")),
    "quick": dict(n_times=101, n=2000, n_eval=5000, n_field=20000, hidden=128, depth=4, batch_size=1024,
                  steps=4000, checkpoints=4, n_grid=96, floor_repeats=3, tracking_steps=200, tune_n=300,
                  rows=("am-exact", "am-data", "cfm", "sm-paper")),
    "full": dict(n_times=101, n=5000, n_eval=5000, n_field=20000, hidden=256, depth=4, batch_size=1024,
                 steps=12000, checkpoints=6, n_grid=96, floor_repeats=3, tracking_steps=1000, tune_n=1000,
                 rows=("am-exact", "am-data", "cfm", "sm-paper")),
}


def _system():
    from amphys import systems

    return systems.get("hydrogen", state="paper", bohr_radius=4 * np.pi, relative_phase=np.pi,
                       t_span=[0.0, PAPER_T])


def _references(system, times, n, seed):
    rng = np.random.default_rng(seed)
    x0 = system.sample(float(times[0]), n, rng)
    refs = [system.sample(float(t), n, rng) for t in times]
    return x0, refs


def _mmds(pushed, refs, bandwidths):
    from amphys.diagnostics import mmd2

    paper = [abs(mmd2(p, r, kernel="paper", paper_scale=1.0)) for p, r in zip(pushed, refs)]
    sharp = [abs(mmd2(p, r, kernel="rbf", bandwidth=h)) for p, r, h in zip(pushed, refs, bandwidths)]
    return float(np.mean(paper)), float(np.mean(sharp))


def _field(model, system, n_field, n_grid, seed):
    from amphys.diagnostics import error_anatomy

    a = error_anatomy(model, system, np.linspace(0.0, PAPER_T, 11), n_per_time=n_field, seed=seed,
                      projection={"n_grid": n_grid})
    return float(a["velocity_error_root"]), float(a["velocity_error_mass_root"])


def _fit_row(row, data, system, p, evaluate, seed):
    """Fit with checkpoints every steps/checkpoints; ``evaluate(model) -> dict`` at each (excluded from the
    training time). Returns (final result, list of checkpoint dicts)."""
    from amphys.bench.schrodinger import RECIPE
    from amphys.workflows.fitting import fit
    from amphys.workflows.result import load_model

    cfg = {k: p[k] for k in ("hidden", "depth", "batch_size", "steps")}
    every = max(1, p["steps"] // p["checkpoints"])
    points, spent = [], [0.0]
    with tempfile.TemporaryDirectory() as tmp:
        ck = Path(tmp) / "checkpoint.pt"

        def callback(step, record):
            if step % every == 0 and step < p["steps"]:
                start = time.perf_counter()
                points.append({"step": step, "train_s": record["wall_time"] - spent[0], **evaluate(load_model(ck))})
                spent[0] += time.perf_counter() - start
                log(f"    {row} step {step}: {json.dumps({k: round(v, 6) for k, v in points[-1].items()})}")
            return False

        options = dict(RECIPE)   # both rows: the snapshot row differs only in where its samples come from
        result = fit(data, sampler=system if row == "am-exact" else None, checkpoint=ck, callback=callback,
                     checkpoint_every=every, progress=False, seed=seed, **cfg, **options)
    train_s = result.wall_time - spent[0]
    steps = int(np.nanmax(result.history["step"].values))
    points.append({"step": steps, "train_s": train_s, **evaluate(result)})
    log(f"    {row} final: {json.dumps({k: round(v, 6) for k, v in points[-1].items()})}")
    return result, points


def _fit_baseline(row, data, system, p, evaluate, seed):
    """The ``cfm`` or ``sm-paper`` row on the snapshots, with the same checkpoints as the AM rows (evaluation time
    excluded from the training seconds). Returns the list of checkpoint dicts."""
    from amphys.baselines import SMConfig, fit_flow_matching, fit_score_matching
    from amphys.bench._methods import SampleOnly, sm_paper_options, snapshot_arrays, tune_sm_paper

    times, xs = snapshot_arrays(data)
    net = {k: p[k] for k in ("hidden", "depth", "batch_size", "steps")}
    every = max(1, p["steps"] // p["checkpoints"])
    marks = list(range(every, p["steps"], every))
    points, spent = [], [0.0]
    if row == "cfm":
        fitter, options, wrap = fit_flow_matching, {}, (lambda res: (res, res.velocity))
    else:
        options = sm_paper_options(p["tracking_steps"])
        start = time.perf_counter()
        tuning = tune_sm_paper(system, times, xs, SMConfig(**options), n=p["tune_n"], seed=seed)
        log(f"    sm-paper: Langevin step {tuning.best:.3g} (tuned with the true score in "
            f"{time.perf_counter() - start:.0f} s)")
        fitter, wrap = fit_score_matching, (lambda res: (SampleOnly(res, tuning.options, seed), None))

    def point(step, res, wall):
        start = time.perf_counter()
        points.append({"step": step, "train_s": wall - spent[0], **evaluate(*wrap(res))})
        spent[0] += time.perf_counter() - start
        log(f"    {row} step {step}: {json.dumps({k: round(v, 6) for k, v in points[-1].items()})}")
        return False

    res = fitter(times, xs, checkpoints=marks, on_checkpoint=point, progress=False, seed=seed, **net, **options)
    point(int(res.history["step"][-1]), res, float(res.history["wall_time"][-1]))
    return points


def _floors(system, times, x0, refs, bandwidths, p, seed):
    """(paper, sharp) MMD floors — independent exact sets against the references, mean of ``floor_repeats``
    draws — and the oracle's (∇s* pushed with RK4)."""
    from amphys.bench._methods import oracle
    from amphys.diagnostics import rk4_push

    floors = np.array([_mmds(_references(system, times, p["n_eval"], seed + 100 + k)[1], refs, bandwidths)
                       for k in range(p["floor_repeats"])])
    floor_paper, floor_sharp = (float(v) for v in floors.mean(axis=0))
    pushed = rk4_push(oracle(system), x0, 0.0, times, n_steps=200)
    oracle_paper, oracle_sharp = _mmds(pushed, refs, bandwidths)
    log(f"  floors: paper {floor_paper:.3g}, sharp {floor_sharp:.3g}; oracle: paper {oracle_paper:.3g}, "
        f"sharp {oracle_sharp:.3g}")
    return floor_paper, floor_sharp, oracle_paper, oracle_sharp


def _arrays(curves: dict) -> dict:
    """{metric: (rows, checkpoints) array, NaN where a row has fewer checkpoints} of the rows' checkpoint dicts."""
    n_k = max(len(c) for c in curves.values())
    keys = ("step", "train_s", "mmd2_paper", "mmd2_sharp", "verr", "verr99")
    arr = {k: np.full((len(curves), n_k), np.nan) for k in keys}
    for i, points in enumerate(curves.values()):
        for j, pt in enumerate(points):
            for k in keys:
                arr[k][i, j] = pt[k]
    return arr


def _reach(arr: dict, i: int, var: str, level: float):
    """(step, train seconds) of row i's first checkpoint with ``var`` at most ``level``, or None."""
    ok = np.flatnonzero(arr[var][i] <= level)
    return (int(arr["step"][i, ok[0]]), float(arr["train_s"][i, ok[0]])) if ok.size else None


def run_protocol(scale, folder=None, *, seed: int = 0, command: str) -> BenchOutput:
    from amphys.data.synthetic import generate
    from amphys.diagnostics import median_bandwidth

    start = time.perf_counter()
    info = machine()
    p = PROTOCOL[scale.name]
    system = _system()
    times = np.linspace(0.0, PAPER_T, 10)
    x0, refs = _references(system, times, p["n_eval"], seed + 7)
    bandwidths = [median_bandwidth(r) for r in refs]
    log(f"hydrogen-protocol: {p['n_eval']} samples per time, floors ({p['floor_repeats']} draws)")
    floor_paper, floor_sharp, oracle_paper, oracle_sharp = _floors(system, times, x0, refs, bandwidths, p, seed)

    def evaluate(model, field="model"):
        """MMDs of the pushed t = 0 samples and the field error of ``field`` (the model itself by default; None:
        a sampler without a velocity)."""
        mp, ms = _mmds(model.push(x0, 0.0, times), refs, bandwidths)
        field = model if field == "model" else field
        verr, verr99 = (np.nan, np.nan) if field is None else _field(field, system, p["n_field"], p["n_grid"],
                                                                     seed + 11)
        return {"mmd2_paper": mp, "mmd2_sharp": ms, "verr": verr, "verr99": verr99}

    data = generate(system, np.linspace(0.0, PAPER_T, p["n_times"]), p["n"], seed=seed, progress=False)
    curves = {}
    for row in p["rows"]:
        log(f"  {row}: {p['hidden']}x{p['depth']}, batch {p['batch_size']}, {p['steps']} steps")
        if row.startswith("am-"):
            _, curves[row] = _fit_row(row, data, system, p, evaluate, seed)
        else:
            curves[row] = _fit_baseline(row, data, system, p, evaluate, seed)
    rows = list(curves)
    arr = _arrays(curves)
    n_k = arr["step"].shape[1]
    ds = xr.Dataset({k: (("row", "checkpoint"), v) for k, v in arr.items()},
                    coords={"row": rows, "checkpoint": np.arange(n_k)},
                    attrs={"benchmark": "hydrogen-protocol", "scale": scale.name, "command": command,
                           "machine": json.dumps(info, sort_keys=True), "protocol": json.dumps(p, default=str),
                           "floor_mmd2_paper": floor_paper, "floor_mmd2_sharp": floor_sharp,
                           "oracle_mmd2_paper": oracle_paper, "oracle_mmd2_sharp": oracle_sharp,
                           "paper_am_mmd2": PAPER_AM})
    total = time.perf_counter() - start
    ds.attrs["wall_s"] = total

    lines = [f"### hydrogen-protocol — the AM paper's hydrogen protocol, {p['n_eval']} samples per time "
             f"(--{scale.name})", "", header("hydrogen-protocol", scale, info, command), "",
             f"Network {p['hidden']}x{p['depth']}, batch {p['batch_size']}, {p['steps']} steps; training data "
             f"{p['n_times']} snapshots × {p['n']}; field error against the {p['n_grid']}³ projection on "
             f"{p['n_field']} samples at 11 times. Floors (independent exact sets, mean of {p['floor_repeats']}): "
             f"paper kernel {fmt(floor_paper)}, sharp kernel {fmt(floor_sharp)}; oracle (∇s*, RK4): paper "
             f"{fmt(oracle_paper)}, sharp {fmt(oracle_sharp)}. The paper's AM: {PAPER_AM:g}.", "",
             "| row | step | train s | mean \\|MMD²\\| paper kernel | mean \\|MMD²\\| sharp kernel | "
             "‖v−∇s*‖/‖∇s*‖ | on 99% of the mass |", "|" + "---|" * 7]
    for i, row in enumerate(rows):
        for j in range(n_k):
            if not np.isfinite(arr["step"][i, j]):
                continue
            lines.append(f"| {row} | {int(arr['step'][i, j])} | {fmt(arr['train_s'][i, j])} | "
                         f"{fmt(arr['mmd2_paper'][i, j])} | {fmt(arr['mmd2_sharp'][i, j])} | "
                         f"{fmt(arr['verr'][i, j])} | {fmt(arr['verr99'][i, j])} |")
    head = {"benchmark": "hydrogen-protocol", "scale": scale.name, "wall_s": round(total, 1),
            "floor_mmd2_paper": round(floor_paper, 8), "floor_mmd2_sharp": round(floor_sharp, 8),
            "oracle_mmd2_paper": round(oracle_paper, 8), "oracle_mmd2_sharp": round(oracle_sharp, 8)}
    for i, row in enumerate(rows):
        j = int(np.flatnonzero(np.isfinite(arr["step"][i]))[-1])
        key = row.replace("-", "_")
        for k in ("mmd2_paper", "mmd2_sharp", "verr", "verr99", "train_s", "step"):
            head[f"{key}_{k}"] = round(float(arr[k][i, j]), 8)
        for name, var, level in (("paper_level", "mmd2_paper", PAPER_AM),
                                 ("sharp_2x_floor", "mmd2_sharp", 2 * floor_sharp)):
            r = _reach(arr, i, var, level)
            head[f"{key}_steps_to_{name}"] = r[0] if r else None
            lines.append(f"\n{row}: {'reached' if r else 'did not reach'} "
                         f"{'the paper AM level' if name == 'paper_level' else '2x the sharp-kernel floor'}"
                         + (f" at step {r[0]} ({r[1]:.0f} s of training)" if r else ""))
    lines.append(f"\nWall time: {total:.0f} s.")
    log(f"hydrogen-protocol: done in {total:.0f} s")
    return BenchOutput("hydrogen-protocol", ds, "\n".join(lines), head)
