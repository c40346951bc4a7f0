"""Shared last step of every reader of measured data: precise checks, then a Snapshots dataset
(docs/theory.md#data-schema).

Readers turn a file into long-form arrays (one time per sample, one row of coordinates per sample) plus a way to
point at a sample in the file (``locate(i)`` -> ``"line 17"``, ``"row 16"``, ``"obs 'cell_3' (row 2)"``). The
checks here then name the file, the column and the row of the first problem, and say how to fix it, before
:func:`amphys.data.snapshots.make_snapshots` builds the dataset.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from amphys.data.snapshots import make_snapshots
from amphys.errors import FileFormatError, InputError, describe, unknown_name

__all__ = ["Mapping", "finish_import", "check_options", "to_long_form", "unit_or_default"]

logger = logging.getLogger("amphys.data")

#: Options every reader accepts.
COMMON_OPTIONS = ("units_x", "units_t", "dropna", "dim_names")


def check_options(path: Path, reader: str, options: dict, valid: Sequence[str]) -> None:
    """Reject options a reader does not know (a typo must not be silently ignored)."""
    for key in options:
        if key not in valid:
            error = unknown_name(f"option for {reader} files", key, valid)
            raise InputError(f"{str(path)!r}: {error}") from None


def unit_or_default(value) -> str | None:
    """A unit string, or None when not given."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"units: expected a non-empty string such as 'um' or 's', got {describe(value)}")
    return value.strip()


@dataclass
class Mapping:
    """What a reader took from the file: which column/array is time, which are coordinates, what was guessed."""

    reader: str
    time: str
    columns: list[str]
    weight: str | None = None
    units_x: str = "1"
    units_t: str = "1"
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def as_attrs(self, path: Path, message: str) -> dict:
        info = {"reader": self.reader, "file": path.name, "time": self.time, "columns": self.columns,
                "weight": self.weight, **self.extra}
        return {"import": json.dumps(info, sort_keys=True), "import_message": message}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _describe_times(times: np.ndarray, counts: np.ndarray, units_t: str) -> str:
    u = "" if units_t == "1" else f" {units_t}"
    gaps = np.diff(times)
    regular = gaps.size > 0 and np.allclose(gaps, gaps[0], rtol=1e-6, atol=0.0)
    spacing = "" if times.size < 3 else ("evenly spaced " if regular else "irregular ")
    lo, hi = int(counts.min()), int(counts.max())
    per = f"{lo} samples each" if lo == hi else f"{lo}–{hi} samples each"
    return (f"{_plural(times.size, 'snapshot')} at {spacing}times {times[0]:g} … {times[-1]:g}{u} "
            f"({per})")


