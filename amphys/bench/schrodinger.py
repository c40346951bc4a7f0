r"""The Schrödinger family: Action Matching's field error against the AM target on seven quantum states, with
the error anatomy beside it (docs/benchmarks.md, "schrodinger"; docs/theory.md#schrodinger,
docs/theory.md#error-anatomy).

Cases: the AM paper's hydrogen state (atomic units; its AM target is the gradient projection of the Bohmian field,
solved once and rotated), 1s+2p_z (closed form), the oscillator's coherent and squeezed states (1-D; fields uniform
resp. linear in x), the 2-D vortex control (projection), a free Gaussian packet (1-D) and the 2-D split-step packet
in a double well (``schrodinger-grid`` with ``refine=1`` and 401 stored frames; its ground truth is that system's;
the training samples between frames come from :class:`FramePathSampler`, exact for the mixture of the two
neighbouring frames, O(Δt²) from q_t, since a draw at a new time of the system itself costs ~30 ms).

Rows (every row the same network and steps of the scale):

- ``am-exact``: ``amphys.fit(data, sampler=system, **RECIPE)`` — fresh exact samples at every time and the
  representation this benchmark recommends for quantum flows (:data:`RECIPE`);
- ``am-exact-plain``: the same without the recipe's options (the evidence for them);
- ``am-data``: ``amphys.fit(data, **RECIPE)`` from the snapshots alone (101 × 2000 for the paper state, 21 × 5000
  otherwise) with the same representation as ``am-exact``, so the two differ only in where the samples come from
  (the target of "no more than 1.5× the exact-sample error") — whatever the default data estimator is; the
  ``path`` column says which path between snapshots it chose (``interpolant="auto"``: "ot" or "mixture").

Metrics (:func:`amphys.diagnostics.error_anatomy` on ``n_eval`` fresh exact samples at each evaluation time):
``verr`` the q-weighted relative error ‖v − v*‖/‖v*‖ pooled over the times (Σ_t E‖v − v*‖² / Σ_t E‖v*‖², the
root; the per-time mean of the benchmark tables is undefined where v* = 0 at a time, as for the coherent state at
t = 0), ``verr99`` the same on the region holding 99% of the mass at each time, ``out99`` the share of the squared
error outside that region, ``verr_tmean`` the mean over times of the per-time root where defined, and the region
(radius, density level, node distance) whose share of the error most exceeds its share of the mass.
"""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import xarray as xr

from amphys.bench._common import BenchOutput, fmt, header, machine, slug
from amphys.bench._suite import log

__all__ = ["run_schrodinger", "CASES", "RECIPE", "BUDGETS", "SCase", "FramePathSampler"]

#: The options of the ``am-exact`` row (what this benchmark measured to help quantum flows; docs/benchmarks.md).
RECIPE = {"time_frequencies": "auto", "time_modulation": True}
#: The same options switched off (``am-exact-plain``).
PLAIN = {"time_frequencies": "none", "time_modulation": False}

ROWS = ("am-exact", "am-exact-plain", "am-data")
LABELS = {"am-exact": "AM, exact samples, quantum recipe", "am-exact-plain": "AM, exact samples, plain network",
          "am-data": "AM from the snapshots, quantum recipe"}

#: Per scale: network and steps of every row, evaluation sizes, and the projection grid of projected targets.
BUDGETS = {
    "tiny": dict(hidden=16, depth=2, batch_size=64, steps=30, n_eval=200, eval_times=4, n_scale=0.04,
                 projection={1: 512, 2: 32, 3: 16}, rows=("am-exact", "am-data")),
    "quick": dict(hidden=128, depth=3, batch_size=512, steps=3000, n_eval=2000, eval_times=11, n_scale=1.0,
                  projection={1: 4096, 2: 128, 3: 64}, rows=ROWS),
    "full": dict(hidden=256, depth=4, batch_size=1024, steps=8000, n_eval=5000, eval_times=11, n_scale=1.0,
                 projection={1: 4096, 2: 256, 3: 96}, rows=ROWS),
}


