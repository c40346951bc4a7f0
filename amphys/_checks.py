"""One home for input checks, below every layer (numpy and :mod:`amphys.errors` only).

Each kind of argument is checked once, with one message: it names the argument, what was expected and what came.
Layers call these instead of writing their own copy, so messages cannot drift apart.

>>> check_count(3, "n")
3
>>> check_times([0.0, 0.5, 1.0]).tolist()
[0.0, 0.5, 1.0]
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from amphys.errors import InputError, describe, unknown_name

__all__ = [
    "as_rng", "check_int", "check_float", "check_choice", "check_bool", "check_count", "check_dim", "check_time",
    "check_times", "check_t_span", "check_points", "positive", "as_vector", "as_matrix",
]


# -- numbers and names ---------------------------------------------------------------------------------------------
def check_int(value, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """An integer (not a bool) in [low, high], as ``int``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name}: expected an integer{_range_text(low, high)}, got {describe(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InputError(f"{name}: expected an integer{_range_text(low, high)}, got {value}")
    return int(value)


def check_float(value, name: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> float:
    """A finite real number (not a bool) in the interval given by ``low``/``high`` (closed unless ``*_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InputError(f"{name}: expected a finite number, got {describe(value)}")
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and (value >= high if high_open else value > high)
    if bad_low or bad_high:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        raise InputError(f"{name}: expected a number {' and '.join(p for p in (lo, hi) if p)}, got {value}")
    return float(value)


def check_choice(value, name: str, choices) -> str:
    """One of the strings ``choices``; otherwise an :class:`~amphys.errors.UnknownNameError` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise unknown_name(f"value of {name}", value, choices)
    return value


def check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name}: expected true or false, got {describe(value)}")
    return bool(value)


def check_count(n, name: str = "n", *, low: int = 0) -> int:
    """A number of samples: an integer >= ``low`` (0 by default)."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < low:
        kind = "non-negative" if low == 0 else ("positive" if low == 1 else f">= {low}")
        raise InputError(f"{name}: expected a {kind} integer number of samples, got {describe(n)}")
    return int(n)


def check_dim(value, name: str = "dim", *, allowed=None) -> int:
    """A space dimension: a positive integer, optionally one of ``allowed``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(f"{name}: expected a positive integer dimension, got {describe(value)}")
    if allowed is not None and int(value) not in allowed:
        raise InputError(f"{name}: expected one of {sorted(allowed)}, got {value}")
    return int(value)


def _range_text(low, high) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


# -- times -----------------------------------------------------------------------------------------------------------
def check_time(t, name: str = "t") -> float:
    """A finite scalar time, as float."""
    try:
        value = float(np.asarray(t, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a finite scalar time, got {describe(t)}") from None
    if not math.isfinite(value):
        raise InputError(f"{name}: expected a finite scalar time, got {value}")
    return value


def check_times(times, name: str = "times", *, min_count: int = 1, increasing: bool = True) -> np.ndarray:
    """Finite times as a float64 1-D array; with ``increasing`` (default) strictly increasing, with a message that
    says which two entries are duplicate or out of order."""
    try:
        arr = np.atleast_1d(np.asarray(times, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a sequence of numbers, got {describe(times)}") from None
    if arr.ndim != 1:
        raise InputError(f"{name}: expected a 1-D sequence of times, got shape {arr.shape}")
    if arr.size < min_count:
        raise InputError(f"{name}: expected at least {min_count} time{'s' if min_count > 1 else ''}, got "
                         f"{arr.size}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: expected finite times, got {arr.tolist()}")
    if increasing:
        diffs = np.diff(arr)
        if np.any(diffs == 0):
            k = int(np.flatnonzero(diffs == 0)[0])
            raise InputError(f"{name}: duplicate time {arr[k]} (positions {k} and {k + 1}); give each time once")
        if np.any(diffs < 0):
            k = int(np.flatnonzero(diffs < 0)[0])
            raise InputError(f"{name}: times must be increasing, got {arr[k]} then {arr[k + 1]}; sort them")
    return arr


def check_t_span(t_span, name: str = "t_span", *, t_min: float | None = None) -> tuple[float, float]:
    """A time window (t0, t1) with finite t0 < t1 (and t0 > ``t_min`` when given)."""
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a pair (t0, t1), got {describe(t_span)}") from None
    if not (math.isfinite(t0) and math.isfinite(t1) and t1 > t0):
        raise InputError(f"{name}: expected finite t0 < t1, got ({t0}, {t1})")
    if t_min is not None and t0 <= t_min:
        raise InputError(f"{name}: expected t0 > {t_min}, got t0 = {t0}")
    return (t0, t1)


# -- positions and parameters ------------------------------------------------------------------------------------
def check_points(x, dim: int | None, name: str = "x", *, min_rows: int = 0) -> np.ndarray:
    """Positions as a finite float64 array of shape ``(n, dim)``. A 1-D array is ``(n, 1)`` when ``dim`` is 1
    (or None). ``dim=None`` accepts any number of coordinates."""
    want = f"(n, {dim})" if dim is not None else "(n, d)"
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a numeric array of shape {want}, got {describe(x)}") from None
    if arr.ndim == 1 and dim in (1, None):
        arr = arr[:, None]
    if arr.ndim != 2 or (dim is not None and arr.shape[1] != dim):
        raise InputError(f"{name}: expected shape {want}, got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise InputError(f"{name}: expected at least {min_rows} samples, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[0])
        raise InputError(f"{name}: expected finite values, got NaN or inf (first at row {bad})")
    return arr


def positive(value, name: str, *, allow_zero: bool = False) -> float:
    """A finite positive (or non-negative) number, as float."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a positive number, got {describe(value)}") from None
    ok = (v >= 0 if allow_zero else v > 0) and math.isfinite(v)
    if not ok:
        kind = "non-negative" if allow_zero else "positive"
        raise InputError(f"{name}: expected a finite {kind} number, got {v}")
    return v


def as_vector(value, d: int, name: str) -> np.ndarray:
    """A finite length-``d`` float vector; a scalar is broadcast."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number or a vector of length {d}, got {describe(value)}") from None
    if arr.ndim == 0:
        arr = np.full(d, float(arr))
    if arr.shape != (d,) or not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: expected a finite vector of length {d}, got {describe(value)}")
    return arr


def as_matrix(value, d: int | None, name: str, *, spd: bool = False, symmetric: bool = False) -> np.ndarray:
    """A ``(d, d)`` float matrix; a scalar means that multiple of the identity (``d`` must then be known)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a (d, d) matrix or a scalar, got {describe(value)}") from None
    if arr.ndim == 0:
        if d is None:
            raise InputError(f"{name}: a scalar needs the dimension from another argument; give a (d, d) matrix")
        arr = float(arr) * np.eye(d)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or (d is not None and arr.shape[0] != d):
        want = f"({d}, {d})" if d is not None else "(d, d)"
        raise InputError(f"{name}: expected a {want} matrix or a scalar, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: expected finite entries, got NaN or inf")
    if (symmetric or spd) and not np.allclose(arr, arr.T, rtol=1e-10, atol=1e-12):
        raise InputError(f"{name}: expected a symmetric matrix, got {arr.tolist()}")
    if spd:
        arr = 0.5 * (arr + arr.T)
        if np.linalg.eigvalsh(arr).min() <= 0:
            raise InputError(f"{name}: expected a symmetric positive-definite matrix, "
                             f"got eigenvalues {np.linalg.eigvalsh(arr).tolist()}")
    return arr


def as_rng(rng) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator, a seed, a SeedSequence or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise InputError(f"rng: expected a numpy Generator, an integer seed or None, got {describe(rng)}")
