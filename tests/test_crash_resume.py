"""Crash-safe training: ``amphys fit`` killed with SIGKILL resumes with ``--resume`` from its last
checkpoint to the same model as an uninterrupted run; files are replaced atomically, so a kill during a write
leaves the previous file intact; a truncated checkpoint is a one-line CLI error.

Every run here is a real subprocess (``python -m amphys``) with one thread, so the uninterrupted and the resumed
runs do the same floating-point operations in the same order: the final parameters must be bitwise equal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import amphys
from amphys.cli.main import main
from amphys.solver.checkpoint import load_checkpoint

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
STEPS, EVERY = 800, 50
FIT = ["--steps", str(STEPS), "--checkpoint-every", str(EVERY), "--hidden", "16", "--depth", "2",
       "--batch-size", "64", "--holdout-every", "100", "--holdout-rows", "128", "--seed", "7", "--no-progress"]


def _amphys(*args, **kw):
    return [sys.executable, "-m", "amphys", *map(str, args)]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("crash") / "data.h5"
    ds = amphys.generate(amphys.systems.get("barenblatt", dim=2), np.linspace(1.0, 2.0, 5), 300, seed=0)
    return amphys.io.write(ds, path)


def _params(path):
    state = torch.load(path, weights_only=True)
    return state["model"], state["history"]


def _kill_when(proc: subprocess.Popen, ready, *, timeout: float, what: str) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds (polled every millisecond); fails when the process ends first
    or ``timeout`` seconds pass. The process is reaped in any case."""
    try:
        deadline = time.monotonic() + timeout
        while not ready():
            assert proc.poll() is None, f"the process ended before {what}"
            assert time.monotonic() < deadline, f"no {what} after {timeout:g} s"
            time.sleep(0.001)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_then_resume_equals_uninterrupted_run(data_file, tmp_path):
    killed = tmp_path / "killed.pt"
    ckpt = Path(f"{killed}.ckpt")
    proc = subprocess.Popen(_amphys("fit", data_file, "-o", killed, *FIT), env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _kill_when(proc, ckpt.exists, timeout=120, what="the first checkpoint")  # written after EVERY steps
    assert not killed.exists()  # the model is written only at the end
    state = load_checkpoint(ckpt)  # whatever moment the kill came, the checkpoint on disk is complete
    step = int(state["step"])
    assert step % EVERY == 0 and EVERY <= step < STEPS, step  # so at most one interval (< EVERY steps) is lost

    resumed = subprocess.run(_amphys("fit", data_file, "-o", killed, *FIT, "--resume"), env=ENV,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "converged" in resumed.stdout

    whole = tmp_path / "whole.pt"
    plain = subprocess.run(_amphys("fit", data_file, "-o", whole, *FIT), env=ENV, capture_output=True, text=True,
                           timeout=300)
    assert plain.returncode == 0, plain.stderr

    (pa, ha), (pb, hb) = _params(killed), _params(whole)
    assert pa.keys() == pb.keys()
    for k in pa:
        torch.testing.assert_close(pa[k], pb[k], rtol=0, atol=0, msg=f"parameter {k} differs after resume")
    for k in ("step", "loss", "grad_norm", "val_loss"):  # the whole history, not just the end
        torch.testing.assert_close(ha[k], hb[k], rtol=0, atol=0, equal_nan=True)
    assert int(ha["step"][-1]) == STEPS

    # a truncated checkpoint: one line on stderr, exit 2, no traceback
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    bad = subprocess.run(_amphys("fit", data_file, "-o", killed, *FIT, "--resume"), env=ENV, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("amphys: error: ") and "killed.pt.ckpt" in lines[0], bad.stderr


_WRITER = """
import sys, torch
from amphys.solver.checkpoint import atomic_torch_save
atomic_torch_save({"format": "old", "x": torch.zeros(3)}, sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
atomic_torch_save({"format": "new", "x": torch.zeros(25_000_000)}, sys.argv[1])  # 200 MB, a slow write
"""


def test_kill_during_a_write_leaves_the_previous_file(tmp_path):
    target = tmp_path / "state.ckpt"
    def half_written():  # the temporary file (atomic_path: .NAME.XXXX.tmp.SUFFIX) holds part of the new content
        tmp = [p for p in tmp_path.iterdir() if ".tmp" in p.name]
        return bool(tmp) and tmp[0].stat().st_size > 1_000_000

    with subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], env=ENV, stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout.readline().strip() == "ready"
        proc.stdin.write("go\n")
        proc.stdin.flush()
        _kill_when(proc, half_written, timeout=60, what="a half-written file (the write finished first)")
    state = torch.load(target, weights_only=True)
    assert state["format"] == "old" and state["x"].shape == (3,)


def test_truncated_data_file_is_one_line(tmp_path, data_file, capsys):
    cut = tmp_path / "cut.h5"
    raw = Path(data_file).read_bytes()
    cut.write_bytes(raw[: len(raw) // 3])
    assert main(["fit", str(cut), "-o", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("amphys: error: ") and "cut.h5" in err
