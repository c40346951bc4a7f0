"""Training mechanics: resume gives bitwise the same weights, the divergence guard, checkpoints, time integrals,
quadrature weights, model normalisation. Small networks and few steps: these tests are about mechanics."""

import numpy as np
import pytest
import torch

from amphys.errors import CheckpointError, InputError
from amphys.solver.checkpoint import load_checkpoint
from amphys.solver.config import FitConfig
from amphys.solver.model import ActionModel
from amphys.solver.quadrature import SnapshotData, TimeIntegral, gauss_legendre, simpson_weights, trapezoid_weights
from amphys.solver.status import FitStatus
from amphys.solver.train import Trainer, train

SMALL = dict(hidden=16, depth=2, batch_size=64, warmup=5, holdout_every=5, holdout_fraction=0.2, patience=0,
             holdout_rows=256)


def gaussian_snapshots(n_times=5, n=200, d=2, seed=0, drift=1.0):
    rng = np.random.default_rng(seed)
    times = np.linspace(0.0, 1.0, n_times)
    return times, [rng.normal(size=(n, d)) + drift * t for t in times]


# -- quadrature -------------------------------------------------------------------------------------------------
def test_quadrature_weights_are_exact_for_polynomials():
    rng = np.random.default_rng(1)
    for n in (5, 6, 9):  # even and odd numbers of intervals, irregular (jittered) grids
        t = np.linspace(0, 1, n)
        t[1:-1] += rng.uniform(-0.2, 0.2, n - 2) / (n - 1)
        w = simpson_weights(t)
        assert not np.allclose(w, trapezoid_weights(t))
        # irregular Simpson (and its last-interval correction) is exact for quadratics, not beyond
        np.testing.assert_allclose(w @ (3 * t ** 2 - 2 * t + 1), 1.0, rtol=1e-12)
        assert abs(w @ t ** 4 - 0.2) > 1e-8
        np.testing.assert_allclose(trapezoid_weights(t) @ (3 * t + 1), 2.5, rtol=1e-12)
    u = np.linspace(0, 1, 7)  # uniform: exact for cubics
    np.testing.assert_allclose(simpson_weights(u) @ u ** 3, 0.25, rtol=1e-12)
    x, w = gauss_legendre(6)
    np.testing.assert_allclose(w @ x ** 11, 1 / 12, rtol=1e-12)
    # very unequal spacing would give a negative Simpson weight: falls back to trapezoid
    t = np.array([0.0, 0.01, 1.0])
    np.testing.assert_allclose(simpson_weights(t), trapezoid_weights(t))


def _source(mode, x_source="mixture", rule="auto", n_nodes=8, sampler=None):
    times, xs = gaussian_snapshots(n_times=4, n=50)
    counts = torch.tensor([50] * 4)
    data = SnapshotData(times, torch.as_tensor(np.concatenate(xs)), torch.tensor([0, 50, 100, 150]), counts, None)
    return TimeIntegral(data, mode=mode, x_source=x_source, rule=rule, n_nodes=n_nodes, n_interior=2000,
                        n_boundary=30, sampler=sampler, to_norm=lambda x: torch.as_tensor(x), t_phys=lambda t: t)


@pytest.mark.parametrize("mode, x_source", [("mc", "mixture"), ("mc", "nearest"), ("quadrature", "mixture"),
                                            ("snapshots", "mixture"), ("mc", "sampler"), ("quadrature", "sampler")])