def to_long_form(path: Path, t: np.ndarray, x: np.ndarray, *, time_label: str, x_label: str,
                 weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, str]:
    """Accept the usual array layouts and return long-form ``(t (N,), x (N, d), weight (N,) | None, layout)``.

    - ``t (N,)``, ``x (N, d)`` or ``x (N,)``: long form (one time per sample), ``d = 1`` for a vector;
    - ``t (T,)``, ``x (T, n, d)``: one time per snapshot, ``n`` samples each (wide form);
    - ``t (T,)``, ``x (T, n)`` with all times distinct: wide form of a 1-D quantity.
    """
    src = repr(str(path))
    t = np.asarray(t)
    x = np.asarray(x)
    for label, arr in ((time_label, t), (x_label, x)):
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise FileFormatError(f"{src}: {label} must be numeric, got dtype {arr.dtype}; convert it to "
                                  "numbers (e.g. times in seconds)")
    t = t.astype(np.float64)
    x = x.astype(np.float64)
    if t.ndim != 1:
        raise FileFormatError(f"{src}: {time_label} must be one-dimensional (one time per sample or per "
                              f"snapshot), got shape {t.shape}")
    if x.ndim == 0 or x.ndim > 3:
        raise FileFormatError(f"{src}: {x_label} must have shape (N, d) (one row per sample) or (T, n, d) (one "
                              f"block per time), got shape {x.shape}")
    if x.shape[0] != t.shape[0]:
        raise FileFormatError(f"{src}: mismatched dimensions: {time_label} has {t.shape[0]} entries but "
                              f"{x_label} has {x.shape[0]} rows (shape {x.shape}); give one time per sample "
                              f"(x of shape (N, d)) or one time per snapshot (x of shape (T, n, d))")
    finite_t = t[np.isfinite(t)]
    distinct = np.unique(finite_t).size == t.size
    if x.ndim == 3 or (x.ndim == 2 and distinct and t.size >= 2 and x.shape[1] >= 2):
        n = x.shape[1]
        layout = f"wide: {x_label} {x.shape} = (time, sample{', coordinate' if x.ndim == 3 else ''})"
        t_long = np.repeat(t, n)
        x_long = x.reshape(t.size * n, -1)
        if weight is not None:
            weight = np.asarray(weight, dtype=np.float64)
            if weight.shape != x.shape[:2]:
                raise FileFormatError(f"{src}: mismatched dimensions: weight has shape {weight.shape}, expected "
                                      f"{x.shape[:2]} (one weight per sample of {x_label})")
            weight = weight.reshape(-1)
        return t_long, x_long, weight, layout
    if x.ndim == 1:
        x = x[:, None]
    if weight is not None:
        weight = np.asarray(weight, dtype=np.float64)
        if weight.shape != t.shape:
            raise FileFormatError(f"{src}: mismatched dimensions: weight has shape {weight.shape}, expected "
                                  f"({t.size},) (one weight per sample)")
    return t, x, weight, "long: one row per sample"


def _bad_value(v: float) -> str:
    return "a missing value (NaN)" if np.isnan(v) else f"an infinite value ({v})"