@dataclasses.dataclass(frozen=True)
class SCase:
    """label, key (JSON headline), system and params, snapshots (n per time × n_times), the issue's target for
    ``verr`` with exact samples, per-row config overrides (``options``), and whether ``--quick`` runs it."""

    label: str
    key: str
    system: str
    params: dict
    target: float
    n: int = 5000
    n_times: int = 21
    options: dict = dataclasses.field(default_factory=dict)
    quick: bool = True
    frame_sampler: bool = False


CASES = (
    SCase("hydrogen, the AM paper's state (atomic units)", "paper", "hydrogen", {"state": "paper"}, 0.10,
          n=2000, n_times=101),
    SCase("hydrogen 1s+2p_z", "s2pz", "hydrogen", {"state": "1s+2pz"}, 0.03),
    SCase("oscillator, coherent (1-D)", "coherent", "harmonic", {"state": "coherent"}, 0.005),
    SCase("oscillator, squeezed (1-D)", "squeezed", "harmonic", {"state": "squeezed"}, 0.005),
    SCase("oscillator, vortex (2-D)", "vortex", "harmonic", {"state": "vortex", "dim": 2}, 0.05),
    SCase("free Gaussian packet (1-D)", "packet", "gaussian-packet", {}, 0.005),
    SCase("schrodinger-grid, packet in a double well (2-D)", "sgrid", "schrodinger-grid",
          {"refine": 1, "n_frames": 401}, 0.10, options={"n_nodes": 64}, frame_sampler=True),
)

ANATOMY_SCALARS = ("velocity_error_root", "velocity_error_mass_root", "error_share_outside_mass",
                   "velocity_error_root_time_mean")


def _hotspot(a: xr.Dataset) -> str:
    """The region whose share of the error most exceeds its share of the mass, e.g. "radius 3–4ℓ: 31% of the
    error on 6% of the mass"."""
    best, text = 0.0, ""
    for dim, unit in (("radius", "ℓ"), ("level", ""), ("node", "ℓ")):
        if dim not in a.dims:
            continue
        err, mass = a[f"error_share_{dim}"].values, a[f"mass_share_{dim}"].values
        lo = a[dim].values if dim != "level" else a["level_lower"].values
        hi = a[f"{dim}_upper"].values if dim != "level" else a["level"].values
        for e, m, low, high in zip(err, mass, lo, hi):
            if e - m > best:
                best = e - m
                span = f"{100 * low:g}–{100 * high:g}% level" if dim == "level" else (
                    f"{dim} {low:g}–{high:g}{unit}" if np.isfinite(high) else f"{dim} >{low:g}{unit}")
                text = f"{span}: {100 * e:.0f}% of the error on {100 * m:.1f}% of the mass"
    return text or "spread like the mass"


class FramePathSampler:
    """Samples of a grid system at any time t from its stored frames: with t between frames k and k+1 and
    λ = (t − t_k)/(t_{k+1} − t_k), each sample comes from frame k+1 with probability λ, else from frame k — exact
    samples of the path (1 − λ)q_k + λq_{k+1}, which differs from q_t by O(Δt²) (Δt = 0.01 with 401 frames over
    [0, 4]). The densities of the frames are computed once (``system.fields``), so a draw costs microseconds
    instead of a split-step propagation to a new time (~30 ms)."""

    def __init__(self, system):
        self.system = system
        self.times = np.asarray(system.frame_times, dtype=np.float64)
        self._densities: dict = {}

    def _density(self, k: int):
        if k not in self._densities:
            self._densities[k] = self.system.fields(float(self.times[k])).density
        return self._densities[k]

    def __call__(self, t, n, rng):
        from amphys.systems.grid.density import sample_mixture

        ts = self.times
        k = int(np.clip(np.searchsorted(ts, t, side="right") - 1, 0, ts.size - 2))
        lam = float(np.clip((t - ts[k]) / (ts[k + 1] - ts[k]), 0.0, 1.0))
        method = getattr(self.system, "sample_method", "multilinear")
        return sample_mixture([(1.0 - lam, self._density(k)), (lam, self._density(k + 1))], n, rng, method)


def _eval_times(system, k: int) -> np.ndarray:
    return np.linspace(*system.t_span, k)


