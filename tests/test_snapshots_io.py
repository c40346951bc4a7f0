"""Snapshots schema (docs/theory.md#data-schema): construction, check errors, atomic HDF5 round trips."""

import os

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import amphys
from amphys.data.io import atomic_path
from amphys.data.snapshots import check_snapshots, make_snapshots, split_snapshots, validate_snapshots
from amphys.errors import FileFormatError, InputError


def _toy(n_times=3, n=5, d=2, seed=0):
    rng = np.random.default_rng(seed)
    t = np.repeat(np.linspace(0.0, 1.0, n_times), n)
    return t, rng.normal(size=(t.size, d))


def test_schema_fields():
    t, x = _toy()
    ds = make_snapshots(t, x, units_x="m", units_t="s", system={"name": "toy"})
    assert ds["x"].dims == ("sample", "dim")
    assert ds["time"].dims == ("sample",) and ds["time"].dtype == np.float64
    assert list(ds["dim"].values) == ["x", "y"]
    for key in ("amphys_schema", "units_x", "units_t", "source", "system", "created_by"):
        assert key in ds.attrs
    assert ds.attrs["amphys_schema"] == "snapshots/1"
    assert ds.attrs["units_x"] == "m"


def test_sorted_by_time_and_split():
    t = np.array([1.0, 0.0, 1.0, 0.0, 2.0, 2.0])
    x = np.arange(6.0)[:, None]
    ds = make_snapshots(t, x)
    np.testing.assert_array_equal(ds["time"].values, [0, 0, 1, 1, 2, 2])
    # stable sort keeps the original order within a time
    np.testing.assert_array_equal(ds["x"].values[:, 0], [1, 3, 0, 2, 4, 5])
    parts = split_snapshots(ds)
    assert [p[0] for p in parts] == [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(parts[1][1][:, 0], [0, 2])


@pytest.mark.parametrize(
    "time, x, match",
    [
        (np.zeros(4), np.zeros((4, 1)), "at least 2 distinct times"),
        (np.array([0, 0, 1.0]), np.zeros((3, 1)), "at least 2 samples"),
        (np.array([0, 0, 1, 1.0]), np.array([[0.0], [np.nan], [1], [2]]), "NaN or inf"),
        (np.array([0, 0, 1, np.inf]), np.zeros((4, 1)), "time.*NaN or inf"),
        (np.array([0, 0, 1, 1.0]), np.zeros((3, 1)), r"shape \(N, d\)"),
        (np.zeros((2, 2)), np.zeros((4, 1)), "one value per sample"),
    ],
)
def test_validation_errors(time, x, match):
    with pytest.raises(InputError, match=match):
        make_snapshots(time, x)


def test_validation_of_foreign_objects():
    with pytest.raises(InputError, match="xarray.Dataset"):
        check_snapshots({"x": 1})
    with pytest.raises(InputError, match="missing data variable 'x'"):
        check_snapshots(xr.Dataset({"y": ("sample", np.zeros(3))}))
    t, x = _toy()
    ds = make_snapshots(t, x)
    unsorted = ds.isel(sample=np.arange(ds.sizes["sample"])[::-1])
    with pytest.raises(InputError, match="sorted"):
        check_snapshots(unsorted)
    with pytest.raises(InputError, match="weight"):
        make_snapshots(t, x, weight=-np.ones(t.size))


def test_validate_snapshots_is_a_deprecated_name_of_check_snapshots():
    ds = make_snapshots(*_toy())
    with pytest.warns(DeprecationWarning, match="validate_snapshots is deprecated; use check_snapshots"):
        assert validate_snapshots(ds, min_times=3) is ds
    with pytest.warns(DeprecationWarning), pytest.raises(InputError, match="at least 4 distinct times"):
        validate_snapshots(ds, min_times=4)
    assert amphys.validate_snapshots is validate_snapshots and amphys.check_snapshots is check_snapshots


@given(
    n_times=st.integers(2, 5), n=st.integers(2, 6), d=st.integers(1, 4),
    data=st.data(),
)
def test_hdf5_round_trip_identical(tmp_path_factory, n_times, n, d, data):
    t = np.repeat(np.sort(data.draw(hnp.arrays(np.float64, n_times, unique=True,
                                               elements=st.floats(-1e6, 1e6)))), n)
    x = data.draw(hnp.arrays(np.float64, (t.size, d), elements=st.floats(-1e300, 1e300)))
    w = data.draw(hnp.arrays(np.float64, t.size, elements=st.floats(0, 1e10)))
    ds = make_snapshots(t, x, weight=w, v_true=x * 2, units_x="µm", system={"a": [1, 2], "b": "é"})
    path = tmp_path_factory.mktemp("rt") / "snap.h5"
    amphys.io.write(ds, path)
    back = amphys.io.read(path)
    xr.testing.assert_identical(back, ds)
    np.testing.assert_array_equal(back["x"].values, ds["x"].values)


def test_atomic_write_leaves_no_partial_file(tmp_path):
    t, x = _toy()
    ds = make_snapshots(t, x)
    target = tmp_path / "out.h5"
    amphys.io.write(ds, target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash during write")
    assert target.read_bytes() == before  # the old file is untouched
    assert os.listdir(tmp_path) == ["out.h5"]  # and no temporary file is left behind


def test_read_errors(tmp_path):
    with pytest.raises(FileFormatError, match="file not found"):
        amphys.io.read(tmp_path / "missing.h5")
    bad = tmp_path / "corrupt.h5"
    bad.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(FileFormatError, match="not a readable HDF5"):
        amphys.io.read(bad)
    with pytest.raises(FileFormatError, match="unknown file type '.xyz'"):
        amphys.io.read(tmp_path / "data.xyz")
    with pytest.raises(FileFormatError, match="does not exist"):
        amphys.io.write(make_snapshots(*_toy()), tmp_path / "no" / "such" / "dir.h5")


def test_lazy_open_with_chunks(tmp_path):
    t, x = _toy(n_times=4, n=50)
    path = amphys.io.write(make_snapshots(t, x), tmp_path / "big.h5")
    lazy = amphys.io.read(path, chunks={"sample": 40})
    assert lazy["x"].chunks is not None
    np.testing.assert_array_equal(lazy["x"].values, x)
