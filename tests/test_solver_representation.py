"""Input representations of the network (FitConfig ``time_frequencies``, ``input_map``, ``input_scale``): the fused
derivatives stay exact, the features are what they claim in physical time, the frequencies detected in snapshot
moments are the flow's, and models with them save and load."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import amphys
from amphys.errors import InputError
from amphys.solver.config import FitConfig
from amphys.solver.model import ActionModel, derivatives
from amphys.solver.spectrum import detect_frequencies, resolve_representation

OPTIONS = [dict(time_frequencies=[2.0, 0.7]), dict(input_map="radial", input_scale=1.5),
           dict(input_map="asinh", input_scale=0.8, time_frequencies=[3.0], time_features=2, modulate=True),
           dict(time_frequencies=[2.0, 0.7], modulate=True),
           dict(time_frequencies=[2.0], time_features=2, modulate=True, periodic_time=True)]


@pytest.mark.parametrize("options", OPTIONS, ids=["frequencies", "radial", "asinh+all", "modulated", "periodic"])
def test_fused_derivatives_equal_autograd(options):
    torch.manual_seed(0)
    m = ActionModel(3, hidden=16, depth=2, t_span=(1.0, 3.0), **{"time_features": 0, **options}).double()
    for p in m.parameters():   # the last layer starts at zero: give every weight a value
        torch.nn.init.normal_(p, std=0.5)
    tau = torch.rand(40, dtype=torch.float64)
    y = 3 * torch.randn(40, 3, dtype=torch.float64)
    fused = derivatives(m, tau, y, mode="fused", create_graph=False, n_grad=30)
    auto = derivatives(m, tau, y, mode="autograd", create_graph=False, n_grad=30)
    for a, b in zip(fused[:3], auto[:3]):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_frequency_features_are_sin_and_cos_of_physical_time():
    """The features are sin(ωt), cos(ωt) in the data's time, and the modulated inputs their products with z, so a
    field rotating at ω reads the rotated frame through the first layer."""
    w, t0, t1 = 1.3, 2.0, 7.0
    m = ActionModel(2, hidden=4, depth=1, time_features=0, t_span=(t0, t1), time_frequencies=[w], modulate=True)
    t = torch.linspace(t0, t1, 9)
    tau = (t - t0) / (t1 - t0)
    parts = m.net._time_inputs(tau[:, None])
    torch.testing.assert_close(parts[3][:, 0], torch.sin(w * t), rtol=0, atol=1e-6)
    torch.testing.assert_close(parts[4][:, 0], torch.cos(w * t), rtol=0, atol=1e-6)
    z = torch.randn(9, 2, generator=torch.Generator().manual_seed(0))  # float32: products to 1e-5
    h = m.net._inputs(parts, z)    # [τ, sin, cos, z, z sin, z cos]
    assert h.shape == (9, 1 + 2 + 2 + 4)
    torch.testing.assert_close(h[:, 5:7], z * torch.sin(w * t)[:, None], rtol=0, atol=1e-5)
    torch.testing.assert_close(h[:, 7:9], z * torch.cos(w * t)[:, None], rtol=0, atol=1e-5)


def test_periodic_time_reads_time_only_through_the_frequencies():
    """With periodic_time, s(t, x) = s(t + 2π/ω, x) for every weight (τ and the kπτ features are held at zero),
    and ∂_t s = 0 when the frequency features do not move; without it the same weights are not periodic."""
    w, t0, t1 = 1.3, 2.0, 7.0
    torch.manual_seed(1)
    m = ActionModel(2, hidden=8, depth=2, time_features=2, t_span=(t0, t1), time_frequencies=[w], modulate=True,
                    periodic_time=True).double()
    for p in m.parameters():
        torch.nn.init.normal_(p, std=0.5)
    y = torch.randn(20, 2, dtype=torch.float64)
    t = 2.5 + 0.1 * torch.arange(20, dtype=torch.float64)
    shift = 2 * math.pi / w / (t1 - t0)
    tau = (t - t0) / (t1 - t0)
    torch.testing.assert_close(m(tau + shift, y), m(tau, y), rtol=1e-12, atol=1e-12)
    aperiodic = ActionModel(2, hidden=8, depth=2, time_features=2, t_span=(t0, t1), time_frequencies=[w],
                            modulate=True).double()
    aperiodic.load_state_dict(m.state_dict())
    assert torch.max(torch.abs(aperiodic(tau + shift, y) - aperiodic(tau, y))) > 1e-3
    cfg = FitConfig(time_frequencies=[w], periodic_time=True, hidden=8, depth=2, time_features=0)
    assert ActionModel.from_config(cfg, 2, t_span=(t0, t1)).net.periodic
    assert not ActionModel.from_config(cfg.replace(time_frequencies=()), 2).net.periodic  # nothing to be periodic in
    with pytest.raises(InputError, match="periodic_time"):
        FitConfig(periodic_time="yes")


def test_the_compressions_keep_the_core_and_squash_the_tail():
    m = ActionModel(2, hidden=4, depth=1, time_features=0, input_map="radial", input_scale=2.0).double()
    z = torch.tensor([[1e-3, 0.0], [100.0, 0.0]], dtype=torch.float64)
    c = m.net.compress(z)
    assert c[0, 0] == pytest.approx(1e-3, rel=1e-3) and c[1, 0] == pytest.approx(100 / 51)
    a = ActionModel(2, hidden=4, depth=1, time_features=0, input_map="asinh", input_scale=2.0).double()
    assert float(a.net.compress(z)[1, 0]) == pytest.approx(2 * math.asinh(50))


def test_config_fields():
    assert FitConfig().input_map == "none" and FitConfig(time_frequencies="none").time_frequencies == ()
    assert FitConfig(time_frequencies=[0.5, 1]).time_frequencies == (0.5, 1.0)
    assert FitConfig(time_frequencies="0.5, 1").time_frequencies == (0.5, 1.0)   # the command line's form
    cfg = FitConfig(time_frequencies=(0.25,), input_map="asinh", input_scale=2.0, time_modulation=True)
    assert FitConfig.from_json(cfg.to_json()) == cfg
    for bad in ([-1.0], [0.0], "fast", [1.0] * 9, "1, x", 3.0):
        with pytest.raises(InputError):
            FitConfig(time_frequencies=bad)
    with pytest.raises(InputError):
        FitConfig(input_map="log")
    with pytest.raises(InputError):
        FitConfig(input_scale=0.0)


def _gaussian_snapshots(times, mean, std, n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return [m + s * rng.standard_normal((n, 2)) for m, s in zip(mean, std)]


def test_detected_frequencies():
    """A packet circling at ω (one and a half turns), one breathing at 2ω about a mean oscillating at ω, and one
    that drifts and spreads without oscillating; the detected ω is within 3% (the resolution of 1.5 periods of 21
    snapshots is 2π/T = 0.67ω)."""
    w = 1.7
    t = np.linspace(0.0, 3 * np.pi / w, 21)
    circle = np.stack([2 * np.cos(w * t), 2 * np.sin(w * t)], axis=1)
    found = detect_frequencies(t, _gaussian_snapshots(t, circle, np.ones_like(t)))
    assert len(found) == 1 and found[0] == pytest.approx(w, rel=0.03)
    breathing = np.stack([np.cos(w * t), 0 * t], axis=1)
    found = detect_frequencies(t, _gaussian_snapshots(t, breathing, 1 + 0.5 * np.cos(2 * w * t)))
    assert len(found) == 1 and found[0] == pytest.approx(w, rel=0.03)
    drift = np.stack([t, 0.3 * t ** 2], axis=1)
    assert detect_frequencies(t, _gaussian_snapshots(t, drift, np.sqrt(1 + t))) == ()
    assert detect_frequencies(t[:5], _gaussian_snapshots(t[:5], circle[:5], np.ones(5))) == ()  # too few times


def test_trends_are_not_oscillations():
    """Non-periodic moments over a short window — a mean and a spread relaxing exponentially, a cubic drift — are
    fitted best at the slow end of the trial range, or as well by a quintic trend: no frequency (an earlier version
    reported the slowest trial frequency, 1.5π here, for both). A circling packet with the same window and noise is
    still found."""
    t = np.linspace(0.0, 1.0, 21)
    relax = np.stack([2 * np.exp(-2 * t), -np.exp(-2 * t)], axis=1)
    assert detect_frequencies(t, _gaussian_snapshots(t, relax, np.sqrt(1 - 0.8 * np.exp(-4 * t)))) == ()
    cubic = np.stack([2 * t ** 3, 0 * t], axis=1)
    assert detect_frequencies(t, _gaussian_snapshots(t, cubic, np.ones_like(t))) == ()
    w = 4 * np.pi   # two turns in the window
    circle = np.stack([np.cos(w * t), np.sin(w * t)], axis=1)
    (found,) = detect_frequencies(t, _gaussian_snapshots(t, circle, np.ones_like(t)))
    assert found == pytest.approx(w, rel=0.03)


def test_auto_resolves_in_the_fit_and_the_model_round_trips(tmp_path):
    """time_frequencies="auto" becomes the detected tuple in the config the fit returns (the coherent state
    oscillates at ω = 1); the saved model reloads with the same features and the same velocity."""
    system = amphys.systems.get("harmonic", state="coherent")
    data = amphys.generate(system, np.linspace(*system.t_span, 21), 1000, seed=0, progress=False)
    fit = amphys.fit(data, steps=5, hidden=8, depth=1, batch_size=64, progress=False, time_frequencies="auto",
                     input_map="asinh", periodic_time=True)
    (w,) = fit.config.time_frequencies
    assert w == pytest.approx(1.0, rel=0.03)
    fit.save(tmp_path / "m.pt")
    again = amphys.load_model(tmp_path / "m.pt")
    assert again.config == fit.config
    x = data["x"].values[:7]
    np.testing.assert_array_equal(again.velocity(2.0, x), fit.velocity(2.0, x))
    # periodic in t at the detected frequency, after the round trip too
    np.testing.assert_allclose(again.velocity(2.0 + 2 * np.pi / w, x), again.velocity(2.0, x), rtol=1e-4, atol=1e-6)
    assert resolve_representation(FitConfig(), [0.0, 1.0], [x, x]).time_frequencies == ()


def test_stored_configs_of_earlier_versions_read_the_new_fields_as_off():
    """A complete stored config without the representation fields (a model or checkpoint of an earlier version)
    reads them as off, whatever the current defaults; a partial user config gets the defaults."""
    from amphys.solver.config import ADDED_OFF

    old = {k: v for k, v in FitConfig().to_dict().items() if k not in ADDED_OFF}
    cfg = FitConfig.from_dict(old)
    assert cfg.time_frequencies == () and cfg.time_modulation is False and cfg.input_map == "none"
    assert cfg.periodic_time is False
    assert FitConfig.from_dict({"steps": 10}) == FitConfig(steps=10)
