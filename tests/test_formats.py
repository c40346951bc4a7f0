"""Import of measured data (docs/guide-measured-data.md): every format, the guessing rules, and every malformed-input
case.

Each malformed case checks that the error names the file, the column (or array) and, where useful, the line,
and that it states a fix.
"""

import json
import logging
import sys

import numpy as np
import pytest
import xarray as xr

import amphys
from amphys.errors import FileFormatError, InputError


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _cloud(seed=0, counts=(5, 7, 4), times=(0.0, 0.3, 1.7), d=3, scale=1.0):
    """Long-form arrays at irregular times with unequal counts."""
    rng = np.random.default_rng(seed)
    t = np.repeat(np.asarray(times, dtype=float), counts)
    return t, scale * rng.normal(size=(t.size, d))


def _csv_text(t, x, header="t,x,y,z", delim=","):
    rows = [header] + [delim.join([repr(float(a))] + [repr(float(v)) for v in row]) for a, row in zip(t, x)]
    return "\n".join(rows) + "\n"


# -- CSV: guessing and options -------------------------------------------------------------------------------
def test_csv_guess_time_and_coordinates(tmp_path, caplog):
    t, x = _cloud()
    path = _write(tmp_path, _csv_text(t, x))
    with caplog.at_level(logging.INFO, logger="amphys.data"):
        ds = amphys.io.read(path)
    np.testing.assert_array_equal(ds["time"].values, t)
    np.testing.assert_array_equal(ds["x"].values, x)
    assert list(ds["dim"].values) == ["x", "y", "z"]
    mapping = json.loads(ds.attrs["import"])
    assert mapping["time"] == "t" and mapping["columns"] == ["x", "y", "z"] and mapping["reader"] == "csv"
    assert ds.attrs["source"] == "measured"
    # the message says what was chosen, and is both logged and kept in attrs
    assert "time column 't' guessed" in ds.attrs["import_message"]
    assert "3 snapshots at irregular times" in ds.attrs["import_message"]
    assert "4–7 samples each" in ds.attrs["import_message"]
    assert ds.attrs["import_message"] in caplog.text


def test_csv_units_from_header_ignored_columns_and_weight(tmp_path):
    text = ("id,Time (s),x [um],y [um],label,weight\n"
            "0,0.0,1.0,2.0,a,1\n1,0.0,1.5,2.5,b,2\n2,2.0,1.2,2.2,a,1\n3,2.0,1.1,2.9,a,0.5\n")
    path = _write(tmp_path, text.replace("id,", ",").replace("\n0,", "\n0,"))
    ds = amphys.io.read(path)
    assert ds.attrs["units_t"] == "s" and ds.attrs["units_x"] == "um"
    assert list(ds["dim"].values) == ["x", "y"]
    np.testing.assert_array_equal(ds["weight"].values, [1, 2, 1, 0.5])
    msg = ds.attrs["import_message"]
    assert "unnamed column 1" in msg and "text column 'label'" in msg and "'weight' used as sample weights" in msg
    # explicit units win over the header
    assert amphys.io.read(path, units_x="nm", units_t="ms").attrs["units_x"] == "nm"


def test_csv_explicit_options(tmp_path):
    text = "frame_time,px,py,pz,m\n0,1,2,3,1\n0,2,3,4,1\n1,1,1,1,2\n1,0,0,0,2\n"
    path = _write(tmp_path, text)
    ds = amphys.io.read(path, time="frame_time", columns=["pz", "px"], weight="m", units_x="mm", units_t="d")
    assert list(ds["dim"].values) == ["pz", "px"]
    np.testing.assert_array_equal(ds["x"].values[:, 0], [3, 4, 1, 0])
    np.testing.assert_array_equal(ds["weight"].values, [1, 1, 2, 2])
    assert (ds.attrs["units_x"], ds.attrs["units_t"]) == ("mm", "d")
    assert "guessed" not in ds.attrs["import_message"]


@pytest.mark.parametrize("delim", [";", "\t", "|", " "])
def test_csv_delimiters_guessed(tmp_path, delim):
    t, x = _cloud()
    path = _write(tmp_path, _csv_text(t, x, header=delim.join("txyz"), delim=delim))
    ds = amphys.io.read(path)
    np.testing.assert_array_equal(ds["x"].values, x)


