"""The pipeline of ``amphys run``: generate → fit → evaluate → plot into one folder, with a summary table.

The folder holds ``data.h5`` (Snapshots), ``model.pt``, ``history.h5`` (training curve), ``report.h5``
(diagnostics, docs/theory.md#field-and-sample-metrics), ``pushed.h5`` (first-snapshot samples pushed by the
learned flow to every time), ``fields.h5`` (learned and target velocity on a grid over the first two
coordinates) and ``figures/``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import xarray as xr

from amphys import io, systems
from amphys._checks import check_count, check_int
from amphys._deprecation import renamed_keyword
from amphys.data.snapshots import make_snapshots
from amphys.data.synthetic import generate
from amphys.diagnostics import am_target
from amphys.errors import unknown_name
from amphys.solver.status import FitStatus
from amphys.workflows.evaluation import evaluate

__all__ = ["PRESETS", "DEFAULT_SYSTEM", "RunOutput", "run", "velocity_fields", "summary_table"]

#: Built-in configurations of ``amphys run SYSTEM``: system parameters, snapshot times, samples per time and fit
#: overrides. The default is rotational Ornstein–Uhlenbeck (docs/benchmarks.md, OU-G): its physical
#: probability-flow velocity is not a gradient, so the run shows amphys scoring the learned field against the
#: right target (docs/theory.md#the-am-target).
PRESETS: dict[str, dict] = {
    "ou": {
        "params": {"drift": [[0.5, -2.0], [2.0, 0.5]], "diffusion": [[0.5, 0.0], [0.0, 0.05]],
                   "mean0": [3.0, 0.0], "cov0": 0.1, "t_span": [0.0, 2.0]},
        "n_times": 11, "n_per_time": 2000,
        "fit": {"steps": 2000, "hidden": 128, "depth": 3, "batch_size": 512},
        # with exact samples between snapshots: fixed Gauss-Legendre nodes hit the OU sampler's cache (fast)
        "exact_fit": {"time_integral": "quadrature"},
    },
    "barenblatt": {"params": {"dim": 2, "m": 2.0}, "n_times": 11, "n_per_time": 2000,
                   "fit": {"steps": 3000, "hidden": 128, "depth": 3, "batch_size": 512}},
    "ou-mixture": {"params": {}, "n_times": 11, "n_per_time": 2000,
                   "fit": {"steps": 3000, "hidden": 128, "depth": 3, "batch_size": 512}},
    "harmonic": {"params": {"dim": 1, "state": "squeezed"}, "n_times": 17, "n_per_time": 2000,
                 "fit": {"steps": 3000, "hidden": 128, "depth": 3, "batch_size": 512}},
    "gaussian-packet": {"params": {"dim": 2}, "n_times": 11, "n_per_time": 2000,
                        "fit": {"steps": 2000, "hidden": 128, "depth": 3, "batch_size": 512}},
    "hydrogen": {"params": {"state": "1s+2pz"}, "n_times": 11, "n_per_time": 2000,
                 "fit": {"steps": 3000, "hidden": 128, "depth": 3, "batch_size": 512}},
}
DEFAULT_SYSTEM = "ou"


@dataclasses.dataclass
class RunOutput:
    """What :func:`run` produced: the folder, the fitted model, the report and the wall times per stage."""

    folder: Path
    model: object
    report: xr.Dataset
    timings: dict
    figures: list


def _progress(message: str, quiet: bool):
    if not quiet:
        print(message, flush=True)


def velocity_fields(model, system, times, *, n_grid: int = 17, n_box: int = 2000, seed: int = 0) -> xr.Dataset:
    """Learned and target velocity on a grid over the first two coordinates (others at the mean), per time.

    Each time has its own grid covering the central 99% of samples of q_t (the density moves), so
    ``gx(time, i)`` and ``gy(time, j)`` are per-time coordinates. The target is the AM target (closed form or
    gradient projection, :func:`amphys.diagnostics.am_target`); ``density`` is q_t on the grid.
    """
    rng = np.random.default_rng(seed)
    gxs, gys, vm, vt, dens = [], [], [], [], []
    for t in times:
        pts = system.sample(float(t), n_box, rng)
        lo, hi = np.quantile(pts[:, :2], [0.005, 0.995], axis=0)
        centre, half = 0.5 * (lo + hi), 0.55 * (hi - lo).max()
        gx = np.linspace(centre[0] - half, centre[0] + half, n_grid)
        gy = np.linspace(centre[1] - half, centre[1] + half, n_grid)
        X, Y = np.meshgrid(gx, gy)
        rest = np.broadcast_to(pts.mean(axis=0)[2:], (X.size, system.dim - 2))
        grid = np.column_stack([X.ravel(), Y.ravel(), rest])
        vm.append(np.asarray(model.velocity(float(t), grid))[:, :2].reshape(n_grid, n_grid, 2))
        vt.append(np.asarray(am_target(system, float(t))(grid))[:, :2].reshape(n_grid, n_grid, 2))
        dens.append(np.exp(system.log_density(float(t), grid)).reshape(n_grid, n_grid))
        gxs.append(gx)
        gys.append(gy)
    return xr.Dataset(
        {"v_model": (("time", "j", "i", "comp"), np.array(vm)),
         "v_target": (("time", "j", "i", "comp"), np.array(vt)),
         "density": (("time", "j", "i"), np.array(dens))},
        coords={"time": np.asarray(times, dtype=float), "gx": (("time", "i"), np.array(gxs)),
                "gy": (("time", "j"), np.array(gys))},
        attrs={"target": "AM target", "dim_x": "x", "dim_y": "y"},
    )


def summary_table(report: xr.Dataset) -> str:
    """Plain-text table of the per-time metrics of a report: each sample metric and the continuity residual as
    "value (noise ≤ threshold)", a "*" where the value is outside the noise; then the continuity verdict."""
    plain = [c for c in ("velocity_error_root", "velocity_spread_relative", "cosine")
             if c in report.data_vars and report[c].dims == ("time",)]
    noisy = [c for c in ("mmd2", "energy_distance", "sliced_w2", "w2", "continuity_residual")
             if c in report.data_vars and report[c].dims == ("time",)]
    short = {"velocity_error_root": "rel.v.err", "velocity_spread_relative": "est.err", "energy_distance": "energy",
             "sliced_w2": "sliced.w2",
             "continuity_residual": "cont.res"}
    cells = {c: [f"{float(v):.3g}" for v in report[c].values] for c in plain}
    for c in noisy:
        thr = report[c + "_threshold"].values if c + "_threshold" in report.data_vars else None
        cells[c] = [f"{float(v):.3g}" + ("" if thr is None else
                                          f" (noise ≤ {float(thr[i]):.2g}){'*' if not v <= thr[i] else ''}")
                    for i, v in enumerate(report[c].values)]
    if "continuity_p_value" in report.data_vars:
        cells["continuity_p_value"] = [f"{float(v):.2g}" for v in report["continuity_p_value"].values]
        short["continuity_p_value"] = "cont.p"
    cols = list(cells)
    width = {c: max([len(short.get(c, c))] + [len(x) for x in cells[c]]) for c in cols}
    header = f"{'time':>8} " + " ".join(f"{short.get(c, c):>{width[c]}}" for c in cols)
    lines = [header, "-" * len(header)]
    for i, t in enumerate(report["time"].values):
        lines.append(f"{t:8.3g} " + " ".join(f"{cells[c][i]:>{width[c]}}" for c in cols))
    if any("_threshold" in c for c in report.data_vars):
        lines.append("(noise ≤ x): 95% of the values between two independent sample sets of the same sizes are "
                     "below x; * marks a value outside the noise")
    if "action_gap" in report.data_vars:
        lines.append(f"action gap ½∫E‖v−v*‖²dt = {float(report['action_gap']):.4g}   "
                     f"(target: {report.attrs.get('target', '?')})")
    if "continuity_verdict" in report.attrs:
        lines.append("continuity: " + str(report.attrs["continuity_verdict"]))
    return "\n".join(lines)


def run(system: str | None = None, output=None, *, params: dict | None = None, n_per_time: int | None = None,
        n_times: int | None = None, seed: int = 0, quiet: bool = False, plots: bool = True,
        exact_between: bool = False, **fit_overrides) -> RunOutput:
    """Generate data from ``system``, fit it, evaluate against the ground truth and draw the figures.

    Parameters
    ----------
    system : a preset name (:data:`PRESETS`, default :data:`DEFAULT_SYSTEM`) or any registered system name
        (then ``params`` are required where the system has no defaults).
    output : folder (default ``./amphys-run-SYSTEM``); created if missing, files in it are replaced.
    params : system parameters (override the preset's).
    n_per_time : samples per snapshot (``n=`` is its deprecated spelling).
    n_times : snapshots.
    exact_between : also draw exact samples of the system between snapshots (``interpolant="sampler"``: the
        upper reference of docs/benchmarks.md). By default the fit sees the generated snapshots alone, the
        user's case (docs/theory.md#learning-from-snapshots); the evaluation always uses fresh samples.
        (``data_only=True`` is the former spelling of the default and is still accepted.)
    **fit_overrides : FitConfig fields (e.g. ``steps=500``).
    """
    from amphys.workflows.fitting import fit

    n_per_time = renamed_keyword(fit_overrides, "n", "n_per_time", n_per_time, default=None, where="run")
    if "data_only" in fit_overrides:  # the former option: data-only fits are now the default
        exact_between = exact_between or not bool(fit_overrides.pop("data_only"))
    name = system or DEFAULT_SYSTEM
    if name not in systems.names():
        raise unknown_name("system", name, systems.names())
    preset = PRESETS.get(name, {"params": {}, "n_times": 11, "n_per_time": 2000, "fit": {}})
    n_per_time = check_count(n_per_time or preset["n_per_time"], "n_per_time", low=2)
    n_times = check_int(n_times or preset["n_times"], "n_times", low=3)  # at least one interior snapshot
    folder = Path(output or f"amphys-run-{name}")
    folder.mkdir(parents=True, exist_ok=True)
    timings = {}

    start = time.perf_counter()
    sys_obj = systems.get(name, **{**preset["params"], **(params or {})})
    times = np.linspace(*sys_obj.t_span, n_times)
    data = generate(sys_obj, times, n_per_time, seed=seed, progress=not quiet)
    io.write(data, folder / "data.h5")
    timings["generate"] = time.perf_counter() - start
    _progress(f"[1/4] generated {sys_obj.name} (d={sys_obj.dim}): {n_times} snapshots × {n_per_time} samples "
              f"in [{times[0]:g}, {times[-1]:g}]  ({timings['generate']:.1f} s)", quiet)

    start = time.perf_counter()
    overrides = {**preset["fit"], **(preset.get("exact_fit", {}) if exact_between else {}), "seed": seed,
                 **fit_overrides}
    model = fit(data, sampler=sys_obj if exact_between else None, checkpoint=folder / "checkpoint.pt",
                progress=not quiet, **overrides)
    model.save(folder / "model.pt")
    io.write(model.history, folder / "history.h5")
    timings["fit"] = time.perf_counter() - start
    how = "snapshots + exact samples between them" if exact_between else f"snapshots only, {model.integral}"
    _progress(f"[2/4] fitted ({how}): status {model.status}, {model.config.steps} steps, final loss "
              f"{model.final_loss:.4g}  ({timings['fit']:.1f} s)", quiet)
    if model.status != FitStatus.CONVERGED:
        _progress(f"      warning: {model.message}", quiet)

    start = time.perf_counter()
    report = evaluate(model, sys_obj, times=times, seed=seed + 1)
    io.write(report, folder / "report.h5")
    _write_pushed(model, data, times, folder, sys_obj, seed=seed)
    timings["evaluate"] = time.perf_counter() - start
    _progress(f"[3/4] evaluated against the {report.attrs.get('target', 'true')} field  "
              f"({timings['evaluate']:.1f} s)", quiet)

    figures = []
    if plots:
        start = time.perf_counter()
        from amphys.plotting import plot_file

        figures = plot_file(folder, folder / "figures")
        timings["plot"] = time.perf_counter() - start
        _progress(f"[4/4] {len(figures)} figures in {folder / 'figures'}  ({timings['plot']:.1f} s)", quiet)
    from amphys._atomic import atomic_path

    with atomic_path(folder / "run.json") as tmp:  # like every other file of the run: complete or absent
        tmp.write_text(json.dumps(
            {"system": sys_obj.params_json(), "n_per_time": n_per_time, "times": times.tolist(), "seed": seed,
             "exact_between": exact_between, "fit": model.config.to_json(), "timings_s": timings}, indent=1))
    return RunOutput(folder, model, report, timings, figures)


def _write_pushed(model, data, times, folder: Path, system, *, seed: int) -> None:
    """``pushed.h5`` (the first snapshot pushed to every time) and, for d >= 2, ``fields.h5``."""
    x0 = data["x"].values[data["time"].values == times[0]]
    pushed = model.push(x0, times[0], times)
    pushed_ds = make_snapshots(np.repeat(times, x0.shape[0]), pushed.reshape(-1, system.dim),
                               dim_names=list(data["dim"].values), units_x=data.attrs["units_x"],
                               units_t=data.attrs["units_t"], source="pushed", system=data.attrs["system"])
    io.write(pushed_ds, folder / "pushed.h5")
    if system.dim >= 2:
        io.write(velocity_fields(model, system, times, seed=seed), folder / "fields.h5")
