"""Exact-sampler throughput on one core (docs/benchmarks.md): samples/s per system.

    python benchmarks/samplers.py [--n 1000000] [--repeat 5] [--json]

Targets: >= 1e6 samples/s for Barenblatt and OU, >= 1e5 samples/s for hydrogen. Thread pools are limited to one
thread before numpy is imported so that the figure is per core. The last stdout line is a flat JSON object with
keys ``<system>_samples_per_s``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import amphys  # noqa: E402

CASES = {
    "barenblatt": ("barenblatt", {"dim": 2, "m": 2.0}),
    "barenblatt_3d": ("barenblatt", {"dim": 3, "m": 3.0}),
    "ou": ("ou", {"drift": [[0.5, -2.0], [2.0, 0.5]], "diffusion": [[0.5, 0.0], [0.0, 0.05]],
                  "mean0": [3.0, 0.0], "cov0": 0.1, "t_span": [0.0, 2.0]}),
    "ou_mixture": ("ou-mixture", {}),
    "hydrogen": ("hydrogen", {}),
    "hydrogen_1s2pz": ("hydrogen", {"state": "1s+2pz"}),
    "harmonic_vortex": ("harmonic", {"dim": 2, "state": "vortex"}),
}


def measure(system, n: int, repeat: int) -> float:
    rng = np.random.default_rng(0)
    t = 0.5 * (system.t_span[0] + system.t_span[1])
    system.sample(t, 1000, rng)  # warm-up (lazy set-up, caches)
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        system.sample(t, n, rng)
        best = min(best, time.perf_counter() - start)
    return n / best


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    result = {}
    for key, (name, params) in CASES.items():
        if name not in amphys.systems.names():
            continue
        rate = measure(amphys.systems.get(name, **params), args.n, args.repeat)
        result[f"{key}_samples_per_s"] = round(rate, 1)
        if not args.json:
            print(f"{key:18s} {rate:14,.0f} samples/s")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