def test_csv_decimal_comma_comments_bom_and_trailing_delimiter(tmp_path):
    text = "\ufeff# exported by the microscope\ntime;x;y;\n0;1,5;2;\n0;1,25;2;\n\n1;3;4;\n1;3,5;4;\n"
    path = _write(tmp_path, text)
    ds = amphys.io.read(path, decimal=",")
    np.testing.assert_array_equal(ds["x"].values[:, 0], [1.5, 1.25, 3, 3.5])
    with pytest.raises(FileFormatError, match=r"'1,5' at line 3 \(a decimal comma\? pass decimal=','"):
        amphys.io.read(path)


def test_csv_dropna(tmp_path):
    path = _write(tmp_path, "t,x\n0,1\n0,2\n0,\n1,3\n1,4\n")
    ds = amphys.io.read(path, dropna=True)
    assert ds.sizes["sample"] == 4
    assert "dropped 1 row" in ds.attrs["import_message"]


# -- CSV: malformed input ------------------------------------------------------------------------------------
MALFORMED_CSV = [
    ("", {}, r"file is empty; expected a header"),
    ("# only a comment\n\n", {}, r"only comments or blank lines"),
    ("t,x,y\n", {}, r"header \(t, x, y\) has no data rows"),
    ("0,1,2\n1,2,3\n", {}, r"line 1 '0,1,2' looks like data, not a header; add a first line"),
    ("t,x,y\n0,1,2\n0,nan,2\n1,1,1\n1,2,2\n", {}, r"column 'x' has a missing value \(NaN\) at line 3; fill or "
                                                 r"delete those rows, or pass dropna=True"),
    ("t,x,y\n0,1,2\n0,1,inf\n1,1,1\n1,2,-inf\n", {}, r"column 'y' has an infinite value \(inf\) at line 3 \(and 1 "
                                                     r"more row\)"),
    ("t,x,y\n0,1,2\n0,1,\n1,1,1\n1,2,2\n", {}, r"column 'y' has a missing value \(NaN\) at line 3"),
    ("t,x\n0,1\n,2\n1,1\n1,2\n", {}, r"time 't' has a missing value \(NaN\) at line 3; every sample needs a finite"),
    ("t,x,y\n0,1,2\n0,1,2x\n1,1,1\n1,2,2\n", {}, r"column 'y' is not numeric: '2x' at line 3; fix the value"),
    ("t,x\nmon,1\nmon,2\ntue,1\ntue,2\n", {}, r"time column 't' is not numeric: 'mon' at line 2"),
    ("t,x,name\n0,1,a\n0,2,b\n1,1,c\n1,2,d\n", {"columns": ["x", "name"]},
     r"coordinate column 'name' is not numeric: 'a' at line 2"),
    ("t,x\n0,1\n0,2\n0,3\n", {}, r"all 3 samples have the same time 0 \(column 't'\); Action Matching needs "
                                r"snapshots at 2 or more distinct times.*time='NAME'"),
    ("t,x\n0,1\n0,2\n0.5,3\n1,4\n1,5\n", {}, r"snapshot at time 0.5 \(column 't'\) has only 1 sample \(line 4\); "
                                            r"each snapshot needs at least 2 samples. Check that time value"),
    ("t,x\n0.1,1\n0.2,2\n0.3,3\n", {}, r"appears only once.*continuous timestamp. Round or bin it"),
    ("t,x,y\n0,1,2\n0,1,2\n1,1,1\n1,2,2\n", {"time": "tt"}, r"no time column named 'tt'; the columns are 't', "
                                                            r"'x', 'y'"),
    ("t,x,y\n0,1,2\n0,1,2\n1,1,1\n1,2,2\n", {"columns": ["x", "zz"]}, r"no coordinate column named 'zz'"),
    ("t,x,y\n0,1,2\n0,1,2\n1,1,1\n1,2,2\n", {"weight": "w"}, r"no weight column named 'w'"),
    ("time,x,y\n0,1,2\n0,1,2\n1,1,1\n1,2,2\n", {"time": "tme"}, r"did you mean 'time'\?"),
    ("when,x\n0,1\n0,2\n1,1\n1,2\n", {}, r"no time column: no column is named 'time' or 't' \(found 'when', 'x'\); "
                                        r"name it with time='NAME' \(CLI --time-column\)"),
    ("time,t,x\n0,0,1\n0,0,2\n1,1,1\n1,1,2\n", {}, r"both 'time' and 't' could be the time column"),
    ("t;x;y\n0;1;2\n0;1;2\n1;1;1\n1;2;2\n", {"delimiter": ","}, r"with delimiter ',' the header 't;x;y' is a "
                                                                 r"single column; it contains ';': pass "
                                                                 r"delimiter=';'"),
    ("t,x,y\n0;1;2\n0;1;2\n1;1;1\n", {}, r"line 2 has 1 fields but the header has 3 \(delimiter guessed from the "
                                        r"header: ','\); the data rows seem to use ';' instead"),
    ("t,x,y\n0,1,2\n0,1,2\n1,1,1,5\n1,2,2\n", {"delimiter": ","}, r"line 4 has 4 fields but the header has 3"),
    ("time\n0\n0\n", {}, r"the header 'time' has a single column; expected a time column and coordinate columns"),
    ("t,x,x\n0,1,2\n0,1,2\n1,1,1\n1,2,2\n", {}, r"column name 'x' appears twice \(columns 2 and 3\)"),
    ("t,x [um],y [nm]\n0,1,2\n0,1,2\n1,1,1\n1,2,2\n", {}, r"coordinate columns have different units in the "
                                                         r"header \(x: um, y: nm\); convert them to one unit"),
    ("t,label\n0,a\n0,b\n1,c\n1,d\n", {}, r"no numeric coordinate column besides time 't'"),
    ("t,x,w\n0,1,1\n0,2,-1\n1,1,1\n1,2,1\n", {"weight": "w"}, r"weight 'w' must be finite and non-negative, got "
                                                              r"-1.0 at line 3"),
    ("t,x\n0,1\n0,2\n1,1\n1,2\n", {"colums": ["x"]}, r"unknown option for CSV files 'colums'.*did you mean "
                                                     r"'columns'\?"),
]