def finish_import(path: Path, t: np.ndarray, x: np.ndarray, mapping: Mapping, *,
                  weight: np.ndarray | None = None, dim_names: Sequence[str] | None = None,
                  locate: Callable[[int], str] | None = None, dropna: bool = False,
                  dropna_hint: str = "dropna=True (CLI --dropna)", min_times: int = 2,
                  min_per_time: int = 2, log: bool = True) -> xr.Dataset:
    """Check long-form arrays read from ``path`` and build the Snapshots dataset.

    ``mapping.time`` and ``mapping.columns`` name the time column and the coordinate columns in messages;
    ``locate(i)`` says where sample ``i`` (in file order) is. ``dropna`` drops samples with a non-finite
    coordinate instead of refusing them (a non-finite time or weight is always an error).
    """
    src = repr(str(path))
    locate = locate or (lambda i: f"row {i}")
    t = np.asarray(t, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if t.size == 0:
        raise FileFormatError(f"{src}: no samples (no data rows); expected one row per sample with its time "
                              "and coordinates")
    bad_t = ~np.isfinite(t)
    if bad_t.any():
        i = int(np.flatnonzero(bad_t)[0])
        raise FileFormatError(f"{src}: time {mapping.time!r} has {_bad_value(t[i])} at {locate(i)}"
                              f"{_more(bad_t)}; every sample needs a finite time: fix or delete those rows")
    t, x, weight, locate = _nonfinite_coordinates(src, t, x, weight, mapping, locate, dropna, dropna_hint)
    if weight is not None:
        w = np.asarray(weight, dtype=np.float64)
        bad_w = ~np.isfinite(w) | (w < 0)
        if bad_w.any():
            i = int(np.flatnonzero(bad_w)[0])
            raise FileFormatError(f"{src}: weight {mapping.weight!r} must be finite and non-negative, got "
                                  f"{w[i]} at {locate(i)}{_more(bad_w)}")
        weight = w
    times, counts = _check_snapshot_sizes(src, t, mapping, locate, min_times, min_per_time)
    summary = (f"{path.name}: time {mapping.time!r}"
               + (f" [{mapping.units_t}]" if mapping.units_t != "1" else "")
               + f"; {_plural(len(mapping.columns), 'coordinate')} "
               + ", ".join(repr(c) for c in mapping.columns)
               + (f" [{mapping.units_x}]" if mapping.units_x != "1" else "")
               + (f"; weight {mapping.weight!r}" if mapping.weight else "")
               + f"; {t.size} samples in {_describe_times(times, counts, mapping.units_t)}")
    if mapping.notes:
        summary += "; " + "; ".join(mapping.notes)
    ds = make_snapshots(t, x, weight=weight, dim_names=dim_names, units_x=mapping.units_x,
                        units_t=mapping.units_t, source="measured", attrs=mapping.as_attrs(path, summary),
                        min_times=min_times, name=str(path))
    if log:
        logger.info(summary)
    return ds


def _nonfinite_coordinates(src, t, x, weight, mapping: Mapping, locate, dropna: bool, dropna_hint: str):
    """Samples with a NaN or infinite coordinate: refused (naming the first), or dropped with ``dropna`` (then
    ``locate`` still points into the file). Returns (t, x, weight, locate)."""
    bad_x = ~np.isfinite(x)
    if not bad_x.any():
        return t, x, weight, locate
    rows = bad_x.any(axis=1)
    if not dropna:
        i, j = (int(a[0]) for a in np.nonzero(bad_x))
        raise FileFormatError(f"{src}: column {mapping.columns[j]!r} has {_bad_value(x[i, j])} at "
                              f"{locate(i)}{_more(rows)}; fill or delete those rows, or pass {dropna_hint} "
                              "to skip them")
    keep = ~rows
    mapping.notes.append(f"dropped {_plural(int(rows.sum()), 'row')} with a missing or infinite coordinate")
    index = np.flatnonzero(keep)
    weight = None if weight is None else np.asarray(weight)[keep]
    return t[keep], x[keep], weight, lambda i: locate(int(index[i]))


def _check_snapshot_sizes(src, t, mapping: Mapping, locate, min_times: int, min_per_time: int):
    """(distinct times, samples per time), with a message that names the likely cause when too few."""
    times, counts = np.unique(t, return_counts=True)
    if times.size < min_times:
        if times.size == 1:
            raise FileFormatError(
                f"{src}: all {t.size} samples have the same time {times[0]:g} (column {mapping.time!r}); Action "
                "Matching needs snapshots at 2 or more distinct times. If the time is in another column, name it "
                "with time='NAME' (CLI --time-column NAME)")
        raise FileFormatError(f"{src}: need at least {min_times} distinct times, got {times.size}")
    small = counts < min_per_time
    if not small.any():
        return times, counts
    if small.all():
        raise FileFormatError(
            f"{src}: every time in column {mapping.time!r} appears only once ({t.size} distinct times), so "
            "no snapshot has 2 samples: the column looks like a continuous timestamp. Round or bin it to the "
            "snapshot times (one shared time value per snapshot), or name the right column with time='NAME'")
    k = int(np.flatnonzero(small)[0])
    rows = np.flatnonzero(t == times[k])
    where = ", ".join(locate(int(r)) for r in rows[:3])
    raise FileFormatError(
        f"{src}: the snapshot at time {times[k]:g} (column {mapping.time!r}) has only "
        f"{_plural(int(counts[k]), 'sample')} ({where}); each snapshot needs at least {min_per_time} samples. "
        f"Check that time value for a typo (neighbouring times: "
        f"{', '.join(f'{v:g}' for v in times[max(k - 1, 0):k + 2] if v != times[k])}), or delete the row"
        + (f" ({int(small.sum())} snapshots are that small)" if small.sum() > 1 else ""))


def _more(mask: np.ndarray) -> str:
    extra = int(np.count_nonzero(mask)) - 1
    return f" (and {_plural(extra, 'more row')})" if extra > 0 else ""
