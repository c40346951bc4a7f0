"""Data-parallel training (docs/scaling.md): 2 CPU processes with gloo, launched by torchrun.

Checks: both ranks end with bitwise identical parameters and histories; the loss curve of the 2-process run (global
batch 256 split 128 + 128) agrees with 1-process runs of the same global batch within their noise; a data-parallel
fit stopped and resumed equals an uninterrupted one; the CLI path (``amphys fit --distributed``) writes the model
and the checkpoint from rank 0 only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import amphys
from amphys.errors import InputError
from amphys.solver.config import FitConfig
from amphys.solver.distributed import Context, setup
from amphys.solver.status import FitStatus
from amphys.solver.train import Trainer

sys.path.insert(0, str(Path(__file__).parent))
from _distributed_worker import FIT  # noqa: E402

WORKER = Path(__file__).parent / "_distributed_worker.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
if sys.platform.startswith("linux"):  # gloo on the loopback interface: no dependence on the host name resolving
    ENV.setdefault("GLOO_SOCKET_IFNAME", "lo")
WINDOW = 25


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("dist") / "data.h5"
    ds = amphys.generate(amphys.systems.get("barenblatt", dim=2), np.linspace(1.0, 2.0, 5), 2000, seed=0)
    return amphys.io.write(ds, path)


@pytest.fixture(scope="module")
def launched(data_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("ranks")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER),
           str(data_file), str(out)]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _single_runs(data_file, ranks):
    """1-process runs with the same config and global batch; ``rank`` r draws the batches of stream (seed, r)
    (same initial weights, independent draws): the spread of their loss curves is the noise."""
    parts = amphys.data.snapshots.split_snapshots(amphys.io.read(data_file))
    times, xs = np.array([p[0] for p in parts]), [p[1] for p in parts]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return [np.asarray(Trainer(times, xs, None, FitConfig(**FIT), rank=r).run(progress=False).history["loss"])
                for r in ranks]
    finally:
        torch.set_num_threads(threads)


def test_ranks_end_identical(launched):
    a, b = torch.load(launched / "rank0.pt"), torch.load(launched / "rank1.pt")
    assert "data parallel on 2 processes (gloo)" in a["message"]
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=0, atol=0)
    for k in ("loss", "val_loss", "step"):  # the recorded loss is the global-batch loss, the same on both ranks
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, equal_nan=True)
    assert int(a["step"][-1]) == FIT["steps"]


def test_loss_curve_matches_one_process(launched, data_file):
    dist = torch.load(launched / "rank0.pt")["loss"].numpy()
    runs = np.stack(_single_runs(data_file, range(5)))
    n_win = FIT["steps"] // WINDOW
    win = lambda c: c[: n_win * WINDOW].reshape(-1, n_win, WINDOW).mean(axis=-1)  # noqa: E731
    d, s = win(dist[None])[0], win(runs)
    # tolerance: the spread of the 1-process runs' window means (pooled over windows 2.., 4 x 5 = 20 dof); the
    # 2-process window mean must lie within 4 standard deviations of a new member of that ensemble
    sd = np.sqrt(np.mean(s[:, 1:].var(axis=0, ddof=1)))
    z = (d - s.mean(axis=0)) / (sd * np.sqrt(1 + 1 / len(runs)))
    assert np.max(np.abs(z)) < 4.0, (d, s.mean(axis=0), sd, z)
    assert s[:, -1].mean() < s[:, 0].mean() - 4 * sd  # the curve falls by more than the noise: not vacuous
    # the step-to-step noise of the loss is that of a 256-row batch (a 512-row batch would give 0.71x)
    noise = lambda c: np.diff(c[WINDOW:]).std() / np.sqrt(2)  # noqa: E731
    ratio = noise(dist) / np.mean([noise(c) for c in runs])
    assert 0.8 < ratio < 1.25, ratio


def test_data_parallel_resume_is_exact(launched):
    for rank in (0, 1):
        state = torch.load(launched / f"resume_rank{rank}.pt")
        assert state["part_status"] == FitStatus.STOPPED and state["part_steps"] == 10
        for k in state["full"]:
            torch.testing.assert_close(state["resumed"][k], state["full"][k], rtol=0, atol=0)
    ckpt = torch.load(launched / "part.ckpt", weights_only=True)
    assert ckpt["world_size"] == 2 and len(ckpt["gen"]) == len(ckpt["rng"]) == 2
    assert not torch.equal(ckpt["gen"][0], ckpt["gen"][1])  # per-rank streams


def test_cli_writes_from_rank_zero(launched):
    assert (launched / "cli_rank0.rc").read_text() == "0" and (launched / "cli_rank1.rc").read_text() == "0"
    model = amphys.load_model(launched / "cli.pt")
    assert model.config.steps == 20 and "data parallel on 2 processes" in model.message
    assert torch.load(launched / "cli.pt.ckpt", weights_only=True)["world_size"] == 2
    assert not [p for p in launched.iterdir() if ".tmp" in p.name]


def test_batch_is_split_across_ranks(data_file):
    parts = amphys.data.snapshots.split_snapshots(amphys.io.read(data_file))
    times, xs = np.array([p[0] for p in parts]), [p[1] for p in parts]
    cfg = FitConfig(**{**FIT, "batch_size": 257})
    one = Trainer(times, xs, None, cfg).method.source
    shares = [Trainer(times, xs, None, cfg, context=Context(rank=r, world_size=2)).method.source for r in (0, 1)]
    assert sum(s.n_int for s in shares) == one.n_int and sum(s.n_b for s in shares) == one.n_b
    assert abs(shares[0].n_int - shares[1].n_int) <= 1


def test_distributed_needs_torchrun(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(InputError, match="torchrun"):
        setup(True, "cpu")
    assert not setup(None, "cpu").active
