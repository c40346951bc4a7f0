"""AnnData (``.h5ad``) reader: cell states ``obsm[key]`` (or ``X``) at the times in ``obs[time]``.

Needs the optional dependency ``anndata`` (``pip install 'amphys[anndata]'``), imported only when a ``.h5ad`` file
is read. Guessing: ``key`` is the only ``obsm`` entry, or ``X_pca`` when there are several; ``time`` is the
``obs`` column named ``time``, ``t``, ``day``, ``timepoint`` or ``time_point`` (any case). Categorical times
whose categories are numbers (``"2"``, ``"4.5"``) are converted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from amphys.data._import import COMMON_OPTIONS, Mapping, check_options, finish_import, unit_or_default
from amphys.errors import FileFormatError

__all__ = ["read_h5ad"]

OPTIONS = ("key", "time", "weight") + COMMON_OPTIONS
TIME_NAMES = ("time", "t", "day", "timepoint", "time_point")
INSTALL_HINT = "pip install 'amphys[anndata]'"


def _import_anndata(src: str):
    try:
        import anndata
    except ImportError:
        raise FileFormatError(f"{src}: reading .h5ad files needs the optional dependency anndata; install it "
                              f"with {INSTALL_HINT}") from None
    return anndata


def _obs_times(src: str, obs, name: str) -> np.ndarray:
    col = obs[name]
    values = col.to_numpy()
    if hasattr(col, "cat"):
        cats = list(col.cat.categories)
        try:
            numbers = np.array([float(c) for c in cats])
        except (TypeError, ValueError):
            raise FileFormatError(f"{src}: obs column {name!r} is categorical with non-numeric categories "
                                  f"{cats[:6]}; map them to numbers first, e.g. adata.obs[{name!r}] = "
                                  f"adata.obs[{name!r}].map({{{cats[0]!r}: 0.0, ...}}).astype(float)") from None
        codes = col.cat.codes.to_numpy()
        out = np.where(codes >= 0, numbers[np.clip(codes, 0, None)], np.nan)
        return out.astype(np.float64)
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        bad = next((i for i, v in enumerate(values) if not _is_number(v)), 0)
        raise FileFormatError(f"{src}: obs column {name!r} is not numeric: {values[bad]!r} at obs "
                              f"{str(obs.index[bad])!r} (row {bad}); convert it to numbers (e.g. days)") from None


def _is_number(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def read_h5ad(path: Path, **options) -> xr.Dataset:
    """Read an AnnData file: positions ``obsm[key]`` (``key="X"`` for the matrix ``X``), times ``obs[time]``.

    Options: ``key``, ``time`` (an ``obs`` column), ``weight`` (an ``obs`` column), ``units_x``, ``units_t``,
    ``dropna``, ``dim_names``.
    """
    path = Path(path)
    src = repr(str(path))
    check_options(path, ".h5ad", options, OPTIONS)
    anndata = _import_anndata(src)
    if path.stat().st_size == 0:
        raise FileFormatError(f"{src}: file is empty (0 bytes)")
    try:
        adata = anndata.read_h5ad(path)
    except Exception as exc:
        raise FileFormatError(f"{src}: not a readable AnnData file ({type(exc).__name__}: {exc})") from exc
    notes = []
    key = options.get("key")
    keys = list(adata.obsm.keys())
    if key is None:
        if len(keys) == 1:
            key = keys[0]
        elif "X_pca" in keys:
            key = "X_pca"
        else:
            raise FileFormatError(f"{src}: choose the positions with key=NAME (CLI --obsm-key): obsm holds "
                                  f"{keys or 'nothing'}; key='X' uses the matrix X ({adata.n_vars} variables)")
        notes.append(f"positions obsm[{key!r}] guessed")
    if key == "X":
        x = adata.X
        x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
        columns = [str(v) for v in adata.var_names]
    elif key in adata.obsm:
        x = adata.obsm[key]
        columns = [str(c) for c in x.columns] if hasattr(x, "columns") else None
        x = x.to_numpy() if hasattr(x, "to_numpy") else np.asarray(x)
    else:
        raise FileFormatError(f"{src}: no obsm entry {key!r}; obsm holds {keys}; key='X' uses the matrix X")
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[0] != adata.n_obs:
        raise FileFormatError(f"{src}: mismatched dimensions: obsm[{key!r}] has shape {x.shape}, expected "
                              f"({adata.n_obs}, d)")
    if not np.issubdtype(x.dtype, np.number):
        raise FileFormatError(f"{src}: obsm[{key!r}] is not numeric (dtype {x.dtype})")
    columns = columns or [f"{key}[:, {j}]" for j in range(x.shape[1])]
    obs_cols = [str(c) for c in adata.obs.columns]
    time = options.get("time")
    if time is None:
        found = [c for c in obs_cols if c.lower() in TIME_NAMES]
        if not found:
            raise FileFormatError(f"{src}: no time column in obs (none named {', '.join(TIME_NAMES)}; obs has "
                                  f"{obs_cols}); name it with time='NAME' (CLI --time-column)")
        time = found[0]
        notes.append(f"time obs[{time!r}] guessed")
    if time not in adata.obs.columns:
        raise FileFormatError(f"{src}: no obs column {time!r} (time); obs has {obs_cols}")
    t = _obs_times(src, adata.obs, time)
    weight = options.get("weight")
    w = None
    if weight is not None:
        if weight not in adata.obs.columns:
            raise FileFormatError(f"{src}: no obs column {weight!r} (weights); obs has {obs_cols}")
        w = _obs_times(src, adata.obs, weight)
    names = adata.obs_names

    def locate(i: int) -> str:
        return f"obs {str(names[i])!r} (row {i})"

    mapping = Mapping("h5ad", time, columns, weight, unit_or_default(options.get("units_x")) or "1",
                      unit_or_default(options.get("units_t")) or "1", notes, extra={"key": key})
    dim_names = options.get("dim_names")
    if dim_names is None and (key == "X" or not columns[0].startswith(f"{key}[")):
        dim_names = columns
    return finish_import(path, t, x, mapping, weight=w, dim_names=dim_names, locate=locate,
                         dropna=bool(options.get("dropna", False)))
