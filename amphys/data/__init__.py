"""Snapshots data: schema, synthetic data and file I/O (xarray, h5netcdf; no torch)."""

from amphys.data.snapshots import check_snapshots, make_snapshots, split_snapshots, validate_snapshots
from amphys.data.synthetic import generate

__all__ = ["generate", "make_snapshots", "split_snapshots", "check_snapshots", "validate_snapshots"]