def _fit(data, system, row: str, case: SCase, budget: dict, seed: int):
    from amphys.workflows.fitting import fit

    net = {k: budget[k] for k in ("hidden", "depth", "batch_size", "steps")}
    options = {**(PLAIN if row == "am-exact-plain" else RECIPE), **case.options}
    if row == "am-data":
        return fit(data, progress=False, seed=seed, **net, **options)
    sampler = FramePathSampler(system) if case.frame_sampler else system
    return fit(data, sampler=sampler, progress=False, seed=seed, **net, **options)


def run_case(case: SCase, budget: dict, *, seed: int = 0) -> dict:
    """Data, every row's fit and anatomy for one case: {"anatomy": {row: Dataset}, "fits": {row: info}}."""
    from amphys import systems
    from amphys.data.synthetic import generate
    from amphys.diagnostics.anatomy import error_anatomy

    system = systems.get(case.system, **case.params)
    n = max(50, int(round(case.n * budget["n_scale"])))
    data = generate(system, np.linspace(*system.t_span, case.n_times), n, seed=seed, progress=False)
    times = _eval_times(system, budget["eval_times"])
    proj = {"n_grid": budget["projection"][system.dim]}
    log(f"{case.label}: {system.name} d={system.dim}, {case.n_times} snapshots x {n}")
    anatomies, fits = {}, {}
    for row in budget["rows"]:
        start = time.perf_counter()
        result = _fit(data, system, row, case, budget, seed)
        train_s = time.perf_counter() - start
        a = error_anatomy(result, system, times, n_per_time=budget["n_eval"], seed=seed + 1, projection=proj)
        anatomies[row] = a
        freqs = result.config.time_frequencies
        fits[row] = {"train_s": train_s, "steps": int(np.nanmax(result.history["step"].values)),
                     "status": str(result.status.value),
                     "frequencies": list(freqs) if not isinstance(freqs, str) else [], "hotspot": _hotspot(a),
                     "path": str(result.config.interpolant)}
        log(f"  {row:15s} train {train_s:7.1f} s  verr {float(a['velocity_error_root']):.4g}  "
            f"verr99 {float(a['velocity_error_mass_root']):.4g}  [{fits[row]['status']}] {fits[row]['hotspot']}")
    return {"case": case, "system": system, "times": times, "anatomy": anatomies, "fits": fits, "n": n,
            "target": anatomies[budget["rows"][0]].attrs["target"]}


def _dataset(results, budget, info, command, scale_name) -> xr.Dataset:
    rows = [r for r in ROWS if r in budget["rows"]]
    labels = [res["case"].label for res in results]
    shape = (len(labels), len(rows))
    scalars = {k: np.full(shape, np.nan) for k in (*ANATOMY_SCALARS, "train_s", "steps")}
    text = {k: np.full(shape, "", dtype=object) for k in ("status", "hotspot", "frequencies", "path")}
    n_t = budget["eval_times"]
    per_time = {k: np.full((*shape, n_t), np.nan) for k in ("velocity_error", "velocity_error_mass", "error_share")}
    for i, res in enumerate(results):
        for j, row in enumerate(rows):
            a, f = res["anatomy"][row], res["fits"][row]
            for k in ANATOMY_SCALARS:
                scalars[k][i, j] = float(a[k])
            scalars["train_s"][i, j], scalars["steps"][i, j] = f["train_s"], f["steps"]
            text["status"][i, j], text["hotspot"][i, j], text["path"][i, j] = f["status"], f["hotspot"], f["path"]
            text["frequencies"][i, j] = json.dumps([round(w, 6) for w in f["frequencies"]])
            for k in per_time:
                per_time[k][i, j, :] = a[k].values
    data = {k: (("case", "row"), v) for k, v in scalars.items()}
    data.update({k: (("case", "row"), v.astype(str)) for k, v in text.items()})
    data.update({k: (("case", "row", "time_index"), v) for k, v in per_time.items()})
    data["target_verr"] = (("case",), np.array([res["case"].target for res in results]))
    data["target_kind"] = (("case",), np.array([res["target"] for res in results], dtype=str))
    data["case_key"] = (("case",), np.array([res["case"].key for res in results], dtype=str))
    data["eval_time"] = (("case", "time_index"), np.array([res["times"] for res in results]))
    attrs = {"benchmark": "schrodinger", "scale": scale_name, "machine": json.dumps(info, sort_keys=True),
             "command": command, "budget": json.dumps(budget, sort_keys=True, default=str),
             "recipe": json.dumps(RECIPE, sort_keys=True), "row_labels": json.dumps(LABELS)}
    return xr.Dataset(data, coords={"case": labels, "row": rows, "time_index": np.arange(n_t)}, attrs=attrs)