def test_batches_integrate_one_to_one(mode, x_source):
    sampler = (lambda t, n, rng: np.full((n, 2), 10.0 + t)) if x_source == "sampler" else None
    src = _source(mode, x_source, sampler=sampler)
    b = src.draw(torch.Generator().manual_seed(0), np.random.default_rng(0))
    np.testing.assert_allclose(b.c.sum().item(), 1.0, rtol=1e-12)
    np.testing.assert_allclose([b.c0.sum().item(), b.c1.sum().item()], [1.0, 1.0], rtol=1e-12)
    assert b.tau.min() >= 0 and b.tau.max() <= 1 and b.y.shape == (len(b.tau), 2)
    if x_source == "sampler":
        np.testing.assert_allclose(b.y[:, 0].numpy(), 10.0 + b.tau.numpy())
    else:  # boundaries come from the first and last snapshot
        data = src.data
        assert all(any(torch.equal(r, s) for s in data.y[:50]) for r in b.y0[:5])
        assert all(any(torch.equal(r, s) for s in data.y[150:]) for r in b.y1[:5])
    assert x_source in src.describe() or mode == "snapshots" or x_source == "mixture" and "mixture" in src.describe()


def test_mixture_picks_the_later_snapshot_with_probability_lambda():
    src = _source("mc", "mixture")
    tau = np.full(20000, 1 / 3 * 0.25)  # a quarter of the way from snapshot 0 (τ=0) to snapshot 1 (τ=1/3)
    y, _ = src._from_data(tau, torch.Generator().manual_seed(0))
    from_second = torch.isin(y[:, 0], src.data.y[50:100, 0]).double().mean().item()
    np.testing.assert_allclose(from_second, 0.25, atol=5 * np.sqrt(0.25 * 0.75 / 20000))


# -- model --------------------------------------------------------------------------------------------------------
def test_model_physical_units_follow_the_normalisation():
    """v_phys = (ℓ/T) ∇_y s and s_phys = (ℓ²/T) s, with isotropic ℓ; float64 in, float64 out."""
    torch.manual_seed(0)
    m = ActionModel(2, hidden=8, depth=2, t_span=(2.0, 6.0), mean=torch.tensor([1.0, -1.0]),
                    std=torch.tensor([2.0, 0.5])).double()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.5)
    t = torch.full((5,), 3.0, dtype=torch.float64)
    x = torch.randn(5, 2, dtype=torch.float64)
    v = m.velocity(t, x)
    xx = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(m.potential(t, xx).sum(), xx)
    np.testing.assert_allclose(v.numpy(), g.numpy(), rtol=1e-10)  # v = ∇_x s_phys: a gradient in x
    assert v.dtype == torch.float64
    np.testing.assert_allclose(float(m.length), np.sqrt((4 + 0.25) / 2))


# -- training mechanics -------------------------------------------------------------------------------------------
def _params(out):
    return torch.cat([p.detach().flatten() for p in out.model.parameters()])


def test_resume_after_interruption_is_bitwise_identical(tmp_path):
    times, xs = gaussian_snapshots()
    cfg = FitConfig(steps=40, checkpoint_every=10, seed=3, **SMALL)
    full = train(times, xs, None, cfg, progress=False)
    ckpt = tmp_path / "run.ckpt"

    def crash(step, record):
        if step == 25:
            raise RuntimeError("simulated crash")
        return False

    with pytest.raises(RuntimeError, match="simulated crash"):
        train(times, xs, None, cfg, checkpoint=ckpt, progress=False, callback=crash)
    assert int(load_checkpoint(ckpt)["step"]) == 20  # the last periodic checkpoint
    resumed = train(times, xs, None, cfg, checkpoint=ckpt, resume=True, progress=False)
    assert resumed.steps_done == 40 and resumed.status == FitStatus.CONVERGED
    assert torch.equal(_params(full), _params(resumed))
    np.testing.assert_array_equal(full.history["loss"], resumed.history["loss"][-len(full.history["loss"]):])
    # a stop by the callback also leaves a checkpoint from which the run completes identically
    ckpt2 = tmp_path / "stop.ckpt"
    stopped = train(times, xs, None, cfg, checkpoint=ckpt2, progress=False, callback=lambda s, r: s == 13)
    assert stopped.status == FitStatus.STOPPED and stopped.steps_done == 13
    again = train(times, xs, None, cfg, checkpoint=ckpt2, resume=True, progress=False)
    assert torch.equal(_params(full), _params(again))


