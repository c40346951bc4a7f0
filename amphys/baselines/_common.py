"""What both baselines share and that needs no torch: snapshot checks, the shared config fields, the input
normalisation statistics, and a small energy distance (used to tune the Langevin step).

Snapshot data are ``times`` (K,) strictly increasing and ``xs``, a list of K arrays ``(n_k, d)`` (a 1-D array
is ``(n_k, 1)``), in the user's units. Models work in normalised units: time τ = (t − t_0)/(t_K − t_0) in
[0, 1] and space y = (x − m)/s per coordinate, m and s the mean and standard deviation of the pooled
snapshots.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

from amphys.errors import InputError, describe, unknown_name

__all__ = ["BaseConfig", "check_snapshots", "Normaliser", "energy_distance", "draw_rows", "check_query",
           "check_times", "check_count", "check_scalar"]

_CHOICES = {"device": ("auto", "cpu", "cuda"), "dtype": ("float32", "float64"),
            "schedule": ("cosine", "constant")}
_INTS = {"steps": 1, "batch_size": 2, "hidden": 1, "depth": 1, "seed": 0, "warmup": 0, "time_features": 0}


@dataclasses.dataclass(frozen=True)
class BaseConfig:
    """Training fields shared by the baselines; names and defaults mirror :class:`amphys.FitConfig`.

    steps : optimiser steps. batch_size : rows per step. lr : peak Adam learning rate, linear ``warmup`` then
    ``schedule`` "cosine" (to ``lr * lr_final``) or "constant". grad_clip : global gradient-norm clip (0 =
    off). ema_decay : EMA of the weights used for evaluation (0 = off). hidden, depth : MLP width and hidden
    layers (SiLU). time_features : Fourier features sin/cos(kπτ), k = 1..K, besides τ. seed : initial weights
    and every random draw. device : "auto" (CUDA when present), "cpu", "cuda". dtype : training precision.
    progress : show a tqdm bar.
    """

    steps: int = 4000
    batch_size: int = 1024
    lr: float = 1e-3
    hidden: int = 256
    depth: int = 4
    seed: int = 0
    device: str = "auto"
    warmup: int = 100
    schedule: str = "cosine"
    lr_final: float = 0.05
    grad_clip: float = 10.0
    ema_decay: float = 0.999
    time_features: int = 4
    dtype: str = "float32"
    progress: bool = True

    def __post_init__(self):
        cls = type(self).__name__
        for name, low in _INTS.items():
            self._int(name, low)
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if not isinstance(value, str) or value not in choices:
                raise unknown_name(f"value of {cls}.{name}", value, choices)
        self._float("lr", low=0.0, strict=True)
        self._float("lr_final", low=0.0, high=1.0)
        self._float("grad_clip", low=0.0)
        self._float("ema_decay", low=0.0, high=1.0, high_open=True)
        if not isinstance(self.progress, bool):
            raise InputError(f"{cls}.progress: expected true or false, got {describe(self.progress)}")

    # -- validation helpers for subclasses -------------------------------------------------------------------
    def _int(self, name, low):
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise InputError(f"{type(self).__name__}.{name}: expected an integer >= {low}, "
                             f"got {describe(value)}")
        object.__setattr__(self, name, int(value))

    def _float(self, name, *, low=None, high=None, strict=False, high_open=False, allow_none=False):
        value = getattr(self, name)
        if value is None and allow_none:
            return
        cls = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise InputError(f"{cls}.{name}: expected a finite number, got {describe(value)}")
        bad_low = low is not None and (value <= low if strict else value < low)
        bad_high = high is not None and (value >= high if high_open else value > high)
        if bad_low or bad_high:
            lo = "" if low is None else f"{'>' if strict else '>='} {low}"
            hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
            raise InputError(f"{cls}.{name}: expected a number {' and '.join(p for p in (lo, hi) if p)}, "
                             f"got {value}")
        object.__setattr__(self, name, float(value))

    def _choice(self, name, choices):
        value = getattr(self, name)
        if not isinstance(value, str) or value not in choices:
            raise unknown_name(f"value of {type(self).__name__}.{name}", value, choices)

    # -- construction ----------------------------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def replace(self, **overrides):
        """A validated copy with some fields changed; an unknown name raises ``UnknownNameError``."""
        names = self.field_names()
        for key in overrides:
            if key not in names:
                raise unknown_name(f"{type(self).__name__} field", key, names)
        return dataclasses.replace(self, **overrides)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def resolve(cls, config, overrides):
        """``config`` (None = defaults) with ``overrides`` applied; checks the type of ``config``."""
        if config is None:
            config = cls()
        elif not isinstance(config, cls):
            raise InputError(f"config: expected a {cls.__name__} or None, got {describe(config)}")
        return config.replace(**overrides) if overrides else config


def check_snapshots(times, xs) -> tuple[np.ndarray, list[np.ndarray]]:
    """Validate snapshot data: ``times`` as float64 (K,) and ``xs`` as a list of float64 ``(n_k, d)``."""
    try:
        t = np.asarray(times, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"times: expected a 1-D array of observation times, got {describe(times)}") from None
    if t.ndim != 1 or t.size < 2:
        raise InputError(f"times: expected at least 2 observation times (a path needs two ends), got shape "
                         f"{t.shape}")
    if not np.all(np.isfinite(t)):
        raise InputError(f"times: expected finite times, got {t.tolist()}")
    if np.any(np.diff(t) <= 0):
        raise InputError(f"times: expected strictly increasing times, got {t.tolist()}; sort the snapshots "
                         "(and merge duplicates)")
    if isinstance(xs, np.ndarray) and xs.ndim == 3:
        xs = list(xs)
    if not isinstance(xs, (list, tuple)) or len(xs) != t.size:
        got = f"{len(xs)} items" if isinstance(xs, (list, tuple)) else describe(xs)
        raise InputError(f"xs: expected a list of {t.size} sample arrays (one per time), got {got}")
    out, d = [], None
    for k, x in enumerate(xs):
        try:
            a = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"xs[{k}]: expected a numeric array (n, d), got {describe(x)}") from None
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or a.shape[0] < 2:
            raise InputError(f"xs[{k}]: expected shape (n, d) with n >= 2, got shape {a.shape}")
        if d is None:
            d = a.shape[1]
        elif a.shape[1] != d:
            raise InputError(f"xs[{k}]: expected {d} coordinates per sample like xs[0], got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            row = int(np.flatnonzero(~np.all(np.isfinite(a), axis=1))[0])
            raise InputError(f"xs[{k}]: expected finite values, got NaN or inf (first at row {row}); drop or "
                             "impute those samples")
        out.append(a)
    return t, out


@dataclasses.dataclass(frozen=True)
class Normaliser:
    """τ = (t − t0)/t_scale and y = (x − mean)/std per coordinate (SPEC §2.4)."""

    t0: float
    t_scale: float
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def from_data(cls, times: np.ndarray, xs: list[np.ndarray]) -> Normaliser:
        pooled = np.concatenate(xs, axis=0)
        std = pooled.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # a constant coordinate: leave its scale alone
        return cls(float(times[0]), float(times[-1] - times[0]), pooled.mean(axis=0), std)

    def tau(self, t):
        return (np.asarray(t, dtype=np.float64) - self.t0) / self.t_scale

    def y(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def x(self, y):
        return np.asarray(y, dtype=np.float64) * self.std + self.mean


def check_query(x, d: int, name: str = "x") -> np.ndarray:
    """Query positions as float64 ``(n, d)`` (1-D accepted when d == 1), finite."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a numeric array (n, {d}), got {describe(x)}") from None
    if a.ndim == 1 and d == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] != d:
        raise InputError(f"{name}: expected shape (n, {d}), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name}: expected finite values, got NaN or inf")
    return a


