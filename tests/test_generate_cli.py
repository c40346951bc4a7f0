"""``amphys.generate`` and ``amphys generate`` (docs/api.md, docs/cli.md)."""

import json

import numpy as np
import pytest
import xarray as xr

import amphys
from amphys.cli.main import main
from amphys.errors import InputError

# One valid configuration per registered system, kept small so the whole file runs in seconds.
SMALL = {
    "barenblatt": {"dim": 2, "m": 2.0},
    "ou": {"drift": [[0.5, -2.0], [2.0, 0.5]], "diffusion": 0.1, "mean0": [3.0, 0.0], "cov0": 0.1},
    "ou-mixture": {},
    "harmonic": {"dim": 1, "state": "squeezed"},
    "gaussian-packet": {},
    "hydrogen": {},
    "schrodinger-grid": {"dim": 1},
    "pme-grid": {"dim": 1},
    "fp-grid": {"dim": 1},
}


def test_generate_schema_and_reproducibility():
    system = amphys.systems.get("barenblatt", dim=2, m=2.0)
    ds = amphys.generate(system, [1.0, 1.5, 2.0], 100, seed=3)
    assert ds.sizes["sample"] == 300 and ds.sizes["dim"] == 2
    np.testing.assert_array_equal(np.unique(ds["time"].values), [1.0, 1.5, 2.0])
    assert json.loads(ds.attrs["system"])["name"] == "barenblatt"
    assert ds.attrs["source"] == "barenblatt" and ds.attrs["v_true_target"] == "am_velocity"
    x1 = ds["x"].values[ds["time"].values == 1.5]
    np.testing.assert_allclose(ds["v_true"].values[ds["time"].values == 1.5], system.am_velocity(1.5, x1))
    again = amphys.generate(system, [1.0, 1.5, 2.0], 100, seed=3)
    xr.testing.assert_identical(ds, again)
    other = amphys.generate(system, [1.0, 1.5, 2.0], 100, seed=4)
    assert not np.array_equal(other["x"].values, ds["x"].values)


def test_generate_unequal_counts():
    ds = amphys.generate("barenblatt", [1.0, 2.0], [5, 7])
    assert ds.sizes["sample"] == 12
    assert (ds["time"].values == 2.0).sum() == 7


@pytest.mark.parametrize(
    "times, n, match",
    [
        ([1.0], 10, "at least 2 times"),
        ([1.0, 1.0, 2.0], 10, "duplicate time 1.0"),
        ([2.0, 1.0], 10, "increasing"),
        ([1.0, np.nan], 10, "finite"),
        ([1.0, 2.0], 1, "at least 2 samples"),
        ([1.0, 2.0], [3, 4, 5], "one per time"),
        ("abc", 10, "sequence of numbers"),
    ],
)
def test_generate_bad_input(times, n, match):
    with pytest.raises(InputError, match=match):
        amphys.generate("barenblatt", times, n)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_cli_generate_every_system(name, tmp_path, capsys):
    if name not in amphys.systems.names():
        pytest.skip(f"system {name} not available")
    sets = []
    for key, value in SMALL[name].items():
        sets += ["--set", f"{key}={json.dumps(value)}"]
    out = tmp_path / "data.h5"
    code = main(["generate", name, *sets, "--n-per-time", "50", "-o", str(out)])
    assert code == 0
    assert "wrote" in capsys.readouterr().out
    ds = xr.open_dataset(out, engine="h5netcdf")
    try:
        assert ds.attrs["amphys_schema"] == "snapshots/1"
        assert ds["x"].dims == ("sample", "dim") and ds["time"].dims == ("sample",)
        assert ds.sizes["sample"] == 11 * 50
        assert np.isfinite(ds["x"].values).all()
    finally:
        ds.close()


def test_cli_generate_barenblatt_example(tmp_path):
    out = tmp_path / "data.h5"
    code = main(["generate", "barenblatt", "--set", "dim=2", "--set", "m=2", "--times", "1:2:11",
                 "--n-per-time", "2000", "-o", str(out)])
    assert code == 0
    ds = amphys.io.read(out)
    np.testing.assert_allclose(np.unique(ds["time"].values), np.linspace(1, 2, 11))
    assert ds.sizes["sample"] == 22000


def test_cli_old_n_flag_still_works_with_a_note(tmp_path, capsys):
    argv = ["generate", "barenblatt", "--times", "1:2:3", "-o"]
    assert main(argv + [str(tmp_path / "old.h5"), "--n", "40"]) == 0
    assert "--n is deprecated; use --n-per-time" in capsys.readouterr().err
    assert main(argv + [str(tmp_path / "new.h5"), "--n-per-time", "40"]) == 0
    assert "deprecated" not in capsys.readouterr().err
    old, new = amphys.io.read(tmp_path / "old.h5"), amphys.io.read(tmp_path / "new.h5")
    np.testing.assert_array_equal(old["x"].values, new["x"].values)


@pytest.mark.parametrize(
    "argv, match",
    [
        (["generate", "nosuch", "-o", "x.h5"], "unknown system 'nosuch'"),
        (["generate", "barenblatt", "--set", "mm=2", "-o", "x.h5"], "unknown parameter"),
        (["generate", "barenblatt", "--set", "m=0.5", "-o", "x.h5"], "m"),
        (["generate", "barenblatt", "--times", "1:2", "-o", "x.h5"], "T0:T1:N"),
        (["generate", "barenblatt", "--set", "novalue", "-o", "x.h5"], "key=value"),
        (["generate", "barenblatt", "-o", "/nonexistent-dir/x.h5"], "does not exist"),
    ],
)
def test_cli_errors_are_one_line(argv, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    lines = [ln for ln in err.splitlines() if ln.startswith("amphys: error:")]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    import re

    assert re.search(match, lines[0]), lines[0]
