"""What every benchmark shares: the scales (tiny / quick / full), the machine description, thread limits and the
writing of results (HDF5 dataset, markdown table, flat JSON headline).

A :class:`Scale` fixes the sizes of one run: snapshot data, evaluation sets, and the training budget of every
method. Methods get the *same* network width, depth, batch and number of optimiser steps, so rows differ by
method, not by budget.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from amphys.errors import unknown_name

__all__ = ["Scale", "SCALES", "get_scale", "machine", "limit_threads", "BenchOutput", "write_outputs", "fmt",
           "slug"]


@dataclasses.dataclass(frozen=True)
class Scale:
    """Sizes of one benchmark run.

    n, n_times : samples per snapshot and snapshots of the training data. n_eval : samples per evaluation time
    (reference sets, their independent copies for the floors, and the pushed sets). eval_times : evaluation
    times, evenly spaced over the window. net : width/depth/batch/steps shared by AM and the baselines.
    sm_levels, langevin_steps : the NCSN ladder and steps per level of the annealed sampler. tracking_steps :
    time steps of the paper's tracking sampler (hydrogen). w2_max_n, n_projections : exact/sliced W2 sizes.
    push_steps : RK4 steps of the oracle push. threads : torch CPU threads (None: leave torch's default).
    checkpoints : MMD checkpoints along the hydrogen training. hydrogen : n, n_times, steps, n_eval, hidden of
    the hydrogen paper state. sweep : samples per snapshot and snapshot counts of the sweeps, their base point
    and seeds.
    """

    name: str
    n: int
    n_times: int
    n_eval: int
    eval_times: int
    hidden: int
    depth: int
    batch_size: int
    steps: int
    sm_levels: int
    langevin_steps: int
    tracking_steps: int
    tune_n: int
    w2_max_n: int
    n_projections: int
    push_steps: int
    threads: int | None
    checkpoints: int
    hydrogen: dict
    sweep: dict

    @property
    def net(self) -> dict:
        return {"hidden": self.hidden, "depth": self.depth, "batch_size": self.batch_size, "steps": self.steps}


SCALES: dict[str, Scale] = {
    # the test configuration: seconds, numbers meaningless
    "tiny": Scale("tiny", n=200, n_times=5, n_eval=120, eval_times=4, hidden=16, depth=2, batch_size=64, steps=40,
                  sm_levels=3, langevin_steps=3, tracking_steps=10, tune_n=60, w2_max_n=100, n_projections=20,
                  push_steps=20, threads=1, checkpoints=2,
                  hydrogen={"n": 200, "n_times": 11, "steps": 40, "n_eval": 150},
                  sweep={"n": (100, 200), "n_times": (3, 5), "base_n": 200, "base_times": 5}),
    # minutes on 2 CPU cores (one torch thread: two threads on a shared 2-core box were 8x slower per step)
    "quick": Scale("quick", n=5000, n_times=21, n_eval=1000, eval_times=6, hidden=64, depth=3, batch_size=512,
                   steps=3000, sm_levels=8, langevin_steps=30, tracking_steps=200, tune_n=300, w2_max_n=500,
                   n_projections=200, push_steps=100, threads=1, checkpoints=4,
                   hydrogen={"n": 2000, "n_times": 101, "steps": 4000, "n_eval": 1000, "hidden": 128},
                   sweep={"n": (250, 1000, 4000, 16000), "n_times": (3, 6, 11, 21, 41), "base_n": 4000,
                          "base_times": 11, "seeds": (0,)}),
    # paper scale, for a GPU
    "full": Scale("full", n=10000, n_times=101, n_eval=5000, eval_times=11, hidden=256, depth=4, batch_size=1024,
                  steps=30000, sm_levels=10, langevin_steps=100, tracking_steps=1000, tune_n=1000, w2_max_n=2000,
                  n_projections=500, push_steps=200, threads=None, checkpoints=10,
                  hydrogen={"n": 5000, "n_times": 1001, "steps": 30000, "n_eval": 5000, "hidden": 256},
                  sweep={"n": (250, 1000, 4000, 16000, 64000), "n_times": (3, 6, 11, 21, 41, 101),
                         "base_n": 10000, "base_times": 21, "seeds": (0, 1, 2)}),
}


def get_scale(name: str) -> Scale:
    if name not in SCALES:
        raise unknown_name("benchmark scale", name, SCALES)
    return SCALES[name]


def slug(text: str) -> str:
    """A key fragment for the flat JSON headline: ``"d=2, m=2"`` -> ``"d2_m2"``."""
    out = "".join(c if c.isalnum() else "_" for c in str(text).lower().replace("=", ""))
    while "__" in out:
        out = out.replace("__", "_")
    return out.strip("_")


def fmt(value, digits: int = 3) -> str:
    """Number for a markdown cell: NaN as '—', small/large numbers in scientific notation."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return "—"
    if v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e4):
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def machine() -> dict:
    """CPU model, cores, torch threads, load average, Python/torch versions, and the UTC date."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        info["load_average"] = " ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        pass
    import torch

    info["torch"] = torch.__version__
    info["torch_threads"] = torch.get_num_threads()
    info["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return info


def limit_threads(scale: Scale):
    """Set torch's CPU threads for this run (quick/tiny: 1)."""
    if scale.threads is not None:
        import torch

        torch.set_num_threads(scale.threads)


@dataclasses.dataclass
class BenchOutput:
    """A finished benchmark: the dataset, the markdown, the flat headline dict and the files written."""

    name: str
    dataset: object
    markdown: str
    headline: dict
    files: list = dataclasses.field(default_factory=list)


def header(name: str, scale: Scale, info: dict, command: str | None = None) -> str:
    command = command or f"amphys bench {name} --{scale.name}"
    return (f"Command: `{command}` · machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']} "
            f"({info['torch_threads']} thread(s), device {info['device']}), load average "
            f"{info.get('load_average', '?')} · date: {info['date']}")


def write_outputs(out: BenchOutput, folder) -> BenchOutput:
    """Write ``NAME.h5`` (the dataset, atomically), ``NAME.md`` and ``NAME.json`` into ``folder``."""
    from amphys.io import write

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    h5 = write(out.dataset, folder / f"{out.name}.h5")
    md = folder / f"{out.name}.md"
    md.write_text(out.markdown + "\n")
    js = folder / f"{out.name}.json"
    js.write_text(json.dumps(out.headline, sort_keys=True) + "\n")
    out.files = [*out.files, h5, md, js]
    return out


class Stopwatch:
    """``with Stopwatch() as sw: ...; sw.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
        return False
