"""Accuracy of the AM solver against known fields, by time-integral mode: velocity error vs steps and wall time.

    python benchmarks/solver_accuracy.py [--steps 2000] [--systems barenblatt,ou-g,ou-m] [--modes ...] [--json]

For each system (Barenblatt d=2 m=2 on [1, 2]; rotational OU "OU-G" of docs/benchmarks.md; the OU mixture "OU-M") and
each setting — from snapshots only (11 snapshots x 2000 samples; samples between snapshots from the mixture of the
two neighbours; 10% held out) with time_integral mc / quadrature / snapshots, and with a ground-truth sampler with
mc / quadrature — one fit (64 x 3 network, batch 512, one CPU thread) is trained and the EMA model is scored every
``steps/8`` steps: q-weighted relative error Σ_t E‖v − v*‖² / Σ_t E‖v*‖² on 21 times, 2000 fresh exact samples
each. Reported: the error at each checkpoint with the wall time (scoring excluded), the final error, the error of
the model the fit returns (held-out selection for data), and the minimum. The last stdout line is a flat JSON
object ``<system>_<setting>_final_error``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def systems():
    import amphys

    ang = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    return {
        "barenblatt": amphys.systems.get("barenblatt", dim=2, m=2.0, t_span=(1.0, 2.0)),
        "ou-g": amphys.systems.get("ou", drift=[[0.5, -2.0], [2.0, 0.5]], diffusion=[[0.5, 0.0], [0.0, 0.05]],
                                   mean0=[3.0, 0.0], cov0=0.1, t_span=(0.0, 2.0)),
        "ou-m": amphys.systems.get("ou-mixture", drift=1.0, diffusion=1.0, weights=[1 / 8] * 8,
                                   means=(4 * np.c_[np.cos(ang), np.sin(ang)]).tolist(),
                                   covs=[(0.25 ** 2 * np.eye(2)).tolist()] * 8, t_span=(0.0, 1.0)),
    }


SETTINGS = {
    "data-mc": dict(time_integral="mc"),
    "data-quadrature": dict(time_integral="quadrature"),
    "data-snapshots": dict(time_integral="snapshots"),
    "sampler-mc": dict(time_integral="mc", sampler=True),
    "sampler-quadrature": dict(time_integral="quadrature", sampler=True),
}


def velocity_error(system, model, times, n=2000, seed=7):
    import torch

    rng = np.random.default_rng(seed)
    num = den = 0.0
    for t in times:
        x = system.sample(t, n, rng)
        v = model.velocity(torch.full((n,), float(t), dtype=torch.float64), torch.as_tensor(x)).numpy()
        vs = system.am_velocity(t, x)
        num += np.sum((v - vs) ** 2)
        den += np.sum(vs ** 2)
    return float(num / den)


def run_case(system, setting: dict, steps: int, n_snap: int, n_per: int, extra: dict):
    import torch

    import amphys
    from amphys.data.snapshots import split_snapshots
    from amphys.solver.config import FitConfig
    from amphys.solver.train import Trainer

    setting = dict(setting)
    use_sampler = setting.pop("sampler", False)
    t0, t1 = system.t_span
    data = amphys.generate(system, np.linspace(t0, t1, n_snap), n_per, seed=1)
    parts = split_snapshots(data)
    cfg = FitConfig(**{**dict(steps=steps, hidden=64, depth=3, batch_size=512, patience=0), **setting, **extra})
    sampler = (lambda t, n, rng: system.sample(t, n, rng)) if use_sampler else None
    trainer = Trainer([p[0] for p in parts], [p[1] for p in parts], None, cfg, sampler=sampler)
    times = np.linspace(t0, t1, 21)
    log, scoring = [], [0.0]
    every = max(1, steps // 8)

    def callback(step, record):
        if step % every == 0 or step == steps:
            wall = record["wall_time"] - scoring[0]  # training time only
            start = time.perf_counter()
            err = velocity_error(system, trainer.ema_model(), times)
            scoring[0] += time.perf_counter() - start
            log.append((step, round(wall, 2), round(err, 5)))
        return False

    torch.manual_seed(0)
    out = trainer.run(progress=False, callback=callback)
    returned = velocity_error(system, out.model, times)
    return {"log": log, "final": log[-1][2] if log else float("nan"), "returned": round(returned, 5),
            "min": min(e for _, _, e in log), "status": out.status, "wall": round(out.wall_time - scoring[0], 1),
            "message": out.message}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--systems", default="barenblatt,ou-g,ou-m")
    p.add_argument("--settings", default=",".join(SETTINGS))
    p.add_argument("--n-snapshots", type=int, default=11)
    p.add_argument("--n-per", type=int, default=2000)
    p.add_argument("--set", dest="extra", default="{}", help="extra FitConfig fields as JSON")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    cases = systems()
    summary = {}
    for name in args.systems.split(","):
        for setting in args.settings.split(","):
            res = run_case(cases[name], SETTINGS[setting], args.steps, args.n_snapshots, args.n_per,
                           json.loads(args.extra))
            key = f"{name}_{setting}".replace("-", "_")
            summary[f"{key}_final_error"] = res["final"]
            if not args.json:
                curve = " ".join(f"{s}:{e:.3g}({w:.0f}s)" for s, w, e in res["log"])
                print(f"{name:10s} {setting:18s} final {res['final']:.4g} returned {res['returned']:.4g} "
                      f"min {res['min']:.4g} [{res['status']}, {res['wall']} s] | {curve}", flush=True)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
