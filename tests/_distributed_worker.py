"""Worker of tests/test_distributed.py, run by ``torchrun --nproc_per_node 2`` (or alone for the reference run).

``python tests/_distributed_worker.py DATA OUTDIR``: fits DATA with the settings of :data:`FIT` through
``amphys.fit`` and saves this rank's final parameters and history to ``OUTDIR/rank{RANK}.pt``; under torchrun it
then runs ``amphys fit DATA --distributed`` (the CLI path: rank 0 writes the model and the checkpoint).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

import amphys

FIT = dict(steps=150, hidden=32, depth=2, batch_size=256, warmup=10, lr=3e-3, holdout_every=10, holdout_rows=1024,
           patience=0, seed=1, device="cpu")


def main(data, outdir) -> int:
    torch.set_num_threads(1)
    outdir = Path(outdir)
    rank = int(os.environ.get("RANK", 0))
    ds = amphys.io.read(data)
    result = amphys.fit(ds, progress=False, **FIT)
    h = result.history
    torch.save({"model": result.model_.state_dict(), "message": result.message,
                "loss": torch.as_tensor(h["loss"].values), "val_loss": torch.as_tensor(h["val_loss"].values),
                "step": torch.as_tensor(h["step"].values)}, outdir / f"rank{rank}.pt")
    if "RANK" in os.environ:
        # exact resume of a data-parallel fit: stop at step 10 (agreed by both ranks), resume to 20
        short = dict(FIT, steps=20, checkpoint_every=5)
        full = amphys.fit(ds, checkpoint=outdir / "full.ckpt", progress=False, **short)
        part = amphys.fit(ds, checkpoint=outdir / "part.ckpt", progress=False, callback=lambda s, r: s >= 10,
                          **short)
        resumed = amphys.fit(ds, checkpoint=outdir / "part.ckpt", resume=True, progress=False, **short)
        torch.save({"full": full.model_.state_dict(), "resumed": resumed.model_.state_dict(),
                    "part_status": part.status.value, "part_steps": int(part.history["step"].values[-1])},
                   outdir / f"resume_rank{rank}.pt")
        from amphys.cli.main import main as cli

        rc = cli(["fit", str(data), "-o", str(outdir / "cli.pt"), "--distributed", "--steps", "20", "--hidden", "16",
                  "--depth", "2", "--batch-size", "64", "--checkpoint-every", "10", "--no-progress", "--device",
                  "cpu"])
        (outdir / f"cli_rank{rank}.rc").write_text(str(rc))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
