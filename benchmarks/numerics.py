"""Speed of the numerical ground-truth solvers (docs/benchmarks.md): split-step Fourier against its FFT pair, PME and
FP.

    python benchmarks/numerics.py [--repeat 7] [--json]

- ``splitstep_fft_speed_ratio_256x256`` and ``..._64x64x64``: time of the bare FFT pair (scipy.fft ``fftn`` +
  ``ifftn`` on a complex128 array of the grid, same flags and threads as the solver) divided by the time of
  one split-step step (merged Strang form: FFT pair, kinetic and potential phase multiplications in place),
  measured alternately in the same run, best of ``--repeat``; higher is better, target ≥ 0.5.
- ``pme_steps_per_s``: explicit finite-volume steps per second of the default ``pme-grid`` (2D, 256²,
  step-size bound recomputed each step), over its first 0.25 time units.
- ``fp_steps_per_s``: implicit Euler steps per second of the default ``fp-grid`` (1D, 400 cells; factorisation
  excluded); ``fp2d_steps_per_s`` the same for the 2D default (128²).

Thread pools are limited to one thread before numpy is imported. The last stdout line is a flat JSON object.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import scipy.fft as sfft  # noqa: E402

from amphys.systems.fp_grid import FokkerPlanckGrid  # noqa: E402
from amphys.systems.grid.mesh import Grid  # noqa: E402
from amphys.systems.grid.potentials import double_well  # noqa: E402
from amphys.systems.pme_grid import PorousMediumGrid  # noqa: E402
from amphys.systems.schrodinger import splitstep as _splitstep  # noqa: E402


def _best(fn, calls: int, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def splitstep_ratio(shape, repeat: int) -> dict:
    """FFT-pair time, split-step step time and their ratio on a periodic grid of ``shape``."""
    grid = Grid([[-6.0, 6.0]] * len(shape), shape, periodic=True)
    V = double_well(grid.points()).reshape(shape)
    prop = _splitstep.SplitStep(grid, V, 1e-3)
    rng = np.random.default_rng(0)
    psi = np.exp(1j * rng.uniform(0, 2 * np.pi, shape))
    state = {"fft": psi.copy(), "step": psi.copy()}
    workers = _splitstep.FFT_WORKERS

    def fft_pair():
        hat = sfft.fftn(state["fft"], overwrite_x=True, workers=workers)
        state["fft"] = sfft.ifftn(hat, overwrite_x=True, workers=workers)

    def step():
        state["step"] = prop.step_merged(state["step"])

    calls = max(3, int(2e6 // np.prod(shape)))
    t_fft, t_step = np.inf, np.inf
    for _ in range(repeat):  # alternate, so that load on a shared machine hits both alike
        t_fft = min(t_fft, _best(fft_pair, calls, 1))
        t_step = min(t_step, _best(step, calls, 1))
    tag = "x".join(str(n) for n in shape)
    return {f"splitstep_fft_speed_ratio_{tag}": round(t_fft / t_step, 3),
            f"fft_pair_ms_{tag}": round(1e3 * t_fft, 4), f"splitstep_step_ms_{tag}": round(1e3 * t_step, 4)}


def pme_rate() -> dict:
    sys = PorousMediumGrid(t_span=(0.0, 0.25))
    start = time.perf_counter()
    _ = sys.frames
    elapsed = time.perf_counter() - start
    return {"pme_steps_per_s": round(sys.solve_steps / elapsed, 1)}


def fp_rate(dim: int, key: str, repeat: int) -> dict:
    sys = FokkerPlanckGrid(dim=dim)
    sys.run(sys._q0, 1)  # factorise
    n = 2000 if dim == 1 else 100
    best = _best(lambda: sys.run(sys._q0, n), 1, max(2, repeat // 2)) / n
    return {key: round(1 / best, 1)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    result = {}
    result.update(splitstep_ratio((256, 256), args.repeat))
    result.update(splitstep_ratio((64, 64, 64), args.repeat))
    result.update(pme_rate())
    result.update(fp_rate(1, "fp_steps_per_s", args.repeat))
    result.update(fp_rate(2, "fp2d_steps_per_s", args.repeat))
    if not args.json:
        for key, value in result.items():
            print(f"{key:40s} {value}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
