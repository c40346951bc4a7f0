"""Cost of a data-only fit: the default snapshot estimator against the earlier mixture rule (docs/benchmarks.md,
snapshots, "Cost").

    python benchmarks/snapshot_cost.py [--steps 301] [--repeat 2] [--json]

Rotating OU, 11 snapshots x 2000 samples, amphys's default network and rows per step. Each configuration is fitted
with 1 step (the one-time setup: coupling signal-to-noise, couplings, choice of λ) and with ``--steps`` steps,
``--repeat`` times alternately, and the minimum of each kept (the machine is shared); the step time is the
difference over the extra steps. Target: the default's 4000 steps cost at most 1.5x the earlier rule's. The last
stdout line is a flat JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

ROWS = {"default": {}, "mixture": {"interpolant": "mixture", "knot_stride": 1, "holdout_ties": 0.0}}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=301)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)

    import amphys
    from amphys.bench.physics import OU_ROTATIONAL

    system = amphys.systems.get("ou", **OU_ROTATIONAL)
    data = amphys.generate(system, np.linspace(*system.t_span, 11), 2000, seed=0, progress=False)
    best: dict = {}
    for _ in range(args.repeat):
        for name, options in ROWS.items():
            for steps in (1, args.steps):
                start = time.perf_counter()
                amphys.fit(data, steps=steps, progress=False, seed=0, holdout_every=10 ** 6, **options)
                key = (name, steps)
                best[key] = min(best.get(key, np.inf), time.perf_counter() - start)
    out = {}
    for name in ROWS:
        setup = best[(name, 1)]
        step = (best[(name, args.steps)] - setup) / (args.steps - 1)
        out[f"{name}_setup_s"], out[f"{name}_step_ms"] = round(setup, 2), round(1000 * step, 2)
        out[f"{name}_4000_steps_s"] = round(setup + 4000 * step, 1)
        if not args.json:
            print(f"{name:8s} setup {setup:6.2f} s   per step {1000 * step:6.1f} ms   4000 steps ≈ "
                  f"{setup + 4000 * step:6.0f} s")
    out["ratio_4000_steps"] = round(out["default_4000_steps_s"] / out["mixture_4000_steps_s"], 3)
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
