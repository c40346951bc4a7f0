"""What both baselines share and that needs no torch: the snapshot check, the shared config fields, the input
normalisation statistics, and a small energy distance (used to tune the Langevin step).

Snapshot data are ``times`` (K,) strictly increasing and ``xs``, a list of K arrays ``(n_k, d)`` (a 1-D array
is ``(n_k, 1)``), in the user's units. Models work in normalised units: time τ = (t − t_0)/(t_K − t_0) in
[0, 1] and space y = (x − m)/s per coordinate, m and s the mean and standard deviation of the pooled
snapshots. Arguments are checked with :mod:`amphys._checks`, config fields with the constraint table of
:mod:`amphys.solver.fields` (the training fields are those of :class:`amphys.FitConfig`, with the same rules).
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np

from amphys._checks import check_points, check_times
from amphys.errors import InputError, describe, unknown_name
from amphys.solver.fields import TRAINING, Flag, Integer, check_fields

__all__ = ["BaseConfig", "check_snapshots", "Normaliser", "energy_distance", "draw_rows"]


@dataclasses.dataclass(frozen=True)
class BaseConfig:
    """Training fields shared by the baselines; names, defaults and rules mirror :class:`amphys.FitConfig`.

    steps : optimiser steps. batch_size : rows per step. lr : peak Adam learning rate, linear ``warmup`` then
    ``schedule`` "cosine" (to ``lr * lr_final``) or "constant". grad_clip : global gradient-norm clip (0 =
    off). ema_decay : EMA of the weights used for evaluation (0 = off). explode_factor : divergence guard, a
    gradient norm above this multiple of the running median (or a non-finite loss) stops training with status
    diverged. hidden, depth : MLP width and hidden layers (SiLU). time_features : Fourier features
    sin/cos(kπτ), k = 1..K, besides τ. seed : initial weights and every random draw. device : "auto" (CUDA when
    present), "cpu", "cuda". dtype : training precision. progress : show a tqdm bar.
    """

    #: constraint of every field (subclasses extend it)
    CHECKS: ClassVar[dict] = {**TRAINING, "batch_size": Integer(2), "progress": Flag()}

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
    explode_factor: float = 1e4
    time_features: int = 4
    dtype: str = "float32"
    progress: bool = True

    def __post_init__(self):
        check_fields(self, self.CHECKS)

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
    """Validate snapshot data: ``times`` as float64 (K,), K >= 2, strictly increasing, and ``xs`` as a list of K
    finite float64 ``(n_k, d)`` arrays, n_k >= 2, all with the same d."""
    t = check_times(times, "times", min_count=2)
    if isinstance(xs, np.ndarray) and xs.ndim == 3:
        xs = list(xs)
    if not isinstance(xs, (list, tuple)) or len(xs) != t.size:
        got = f"{len(xs)} items" if isinstance(xs, (list, tuple)) else describe(xs)
        raise InputError(f"xs: expected a list of {t.size} sample arrays (one per time), got {got}")
    out: list[np.ndarray] = []
    for k, x in enumerate(xs):
        out.append(check_points(x, out[0].shape[1] if out else None, f"xs[{k}]", min_rows=2))
    return t, out


@dataclasses.dataclass(frozen=True)
class Normaliser:
    """τ = (t − t0)/t_scale and y = (x − mean)/std per coordinate (docs/theory.md#normalisation-and-network)."""

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
