"""amphys.fit / FitResult / load_model / `amphys fit`: the API around the solver (mechanics, small networks)."""

import inspect
import subprocess
import sys

import numpy as np
import pytest
import torch
import xarray as xr

import amphys
from amphys.cli.main import main
from amphys.errors import CheckpointError, InputError, TrainingDiverged
from amphys.solver.status import FitStatus
from amphys.workflows.result import Transported

SMALL = dict(hidden=16, depth=2, batch_size=64, steps=30, warmup=5, holdout_every=10, progress=False,
             holdout_rows=256)


@pytest.fixture(scope="module")
def data():
    return amphys.generate(amphys.systems.get("barenblatt", dim=2), np.linspace(1.0, 2.0, 5), 300, seed=0)


@pytest.fixture(scope="module")
def model(data):
    return amphys.fit(data, **SMALL)


def test_fit_result_basics(model, data):
    assert model.dim == 2 and model.t_span == (1.0, 2.0)
    assert model.status == "converged" and "completed 30 steps" in model.message
    assert model.config.loss == "am" and model.config.interpolant in ("ot", "mixture")  # resolved from the data
    assert (model.units_x, model.units_t) == (data.attrs["units_x"], data.attrs["units_t"])
    h = model.history
    assert isinstance(h, xr.Dataset) and "step" in h.dims
    for name in ("loss", "grad_norm", "lr", "wall_time", "val_loss", "kinetic"):
        assert name in h
    assert h["step"].values[-1] == 30 and "mc" in h.attrs["time_integral"]
    assert np.isfinite(model.final_loss)
    assert "FitResult(dim=2" in repr(model)