@pytest.mark.parametrize("text, options, match", MALFORMED_CSV)
def test_csv_malformed_input(tmp_path, text, options, match):
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match=match) as info:
        amphys.io.read(path, **options)
    if "option" not in match:
        assert str(path) in str(info.value)  # the message names the file


def test_csv_binary_file(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(FileFormatError, match=r"binary file, not CSV text \(an Excel workbook\? export it"):
        amphys.io.read(path)


# -- NPZ ------------------------------------------------------------------------------------------------------
def test_npz_long_wide_and_weights(tmp_path):
    t, x = _cloud()
    np.savez(tmp_path / "long.npz", time=t, x=x, weight=np.arange(t.size, dtype=float),
             dim_names=np.array(["a", "b", "c"]))
    ds = amphys.io.read(tmp_path / "long.npz", units_x="um")
    np.testing.assert_array_equal(ds["x"].values, x)
    np.testing.assert_array_equal(ds["weight"].values, np.arange(t.size))
    assert list(ds["dim"].values) == ["a", "b", "c"] and ds.attrs["units_x"] == "um"
    wide = np.random.default_rng(1).normal(size=(3, 4, 2))
    np.savez(tmp_path / "wide.npz", t=[0.0, 1.0, 5.0], x=wide)
    ds = amphys.io.read(tmp_path / "wide.npz")
    np.testing.assert_array_equal(ds["time"].values, np.repeat([0.0, 1.0, 5.0], 4))
    np.testing.assert_array_equal(ds["x"].values, wide.reshape(12, 2))
    np.savez(tmp_path / "one_d.npz", time=[0.0, 0.0, 1.0, 1.0], x=[1.0, 2.0, 3.0, 4.0])
    assert amphys.io.read(tmp_path / "one_d.npz").sizes["dim"] == 1
    np.savez(tmp_path / "named.npz", tt=[0.0, 0.0, 1.0, 1.0], pos=np.ones((4, 2)))
    assert amphys.io.read(tmp_path / "named.npz", time="tt", x="pos").sizes["dim"] == 2


@pytest.mark.parametrize(
    "arrays, options, match",
    [
        ({"time": [0, 0, 1, 1.0]}, {}, r"no array 'x' \(positions\); found \['time'\]"),
        ({"time": [0, 0, 1.0], "x": np.ones((4, 2))}, {}, r"mismatched dimensions: array 'time' has 3 entries but "
                                                          r"array 'x' has 4 rows"),
        ({"time": [0, 0, 1, 1.0], "x": [[0, 1], [0, np.nan], [1, 1], [2, 2.0]]}, {},
         r"column 'x\[:, 1\]' has a missing value \(NaN\) at row 1 of 'x'"),
        ({"time": [0, 0, 1.0], "x": np.ones((3, 2))}, {}, r"snapshot at time 1 \(column 'time'\) has only 1 "
                                                          r"sample \(row 2 of 'x'\)"),
        ({"time": np.zeros((2, 2)), "x": np.ones((2, 2))}, {}, r"array 'time' must be one-dimensional"),
        ({"time": [0, 0, 1, 1.0], "x": np.array(["a", "b", "c", "d"])}, {}, r"array 'x' must be numeric"),
        ({"time": [0, 0, 1, 1.0], "x": np.ones((4, 1))}, {"weight": "w"}, r"no array 'w' \(weights\)"),
        ({"time": [0, 0, 1, 1.0], "x": np.ones((4, 1)), "weight": np.ones(3)}, {}, r"weight has shape \(3,\)"),
        ({"time": [0, 0, 0, 0.0], "x": np.ones((4, 1))}, {}, r"same time 0"),
    ],
)
def test_npz_malformed_input(tmp_path, arrays, options, match):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    with pytest.raises(InputError, match=match) as info:
        amphys.io.read(path, **options)
    assert str(path) in str(info.value)


def test_npz_object_array(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, time=np.array([0, 0, 1, 1.0]), x=np.array([[1], "a", None, 2.0], dtype=object))
    with pytest.raises(FileFormatError, match=r"array 'x' is not numeric \(an object array\)"):
        amphys.io.read(path)


@pytest.mark.parametrize("empty, corrupt, content, match", [
    ("empty.npz", "bad.npz", b"not a zip file at all", r"not a readable .npz file.*numpy.savez"),
    ("empty.h5", "bad.nc", b"\x89HDF garbage", r"not a readable HDF5/NetCDF file"),
])
def test_empty_and_corrupt_binary_files(tmp_path, empty, corrupt, content, match):
    (tmp_path / empty).write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"file is empty"):
        amphys.io.read(tmp_path / empty)
    (tmp_path / corrupt).write_bytes(content)
    with pytest.raises(FileFormatError, match=match):
        amphys.io.read(tmp_path / corrupt)


