"""Readers for measured data: CSV, NPZ, NetCDF/HDF5, AnnData (docs/theory.md#data-schema).

Each reader registers itself in :data:`amphys.data.io.READERS` under its suffixes when this module is imported
(``amphys.io.read`` imports it). Options common to all readers: ``units_x``, ``units_t`` (stored in the attrs),
``dropna`` (drop samples with a missing coordinate instead of refusing them) and ``dim_names``.

======== ============================================================= ===========================================
suffix   layout                                                        options
======== ============================================================= ===========================================
``.csv`` long form: a time column and coordinate columns               ``time``, ``columns``, ``weight``,
                                                                       ``delimiter``, ``decimal``, ``comment``
``.npz`` arrays ``time`` (N,) and ``x`` (N, d), or ``x`` (T, n, d)     ``time``, ``x``, ``weight``
``.nc``  the Snapshots schema, or a variable with a time coordinate    ``variable``, ``time``, ``weight``,
``.h5``  along its first dim (long (N, d) or wide (T, n, d))           ``chunks``
``.h5ad`` AnnData: ``obsm[key]`` (or ``X``) and ``obs[time]``          ``key``, ``time``, ``weight``
======== ============================================================= ===========================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from amphys.data._import import COMMON_OPTIONS, Mapping, check_options, finish_import, to_long_form, unit_or_default
from amphys.data.anndata_format import read_h5ad
from amphys.data.csv_format import read_csv
from amphys.data.io import READERS, open_dataset
from amphys.data.snapshots import SCHEMA, check_snapshots
from amphys.errors import FileFormatError

__all__ = ["read_csv", "read_npz", "read_netcdf", "read_h5ad", "snapshots_from_variable"]

NPZ_OPTIONS = ("time", "x", "weight") + COMMON_OPTIONS
NETCDF_OPTIONS = ("variable", "time", "weight", "chunks") + COMMON_OPTIONS


def _check_not_empty(path: Path) -> None:
    if path.is_file() and path.stat().st_size == 0:
        raise FileFormatError(f"{str(path)!r}: file is empty (0 bytes)")


def read_npz(path: Path, **options) -> xr.Dataset:
    """``.npz`` with an array ``time`` and an array ``x`` (names overridable with ``time=``, ``x=``).

    ``time`` (N,) with ``x`` (N, d) or (N,) (one time per sample), or ``time`` (T,) with ``x`` (T, n, d) (one
    time per snapshot, n samples each). An array ``weight`` is used as sample weights when present; an array
    ``dim_names`` of strings names the coordinates.
    """
    path = Path(path)
    src = repr(str(path))
    check_options(path, ".npz", options, NPZ_OPTIONS)
    _check_not_empty(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            names = list(f.files)
            arrays = {}
            for k in names:
                try:
                    arrays[k] = f[k]
                except ValueError as exc:  # object arrays need pickle, which is never allowed
                    arrays[k] = exc
    except Exception as exc:
        raise FileFormatError(f"{src}: not a readable .npz file ({type(exc).__name__}: {exc}); write one with "
                              "numpy.savez(path, time=t, x=x)") from exc
    notes = []
    time = options.get("time")
    if time is None:
        time = next((k for k in ("time", "t") if k in arrays), "time")
    xname = options.get("x", "x")
    for key, role in ((time, "time"), (xname, "positions")):
        if key not in arrays:
            raise FileFormatError(f"{src}: no array {key!r} ({role}); found {sorted(arrays)}; expected arrays "
                                  f"'time' (N,) and 'x' (N, d), or name yours with time='...', x='...'")
    weight = options.get("weight")
    if weight is None and "weight" in arrays:
        weight = "weight"
        notes.append("array 'weight' used as sample weights")
    if weight is not None and weight not in arrays:
        raise FileFormatError(f"{src}: no array {weight!r} (weights); found {sorted(arrays)}")
    for key in (time, xname, weight):
        if key is not None and isinstance(arrays[key], Exception):
            raise FileFormatError(f"{src}: array {key!r} is not numeric (an object array); save numbers, e.g. "
                                  f"numpy.asarray({key}, dtype=float)")
    t, x, w, layout = to_long_form(path, arrays[time], arrays[xname], time_label=f"array {time!r}",
                                   x_label=f"array {xname!r}",
                                   weight=None if weight is None else arrays[weight])
    d = x.shape[1]
    dim_names = options.get("dim_names")
    if dim_names is None and "dim_names" in arrays and not isinstance(arrays["dim_names"], Exception):
        dim_names = [str(v) for v in np.asarray(arrays["dim_names"]).reshape(-1)]
    columns = list(dim_names) if dim_names is not None else [f"{xname}[:, {j}]" for j in range(d)]
    mapping = Mapping("npz", time, columns, weight, unit_or_default(options.get("units_x")) or "1",
                      unit_or_default(options.get("units_t")) or "1", notes, extra={"layout": layout})
    per_row = layout.startswith("wide")
    n = x.shape[0] // max(arrays[time].shape[0], 1) if per_row else 1

    def locate(i: int) -> str:
        return f"{xname}[{i // n}, {i % n}]" if per_row else f"row {i} of {xname!r}"

    return finish_import(path, t, x, mapping, weight=w, dim_names=dim_names, locate=locate,
                         dropna=bool(options.get("dropna", False)))


def read_netcdf(path: Path, **options) -> xr.Dataset:
    """``.nc``/``.h5``/``.hdf5``: a file in the Snapshots schema, or a named ``variable`` with a time coordinate.

    Files in the schema are returned as they are (``units_x``/``units_t`` relabel them when given); ``chunks``
    (e.g. ``{"sample": 100000}``) opens them lazily through dask. Other files: see
    :func:`snapshots_from_variable`; without ``variable=``, a file with a single data variable uses it.
    """
    path = Path(path)
    check_options(path, "NetCDF/HDF5", options, NETCDF_OPTIONS)
    _check_not_empty(path)
    ds = open_dataset(path, chunks=options.get("chunks"))
    variable = options.get("variable")
    if ds.attrs.get("amphys_schema") == SCHEMA or (variable is None and "x" in ds.data_vars
                                                    and ds["x"].dims == ("sample", "dim")):
        ds = check_snapshots(ds, name=str(path))
        for key in ("units_x", "units_t"):
            if options.get(key) is not None:
                ds.attrs[key] = unit_or_default(options[key])
        return ds
    if variable is None:
        candidates = [str(v) for v in ds.data_vars if ds[v].ndim >= 1]
        if len(candidates) == 1:
            variable = candidates[0]
    return snapshots_from_variable(ds, path, variable=variable, time=options.get("time"),
                                   weight=options.get("weight"), units_x=options.get("units_x"),
                                   units_t=options.get("units_t"), dropna=bool(options.get("dropna", False)),
                                   dim_names=options.get("dim_names"))


def snapshots_from_variable(ds: xr.Dataset, path, *, variable: str | None, time: str | None = "time",
                            weight: str | None = None, units_x: str | None = None, units_t: str | None = None,
                            dropna: bool = False, dim_names=None) -> xr.Dataset:
    """Snapshots from a named variable of a NetCDF/HDF5 dataset with a time coordinate along its first dim.

    Layouts: ``(sample,)`` or ``(sample, d)`` with ``time(sample)`` repeated per snapshot (long form), or
    ``(time, n, d)`` / ``(time, n)`` with one time per snapshot (wide form). Units come from the ``units`` attrs
    of the variable and of the time coordinate unless given.
    """
    path = Path(path)
    src = repr(str(path))
    found = sorted(map(str, ds.data_vars))
    if variable is None:
        raise FileFormatError(f"{src}: not in the amphys Snapshots schema and no variable named 'x'; pass "
                              f"variable=NAME (CLI --variable), one of {found}")
    if variable not in ds.data_vars:
        raise FileFormatError(f"{src}: no variable {variable!r}; found {found}")
    var = ds[variable]
    if var.ndim == 0:
        raise FileFormatError(f"{src}: variable {variable!r} is a scalar; expected positions (sample, d)")
    notes = []
    if time is None:
        first = var.dims[0]
        time = next((k for k in ("time", "t", first) if k in ds.variables and ds[k].ndim == 1
                     and ds[k].dims[0] == first), "time")
        if time != "time":
            notes.append(f"time coordinate {time!r} guessed")
    if time not in ds.variables:
        raise FileFormatError(f"{src}: no time coordinate {time!r}; found {sorted(map(str, ds.variables))}; "
                              "name it with time='NAME' (CLI --time-column)")
    t = ds[time]
    if t.ndim != 1 or t.dims[0] != var.dims[0]:
        raise FileFormatError(f"{src}: mismatched dimensions: time {time!r} (dims {t.dims}) must run along the "
                              f"first dim of {variable!r} ({var.dims[0]!r}; dims {var.dims})")
    w = None
    if weight is not None:
        if weight not in ds.data_vars:
            raise FileFormatError(f"{src}: no weight variable {weight!r}; found {found}")
        w = np.asarray(ds[weight].values)
    t_long, x, w, layout = to_long_form(path, t.values, var.values, time_label=f"time {time!r}",
                                        x_label=f"variable {variable!r}", weight=w)
    d = x.shape[1]
    if dim_names is None and var.ndim >= 2 and var.dims[-1] in ds.coords and ds[var.dims[-1]].size == d \
            and (var.ndim == 3 or layout.startswith("long")):
        dim_names = [str(v) for v in ds[var.dims[-1]].values]
    columns = list(dim_names) if dim_names is not None else [f"{variable}[..., {j}]" for j in range(d)]
    mapping = Mapping("netcdf", time, columns, weight,
                      unit_or_default(units_x) or str(var.attrs.get("units", "1")),
                      unit_or_default(units_t) or str(t.attrs.get("units", "1")), notes,
                      extra={"variable": variable, "layout": layout})
    per_row = layout.startswith("wide")
    n = x.shape[0] // t.size if per_row else 1
    dims = var.dims

    def locate(i: int) -> str:
        if per_row:
            return f"{variable}[{dims[0]}={i // n}, {dims[1]}={i % n}]"
        return f"{variable}[{dims[0]}={i}]"

    return finish_import(path, t_long, x, mapping, weight=w, dim_names=dim_names, locate=locate, dropna=dropna)


READERS[".npz"] = read_npz
READERS[".csv"] = read_csv
READERS[".txt"] = read_csv
READERS[".tsv"] = read_csv
READERS[".h5ad"] = read_h5ad
for _suffix in (".nc", ".h5", ".hdf5", ".nc4"):
    READERS[_suffix] = read_netcdf
