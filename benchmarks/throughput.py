"""Throughput of an Action Matching training step against a plain regression step (docs/benchmarks.md).

    python benchmarks/throughput.py [--hidden 256] [--depth 4] [--batch-size 1024] [--repeat 40]
                                    [--threads 1] [--device auto] [--json]

Both steps use the same network (the solver's ActionModel), the same number of rows and the same optimiser
(Adam). The AM step is the solver's full training step (batch draw, one batched forward of interior and boundary
rows, ∂_t s and ∇s from one reverse pass, the loss, backward, gradient clipping, Adam, EMA update); the plain step
is forward + MSE + backward + Adam on the same rows. The two are timed alternately in the same run (so machine
load affects both alike) and the medians compared. Target: step_time_ratio = am / plain <= 2.5.
The last stdout line is a flat JSON object: am_step_ms, plain_step_ms, step_time_ratio, samples_per_s (rows of
the AM step per second), plus the settings.
"""

from __future__ import annotations

import json
import platform
import time

import numpy as np
from _bench_script import network_parser


def _sync(device):
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None) -> dict:
    p = network_parser(__doc__)
    p.add_argument("--dim", type=int, default=2)
    p.add_argument("--repeat", type=int, default=40)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: per-core figure)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--derivatives", default="fused", choices=["fused", "autograd", "func"])
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)

    import torch

    from amphys.solver.config import FitConfig
    from amphys.solver.train import Trainer

    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    times = np.linspace(0.0, 1.0, 11)
    xs = [rng.normal(size=(4000, args.dim)) * (1 + t) + t for t in times]
    cfg = FitConfig(hidden=args.hidden, depth=args.depth, batch_size=args.batch_size, device=args.device,
                    steps=10 ** 6, holdout_fraction=0.0, derivatives=args.derivatives)
    trainer = Trainer(times, xs, None, cfg)
    am = trainer.method
    device, dtype = am.device, am.dtype

    # the plain regression step: a copy of the same network, the same number of rows, Adam
    import copy

    from amphys.solver.optim import Adam

    net = copy.deepcopy(am.model)
    opt = Adam(net.parameters(), lr=1e-3)
    batch = am.draw(trainer.state)
    tau = torch.cat([batch.tau, torch.zeros(batch.y0.shape[0], dtype=dtype, device=device),
                     torch.ones(batch.y1.shape[0], dtype=dtype, device=device)])
    y = torch.cat([batch.y, batch.y0, batch.y1])
    target = torch.randn(tau.shape[0], dtype=dtype, device=device)
    rows = tau.shape[0]

    def plain_step():
        opt.zero_grad()
        loss = torch.mean((net(tau, y) - target) ** 2)
        loss.backward()
        opt.step()

    def am_step():
        trainer.step()

    for _ in range(5):
        am_step()
        plain_step()
    am, plain = [], []
    for _ in range(args.repeat):
        for fn, out in ((am_step, am), (plain_step, plain)):
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            out.append(time.perf_counter() - start)
    am_ms, plain_ms = 1e3 * float(np.median(am)), 1e3 * float(np.median(plain))
    result = {
        "am_step_ms": round(am_ms, 3),
        "plain_step_ms": round(plain_ms, 3),
        "step_time_ratio": round(am_ms / plain_ms, 3),
        "samples_per_s": round(rows / (am_ms / 1e3), 1),
        "rows": rows, "hidden": args.hidden, "depth": args.depth, "dim": args.dim,
        "device": str(device), "threads": args.threads, "derivatives": args.derivatives,
    }
    if not args.json:
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
        print(f"machine: {platform.node()} {name}, torch {torch.__version__}, {args.threads} thread(s)")
        print(f"network {args.hidden}x{args.depth}, {rows} rows: AM step {am_ms:.2f} ms, plain step {plain_ms:.2f} ms,"
              f" ratio {am_ms / plain_ms:.2f} (target <= 2.5), {result['samples_per_s']:.0f} samples/s")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
