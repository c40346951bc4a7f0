"""Measured-data workflow: fitting irregular/sparse/weighted data in any units, ``predict`` and ``validate``.

Fits here use tiny budgets (a few dozen steps of a small network): they check plumbing, units and invariances,
not accuracy (the solver's own tests check accuracy).
"""

import json
import warnings

import numpy as np
import pytest

import amphys
from amphys.errors import InputError
from amphys.workflows.prediction import ExtrapolationWarning, classify_times, predict

TINY = dict(steps=20, hidden=16, depth=2, batch_size=128, warmup=2, progress=False)


class Drift:
    """A known flow v = c (constant): push moves every sample by c (t - t0). Stands in for a fitted model."""

    dim = 2
    t_span = (0.0, 2.0)
    units_x, units_t = "um", "s"

    def __init__(self, c=(1.0, -0.5)):
        self.c = np.asarray(c)
        self.calls = []

    def push(self, x0, t0, times):
        self.calls.append((float(t0), list(times)))
        return np.stack([x0 + self.c * (t - t0) for t in times])


def _data(times=(0.0, 0.5, 2.0), counts=(6, 4, 5), d=2, units=("um", "s"), seed=0):
    rng = np.random.default_rng(seed)
    t = np.repeat(times, counts)
    return amphys.make_snapshots(t, rng.normal(size=(t.size, d)), units_x=units[0], units_t=units[1])


# -- predict with a known flow ---------------------------------------------------------------------------------
def test_predict_pushes_nearest_snapshot_and_flags_regimes():
    data, model = _data(), Drift()
    with pytest.warns(ExtrapolationWarning, match=r"predicting at 3 s, outside the span the model was trained "
                                                  r"on \[0, 2\] s"):
        pred = predict(model, data, [0.2, 0.5, 1.5, 3.0])
    info = json.loads(pred.attrs["prediction"])
    assert info["regime"] == ["interpolation", "observed", "interpolation", "extrapolation"]
    assert info["source_time"] == [0.0, 0.5, 2.0, 2.0]  # nearest observed time; 1.5 is nearer to 2.0
    x = {t: pred["x"].values[pred["time"].values == t] for t in (0.2, 0.5, 1.5, 3.0)}
    parts = amphys.data.split_snapshots(data)
    np.testing.assert_allclose(x[0.2], parts[0][1] + 0.2 * model.c)
    np.testing.assert_array_equal(x[0.5], parts[1][1])  # an observed time is returned as observed
    np.testing.assert_allclose(x[1.5], parts[2][1] - 0.5 * model.c)  # backwards from 2.0
    np.testing.assert_allclose(x[3.0], parts[2][1] + 1.0 * model.c)
    np.testing.assert_array_equal(pred["extrapolated"].values, np.repeat([0, 0, 0, 1], [6, 4, 5, 5]))
    assert pred.attrs["source"] == "predicted" and pred.attrs["units_x"] == "um"
    assert list(pred["dim"].values) == ["x", "y"]


def test_predict_from_time_and_subset():
    data, model = _data(), Drift()
    pred = predict(model, data, [1.0, 1.5], from_time=0.0, n_per_time=3, seed=1)
    assert json.loads(pred.attrs["prediction"])["source_time"] == [0.0, 0.0]
    assert pred.sizes["sample"] == 6
    assert model.calls == [(0.0, [1.0, 1.5])]  # one push per source time
    x0 = amphys.data.split_snapshots(data)[0][1]
    moved = pred["x"].values[:3] - 1.0 * model.c
    assert all(any(np.allclose(m, r) for r in x0) for m in moved)  # a subset of the t = 0 samples


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(times=[1.0], from_time=0.7), r"from_time: 0.7 is not an observed time of the data; observed times: "
                                           r"0, 0.5, 2"),
        (dict(times=[1.0, 0.5]), r"times: times must be increasing"),
        (dict(times=[1.0], n_per_time=50), r"n_per_time: 50 samples requested but the snapshot at time 0.5 has "
                                           r"only 4"),
        (dict(times=[1.0], n_per_time=1), r"n_per_time: expected a >= 2 integer number of samples"),
    ],
)
def test_predict_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        predict(Drift(), _data(), **kwargs)


def test_predict_refuses_mismatched_data():
    with pytest.raises(InputError, match=r"mismatched dimensions: the model was fitted on 2-dimensional positions "
                                         r"but the data have 3 coordinates"):
        predict(Drift(), _data(d=3), [1.0])
    with pytest.raises(InputError, match=r"units_x: the model was fitted on data in 'um' but these data are in "
                                         r"'nm'"):
        predict(Drift(), _data(units=("nm", "s")), [1.0])
    with pytest.raises(InputError, match=r"model: expected a fitted model with push"):
        predict(object(), _data(), [1.0])


