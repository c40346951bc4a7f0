"""The calibrated continuity test and the noise thresholds of sample metrics (docs/theory.md#calibrated-continuity-test,
docs/theory.md#noise-thresholds-of-sample-metrics).

Exact samples of OU (closed-form velocity): the true field is not rejected over a handful of seeds, a field off
by ×0.5 is rejected with a tiny p-value and a transport ratio ŝ ≈ 1/0.5; a q-divergence-free error passes, by
design. Thresholds: positive, same-law sets within them, shifted sets outside.
"""

from __future__ import annotations

import numpy as np
import pytest

import amphys.systems as systems
from amphys.diagnostics import ContinuityResult, continuity_test, energy_distance, metric_floor, sliced_w2
from amphys.errors import InputError
from amphys.testing import assert_continuity, snapshot_pairs


@pytest.fixture(scope="module")
def ou():
    return systems.get("ou")


@pytest.fixture(scope="module")
def ou_snaps(ou):
    return snapshot_pairs(ou, np.linspace(*ou.t_span, 11), n=1000, seed=3)


def test_true_field_is_not_rejected_over_seeds(ou):
    ps = [continuity_test(snapshot_pairs(ou, np.linspace(*ou.t_span, 11), n=1000, seed=s), ou.velocity, seed=s,
                          n_sim=500).p_value_all for s in range(5)]
    # each p is uniform-ish under H0: five draws all below 1e-3 would be a broken calibration
    assert min(ps) > 1e-3 and np.median(ps) > 0.05, ps


@pytest.mark.parametrize("s", [0.5, 0.8])
def test_scaled_field_is_rejected_and_its_scale_estimated(ou, ou_snaps, s):
    res = continuity_test(ou_snaps, lambda t, x: s * ou.velocity(t, x), n_sim=500)
    assert isinstance(res, ContinuityResult) and res.p_value_all < 1e-6
    # observed motion = ŝ × predicted: ŝ ≈ 1/s
    assert abs(res.transport_ratio - 1 / s) < 5 * res.transport_ratio_se + 0.02
    assert "does NOT transport" in res.verdict() and "failing times" in res.summary()


def test_result_fields_and_a_stationary_density(ou_snaps):
    res = continuity_test(ou_snaps, systems.get("ou").velocity, n_sim=500)
    T = len(ou_snaps)
    for name in ("statistic", "p_value", "p_value_holm", "residual", "residual_threshold"):
        assert getattr(res, name).shape == (T,), name
    assert np.all(res.p_value_holm >= res.p_value) and np.all(res.residual_threshold > 0)
    assert set(res.components) == {"scale", "smooth", "local"} and res.info["K"] == 3
    assert "no evidence against continuity" in res.verdict() and "div(q w) = 0" in res.verdict()
    # a stationary density (the same law at every time) and the zero field: consistent, nothing to scale
    rng = np.random.default_rng(0)
    still = [(t, rng.normal(size=(500, 2))) for t in np.linspace(0, 1, 6)]
    res0 = continuity_test(still, lambda t, x: np.zeros_like(x), n_sim=500)
    assert res0.p_value_all > 1e-3 and np.isnan(res0.transport_ratio) and "no motion" in res0.verdict()


def test_divergence_free_error_is_invisible_by_design():
    # q = N(0, I) at all times, w = J x: div(q J x) = q (tr J − x·J x) = 0, so the snapshots cannot see w
    rng = np.random.default_rng(1)
    still = [(t, rng.normal(size=(1000, 2))) for t in np.linspace(0, 1, 6)]
    res = continuity_test(still, lambda t, x: 2.0 * np.stack([-x[:, 1], x[:, 0]], axis=1), n_sim=500)
    assert res.p_value_all > 1e-3
    res_bad = continuity_test(still, lambda t, x: 0.5 * x, n_sim=500)  # an expansion the data do not show
    assert res_bad.p_value_all < 1e-6


