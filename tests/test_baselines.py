"""Baselines: minibatch-OT flow matching and score matching + Langevin on a Gaussian path.

The path: q_t = N(μ_t, σ_t² I) in 2-D with μ_t = μ_0 + c t and σ_t = σ_0 + r t, t ∈ [0, 1]. Its least-action
velocity is v*(t, x) = c + (r/σ_t)(x − μ_t) (the displacement interpolation of Gaussians), so v* = c at the
mean; the score of q_t perturbed by N(0, diag τ²) is −(x − μ_t)/(σ_t² + τ²).

Snapshots use common random numbers, x_k = μ_{t_k} + σ_{t_k} z with one z ~ N(0, I)ⁿ: each snapshot is an
exact i.i.d. sample of its marginal (what the methods see), but the across-time sampling noise of the
empirical mean velocity shrinks to (r |z̄|) ≤ 0.5 · 4/√n ≈ 0.04 (4 standard errors, n = 3000), so the
tolerances below measure the methods' training error, not the data's noise. Training budgets are small
(seconds on a shared CPU); each tolerance is about 3× the error observed at that budget and far below the
error of a wrong answer.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ot")
pytest.importorskip("torchdiffeq")

from amphys.baselines import (  # noqa: E402
    CFMConfig,
    SMConfig,
    fit_flow_matching,
    fit_score_matching,
    tune_langevin_step,
)
from amphys.errors import InputError, UnknownNameError  # noqa: E402
from amphys.solver.status import FitStatus  # noqa: E402

MU0, C, S0, R = np.array([0.0, 0.0]), np.array([2.0, -1.0]), 1.0, 0.5
TIMES = np.array([0.0, 0.5, 1.0])
N = 3000


def mean(t):
    return MU0 + C * t


def std(t):
    return S0 + R * t


def true_velocity(t, x):
    return C + (R / std(t)) * (x - mean(t))


def perturbed_score(t, x, sigma):
    return -(x - mean(t)) / (std(t) ** 2 + np.asarray(sigma) ** 2)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small networks run fastest on one thread; restore the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def snapshots():
    z = np.random.default_rng(20240611).standard_normal((N, 2))
    return TIMES, [mean(t) + std(t) * z for t in TIMES]


@pytest.fixture(scope="module")
def cfm(snapshots):
    times, xs = snapshots
    return fit_flow_matching(times, xs, steps=600, batch_size=128, hidden=64, depth=2, lr=3e-3, device="cpu",
                             progress=False, seed=0)


@pytest.fixture(scope="module")
def sm(snapshots):
    times, xs = snapshots
    cfg = SMConfig(steps=1500, batch_size=384, hidden=64, depth=2, lr=3e-3, device="cpu", progress=False,
                   n_levels=5, sigma_min=0.1, seed=0)
    return fit_score_matching(times, xs, cfg)


# -- flow matching -------------------------------------------------------------------------------------------
def test_cfm_trains_and_records_history(cfm):
    assert cfm.status == FitStatus.CONVERGED
    assert cfm.history["loss"].shape == (600,)
    assert np.all(np.isfinite(cfm.history["loss"]))
    # the regression loss falls: the late mean is well below the first steps' (a constant net would not move)
    assert cfm.history["loss"][-100:].mean() < 0.5 * cfm.history["loss"][:20].mean()


def test_checkpoints_see_the_ema_weights_of_that_step(snapshots):
    """A checkpoint's result is the one a fit of that many steps returns (same seed, same stream: the first
    k steps of a longer run are that run), and True from the hook stops training there."""
    times, xs = snapshots
    opts = dict(batch_size=64, hidden=16, depth=2, device="cpu", progress=False, seed=3, schedule="constant")
    seen = {}

    def keep(step, result, wall_time):
        seen[step] = (result.velocity(0.5, xs[1][:50]), wall_time)
        return False

    full = fit_flow_matching(times, xs, steps=30, checkpoints=(10, 20), on_checkpoint=keep, **opts)
    assert sorted(seen) == [10, 20] and full.status == FitStatus.CONVERGED
    short = fit_flow_matching(times, xs, steps=10, **opts)
    np.testing.assert_allclose(seen[10][0], short.velocity(0.5, xs[1][:50]), rtol=1e-5, atol=1e-6)
    assert not np.allclose(seen[10][0], seen[20][0])      # the weights moved between checkpoints
    assert 0 < seen[10][1] <= seen[20][1]
    stopped = fit_score_matching(times, xs, steps=30, checkpoints=(10,), on_checkpoint=lambda *a: True,
                                 n_levels=2, **opts)
    assert stopped.status == FitStatus.STOPPED and stopped.history["step"].size == 10
    for bad in ((0,), (1.5,), ("10",)):
        with pytest.raises(InputError, match="checkpoints"):
            fit_flow_matching(times, xs, steps=2, checkpoints=bad, on_checkpoint=keep, **opts)
    with pytest.raises(InputError, match="on_checkpoint"):
        fit_flow_matching(times, xs, steps=2, checkpoints=(1,), on_checkpoint=3, **opts)


def test_cfm_velocity_at_the_mean_is_the_mean_velocity(cfm):
    # Sampling error of the data's mean velocity ≤ 0.04 (module docstring); error observed ≤ 0.05 at this
    # budget (600 steps); tolerance 0.15 on a speed of |c| = 2.24 (a zero or reversed field fails).
    ts = np.array([0.1, 0.25, 0.5, 0.75, 0.9])
    got = np.concatenate([cfm.velocity(t, mean(t)[None]) for t in ts])
    np.testing.assert_allclose(got, np.broadcast_to(C, got.shape), atol=0.15)


def test_cfm_velocity_field_relative_error(cfm):
    # E‖v − v*‖²/E‖v*‖² over fresh x ~ q_t: observed ≤ 9e-4; bound 1e-2 (the constant field c, i.e. missing
    # the (r/σ_t)(x − μ_t) part, scores 2r²/(|c|² + 2r²) = 0.09; the zero field scores 1).
    for t in (0.25, 0.5, 0.75):
        x = mean(t) + std(t) * np.random.default_rng(1).standard_normal((2000, 2))
        v, vt = cfm.velocity(t, x), true_velocity(t, x)
        rel = np.sum((v - vt) ** 2) / np.sum(vt**2)
        assert rel < 1e-2, (t, rel)


def test_cfm_push_first_snapshot_to_last(cfm, snapshots):
    times, xs = snapshots
    out = cfm.generate([1.0, 0.5], N, seed=0)
    assert out.shape == (2, N, 2)
    # all N rows of x_0 are pushed; a perfect flow reproduces x_2 row for row (common z), so the differences
    # are training and ODE error: observed |Δmean| ≤ 0.02, |Δstd|/std ≤ 0.6%; tolerances 0.06 and 2%.
    np.testing.assert_allclose(out[0].mean(0), xs[-1].mean(0), atol=0.06)
    np.testing.assert_allclose(out[0].std(0), xs[-1].std(0), rtol=0.02)
    np.testing.assert_allclose(out[1].mean(0), xs[1].mean(0), atol=0.06)


def test_cfm_push_backward_and_forward(cfm, snapshots):
    times, xs = snapshots
    out = cfm.push(xs[1][:1000], 0.5, [1.0, 0.0, 0.5])
    np.testing.assert_allclose(out[2], xs[1][:1000])  # t == t0 returns x0 itself
    # same rows of z as the reference (common random numbers): observed |Δmean| ≤ 0.015, Δstd ≤ 2%
    np.testing.assert_allclose(out[1].mean(0), xs[0][:1000].mean(0), atol=0.06)  # backward in time
    np.testing.assert_allclose(out[1].std(0), xs[0][:1000].std(0), rtol=0.05)
    np.testing.assert_allclose(out[0].mean(0), xs[2][:1000].mean(0), atol=0.06)


# -- score matching ------------------------------------------------------------------------------------------
def test_dsm_score_matches_gaussian_score_at_mid_time(sm):
    assert sm.status == FitStatus.CONVERGED
    assert sm.history["loss"].shape == (1500,)
    t = 0.5
    x = mean(t) + std(t) * np.random.default_rng(2).standard_normal((2000, 2))
    # relative error E‖s − s*‖²/E‖s*‖² against the exact perturbed score; observed 0.004 (smallest level,
    # σ = 0.1 whitened) and 0.0025 (σ = 0.65) at 1500 steps. Bounds 0.02 and 0.015: the score of the wrong
    # time (t = 0 or 1, shifted to the right mean) scores ≥ 0.09 and ≥ 0.035 there.
    for level, bound in ((-1, 0.02), (2, 0.015)):
        noise = sm.sigmas[level] * sm.normaliser.std  # the level's noise in the data's units
        s, st = sm.score(t, x, level), perturbed_score(t, x, noise)
        rel = np.sum((s - st) ** 2) / np.sum(st**2)
        assert rel < bound, (level, rel)


def test_step_tuning_and_annealed_langevin(sm, snapshots):
    times, xs = snapshots
    tuning = tune_langevin_step(perturbed_score, times, xs, sm.config, perturbed=True, n=400, seed=0)
    assert tuning.grid.size == tuning.distance.size == 9
    assert np.isfinite(tuning.best) and tuning.best < tuning.grid[-1]
    # with the exact score at the default step σ_L² (grid factor 1) the chains reach the target: energy distance
    # at the noise floor of n = 400 (observed −0.002; a sampler at the wrong temperature scores ≈ 0.1)
    assert tuning.grid[4] == pytest.approx(sm.sigmas[-1] ** 2) and tuning.distance[4] < 0.01
    best = np.min(tuning.distance)
    assert best < tuning.distance[-1]  # the largest step (10× the default) is worse (it diverges: inf)
    assert best < 0.1 * tuning.distance[0]  # so is the smallest (the chains do not mix: 1.4 against 0.002)
    out = sm.generate([0.5, 1.0], 4000, seed=3, eps=tuning.best)
    # 4000 samples: standard error of a mean ≤ 1.5/√4000 = 0.024, of a std ≤ 1.5/√8000 = 1.7%; the model's
    # bias, measured with 20,000 samples, is ≤ 0.025 in the means and ≤ 2% in the stds. Tolerances: bias +
    # 4 SE (0.12 on means, 8% on stds). A step 100× too small leaves the broad start (std ≈ 7); too large
    # gives NaN.
    for k, t in enumerate((0.5, 1.0)):
        np.testing.assert_allclose(out[k].mean(0), mean(t), atol=0.12)
        np.testing.assert_allclose(out[k].std(0), std(t), rtol=0.08)


def test_tracking_sampler_with_clean_score(sm, snapshots):
    times, xs = snapshots

    def clean_score(t, x):
        return -(x - mean(t)) / std(t) ** 2

    tuning = tune_langevin_step(clean_score, times, xs, sm.config, sampler="tracking", tracking_steps=50,
                                tracking_langevin_steps=5, grid=[1e-3, 3e-2, 0.3, 5.0], n=400)
    np.testing.assert_array_equal(tuning.eval_times, [0.5, 1.0])
    # 1e-3 and 3e-2 lag behind the moving target (distances 0.66, 0.04), 0.3 follows it (0.002, the noise
    # floor at n = 400), 5.0 is past the stability limit 4·variance (inf)
    assert tuning.best == 0.3 and tuning.distance[2] < 0.01
    assert not np.isfinite(tuning.distance[-1])
    assert tuning.options["tracking_steps"] == 50 and tuning.options["langevin_eps"] == 0.3
    out = sm.generate([1.0], N, seed=0, **tuning.options)
    # standard errors 0.027 (mean) and 1.3% (std); bias measured with 30,000 chains ≤ 0.06 and 2% (model and
    # Langevin lag). Tolerances bias + 4 SE: 0.17 and 8%.
    np.testing.assert_allclose(out[0].mean(0), mean(1.0), atol=0.17)
    np.testing.assert_allclose(out[0].std(0), std(1.0), rtol=0.08)


@pytest.mark.parametrize("objective", ["ssm", "sm"])
def test_sliced_and_exact_score_matching(snapshots, objective):
    # the official code's objectives, one noise level σ = 0: observed relative error 0.004 (ssm) and 0.006
    # (sm) at 400 steps; bound 0.03 (the score of t = 0 or 1 scores ≥ 0.09, see above)
    times, xs = snapshots
    res = fit_score_matching(times, xs, objective=objective, n_levels=1, sigma_min=0.0, steps=400,
                             batch_size=256, hidden=64, depth=2, lr=3e-3, device="cpu", progress=False)
    t = 0.5
    x = mean(t) + std(t) * np.random.default_rng(4).standard_normal((2000, 2))
    s, st = res.score(t, x), perturbed_score(t, x, 0.0)
    assert np.sum((s - st) ** 2) / np.sum(st**2) < 0.03
    out = res.generate([0.5], 500, langevin_steps=20)  # one level with σ = 0: plain Langevin, step ε
    assert out.shape == (1, 500, 2) and np.all(np.isfinite(out))


# -- inputs --------------------------------------------------------------------------------------------------
FITS = [fit_flow_matching, fit_score_matching]


@pytest.mark.parametrize("fit", FITS)
def test_bad_snapshots_are_rejected(fit, snapshots):
    times, xs = snapshots
    with pytest.raises(InputError, match="times: expected at least 2 times"):
        fit([0.0], xs[:1], steps=1)
    with pytest.raises(InputError, match=r"xs\[1\]: expected shape \(n, 2\)"):
        fit(times, [xs[0], xs[1][:, :1], xs[2]], steps=1)
    bad = xs[1].copy()
    bad[7, 1] = np.nan
    with pytest.raises(InputError, match=r"xs\[1\]: expected finite values.*row 7"):
        fit(times, [xs[0], bad, xs[2]], steps=1)
    with pytest.raises(InputError, match="times must be increasing"):
        fit([0.0, 1.0, 0.5], xs, steps=1)
    with pytest.raises(InputError, match="list of 3 sample arrays"):
        fit(times, xs[:2], steps=1)


def test_bad_configs_are_rejected():
    with pytest.raises(InputError, match="steps"):
        CFMConfig(steps=0)
    with pytest.raises(UnknownNameError, match="did you mean 'coupling'"):
        CFMConfig().replace(couplng="ot")
    with pytest.raises(UnknownNameError, match="known: dsm, sm, ssm"):
        SMConfig(objective="nce")
    with pytest.raises(InputError, match="sigma_min"):
        SMConfig(objective="dsm", sigma_min=0.0)
    with pytest.raises(InputError, match="config: expected a SMConfig"):
        fit_score_matching(TIMES, [np.zeros((4, 1))] * 3, config=CFMConfig())


def test_tuning_needs_a_perturbed_score_for_annealing(snapshots):
    times, xs = snapshots
    with pytest.raises(InputError, match="perturbed=True"):
        tune_langevin_step(lambda t, x: -x, times, xs, n_levels=3)
    with pytest.raises(InputError, match="not an observed time"):
        tune_langevin_step(lambda t, x: -x, times, xs, sampler="tracking", eval_times=[0.3])


def test_query_errors(cfm, sm):
    with pytest.raises(InputError, match=r"x: expected shape \(n, 2\)"):
        cfm.velocity(0.5, np.zeros((3, 3)))
    with pytest.raises(InputError, match="finite scalar time"):
        cfm.push(np.zeros((3, 2)), np.nan, [1.0])
    with pytest.raises(InputError, match="tracking sampler runs forward"):
        sm.generate([-1.0], 10, sampler="tracking")
    with pytest.raises(UnknownNameError, match="sampler option 'lr'"):
        sm.generate([0.5], 10, lr=1.0)
    with pytest.raises(InputError, match="level: expected an integer index of one of the 5 noise levels"):
        sm.score(0.5, np.zeros((3, 2)), level=5)


@pytest.mark.parametrize("fit", FITS)
def test_divergence_is_reported(fit, snapshots):
    # lr = 1e30: the first Adam step moves every weight by ~1e30, the next forward overflows (float32)
    times, xs = snapshots
    res = fit(times, [x[:200] for x in xs], lr=1e30, warmup=0, steps=20, batch_size=64, hidden=8, depth=1,
              device="cpu", progress=False)
    assert res.status == FitStatus.DIVERGED
    assert 0 < res.history["loss"].size < 20 and np.all(np.isfinite(res.history["loss"]))


def test_import_does_not_load_torch():
    code = "import sys, amphys.baselines; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
