"""The shared training loop: the optimiser equals torch.optim.Adam bitwise, the training state is its own
checkpoint schema, checkpoints of the previous format load and resume, and the held-out criterion and the guard
are seams that other criteria plug into."""

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import amphys
from amphys.errors import CheckpointError
from amphys.solver import loop
from amphys.solver.checkpoint import CHECKPOINT_FORMAT, checkpoint_weights, load_checkpoint, upgrade
from amphys.solver.config import FitConfig
from amphys.solver.optim import Adam
from amphys.solver.state import TrainState
from amphys.solver.status import FitStatus
from amphys.solver.train import Trainer, train

V1 = Path(__file__).parent / "data" / "checkpoint_v1.ckpt"
SMALL = dict(hidden=16, depth=2, batch_size=64, warmup=5, holdout_every=5, holdout_fraction=0.2, patience=0,
             holdout_rows=256)


def gaussian_snapshots(n_times=5, n=200, d=2, seed=0):
    rng = np.random.default_rng(seed)
    times = np.linspace(0.0, 1.0, n_times)
    return times, [rng.normal(size=(n, d)) + t for t in times]


def _flat(params):
    return torch.cat([p.detach().flatten() for p in params])


def test_adam_equals_torch_adam_bitwise():
    """The solver's Adam (no torch.optim import cost) takes the same steps as torch.optim.Adam, bit for bit."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.SiLU(), torch.nn.Linear(16, 1))
    ref = [p.detach().clone().requires_grad_(True) for p in net.parameters()]
    ours = [p.detach().clone().requires_grad_(True) for p in net.parameters()]
    opt_ref, opt = torch.optim.Adam(ref, lr=1e-2, foreach=True), Adam(ours, lr=1e-2)
    x = torch.randn(64, 3)
    for step in range(30):
        for params, o in ((ref, opt_ref), (ours, opt)):
            for g in getattr(o, "param_groups", [{}]):
                g["lr"] = 1e-2 * (0.9 ** step)
            if isinstance(o, Adam):
                o.lr = 1e-2 * (0.9 ** step)
            o.zero_grad()
            h = torch.nn.functional.silu(x @ params[0].T + params[1])
            ((h @ params[2].T + params[3]) ** 2).mean().backward()
            o.step()
    assert torch.equal(_flat(ref), _flat(ours))


def test_state_is_its_own_checkpoint_schema():
    times, xs = gaussian_snapshots()
    tr = Trainer(times, xs, None, FitConfig(steps=12, **SMALL))
    tr.run(progress=False)
    stored = tr.state.encode()
    assert set(stored) == {f.name for f in dataclasses.fields(TrainState)}  # one entry per field, no more
    fresh = Trainer(times, xs, None, FitConfig(steps=12, **SMALL))
    fresh.state.decode(stored)
    again = fresh.state.encode()
    for name, value in stored.items():  # everything read back is written out again unchanged
        if name == "rng":
            assert value == again[name]
        else:
            torch.testing.assert_close(again[name], value, rtol=0, atol=0, equal_nan=True, msg=name)
    assert fresh.state.step == 12 and fresh.state.best_step == tr.state.best_step


def test_checkpoint_of_the_previous_format_loads_and_resumes(tmp_path):
    """A checkpoint written by the previous version (format 1, tests/data, 5 of 10 steps; config with the old
    key names) gives its EMA weights and resumes to the end."""
    stored = load_checkpoint(V1)
    assert stored["format"] == "amphys-checkpoint/1" and "gen_state" in stored
    weights = checkpoint_weights(stored)
    assert weights.meta["dim"] == 2 and weights.meta["step"] == 5 and len(weights.ema) == len(stored["ema"])
    assert "validation_fraction" in weights.meta["config_json"]  # read silently by FitConfig(warn_renamed=False)
    cfg = FitConfig.from_json(weights.meta["config_json"], warn_renamed=False)
    assert (cfg.holdout_every, cfg.holdout_rows, cfg.steps) == (2, 64, 10)
    assert upgrade(stored)["format"] == CHECKPOINT_FORMAT and len(upgrade(stored)["gen"]) == 1
    model = amphys.load_model(V1)  # the EMA weights, as a model
    assert model.status == FitStatus.STOPPED and "step 5" in model.message and model.t_span == (0.0, 1.0)
    torch.testing.assert_close([p.float() for p in model.model_.parameters()], weights.ema, rtol=0, atol=0)
    ckpt = tmp_path / "v1.ckpt"
    shutil.copy(V1, ckpt)
    rng = np.random.default_rng(0)  # the data of the run that wrote it
    times = np.linspace(0.0, 1.0, 5)
    xs = [rng.normal(size=(200, 2)) + t for t in times]
    out = train(times, xs, None, cfg, checkpoint=ckpt, resume=True, progress=False)
    assert out.status == FitStatus.CONVERGED and out.steps_done == 10
    np.testing.assert_array_equal(out.history["step"][:5], stored["history"]["step"].numpy())
    assert load_checkpoint(ckpt)["format"] == CHECKPOINT_FORMAT  # rewritten in the current format
    with pytest.raises(CheckpointError, match="different settings"):
        train(times, xs, None, cfg.replace(lr=0.5), checkpoint=V1, resume=True, progress=False)


def test_holdout_criterion_is_pluggable():
    """Any score(ema_module) -> float selects the EMA weights (lower is better) and drives patience."""
    times, xs = gaussian_snapshots()
    tr = Trainer(times, xs, None, FitConfig(steps=40, **SMALL))
    scores = iter([5.0, 3.0, 4.0, 4.5, 6.0, 7.0, 8.0, 9.0])
    seen = []

    def score(module):
        assert not any(p.requires_grad for p in module.parameters())
        seen.append(_flat(module.parameters()))
        return next(scores)

    tr.holdout = loop.Holdout(score, every=5, patience=3, name="val_loss", label="test score")
    out = tr.run(progress=False)
    # scored at steps 5, 10, 15, 20, 25: best at step 10, then three without improvement
    assert out.status == FitStatus.CONVERGED and out.steps_done == 25
    assert "test score stopped improving (patience 3 evaluations) at step 25" in out.message
    assert "EMA weights of step 10 (lowest test score 3)" in out.message
    assert torch.equal(_flat(out.model.parameters()).float(), seen[1])
    np.testing.assert_array_equal(np.asarray(out.history["val_loss"])[~np.isnan(out.history["val_loss"])],
                                  [5.0, 3.0, 4.0, 4.5, 6.0])


class _RefuseAt:
    def __init__(self, step):
        self.step = step

    def check(self, state, loss, grad_norm):
        return f"refused at step {state.step + 1}" if state.step + 1 == self.step else None

    def accept(self, state, loss, grad_norm):
        pass


def test_guard_is_pluggable():
    times, xs = gaussian_snapshots()
    tr = Trainer(times, xs, None, FitConfig(steps=20, **SMALL))
    tr.guard = _RefuseAt(7)
    out = tr.run(progress=False)
    assert out.status == FitStatus.DIVERGED and out.steps_done == 6
    assert out.message.startswith("refused at step 7; kept the EMA weights of the last good step (6)")
    assert out.history["step"][-1] == 7  # the refused step is recorded


def test_learning_rate_schedule():
    s = loop.LoopSettings(steps=11, lr=1.0, warmup=4, lr_final=0.1)
    lrs = [loop.lr_at(s, k) for k in range(11)]
    np.testing.assert_allclose(lrs[:4], [0.25 * (k + 1) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * k / 10)))
                                         for k in range(4)])
    assert lrs[-1] == pytest.approx(0.1)
    assert loop.lr_at(dataclasses.replace(s, schedule="constant"), 7) == 1.0
