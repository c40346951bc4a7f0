"""Snapshots data: schema, generation and file I/O (xarray, h5netcdf; no torch)."""

from amphys.data.generate import generate
from amphys.data.snapshots import make_snapshots, split_snapshots, validate_snapshots

__all__ = ["generate", "make_snapshots", "split_snapshots", "validate_snapshots"]
