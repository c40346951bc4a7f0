"""Reading and writing Snapshots and result datasets (docs/theory.md#data-schema).

Writes are atomic: the file is written next to its destination under a temporary name and renamed, so a reader
(or a crash) never sees a half-written file.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from amphys._atomic import atomic_path
from amphys.errors import FileFormatError, InputError, describe

__all__ = ["write", "read", "atomic_path", "open_dataset", "READERS"]


def write(ds: xr.Dataset, path) -> Path:
    """Write ``ds`` (Snapshots or a results dataset) to HDF5 through h5netcdf, atomically. Returns the path."""
    if not isinstance(ds, xr.Dataset):
        raise InputError(f"ds: expected an xarray.Dataset, got {describe(ds)}")
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def open_dataset(path, *, chunks=None) -> xr.Dataset:
    """Open an HDF5/NetCDF file written by amphys (or any NetCDF4 file) with a clear error on failure.

    With ``chunks`` (e.g. ``{"sample": 100_000}``) the data stay on disk and are read lazily through dask.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"{str(path)!r}: file not found")
    if path.is_dir():
        raise FileFormatError(f"{str(path)!r}: is a directory, expected a file")
    try:
        ds = xr.open_dataset(path, engine="h5netcdf", chunks=chunks)
        if chunks is None:
            ds = ds.load()
            ds.close()
    except Exception as exc:  # h5py/h5netcdf raise OSError, ValueError, KeyError... for corrupt files
        raise FileFormatError(f"{str(path)!r}: not a readable HDF5/NetCDF file ({type(exc).__name__}: {exc})") \
            from exc
    return ds


#: suffix -> reader(path, **options); filled by :mod:`amphys.data.formats`, imported by :func:`read`.
READERS: dict = {}


def read(path, **options) -> xr.Dataset:
    """Read snapshots from ``path``, dispatching on its suffix (docs/theory.md#data-schema).

    Supported: ``.h5``/``.hdf5``/``.nc`` (the Snapshots schema, or ``variable=...`` with a time coordinate),
    ``.csv``, ``.npz`` and ``.h5ad`` (see :mod:`amphys.data.formats` for their options).
    """
    from amphys.data import formats  # noqa: F401  (registers the other readers)

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise FileFormatError(f"{str(path)!r}: unknown file type {suffix or '(no suffix)'!r}; "
                              f"amphys reads {', '.join(sorted(READERS))}")
    if not path.exists():
        raise FileFormatError(f"{str(path)!r}: file not found")
    return READERS[suffix](path, **options)