def check_times(times, name: str = "times") -> np.ndarray:
    try:
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a 1-D array of times, got {describe(times)}") from None
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise InputError(f"{name}: expected a non-empty 1-D array of finite times, got {describe(times)}")
    return t


def check_scalar(t, name: str) -> float:
    try:
        value = float(np.asarray(t, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a finite scalar time, got {describe(t)}") from None
    if not math.isfinite(value):
        raise InputError(f"{name}: expected a finite scalar time, got {value}")
    return value


def check_count(n, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise InputError(f"{name}: expected a positive integer number of samples, got {describe(n)}")
    return int(n)


def draw_rows(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rows of ``x``: without replacement when there are enough, else with replacement."""
    idx = rng.choice(x.shape[0], size=n, replace=n > x.shape[0])
    return x[idx]


def energy_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Squared energy distance 2E‖X−Y‖ − E‖X−X′‖ − E‖Y−Y′‖ with unbiased within-set terms (≥ 0 up to noise).

    Dense O(n m) memory: meant for the few thousand points of step-size tuning (amphys.diagnostics has the
    blockwise version for large sets). Non-finite input gives ``inf`` (a diverged sampler scores worst).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.inf
    n, m = x.shape[0], y.shape[0]

    def mean_dist(a, b, same):
        r2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        s = np.sqrt(np.maximum(r2, 0.0))
        if same:
            np.fill_diagonal(s, 0.0)
            return s.sum() / (a.shape[0] * (a.shape[0] - 1))
        return s.mean()

    if n < 2 or m < 2:
        return math.inf
    with np.errstate(over="ignore", invalid="ignore"):
        c = 0.5 * (x.mean(0) + y.mean(0))
        x, y = x - c, y - c
        value = float(2.0 * mean_dist(x, y, False) - mean_dist(x, x, True) - mean_dist(y, y, True))
    return value if math.isfinite(value) else math.inf