def test_predict_ties_go_to_the_earlier_snapshot():
    data = _data(times=(0.15, 0.35, 2.0))  # 0.25 - 0.15 and 0.35 - 0.25 differ by round-off only
    pred = predict(Drift(), data, [0.25, 1.175])
    assert json.loads(pred.attrs["prediction"])["source_time"] == [0.15, 0.35]


def test_classify_times():
    assert classify_times([0.0, 0.1, 2.0, 2.5, -1.0], [0.0, 2.0], (0.0, 2.0)) == [
        "observed", "interpolation", "observed", "extrapolation", "extrapolation"]


# -- fitting measured-like data (needs amphys.fit) ----------------------------------------------------------
def _ou_system(times):
    return amphys.systems.get("ou", drift=[[1.0, 0.0], [0.0, 0.5]], diffusion=0.1, mean0=[2.0, -1.0], cov0=0.1,
                              t_span=(times[0], times[-1]))


def _ou_snapshots(times, counts, seed=0):
    return amphys.generate(_ou_system(times), times, np.asarray(counts), seed=seed, include_velocity=False)


@pytest.fixture(scope="module")
def unit_fit():
    data = _ou_snapshots([0.0, 0.13, 0.4, 1.0], [60, 40, 50, 70])
    return data, amphys.fit(data, dtype="float64", **TINY)


@pytest.mark.parametrize(
    "sx, st, b, rtol",
    [
        (2.0 ** -20, 2.0 ** 13, 0.0, 1e-12),  # powers of two: rescaling is exact in floating point
        (1e-6, 86400.0, 0.0, 1e-3),         # micrometres -> metres, days -> seconds
        (1e3, 1 / 86400, 0.0, 1e-3),        # kilometres, seconds -> days
        (1.0, 1.0, 1e3, 1e-3),              # positions of order 1e3 (a cloud far from the origin)
    ],
)
def test_fit_velocity_scales_with_units(unit_fit, sx, st, b, rtol):
    """Invariance (docs/theory.md#verification-identities, item 9): rescaled and shifted data give the same flow,
    v_phys(st·t, sx·x + b) = (sx/st) v_unit(t, x), with no tuning by the user.

    The model normalises t by the time span and x by the data mean and spread, so both fits see the same
    normalised data and, in float64, follow the same optimisation path. With powers of two the normalised data
    are bit-identical (exact agreement). Otherwise they differ by round-off (~1e-16 relative, ~1e-13 for the
    shift), which the first, sign-like Adam steps amplify: measured ≤ 1e-5 relative after 20 steps, so 1e-3
    is a safe bound; a fit that ignored the units would be off by orders of magnitude."""
    data, fit0 = unit_fit
    scaled = amphys.make_snapshots(st * data["time"].values, sx * data["x"].values + b, units_x="m", units_t="s")
    fit1 = amphys.fit(scaled, dtype="float64", **TINY)
    x = data["x"].values[::7]
    for t in (0.0, 0.3, 1.0):
        expected = (sx / st) * fit0.velocity(t, x)
        np.testing.assert_allclose(fit1.velocity(st * t, sx * x + b), expected, rtol=0,
                                   atol=rtol * np.abs(expected).max())
    assert fit1.units_x == "m" and fit1.t_span == pytest.approx((0.0, st))


def test_fit_sparse_irregular_weighted_data():
    """A handful of snapshots at irregular times, unequal counts, with weights: the fit runs and answers in
    physical units; pushing covers both directions."""
    data = _ou_snapshots([0.0, 0.07, 0.9], [30, 12, 45])
    data["weight"] = ("sample", np.linspace(0.5, 1.5, data.sizes["sample"]))
    model = amphys.fit(data, **TINY)
    assert model.status == "converged" and "unbalanced" in model.message
    v = model.velocity(0.5, data["x"].values)
    assert v.shape == (87, 2) and np.all(np.isfinite(v))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pred = predict(model, data.drop_vars("weight"), [0.3, 0.5])
    assert pred.sizes["sample"] == 12 + 45 and np.all(np.isfinite(pred["x"].values))