# -- NetCDF / HDF5 --------------------------------------------------------------------------------------------
def test_netcdf_schema_round_trip_and_units_override(tmp_path):
    t, x = _cloud()
    ds = amphys.make_snapshots(t, x, units_x="um", units_t="s")
    amphys.io.write(ds, tmp_path / "snap.h5")
    back = amphys.io.read(tmp_path / "snap.h5")
    xr.testing.assert_identical(back, ds)
    assert amphys.io.read(tmp_path / "snap.h5", units_x="nm").attrs["units_x"] == "nm"


def test_netcdf_named_variable_long_and_wide(tmp_path):
    t, x = _cloud(d=2)
    long = xr.Dataset({"pos": (("obs", "axis"), x, {"units": "mm"})},
                      coords={"when": ("obs", t, {"units": "h"}), "axis": ["u", "v"]})
    long.to_netcdf(tmp_path / "long.nc", engine="h5netcdf")
    ds = amphys.io.read(tmp_path / "long.nc", variable="pos", time="when")
    np.testing.assert_array_equal(ds["x"].values, x)
    assert (ds.attrs["units_x"], ds.attrs["units_t"]) == ("mm", "h")
    assert list(ds["dim"].values) == ["u", "v"]
    # a single data variable is found without variable=, and its first-dim coordinate is the time
    ds = amphys.io.read(tmp_path / "long.nc", time="when")
    assert json.loads(ds.attrs["import"])["variable"] == "pos"
    wide_x = np.random.default_rng(2).normal(size=(3, 5, 2))
    wide = xr.Dataset({"particles": (("time", "particle", "coord"), wide_x)},
                      coords={"time": [0.0, 0.5, 2.0], "coord": ["x", "y"]})
    wide.to_netcdf(tmp_path / "wide.h5", engine="h5netcdf")
    ds = amphys.io.read(tmp_path / "wide.h5", variable="particles")
    np.testing.assert_array_equal(ds["x"].values, wide_x.reshape(15, 2))
    assert "wide" in json.loads(ds.attrs["import"])["layout"]


