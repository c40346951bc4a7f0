"""Run one benchmark of the physics suite: its cases (those of the scale), the table and the headline."""

from __future__ import annotations

import time

from amphys.bench._common import BenchOutput, Scale, header, machine
from amphys.bench._suite import LABELS, assemble, headline, log, markdown_table, run_case
from amphys.bench.physics import CASES, DESCRIPTIONS

__all__ = ["run_physics", "select_cases", "settings_line"]


def select_cases(cases, scale: Scale):
    """(cases to run, what was cut): ``full`` runs all, ``quick`` those marked quick, ``tiny`` the first quick
    one; rows a case runs only with ``--full`` are listed as "case: row (reason)"."""
    if scale.name == "full":
        return list(cases), []
    keep = [c for c in cases if c.quick]
    if scale.name == "tiny":
        keep = keep[:1]
    cut = [c.label for c in cases if c not in keep]
    cut += [f"{c.label}: row '{LABELS[m]}' ({why})" for c in keep for m, why in c.full_only.items()
            if m in c.methods]
    return keep, cut


def settings_line(scale: Scale) -> str:
    return (f"Data: {scale.n_times} snapshots × {scale.n} samples evenly spaced over the window; evaluation at "
            f"{scale.eval_times} times with {scale.n_eval} samples per time "
            f"(W2 on {min(scale.w2_max_n, scale.n_eval)}). "
            f"Every method: MLP width {scale.hidden}, depth {scale.depth}, batch {scale.batch_size}, "
            f"{scale.steps} Adam steps. Metrics are means over the evaluation times (sample metrics over the "
            "times after the first, where pushing has not started).")


def run_physics(name: str, scale: Scale, *, seed: int = 0, command: str) -> BenchOutput:
    start = time.perf_counter()
    cases, cut = select_cases(CASES[name], scale)
    info = machine()
    results = []
    for case in cases:
        results.append(run_case(case, scale, seed=seed))
    ds = assemble(name, results, scale, info, command=command, cut=cut)
    total = time.perf_counter() - start
    ds.attrs["wall_s"] = total
    lines = [f"### {name} — {DESCRIPTIONS[name]} (--{scale.name})", "", header(name, scale, info, command), "",
             settings_line(scale), ""]
    if cut:
        lines += [f"Cut in --{scale.name} (run with --full): {'; '.join(cut)}.", ""]
    lines += [markdown_table(ds), ""]
    best = [f"{c}: {LABELS.get(str(b), '—')}" for c, b in zip(ds["case"].values, ds["best_mode"].values)]
    lines += [f"★ best AM time-integral mode (lowest velocity error) — {'; '.join(best)}. "
              f"Wall time of the whole benchmark: {total:.0f} s."]
    log(f"{name}: done in {total:.0f} s")
    return BenchOutput(name, ds, "\n".join(lines), headline(ds, {"wall_s": round(total, 1)}))