def test_resume_refuses_a_different_config(tmp_path):
    times, xs = gaussian_snapshots()
    ckpt = tmp_path / "a.ckpt"
    train(times, xs, None, FitConfig(steps=5, **SMALL), checkpoint=ckpt, progress=False)
    with pytest.raises(CheckpointError, match="lr"):
        train(times, xs, None, FitConfig(steps=5, lr=1e-2, **SMALL), checkpoint=ckpt, resume=True, progress=False)
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="not a readable"):
        train(times, xs, None, FitConfig(steps=5, **SMALL), checkpoint=bad, resume=True, progress=False)
    with pytest.raises(InputError, match="checkpoint"):
        train(times, xs, None, FitConfig(steps=5, **SMALL), resume=True, progress=False)


def test_absurd_learning_rate_diverges_with_finite_weights():
    times, xs = gaussian_snapshots(drift=3.0)
    cfg = FitConfig(steps=200, lr=1e4, warmup=0, grad_clip=0.0, ema_decay=0.9, **{k: v for k, v in SMALL.items()
                                                                                   if k != "warmup"})
    out = train(times, xs, None, cfg, progress=False)
    assert out.status == FitStatus.DIVERGED
    assert "kept the EMA weights" in out.message
    assert out.steps_done < 200
    assert torch.isfinite(_params(out)).all()
    assert "non-finite" in out.message or "exploding" in out.message


def test_time_limit_and_history():
    times, xs = gaussian_snapshots()
    out = train(times, xs, None, FitConfig(steps=10_000, max_time=0.5, **SMALL), progress=False)
    assert out.status == FitStatus.STOPPED and "max_time" in out.message
    h = out.history
    assert len(h["step"]) == out.steps_done
    assert np.all(np.diff(h["wall_time"]) >= 0) and np.all(np.isfinite(h["loss"]))
    assert np.isfinite(np.asarray(h["val_loss"])).sum() == out.steps_done // 5


def test_trainer_picks_the_loss_from_the_data():
    times, xs = gaussian_snapshots(n=40)
    ws = [np.ones(40) * np.exp(t) for t in times]
    tr = Trainer(times, xs, ws, FitConfig(steps=2, **SMALL))
    assert tr.config.loss == "unbalanced"
    with pytest.raises(InputError, match="weights"):
        Trainer(times, xs, ws, FitConfig(steps=2, loss="am", **SMALL))
    with pytest.raises(InputError, match="sampler"):
        Trainer(times, xs, None, FitConfig(steps=2, interpolant="sampler", **SMALL))
    tr = Trainer(times, xs, None, FitConfig(steps=2, **SMALL), sampler=lambda t, n, rng: rng.normal(size=(n, 2)))
    assert tr.config.interpolant == "sampler" and not tr.method.holdout and tr.holdout is None


@pytest.mark.parametrize("overrides", [dict(centre=True), dict(time_integral="quadrature"),
                                       dict(time_integral="snapshots"), dict(loss="entropic", sigma=0.3),
                                       dict(loss="entropic", sigma=0.3, laplacian="hutchinson"),
                                       dict(weight_fn="sine"), dict(quadratic_head=True), dict(derivatives="func"),
                                       dict(schedule="constant", ema_decay=0.0, grad_clip=0.0)])
def test_options_train_without_error(overrides):
    times, xs = gaussian_snapshots()
    out = train(times, xs, None, FitConfig(steps=6, **{**SMALL, **overrides}), progress=False)
    assert out.status == FitStatus.CONVERGED and np.all(np.isfinite(out.history["loss"]))


def test_centre_removes_functions_of_time():
    """With centre=True, s(t, mean) = 0 exactly, whatever the network does."""
    times, xs = gaussian_snapshots()
    out = train(times, xs, None, FitConfig(steps=10, centre=True, **SMALL), progress=False)
    m = out.model
    t = torch.linspace(0, 1, 7, dtype=torch.float64)
    x = m.mean.expand(7, -1)
    np.testing.assert_allclose(m.potential(t, x).detach().numpy(), 0.0, atol=1e-14)