@pytest.mark.parametrize(
    "options, match",
    [
        ({}, r"not in the amphys Snapshots schema and no variable named 'x'; pass variable=NAME"),
        ({"variable": "nope"}, r"no variable 'nope'; found \['a', 'b'\]"),
        ({"variable": "a", "time": "clock"}, r"no time coordinate 'clock'"),
        ({"variable": "b", "time": "time"}, r"mismatched dimensions: time 'time' \(dims \('obs',\)\) must run along "
                                            r"the first dim of 'b'"),
        ({"variable": "a", "columns": ["x"]}, r"unknown option for NetCDF/HDF5 files 'columns'"),
    ],
)
def test_netcdf_malformed(tmp_path, options, match):
    ds = xr.Dataset({"a": (("obs", "k"), np.ones((4, 2))), "b": (("k", "obs"), np.ones((2, 4)))},
                    coords={"time": ("obs", [0, 0, 1, 1.0])})
    path = tmp_path / "two.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with pytest.raises(InputError, match=match):
        amphys.io.read(path, **options)


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match=r"unknown file type '.xlsx'; amphys reads .*\.csv"):
        amphys.io.read(tmp_path / "data.xlsx")
    with pytest.raises(FileFormatError, match=r"file not found"):
        amphys.io.read(tmp_path / "missing.csv")


# -- AnnData --------------------------------------------------------------------------------------------------
def test_h5ad_without_anndata_says_how_to_install(tmp_path, monkeypatch):
    path = tmp_path / "cells.h5ad"
    path.write_bytes(b"\x89HDF")
    monkeypatch.setitem(sys.modules, "anndata", None)  # makes `import anndata` raise ImportError
    with pytest.raises(FileFormatError, match=r"needs the optional dependency anndata; install it with pip "
                                              r"install 'amphys\[anndata\]'"):
        amphys.io.read(path)


def test_h5ad_obsm_and_obs_time(tmp_path):
    anndata = pytest.importorskip("anndata")
    import pandas as pd

    t, x = _cloud(d=2)
    obs = pd.DataFrame({"day": pd.Categorical([f"{v:g}" for v in t]), "mass": np.ones(t.size)},
                       index=[f"cell{i}" for i in range(t.size)])
    adata = anndata.AnnData(X=np.zeros((t.size, 3)), obs=obs, obsm={"X_pca": x, "X_umap": x[:, ::-1]})
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    ds = amphys.io.read(path, weight="mass", units_t="d")
    np.testing.assert_array_equal(ds["x"].values, x)
    np.testing.assert_array_equal(ds["time"].values, t)
    assert ds.attrs["units_t"] == "d"
    msg = ds.attrs["import_message"]
    assert "positions obsm['X_pca'] guessed" in msg and "time obs['day'] guessed" in msg
    assert amphys.io.read(path, key="X_umap", time="day").sizes["dim"] == 2
    with pytest.raises(FileFormatError, match=r"no obsm entry 'X_tsne'; obsm holds \['X_pca', 'X_umap'\]"):
        amphys.io.read(path, key="X_tsne")
    with pytest.raises(FileFormatError, match=r"no obs column 'hour' \(time\)"):
        amphys.io.read(path, time="hour")
    adata.obsm["X_pca"][3, 1] = np.nan
    adata.write_h5ad(path)
    with pytest.raises(FileFormatError, match=r"has a missing value \(NaN\) at obs 'cell3' \(row 3\)"):
        amphys.io.read(path)
