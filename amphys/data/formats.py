"""Readers for measured data: CSV, NPZ, a named NetCDF variable, AnnData (SPEC §4.2).

Each reader registers itself in :data:`amphys.data.io.READERS` under its suffixes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from amphys.data.io import READERS
from amphys.data.snapshots import make_snapshots
from amphys.errors import FileFormatError

__all__ = ["read_npz", "snapshots_from_variable"]


def read_npz(path: Path, *, time: str = "time", x: str = "x", units_x: str = "1", units_t: str = "1",
             **_) -> xr.Dataset:
    """``.npz`` with an array ``time`` (N,) and an array ``x`` (N, d) (names overridable)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as exc:
        raise FileFormatError(f"{str(path)!r}: not a readable .npz file ({type(exc).__name__}: {exc})") from exc
    for key in (time, x):
        if key not in arrays:
            raise FileFormatError(f"{str(path)!r}: missing array {key!r}; found {sorted(arrays)}; "
                                  f"expected arrays {time!r} (N,) and {x!r} (N, d)")
    return make_snapshots(arrays[time], arrays[x], weight=arrays.get("weight"), units_x=units_x,
                          units_t=units_t, source="measured", name=str(path))


def snapshots_from_variable(ds: xr.Dataset, path, *, variable: str | None, time: str = "time") -> xr.Dataset:
    """Snapshots from a named variable of a NetCDF/HDF5 dataset with a time coordinate along its first dim."""
    if variable is None:
        raise FileFormatError(f"{str(path)!r}: not in the amphys Snapshots schema and no variable named 'x'; "
                              f"pass variable=NAME (one of {sorted(map(str, ds.data_vars))})")
    if variable not in ds.data_vars:
        raise FileFormatError(f"{str(path)!r}: no variable {variable!r}; found {sorted(map(str, ds.data_vars))}")
    var = ds[variable]
    if time not in ds.variables:
        raise FileFormatError(f"{str(path)!r}: no time coordinate {time!r}; found {sorted(map(str, ds.variables))}")
    t = ds[time]
    if t.ndim != 1 or t.dims[0] != var.dims[0]:
        raise FileFormatError(f"{str(path)!r}: time {time!r} must run along the first dim of {variable!r} "
                              f"({var.dims[0]!r}), got dims {t.dims}")
    values = np.asarray(var.values, dtype=np.float64)
    return make_snapshots(t.values, values.reshape(values.shape[0], -1),
                          units_x=str(var.attrs.get("units", "1")), units_t=str(t.attrs.get("units", "1")),
                          name=str(path))


READERS[".npz"] = read_npz
