"""``amphys bench`` and :mod:`amphys.bench` (docs/benchmarks.md): names, one tiny benchmark end to end, the oracle
floor."""

import json

import numpy as np
import pytest

import amphys
from amphys.bench import NAMES
from amphys.bench._common import get_scale
from amphys.bench._runner import select_cases
from amphys.bench.physics import CASES
from amphys.cli.main import main
from amphys.errors import UnknownNameError


def test_unknown_benchmark_is_an_error_listing_the_valid_names(capsys):
    assert main(["bench", "barenblat", "--tiny"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'barenblat'" in err and "did you mean 'barenblatt'" in err
    for name in NAMES:
        assert name in err
    with pytest.raises(UnknownNameError):
        amphys.bench.run("nope", "tiny")
    with pytest.raises(UnknownNameError):
        get_scale("huge")


def test_quick_cuts_are_listed_and_full_runs_every_case():
    cases, cut = select_cases(CASES["barenblatt"], get_scale("quick"))
    assert [c.label for c in cases] == ["d=2, m=2", "d=1, m=3"]
    assert sorted(cut) == sorted(["d=1, m=2", "d=3, m=2", "d=2, m=3", "d=3, m=3"])
    cases, cut = select_cases(CASES["barenblatt"], get_scale("full"))
    assert len(cases) == 6 and cut == []


def test_tiny_barenblatt_end_to_end(tmp_path, capsys):
    assert main(["bench", "barenblatt", "--tiny", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    head = json.loads(out[-1])  # the last stdout line is a flat JSON object
    assert head["benchmark"] == "barenblatt" and head["scale"] == "tiny"
    assert all(not isinstance(v, (dict, list)) for v in head.values())
    ds = amphys.io.open_dataset(tmp_path / "barenblatt.h5")
    methods = list(ds["row"].values)
    assert methods == ["am-mc", "am-quadrature", "am-snapshots", "am-sampler", "sm", "cfm", "oracle"]
    assert list(ds["case"].values) == ["d=2, m=2"]
    for name in ("velocity_error_root_mean", "mmd2_mean", "mmd2_floor_mean", "w2_mean", "w2_floor_mean",
                 "data_residual", "train_s", "velocity_error", "mmd2", "eval_time"):
        assert name in ds.data_vars, name
    sel = lambda var, m: ds[var].sel(row=m).values  # noqa: E731
    for m in methods:  # every row has finite sample metrics
        assert np.all(np.isfinite(sel("mmd2_mean", m))) and np.all(np.isfinite(sel("w2_mean", m))), m
    for m in ("am-mc", "am-quadrature", "am-snapshots", "am-sampler", "cfm", "oracle"):
        assert np.all(np.isfinite(sel("velocity_error_root_mean", m))), m
        assert np.all(np.isfinite(sel("data_residual", m))), m
    assert np.all(np.isnan(sel("velocity_error_root_mean", "sm")))  # score matching has no velocity
    # the oracle pushes with the true AM target itself: its velocity error is exactly zero at every time
    np.testing.assert_allclose(sel("velocity_error", "oracle"), 0.0, atol=1e-12)
    assert np.all(sel("train_s", "am-mc") > 0)
    md = (tmp_path / "barenblatt.md").read_text()
    assert "Command: `amphys bench barenblatt --tiny`" in md and "date:" in md and "UTC" in md
    assert "Cut in --tiny" in md and "d=3, m=3" in md and "oracle" in md and "*floor" in md
    assert json.loads((tmp_path / "barenblatt.json").read_text()) == head


def test_snapshots_benchmark_runs_selected_rows_and_numbers_of_snapshots(tmp_path):
    """The snapshots benchmark end to end at the tiny scale (seconds, meaningless numbers): the selected rows at the
    selected K, every record scored, the markdown's K table and the files written."""
    from amphys import bench

    out = bench.run("snapshots", "tiny", tmp_path / "s", cases=["rot"], ks=[3, 4], rows=["default", "mixture"])
    ds = out.dataset
    assert sorted(zip(ds["row"].values.tolist(), ds["K"].values.tolist())) == [
        ("default", 3), ("default", 4), ("mixture", 3), ("mixture", 4)]
    assert np.all(np.isfinite(ds["verr"].values)) and np.all(ds["verr"].values > 0)
    assert "| rotating OU (OU-G) | default |" in out.markdown
    assert (tmp_path / "s" / "snapshots.md").exists()


@pytest.mark.parametrize("kw, match", [({"rows": ["defualt"]}, "snapshots row.*'defualt'"),
                                       ({"ks": [2]}, "ks: expected numbers of snapshots >= 3, got \\[2\\]")])
def test_snapshots_benchmark_refuses_unknown_rows_and_too_few_snapshots(tmp_path, kw, match):
    from amphys import bench
    from amphys.errors import InputError

    with pytest.raises(InputError, match=match):
        bench.run("snapshots", "tiny", tmp_path, cases=["rot"], **kw)


def test_tiny_schrodinger_selected_cases_end_to_end(tmp_path, capsys):
    """``--cases`` runs only the named cases and says so in the command; the exact-sample row resolves the
    recipe's frequencies (the coherent state oscillates at ω = 1); an unknown key is an error naming the keys."""
    assert main(["bench", "schrodinger", "--tiny", "--cases", "coherent", "-o", str(tmp_path)]) == 0
    head = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert head["benchmark"] == "schrodinger" and head["coherent_target"] == 0.005
    assert not any(k.startswith("vortex") for k in head)
    ds = amphys.io.open_dataset(tmp_path / "schrodinger.h5")
    assert list(ds["case_key"].values) == ["coherent"] and list(ds["row"].values) == ["am-exact", "am-data"]
    (w,) = json.loads(str(ds["frequencies"].sel(row="am-exact").values[0]))
    assert w == pytest.approx(1.0, rel=0.03)
    assert "--cases coherent" in ds.attrs["command"]
    assert np.all(np.isfinite(ds["velocity_error_root"].values))
    with pytest.raises(UnknownNameError, match="vortex"):
        amphys.bench.run("schrodinger", "tiny", tmp_path, cases=("vortx",))
    with pytest.raises(ValueError, match="--cases"):
        amphys.bench.run("barenblatt", "tiny", tmp_path, cases=("d=2, m=2",))


def test_frame_path_sampler_draws_the_mixture_of_the_neighbouring_frames():
    """Between stored frames k and k+1 the sampler's law is (1 − λ)q_k + λq_{k+1}: its mean and second moment
    are the mixture's (computed on the grid), at a frame it is that frame's law, and with frames far apart the
    mixture is told apart from q_t itself (so the test can fail)."""
    from amphys.bench.schrodinger import FramePathSampler

    system = amphys.systems.get("fp-grid", n_frames=5)
    sampler = FramePathSampler(system)
    ts = system.frame_times
    xs = np.linspace(*system.box[0], 8001)
    dx = xs[1] - xs[0]

    def moments(parts):
        p = sum(w * system.fields(float(t)).density.pdf(xs[:, None]) for w, t in parts)
        return np.array([np.sum(p * xs) * dx, np.sum(p * xs ** 2) * dx])

    rng = np.random.default_rng(0)
    n, lam = 400_000, 0.3
    t = ts[1] + lam * (ts[2] - ts[1])
    x = sampler(t, n, rng)
    assert x.shape == (n, 1)
    got = np.array([x.mean(), (x ** 2).mean()])
    se = np.array([x.std(), (x ** 2).std()]) / np.sqrt(n)
    mix = moments([(1 - lam, ts[1]), (lam, ts[2])])
    np.testing.assert_array_less(np.abs(got - mix), 5 * se)
    assert np.max(np.abs(got - moments([(1.0, t)])) / se) > 10   # q_t is not the mixture of distant frames
    x0 = sampler(ts[3], n, rng)
    np.testing.assert_array_less(np.abs([x0.mean(), (x0 ** 2).mean()] - moments([(1.0, ts[3])])), 5 * se)


def test_tiny_hydrogen_protocol_end_to_end(tmp_path, capsys):
    """The protocol's floors, oracle and checkpoints come out finite; the oracle pushes the true field, so its
    sharp-kernel MMD is of the order of the floor's, far below a fit of 40 steps."""
    assert main(["bench", "hydrogen-protocol", "--tiny", "-o", str(tmp_path)]) == 0
    head = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("floor_mmd2_paper", "floor_mmd2_sharp", "oracle_mmd2_paper", "oracle_mmd2_sharp",
                "am_exact_mmd2_paper", "am_exact_verr"):
        assert np.isfinite(head[key]), key
    assert head["oracle_mmd2_sharp"] < head["am_exact_mmd2_sharp"]
    assert "am_data_verr" not in head   # --tiny runs the exact-sample row and the baselines
    assert np.isfinite(head["cfm_verr"]) and np.isfinite(head["sm_paper_mmd2_sharp"])
    assert np.isnan(head["sm_paper_verr"])   # a sampler without a velocity has no field error
