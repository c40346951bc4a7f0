"""Snapshots: the one in-memory and on-disk form of samples (docs/theory.md#data-schema).

A long-form ``xarray.Dataset`` so that snapshot sizes may differ and times may be irregular:

- dims ``sample`` (N, all snapshots stacked, sorted by time) and ``dim`` (d);
- coordinate ``time(sample)`` float64, coordinate ``dim`` with the coordinate names;
- ``x(sample, dim)`` float64 positions; optional ``weight(sample)`` and ``v_true(sample, dim)``;
- attrs ``amphys_schema = "snapshots/1"``, ``units_x``, ``units_t``, ``source``, ``system`` (JSON), ``created_by``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import xarray as xr

from amphys._deprecation import deprecated
from amphys._version import __version__
from amphys.errors import InputError, describe

__all__ = ["SCHEMA", "make_snapshots", "check_snapshots", "split_snapshots", "snapshot_times", "default_dim_names",
           "validate_snapshots"]

SCHEMA = "snapshots/1"


def default_dim_names(d: int) -> list[str]:
    return ["x", "y", "z"][:d] if d <= 3 else [f"x{i}" for i in range(d)]


def make_snapshots(time, x, *, weight=None, v_true=None, dim_names: Sequence[str] | None = None,
                   units_x: str = "1", units_t: str = "1", source: str = "measured", system=None,
                   attrs: dict | None = None, min_times: int = 2, name: str = "snapshots") -> xr.Dataset:
    """Build a validated Snapshots dataset from long-form arrays.

    Parameters
    ----------
    time : (N,) array of the time of each sample.
    x : (N, d) positions (a 1-D array means d = 1).
    weight : optional (N,) non-negative weights (unbalanced data).
    v_true : optional (N, d) ground-truth AM velocity at each sample.
    dim_names : coordinate names, default "x", "y", "z" (or x0, x1, ... for d > 3).
    system : the generating system's parameters (dict, serialised to JSON) or a JSON string.

    Samples are stably sorted by time.
    """
    t = np.asarray(time, dtype=np.float64)
    xa = np.asarray(x, dtype=np.float64)
    if xa.ndim == 1:
        xa = xa[:, None]
    if t.ndim != 1:
        raise InputError(f"{name}: time must be one value per sample, shape (N,), got shape {t.shape}")
    if xa.ndim != 2 or xa.shape[0] != t.shape[0]:
        raise InputError(f"{name}: x must have shape (N, d) with N = len(time) = {t.shape[0]}, "
                         f"got shape {xa.shape}")
    d = xa.shape[1]
    names = list(dim_names) if dim_names is not None else default_dim_names(d)
    if len(names) != d or len(set(names)) != d:
        raise InputError(f"{name}: dim_names must be {d} distinct names, got {names!r}")
    order = np.argsort(t, kind="stable")
    data = {"x": (("sample", "dim"), xa[order])}
    if weight is not None:
        w = np.asarray(weight, dtype=np.float64).reshape(-1)
        if w.shape != t.shape:
            raise InputError(f"{name}: weight must have shape ({t.shape[0]},), got shape {w.shape}")
        data["weight"] = (("sample",), w[order])
    if v_true is not None:
        v = np.asarray(v_true, dtype=np.float64)
        if v.ndim == 1:
            v = v[:, None]
        if v.shape != xa.shape:
            raise InputError(f"{name}: v_true must have the shape of x {xa.shape}, got {v.shape}")
        data["v_true"] = (("sample", "dim"), v[order])
    if system is not None and not isinstance(system, str):
        system = json.dumps(system, sort_keys=True)
    all_attrs = {
        "amphys_schema": SCHEMA,
        "units_x": str(units_x),
        "units_t": str(units_t),
        "source": str(source),
        "system": system if system is not None else "{}",
        "created_by": f"amphys {__version__}",
    }
    all_attrs.update(attrs or {})
    ds = xr.Dataset(data, coords={"time": (("sample",), t[order]), "dim": np.array(names, dtype=object)},
                    attrs=all_attrs)
    return check_snapshots(ds, min_times=min_times, name=name)


def check_snapshots(ds, *, min_times: int = 2, min_per_time: int = 2, name: str = "snapshots") -> xr.Dataset:
    """Check that ``ds`` follows the Snapshots schema (docs/theory.md#data-schema) and return it.

    Raises :class:`amphys.errors.InputError` naming the first problem: missing variable, wrong dims, NaN/inf,
    unsorted times, fewer than ``min_times`` distinct times, a snapshot with fewer than ``min_per_time`` samples,
    negative weights.
    """
    if not isinstance(ds, xr.Dataset):
        raise InputError(f"{name}: expected an xarray.Dataset in the Snapshots schema, got {describe(ds)}")
    if "x" not in ds.data_vars:
        raise InputError(f"{name}: missing data variable 'x' (positions, dims ('sample', 'dim')); "
                         f"found variables {sorted(map(str, ds.data_vars))}")
    if ds["x"].dims != ("sample", "dim"):
        raise InputError(f"{name}: variable 'x' must have dims ('sample', 'dim'), got {ds['x'].dims}")
    if "time" not in ds.coords or ds["time"].dims != ("sample",):
        raise InputError(f"{name}: missing coordinate 'time' along 'sample' (the time of each sample)")
    if ds.sizes["sample"] == 0:
        raise InputError(f"{name}: no samples (dimension 'sample' is empty)")
    if ds.sizes["dim"] == 0:
        raise InputError(f"{name}: positions have zero coordinates (dimension 'dim' is empty)")
    t = np.asarray(ds["time"].values)
    if not np.issubdtype(t.dtype, np.number):
        raise InputError(f"{name}: coordinate 'time' must be numeric, got dtype {t.dtype}")
    t = t.astype(np.float64)
    if not np.all(np.isfinite(t)):
        raise InputError(f"{name}: coordinate 'time' has NaN or inf (first at sample "
                         f"{int(np.flatnonzero(~np.isfinite(t))[0])})")
    if np.any(np.diff(t) < 0):
        raise InputError(f"{name}: coordinate 'time' must be sorted (non-decreasing); first decrease at sample "
                         f"{int(np.flatnonzero(np.diff(t) < 0)[0]) + 1}; sort with ds.sortby('time')")
    x = ds["x"]
    if not np.issubdtype(x.dtype, np.number):
        raise InputError(f"{name}: variable 'x' must be numeric, got dtype {x.dtype}")
    if x.chunks is None:  # in memory: check values; lazily opened data is checked batch by batch when used
        bad = ~np.isfinite(np.asarray(x.values)).all(axis=1)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"{name}: variable 'x' has NaN or inf ({int(bad.sum())} samples; first at sample "
                             f"{i}, time {t[i]}); drop or fix those rows")
    times, counts = np.unique(t, return_counts=True)
    if times.size < min_times:
        raise InputError(f"{name}: need at least {min_times} distinct times, got {times.size} "
                         f"({times.tolist()[:5]}); Action Matching learns a flow between snapshots")
    if np.any(counts < min_per_time):
        k = int(np.flatnonzero(counts < min_per_time)[0])
        raise InputError(f"{name}: each snapshot needs at least {min_per_time} samples; time {times[k]} has "
                         f"{counts[k]}")
    if "weight" in ds.data_vars:
        w = ds["weight"]
        if w.dims != ("sample",):
            raise InputError(f"{name}: variable 'weight' must have dims ('sample',), got {w.dims}")
        wv = np.asarray(w.values, dtype=np.float64)
        if not np.all(np.isfinite(wv)) or np.any(wv < 0):
            raise InputError(f"{name}: variable 'weight' must be finite and non-negative")
    if "v_true" in ds.data_vars and ds["v_true"].dims != ("sample", "dim"):
        raise InputError(f"{name}: variable 'v_true' must have dims ('sample', 'dim'), got {ds['v_true'].dims}")
    return ds


def validate_snapshots(ds, **options) -> xr.Dataset:
    """Deprecated name of :func:`check_snapshots` (the schema check)."""
    deprecated("validate_snapshots is deprecated; use check_snapshots (same arguments): 'validate' now means "
               "assessing a fit without ground truth (amphys validate)")
    return check_snapshots(ds, **options)


def snapshot_times(ds: xr.Dataset) -> np.ndarray:
    """The distinct times of ``ds``, sorted."""
    return np.unique(np.asarray(ds["time"].values, dtype=np.float64))


def split_snapshots(ds: xr.Dataset) -> list[tuple[float, np.ndarray, np.ndarray | None]]:
    """``[(t, x (n_t, d), weight (n_t,) or None), ...]`` per distinct time, in time order."""
    t = np.asarray(ds["time"].values, dtype=np.float64)
    x = np.asarray(ds["x"].values, dtype=np.float64)
    w = np.asarray(ds["weight"].values, dtype=np.float64) if "weight" in ds.data_vars else None
    times, starts = np.unique(t, return_index=True)
    ends = list(starts[1:]) + [t.size]
    return [(float(tt), x[a:b], None if w is None else w[a:b]) for tt, a, b in zip(times, starts, ends)]