def _table(ds: xr.Dataset) -> str:
    lines = ["| case | target (exact samples) | row | path | ‖v−v*‖/‖v*‖ | on 99% of the mass | error outside it | "
             "where the error sits | steps | train s |", "|" + "---|" * 10]
    for i, case in enumerate(ds["case"].values):
        for j, row in enumerate(ds["row"].values):
            g = lambda k, i=i, j=j: ds[k].values[i, j]  # noqa: E731
            target = f"≤ {fmt(ds['target_verr'].values[i])}" if row == "am-exact" else ""
            met = ""
            if row == "am-exact":
                met = " ✓" if g("velocity_error_root") <= ds["target_verr"].values[i] else " ✗"
            lines.append(f"| {case} | {target} | {LABELS[row]} | {g('path')} | {fmt(g('velocity_error_root'))}{met} | "
                         f"{fmt(g('velocity_error_mass_root'))} | {100 * g('error_share_outside_mass'):.0f}% | "
                         f"{g('hotspot')} | {int(g('steps'))} | {fmt(g('train_s'))} |")
    return "\n".join(lines)


def run_schrodinger(scale, folder=None, *, seed: int = 0, command: str, cases=None) -> BenchOutput:
    """The benchmark at ``scale``; ``cases`` a sequence of case keys (default: every case of the scale)."""
    start = time.perf_counter()
    info = machine()
    budget = BUDGETS[scale.name]
    if cases is not None:
        from amphys.errors import unknown_name

        keys = [c.key for c in CASES]
        for key in cases:
            if key not in keys:
                raise unknown_name("schrodinger case", key, keys)
        cases = [c for c in CASES if c.key in cases]
    elif scale.name == "tiny":
        cases = [c for c in CASES if c.key in ("coherent", "vortex")]
    else:
        cases = [c for c in CASES if scale.name == "full" or c.quick]
    results = [run_case(c, budget, seed=seed) for c in cases]
    ds = _dataset(results, budget, info, command, scale.name)
    total = time.perf_counter() - start
    ds.attrs["wall_s"] = total
    lines = [f"### schrodinger — field error against the AM target on quantum states (--{scale.name})", "",
             header("schrodinger", scale, info, command), "",
             f"Every row: MLP width {budget['hidden']}, depth {budget['depth']}, batch {budget['batch_size']}, "
             f"{budget['steps']} Adam steps. Recipe of the exact-sample row: `{json.dumps(RECIPE)}`. Evaluation: "
             f"{budget['eval_times']} times over each window, {budget['n_eval']} fresh exact samples per time; "
             f"projected targets on {budget['projection'][2]}² (2-D) / {budget['projection'][3]}³ (3-D) cells.",
             "", _table(ds), "", f"Wall time of the whole benchmark: {total:.0f} s."]
    head = {"benchmark": "schrodinger", "scale": scale.name, "wall_s": round(total, 1)}
    for i, key in enumerate(ds["case_key"].values):
        for j, row in enumerate(ds["row"].values):
            for var, short in (("velocity_error_root", "verr"), ("velocity_error_mass_root", "verr99"),
                               ("error_share_outside_mass", "out99"), ("train_s", "train_s")):
                v = float(ds[var].values[i, j])
                head[f"{key}_{slug(row)}_{short}"] = round(v, 6) if np.isfinite(v) else None
        head[f"{key}_target"] = float(ds["target_verr"].values[i])
    log(f"schrodinger: done in {total:.0f} s")
    return BenchOutput("schrodinger", ds, "\n".join(lines), head)