# -- validation without ground truth -------------------------------------------------------------------------
def test_permutation_test_matches_energy_distance_and_separates_laws():
    from amphys.diagnostics import energy_distance
    from amphys.workflows.validation import permutation_test

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(300, 2)), rng.normal(size=(250, 2))
    same = permutation_test(x, y, n_permutations=99, seed=0)
    # the statistic is the unbiased energy distance of amphys.diagnostics (same formula, matrix form)
    np.testing.assert_allclose(same["statistic"], energy_distance(x, y), rtol=1e-10, atol=1e-12)
    # calibration: under the null the test rejects at the 5% level in about 5% of independent draws (exact for a
    # permutation test); 200 draws -> 10 expected, binomial sd 3.1, so 2..22 is a 4-sd band
    rejections = sum(permutation_test(rng.normal(size=(40, 2)), rng.normal(size=(30, 2)), n_permutations=39,
                                      seed=k)["pvalue"] <= 0.05 for k in range(200))
    assert 2 <= rejections <= 22
    # a shift of 0.5 standard deviations with 250-300 samples per set is far beyond the permutation noise
    shifted = permutation_test(x, y + [0.5, 0.0], n_permutations=99, seed=0)
    assert shifted["statistic"] > 3 * shifted["noise"] and shifted["pvalue"] == 0.01
    with pytest.raises(InputError, match="n_permutations: expected an integer >= 19"):
        permutation_test(x, y, n_permutations=5)


def test_validate_report_and_verdict():
    from amphys.workflows.validation import validate

    times = [0.0, 0.2, 0.45, 1.0]
    data = _ou_snapshots(times, [300, 250, 200, 300])
    # held-out fits: tiny budgets (plumbing); residual: the true field (symmetric drift, isotropic noise: the
    # probability flow is the AM target), which must come out consistent with the data
    result = validate(data, n_permutations=39, progress=False, model=_ou_system(times),
                      **{k: v for k, v in TINY.items() if k != "progress"})
    report = result.report
    np.testing.assert_array_equal(report["held_out"].values, [0, 1, 1, 0])
    for name in ("energy_distance", "energy_distance_floor", "mmd2", "noise_ratio", "permutation_pvalue",
                 "energy_distance_no_motion", "continuity_residual", "continuity_residual_threshold",
                 "continuity_p_value", "continuity_p_value_holm"):
        assert name in report and report[name].dims == ("time",)
    assert np.all(np.isfinite(report["noise_ratio"].values[1:3]))
    assert np.all(np.isnan(report["noise_ratio"].values[[0, 3]]))
    assert report.attrs["verdict_residual"] == "consistent"
    # 20 steps of a tiny network do not move the cloud: far outside the sampling noise
    assert report.attrs["verdict_held_out"] == "inconsistent" == report.attrs["verdict_level"]
    assert "held-out snapshots" in result.verdict.lower() and "continuity test" in result.verdict.lower()
    assert sorted(result.pushed) == [0.2, 0.45] and result.pushed[0.2].shape[1] == 2
    with pytest.raises(InputError, match="at least 3 distinct times"):
        validate(data.isel(sample=np.flatnonzero(data["time"].values < 0.3)), progress=False)


def test_predict_command_writes_flagged_snapshots(tmp_path, capsys):
    from amphys.cli.main import main

    data = _ou_snapshots([0.0, 0.3, 1.0], [40, 30, 50])
    data.attrs.update(units_x="um", units_t="s")
    amphys.io.write(data, tmp_path / "data.h5")
    amphys.fit(data, **TINY).save(tmp_path / "model.pt")
    rc = main(["predict", str(tmp_path / "model.pt"), "--from", str(tmp_path / "data.h5"), "--times", "0.5,1.5",
               "-o", str(tmp_path / "pred.h5")])
    out = capsys.readouterr()
    assert rc == 0
    assert "t = 0.5        interpolation  pushed from t = 0.3 (30 samples)" in out.out
    assert "warning: predicting at 1.5 s, outside the span the model was trained on [0, 1] s" in out.err
    pred = amphys.io.read(tmp_path / "pred.h5")
    assert pred.attrs["source"] == "predicted" and pred.attrs["units_x"] == "um"
    np.testing.assert_array_equal(pred["extrapolated"].values, np.repeat([0, 1], [30, 50]))
    # a flag that does not apply to the file's format is refused, naming the flag
    rc = main(["predict", str(tmp_path / "model.pt"), "--from", str(tmp_path / "data.h5"), "--times", "0.5",
               "--columns", "x,y", "-o", str(tmp_path / "p2.h5")])
    assert rc == 2 and "--columns does not apply to .h5 files" in capsys.readouterr().err
