"""Data-parallel training: time per step with 1 and 2 processes, and agreement of the loss curves (docs/scaling.md).

    python benchmarks/scaling.py [--steps 300] [--hidden 256] [--depth 4] [--batch-size 1024] [--replicas 3]

Runs the same fit (same config, same global batch) as
  (a) 1 process, 1 thread;  (b) 1 process, 2 threads;  (c) 2 processes (torchrun, gloo), 1 thread each,
on Barenblatt d=2 data (5 times x 4000 samples), CPU. Time per step: median of the per-step wall times of the
history after the first 20 steps (so process start-up, data loading and warm-up are excluded). Agreement: the
2-process loss curve against ``--replicas`` 1-process runs that draw independent batches from the same initial
weights (solver stream (seed, r)); per window of 50 steps, z = (2-process mean - replica mean) / (replica spread
x sqrt(1 + 1/R)), pooled spread over windows 2... The last stdout line is a JSON object of the figures; the
Markdown table above it goes to docs/bench/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _bench_script import network_parser

WINDOW = 50


def _config(args) -> dict:
    return dict(steps=args.steps, hidden=args.hidden, depth=args.depth, batch_size=args.batch_size, seed=1,
                warmup=20, holdout_fraction=0.0, device="cpu")


def _data(path: Path):
    import amphys

    ds = amphys.generate(amphys.systems.get("barenblatt", dim=2), np.linspace(1.0, 2.0, 5), 4000, seed=0)
    amphys.io.write(ds, path)


def _fit_here(data, cfg, out, rank_stream=None):
    """One fit in this process; writes loss and per-step wall times to ``out`` (JSON)."""
    import torch

    import amphys
    from amphys.data.snapshots import split_snapshots
    from amphys.solver.config import FitConfig
    from amphys.solver.train import Trainer

    ds = amphys.io.read(data)
    if rank_stream is None:
        result = amphys.fit(ds, progress=False, **cfg)
        loss, wall = result.history["loss"].values, result.history["wall_time"].values
    else:  # a 1-process replica drawing the batches of stream (seed, rank_stream)
        parts = split_snapshots(ds)
        tr = Trainer(np.array([p[0] for p in parts]), [p[1] for p in parts], None, FitConfig(**cfg),
                     rank=rank_stream)
        h = tr.run(progress=False).history
        loss, wall = np.asarray(h["loss"]), np.asarray(h["wall_time"])
    allreduce_ms = None
    from amphys.solver.distributed import current

    ctx = current()
    if ctx.active:  # the exchange alone: one all-reduce of as many numbers as the model has parameters
        n = sum(p.numel() for p in result.model_.parameters())
        buf = [torch.zeros(n)]
        ctx.all_reduce_mean(buf)
        ctx.barrier()
        t0 = time.perf_counter()
        for _ in range(50):
            ctx.all_reduce_mean(buf)
        allreduce_ms = (time.perf_counter() - t0) / 50 * 1e3
    if ctx.rank == 0:
        Path(out).write_text(json.dumps({"loss": list(map(float, loss)), "wall": list(map(float, wall)),
                                         "threads": torch.get_num_threads(), "allreduce_ms": allreduce_ms,
                                         "n_params": sum(p.numel() for p in result.model_.parameters())
                                         if rank_stream is None else None}))


def _run(cmd, threads):
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")


def _step_ms(wall) -> float:
    return float(np.median(np.diff(np.asarray(wall)[20:])) * 1e3)


def main(argv=None) -> dict:
    p = network_parser(__doc__)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--replicas", type=int, default=3)
    p.add_argument("--worker", nargs=3, metavar=("DATA", "OUT", "STREAM"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    cfg = _config(args)
    if args.worker:
        data, out, stream = args.worker
        _fit_here(data, cfg, out, None if stream == "none" else int(stream))
        return {}
    me = [sys.executable, str(Path(__file__).resolve())]
    opts = ["--steps", str(args.steps), "--hidden", str(args.hidden), "--depth", str(args.depth),
            "--batch-size", str(args.batch_size)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "data.h5"
        _data(data)
        runs = {}
        t0 = time.perf_counter()
        for name, threads, launcher, stream in (
                ("1 process, 1 thread", 1, [], "none"),
                ("1 process, 2 threads", 2, [], "none"),
                ("2 processes (gloo), 1 thread each", 1,
                 ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"], "none")):
            out = tmp / f"{len(runs)}.json"
            cmd = [sys.executable, *launcher, *me[1:], *opts, "--worker", str(data), str(out), stream] if launcher \
                else [*me, *opts, "--worker", str(data), str(out), stream]
            _run(cmd, threads)
            runs[name] = json.loads(out.read_text())
        replicas = []
        for r in range(1, args.replicas + 1):
            out = tmp / f"rep{r}.json"
            _run([*me, *opts, "--worker", str(data), str(out), str(r)], 1)
            replicas.append(json.loads(out.read_text())["loss"])
        total = time.perf_counter() - t0
        load = os.getloadavg()[1] if hasattr(os, "getloadavg") else float("nan")
    names = list(runs)
    base = _step_ms(runs[names[0]]["wall"])
    dist = np.asarray(runs[names[2]]["loss"])
    reps = np.stack([np.asarray(runs[names[0]]["loss"])] + [np.asarray(c) for c in replicas])
    n_win = args.steps // WINDOW
    win = lambda c: c[..., : n_win * WINDOW].reshape(*c.shape[:-1], n_win, WINDOW).mean(axis=-1)  # noqa: E731
    d, s = win(dist), win(reps)
    sd = float(np.sqrt(np.mean(s[:, 1:].var(axis=0, ddof=1))))
    z = (d - s.mean(axis=0)) / (sd * np.sqrt(1 + 1 / len(reps)))
    lines = [f"Barenblatt d=2 (5 times x 4000 samples), hidden {args.hidden}, depth {args.depth}, global batch "
             f"{args.batch_size}, {args.steps} steps, float32, CPU ({platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores), {time.strftime('%Y-%m-%d')}", "",
             "| run | time per step (ms) | speed-up vs 1 process, 1 thread | final 50-step mean loss |",
             "|---|---|---|---|"]
    for name in names:
        ms = _step_ms(runs[name]["wall"])
        lines.append(f"| {name} | {ms:.1f} | {base / ms:.2f}x | {np.mean(runs[name]['loss'][-WINDOW:]):.5g} |")
    lines += ["", f"Loss-curve agreement (2 processes vs {len(reps)} 1-process runs with independent draws, "
              f"windows of {WINDOW} steps): window means {np.array2string(d, precision=4)}, replica means "
              f"{np.array2string(s.mean(axis=0), precision=4)}, replica spread {sd:.2g}, "
              f"z = {np.array2string(z, precision=2)} (max |z| {np.max(np.abs(z)):.2f}).",
              f"One all-reduce of the {runs[names[2]]['n_params']} gradients between the 2 processes alone: "
              f"{runs[names[2]]['allreduce_ms']:.2f} ms. Load average of the machine over the run (5 min): "
              f"{load:.2f} on {os.cpu_count()} cores. Total benchmark time {total:.0f} s."]
    print("\n".join(lines))
    result = {"step_ms": {n: _step_ms(runs[n]["wall"]) for n in names}, "z": z.tolist(), "load5": load,
              "allreduce_ms": runs[names[2]]["allreduce_ms"],
              "max_abs_z": float(np.max(np.abs(z))), "replica_spread": sd}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