def test_arrays_of_velocities_and_snapshots_dataset(ou, ou_snaps):
    from amphys.data.synthetic import generate

    vel = [ou.velocity(t, x) for t, x in ou_snaps]
    a = continuity_test(ou_snaps, vel, n_sim=500)
    b = continuity_test(ou_snaps, ou.velocity, n_sim=500)
    assert a.p_value_all == b.p_value_all
    data = generate(ou, np.linspace(*ou.t_span, 6), 300, seed=0)
    assert continuity_test(data, ou.velocity, n_sim=500).p_value.shape == (6,)


def test_bad_inputs_name_the_argument(ou, ou_snaps):
    with pytest.raises(InputError, match="at least 4 distinct snapshot times"):
        continuity_test(ou_snaps[:3], ou.velocity)
    with pytest.raises(InputError, match="velocity: expected one array per snapshot"):
        continuity_test(ou_snaps, [np.zeros((1000, 1))])
    with pytest.raises(InputError, match=r"velocity: v\(t, x\) must return shape"):
        continuity_test(ou_snaps, lambda t, x: np.zeros((len(x), 2)))
    with pytest.raises(InputError, match="snapshots: expected Snapshots"):
        continuity_test(42, ou.velocity)
    for kw, match in (({"order": 0}, "order"), ({"floor": -1.0}, "floor"), ({"n_sim": 10}, "n_sim"),
                      ({"truncation": "big"}, "truncation"), ({"length": 0.0}, "length")):
        with pytest.raises(InputError, match=match):
            continuity_test(ou_snaps, ou.velocity, **kw)


def test_assert_continuity_passes_silently_and_lists_failing_times(ou):
    assert assert_continuity(ou, "velocity", n=500) is None
    with pytest.raises(AssertionError, match=r"(?s)continuity rejected.*move 2\.\d+.*Failing times:\n  t = "):
        assert_continuity(ou, lambda t, x: 0.5 * ou.velocity(t, x), n=500)
    with pytest.raises(InputError, match="velocity: a method name needs a System"):
        assert_continuity(snapshot_pairs(ou, n=50), "velocity")
    with pytest.raises(InputError, match="alpha"):
        assert_continuity(ou, "velocity", alpha=2.0)


def test_metric_floor_threshold_and_within_noise():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    shifted = rng.normal(size=(300, 2)) + [0.5, 0.0]
    sampler = lambda k, r: r.normal(size=(k, 2))  # noqa: E731
    for kw in ({"sampler": sampler}, {}):
        same = metric_floor(energy_distance, x, y, **kw)
        assert same.threshold > 0 and same.within_noise and same.null.shape == (19,)
        assert same.threshold == same.null.max() and 0 < same.p_value <= 1
        far = metric_floor(energy_distance, shifted, y, **kw)
        assert not far.within_noise and far.p_value == pytest.approx(1 / 20)
    assert metric_floor(energy_distance, x, y, sampler=sampler).method == "sampler"
    assert metric_floor(energy_distance, x, y).method == "permutation"
    # 39 replicates: the 2nd largest; a small pool is resampled with replacement
    f39 = metric_floor(lambda a, b: sliced_w2(a, b, n_projections=20), x, y, n_rep=39)
    assert f39.threshold == np.sort(f39.null)[-2]
    assert metric_floor(energy_distance, x, y, pool=x[:100]).method == "bootstrap"
    assert "noise ≤" in str(same)


def test_metric_floor_bad_inputs():
    x = np.zeros((10, 2))
    with pytest.raises(InputError, match="n_rep: expected at least 19"):
        metric_floor(energy_distance, x, x, n_rep=10)
    with pytest.raises(InputError, match="metric: expected a callable"):
        metric_floor("mmd", x, x)
    with pytest.raises(InputError, match="sampler: expected a callable"):
        metric_floor(energy_distance, x, x, sampler=3)
    with pytest.raises(InputError, match="y: expected shape"):
        metric_floor(energy_distance, x, np.zeros((10, 3)))