def test_velocity_potential_in_physical_units(model):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 2))
    v = model.velocity(1.5, x)
    assert v.shape == (7, 2) and v.dtype == np.float64
    np.testing.assert_array_equal(model(1.5, x), v)  # callable v(t, x)
    np.testing.assert_allclose(model.velocity(np.full(7, 1.5), x), v, rtol=1e-12)
    s = model.potential(1.5, x)
    assert s.shape == (7,) and s.dtype == np.float64
    h = 1e-6  # v = ∇_x s: central differences in float64
    fd = np.stack([(model.potential(1.5, x + h * e) - model.potential(1.5, x - h * e)) / (2 * h)
                   for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(v, fd, rtol=1e-5, atol=1e-8)
    with pytest.raises(InputError, match=r"x: expected shape \(n, 2\)"):
        model.velocity(1.5, np.zeros((3, 3)))
    with pytest.raises(InputError, match="t: expected a scalar or shape"):
        model.velocity(np.zeros(2), x)
    with pytest.raises(InputError, match="finite"):
        model.velocity(np.nan, x)


def test_push_shapes_order_and_reversibility(model):
    rng = np.random.default_rng(1)
    x0 = rng.normal(size=(20, 2))
    times = [1.8, 1.2, 1.5, 0.9, 1.2]  # any order, repeats, one before t0
    out = model.push(x0, 1.2, times)
    assert out.shape == (5, 20, 2)
    np.testing.assert_array_equal(out[1], x0)
    np.testing.assert_array_equal(out[1], out[4])
    back = model.push(out[0], 1.8, [1.2], rtol=1e-9, atol=1e-11)[0]  # backwards in time undoes forwards
    np.testing.assert_allclose(back, x0, atol=1e-6)
    rk4 = model.push(x0, 1.2, [1.8], method="rk4", step_size=0.01)[0]
    np.testing.assert_allclose(rk4, out[0], atol=1e-5)
    with pytest.raises(InputError, match="log_weights: push returns positions only; use push_weighted"):
        model.push(x0, 1.2, [1.5], log_weights=True)
    with pytest.raises(InputError, match="push_weighted: only unbalanced fits"):
        model.push_weighted(x0, 1.2, [1.5])
    with pytest.raises(amphys.errors.UnknownNameError, match="dopri5"):
        model.push(x0, 1.2, [1.5], method="magic")


def test_save_load_round_trip(model, tmp_path):
    path = tmp_path / "model.pt"
    model.save(path)
    state = torch.load(path, weights_only=True)  # tensors, strings and numbers only
    assert state["format"] == "amphys-model/1"
    loaded = amphys.load_model(path)
    x = np.random.default_rng(2).normal(size=(11, 2))
    np.testing.assert_array_equal(loaded.velocity(1.3, x), model.velocity(1.3, x))
    np.testing.assert_array_equal(loaded.potential(1.3, x), model.potential(1.3, x))
    assert loaded.config == model.config and loaded.status == model.status and loaded.t_span == model.t_span
    np.testing.assert_array_equal(loaded.history["loss"].values, model.history["loss"].values)


def test_load_model_refuses_bad_files(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="not a readable"):
        amphys.load_model(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="format"):
        amphys.load_model(foreign)
    odd = tmp_path / "odd.pt"
    torch.save({"format": "amphys-model/1", "config_json": "{}", "meta_json": "{}"}, odd)
    with pytest.raises(CheckpointError, match="not a valid amphys model"):
        amphys.load_model(odd)
    with pytest.raises(CheckpointError, match="not found"):
        amphys.load_model(tmp_path / "missing.pt")


def test_training_checkpoint_loads_as_a_model(data, tmp_path):
    ckpt = tmp_path / "run.ckpt"
    result = amphys.fit(data, checkpoint=ckpt, **{**SMALL, "steps": 10, "holdout_fraction": 0.0})
    loaded = amphys.load_model(ckpt)
    x = np.random.default_rng(3).normal(size=(5, 2))
    np.testing.assert_allclose(loaded.velocity(1.5, x), result.velocity(1.5, x), rtol=1e-6, atol=1e-9)


def test_nan_in_data_is_refused_before_training(data):
    bad = data.copy(deep=True)
    bad["x"].values[3, 1] = np.nan
    calls = []
    with pytest.raises(InputError, match="NaN"):
        amphys.fit(bad, callback=lambda s, r: calls.append(s), **SMALL)
    assert calls == []
    one_time = data.isel(sample=data["time"].values == 1.0)
    with pytest.raises(InputError, match="at least 2 distinct times"):
        amphys.fit(one_time, **SMALL)


def test_weighted_data_selects_unbalanced(data):
    w = np.exp(0.3 * data["time"].values)
    weighted = amphys.make_snapshots(data["time"].values, data["x"].values, weight=w)
    result = amphys.fit(weighted, **SMALL)
    assert result.config.loss == "unbalanced" and "loss 'unbalanced' chosen" in result.message
    out = result.push_weighted(weighted["x"].values[:4], 1.0, [1.5])
    assert isinstance(out, Transported) and out.x.shape == (1, 4, 2) and out.log_weight.shape == (1, 4)
    # the positions are those of push, up to the ODE tolerance (rtol 1e-6): the augmented system (positions and
    # log-weights) takes its own adaptive steps
    np.testing.assert_allclose(out.x, result.push(weighted["x"].values[:4], 1.0, [1.5]), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="weights"):
        amphys.fit(weighted, loss="am", **SMALL)


def test_entropic_push_is_an_sde(data):
    result = amphys.fit(data, loss="entropic", sigma=0.1, **SMALL)
    x0 = np.zeros((500, 2))
    a = result.push(x0, 1.0, [1.5, 2.0], seed=1)
    b = result.push(x0, 1.0, [1.5, 2.0], seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2, 500, 2)
    # the noise alone spreads the points by about σ√Δt (the drift is smooth and small over one unit)
    assert 0.5 * 0.1 * np.sqrt(1.0) < a[1].std(axis=0).mean() < 2.0 * 0.1 * np.sqrt(1.0) + 0.5
    with pytest.raises(InputError, match="forward in time"):
        result.push(x0, 1.5, [1.0])


def test_callable_sigma_cannot_be_saved(data, tmp_path):
    result = amphys.fit(data, loss="entropic", sigma=lambda t: 0.1 + 0 * t, **{**SMALL, "steps": 3})
    with pytest.raises(InputError, match="callable sigma"):
        result.save(tmp_path / "m.pt")


def test_cli_fit_on_generated_file(tmp_path, capsys):
    data = tmp_path / "data.h5"
    assert main(["generate", "barenblatt", "--set", "dim=2", "--times", "1:2:5", "--n-per-time", "200", "-o",
                 str(data)]) == 0
    out = tmp_path / "model.pt"
    args = ["fit", str(data), "-o", str(out), "--steps", "20", "--hidden", "16", "--depth", "2",
            "--batch-size", "64", "--holdout-every", "5", "--holdout-rows", "128", "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "converged" in text and "final loss" in text and "wall time" in text
    model = amphys.load_model(out)
    assert model.dim == 2 and model.config.steps == 20 and model.config.hidden == 16
    assert (tmp_path / "model.pt.ckpt").exists()
    # --resume with more steps is refused (different config); with the same config it continues (nothing left)
    assert main(args[:-1] + ["--resume", "--no-progress"]) == 0
    cfg = tmp_path / "fit.toml"
    cfg.write_text("steps = 25\ntime_integral = 'quadrature'\n")
    assert main(args + ["--config", str(cfg), "--resume"]) == 2
    assert "different settings" in capsys.readouterr().err
    assert main(["fit", str(tmp_path / "missing.h5"), "-o", str(out)]) == 2


def test_fit_command_does_not_import_torch():
    code = ("import sys, argparse; import amphys.cli.fit_cmd as m; p = argparse.ArgumentParser(); "
            "m.add_arguments(p); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_amphys_fit_is_a_plain_function_whatever_was_imported_first(data):
    import amphys.workflows.fitting as fitting  # importing the module does not change what amphys.fit is

    assert amphys.fit is fitting.fit and inspect.isfunction(amphys.fit)
    assert list(inspect.signature(amphys.fit).parameters)[:2] == ["snapshots", "config"]
    assert amphys.fit(data, **{**SMALL, "steps": 2}).status is FitStatus.CONVERGED


def test_divergence_returns_or_raises_with_throw(data):
    # lr = 1e4 without warmup or clipping: the guard stops training within a few steps (test_solver_train)
    absurd = {**SMALL, "lr": 1e4, "warmup": 0, "grad_clip": 0.0, "steps": 200}
    result = amphys.fit(data, **absurd)
    assert result.status is FitStatus.DIVERGED and result.status == "diverged"
    with pytest.raises(TrainingDiverged, match="training diverged: .*throw=False") as err:
        amphys.fit(data, throw=True, **absurd)
    assert isinstance(err.value.result, amphys.FitResult) and err.value.result.status is FitStatus.DIVERGED
    assert amphys.fit(data, throw=True, **{**SMALL, "steps": 2}).status is FitStatus.CONVERGED
