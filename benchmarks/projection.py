"""Gradient projection figures (docs/theory.md#gradient-projection): the AM paper's hydrogen state, the 2-D vortex
control and rotational OU, with grid sizes, wall time and peak memory of each solve.

    python benchmarks/projection.py            # 32³ … 80³ for hydrogen (about a minute on 2 CPU cores)
    python benchmarks/projection.py --full     # adds 96³ and 120³ (several minutes, ~3 GB)
    python benchmarks/projection.py --json     # only the final JSON line

The last line of stdout is one flat JSON object (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc

import numpy as np

import amphys
from amphys.diagnostics import project_gradient


def _solve(system, t, **options):
    tracemalloc.start()
    start = time.perf_counter()
    proj = project_gradient(system, t, **options)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return proj, seconds, peak / 2 ** 20


def bohm_energy_quadrature(system, n: int = 240, half_width: float = 40.0) -> float:
    """E|v_B|² at t = 0 by the midpoint rule on n³ cells of [−L, L]³ (the integrand q|v|² is bounded)."""
    h = 2 * half_width / n
    c = -half_width + h * (np.arange(n) + 0.5)
    X, Y = np.meshgrid(c, c, indexing="ij")
    total = mass = 0.0
    for z in c:
        pts = np.stack([X.ravel(), Y.ravel(), np.full(X.size, z)], axis=1)
        q = np.exp(system.log_density(0.0, pts))
        ok = q > 0
        v = system.velocity(0.0, pts[ok])
        total += float(np.sum(q[ok] * np.sum(v * v, axis=1)))
        mass += float(q.sum())
    return total / mass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also 96³ and 120³")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args(argv)
    say = (lambda *a: None) if args.json else print
    out: dict = {}

    hydrogen = amphys.systems.get("hydrogen", state="paper")
    grids = [32, 48, 64, 80] + ([96, 120] if args.full else [])
    say("hydrogen, state 'paper', t = 0, box [-32, 32]^3 (atomic units)")
    say(f"{'grid':>6} {'E|grad s*|^2':>13} {'E|v_B|^2':>10} {'non-grad':>9} {'mass':>9} {'CG it':>6} "
        f"{'time s':>7} {'peak MiB':>9}")
    for n in grids:
        proj, seconds, mib = _solve(hydrogen, 0.0, n_grid=n, box=(-32, 32))
        say(f"{n:>5}³ {proj.kinetic_energy:13.5f} {proj.kinetic_energy_physical:10.5f} "
            f"{proj.nongradient_fraction:9.4f} {proj.mass:9.6f} {proj.info['iterations']:6d} {seconds:7.1f} "
            f"{mib:9.0f}")
        out[f"hydrogen_ke_{n}"] = round(proj.kinetic_energy, 6)
        out[f"hydrogen_ke_bohm_{n}"] = round(proj.kinetic_energy_physical, 6)
        out[f"hydrogen_nongradient_{n}"] = round(proj.nongradient_fraction, 5)
        out[f"hydrogen_seconds_{n}"] = round(seconds, 2)
        out[f"hydrogen_peak_mib_{n}"] = round(mib)
    start = time.perf_counter()
    ke_bohm = bohm_energy_quadrature(hydrogen)
    say(f"E|v_B|^2 by midpoint quadrature on 240^3 cells of [-40, 40]^3: {ke_bohm:.5f} "
        f"({time.perf_counter() - start:.0f} s)")
    ke = out[f"hydrogen_ke_{grids[-1]}"]
    say(f"non-gradient fraction 1 - E|grad s*|^2/E|v_B|^2 = {1 - ke / ke_bohm:.4f}; a perfect AM model is "
        f"{np.sqrt(ke_bohm / ke - 1):.3f} off the Bohmian field in relative L2")
    out["hydrogen_ke_bohm_quadrature"] = round(ke_bohm, 6)
    out["hydrogen_perfect_am_vs_bohm"] = round(float(np.sqrt(ke_bohm / ke - 1)), 4)

    vortex = amphys.systems.get("harmonic", dim=2, state="vortex")
    say("\n2-D vortex control, t = 0.3 (E|grad s*|^2 in [0.381, 0.396], E|v_B|^2 = 0.5)")
    for n in (64, 128, 256):
        proj, seconds, mib = _solve(vortex, 0.3, n_grid=n)
        say(f"{n:>5}² {proj.kinetic_energy:13.5f} {proj.kinetic_energy_physical:10.5f} "
            f"{proj.nongradient_fraction:9.4f} {seconds:7.2f} s")
        out[f"vortex_ke_{n}"] = round(proj.kinetic_energy, 6)

    ou = amphys.systems.get("ou", drift=[[0.5, -2.0], [2.0, 0.5]], diffusion=[[0.5, 0.0], [0.0, 0.05]],
                            mean0=[3.0, 0.0], cov0=0.1, t_span=(0.0, 2.0))
    x = ou.sample(0.4, 100_000, np.random.default_rng(0))
    v_star = ou.am_velocity(0.4, x)
    norm = np.mean(np.sum(v_star ** 2, axis=1))
    say("\nrotational OU (OU-G), t = 0.4: relative L2(q) error of the projection against the closed form")
    for n in (32, 64, 128, 256):
        proj, seconds, _ = _solve(ou, 0.4, n_grid=n)
        err = float(np.sqrt(np.mean(np.sum((proj.velocity(x) - v_star) ** 2, axis=1)) / norm))
        say(f"{n:>5}² error {err:.2e}  ({seconds:.2f} s)")
        out[f"ou_error_{n}"] = float(f"{err:.3g}")
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
