"""``FitConfig``: every setting of an Action Matching fit, as one frozen, validated dataclass (docs/api.md).

Stable field names (docs/api.md): ``steps``, ``batch_size``, ``lr``, ``seed``, ``device``, ``loss``, ``sigma``,
``time_integral``, ``checkpoint_every``, ``hidden``, ``depth``. The other fields are amphys's own and documented
below. Values that depend on the data ("auto" of ``loss``, ``interpolant``, ``smoothing``) are resolved by
:func:`amphys.fit`, and the resolved config is what a :class:`amphys.FitResult` carries. The constraints of
the fields are declared once, in :data:`CHECKS` (the training fields shared with the baselines come from
:data:`amphys.solver.fields.TRAINING`).

>>> cfg = FitConfig(steps=2000, hidden=128)
>>> cfg.replace(lr=3e-4).lr
0.0003
>>> FitConfig.from_dict(cfg.to_dict()) == cfg
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import warnings
from pathlib import Path
from typing import Any

from amphys.errors import FileFormatError, InputError, describe, unknown_name
from amphys.solver.fields import TRAINING, Choice, Flag, Frequencies, Integer, Number, OrAuto, check_fields, choices_of

__all__ = ["FitConfig", "CHECKS", "CHOICES", "RENAMED", "RESUME_NEUTRAL", "ADDED_OFF"]

#: The constraint of every field except ``sigma`` (a number or a callable, checked in ``__post_init__``).
CHECKS: dict = {
    **TRAINING,
    "batch_size": Integer(4),
    "checkpoint_every": Integer(0),
    "log_every": Integer(1),
    "max_time": Number(0.0, low_open=True, optional=True),
    "loss": Choice("auto", "am", "entropic", "unbalanced"),
    "time_integral": Choice("mc", "quadrature", "snapshots"),
    "interpolant": Choice("auto", "ot", "mixture", "nearest", "sampler"),
    "smoothing": OrAuto(Number(0.0)),
    "lr": OrAuto(TRAINING["lr"]),
    "time_features": OrAuto(TRAINING["time_features"]),
    "min_coupling_snr": Number(0.0),
    "ensemble": Integer(1),
    "time_basis": Integer(0),
    "knot_stride": OrAuto(Integer(1)),
    "quadrature_rule": Choice("auto", "gauss-legendre", "simpson", "trapezoid"),
    "weight_fn": Choice("none", "sine"),
    "laplacian": Choice("auto", "exact", "hutchinson"),
    "derivatives": Choice("fused", "autograd", "func"),
    "n_probes": Integer(1),
    "n_nodes": Integer(2),
    "centre": Flag(),
    "quadratic_head": Flag(),
    "boundary_fraction": Number(0.0, 1.0, low_open=True, high_open=True),
    "holdout_fraction": Number(0.0, 0.5, high_open=True),
    "holdout_every": Integer(1),
    "holdout_rows": Integer(16),
    "patience": Integer(0),
    "holdout_ties": Number(0.0),
    "time_frequencies": Frequencies(),
    "input_map": Choice("none", "radial", "asinh"),
    "input_scale": Number(0.0, low_open=True),
    "time_modulation": Flag(),
    "periodic_time": Flag(),
}

#: Valid values of the string-valued fields.
CHOICES: dict[str, tuple[str, ...]] = choices_of(CHECKS)

#: Old field names, still read (with a ``DeprecationWarning``) by ``from_dict``, ``from_json``, ``from_toml``
#: and ``replace``, so configs and models saved by earlier versions keep working.
RENAMED = {"validation_fraction": "holdout_fraction", "eval_every": "holdout_every",
           "validation_rows": "holdout_rows", "x_source": "interpolant"}

#: Fields added after configs were first stored, with the value that means "off": a stored config (one that has
#: every field of :data:`_STORED`) was written by a version without them, so it reads them as off, not as the
#: current default, and its model and checkpoint load and resume as they were trained.
ADDED_OFF = {"time_frequencies": (), "time_modulation": False, "input_map": "none", "periodic_time": False}
_STORED = ("steps", "batch_size", "lr", "seed", "loss", "time_integral", "hidden", "depth")

#: Fields that may differ between a checkpoint and the run resuming it (they do not change the numbers).
RESUME_NEUTRAL = ("device", "checkpoint_every", "max_time")


def _renamed(values: dict, *, warn: bool) -> dict:
    """``values`` with old field names (:data:`RENAMED`) replaced by the new ones."""
    old = [key for key in values if key in RENAMED]
    if not old:
        return values
    for key in old:
        if RENAMED[key] in values:
            raise InputError(f"FitConfig: both {key!r} and its new name {RENAMED[key]!r} given; keep "
                             f"{RENAMED[key]!r}")
    if warn:
        names = ", ".join(f"{key!r} is now {RENAMED[key]!r}" for key in old)
        warnings.warn(f"FitConfig: {names}; the old names will stop working in a later version",
                      DeprecationWarning, stacklevel=3)
    return {RENAMED.get(key, key): value for key, value in values.items()}


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Settings of an Action Matching fit. All fields are keyword arguments with defaults.

    Training
        steps : optimiser steps. batch_size : rows per step, interior and boundary batches together (the
        throughput benchmark compares an AM step with a regression step on this many rows).
        lr : peak Adam learning rate; "auto": 3e-3 on the "ot" path, 1e-3 otherwise (measured). warmup : steps
        of linear warm-up. schedule : "cosine" (decay to
        ``lr * lr_final``) or "constant". grad_clip : clip the global gradient norm (0 = off).
        ema_decay : decay of the exponential moving average of the weights used for evaluation (0 = off).
        seed : seeds the initial weights and every random draw of training. device : "auto" (CUDA when
        present), "cpu" or "cuda". dtype : training precision ("float32" fast; evaluation is float64).
        max_time : stop after this many seconds (status "stopped"); None = no limit.
        explode_factor : divergence guard, a gradient norm above this multiple of the running median (or a
        non-finite loss) stops training with status "diverged".
        checkpoint_every : steps between checkpoints when a checkpoint path is given (0 = only at the end).
        log_every : steps between history records.
    Held-out model selection on finite data (not used with a sampler, whose samples are fresh)
        holdout_fraction : share of every snapshot held out (0 = off). holdout_every : steps between
        evaluations of the held-out loss of the EMA model (one fixed batch of ``holdout_rows`` interior
        rows). The fit returns the EMA weights with the lowest held-out loss, or later weights whose held-out loss
        is within ``holdout_ties`` standard errors of it (0: strictly the lowest, the behaviour before this
        option). patience : stop after this many
        evaluations without improvement (0 = never stop early). (Formerly ``validation_fraction``,
        ``eval_every``, ``validation_rows``: still read, with a DeprecationWarning.)
    Loss (docs/theory.md#the-action-matching-loss)
        loss : "am", "entropic" (needs ``sigma``), "unbalanced" (weighted data) or "auto" (unbalanced when the
        data carries weights, else am). sigma : entropic noise σ_t in the data's units (scalar, or a callable
        of physical time; a callable cannot be saved). weight_fn : time weight w(t) of the time-weighted AM
        loss, "none" (w = 1) or "sine" (w = sin(πτ) on normalised time τ; no boundary terms).
        laplacian : Δs for entropic AM, "auto" (exact for d ≤ 8, else Hutchinson), "exact", "hutchinson";
        n_probes : Rademacher probes per sample for Hutchinson.
    Time integral (docs/theory.md#the-time-integral)
        time_integral : "mc" (stratified uniform t; the default, the only mode without a measured failure),
        "quadrature" (``quadrature_rule`` nodes in t), "snapshots" (observed times as nodes, Simpson/trapezoid
        weights on the irregular grid). With fixed nodes the sampled loss is unbounded below through the
        behaviour of s between nodes, and long fits can drift (docs/bench/solver.md).
        interpolant : the path between snapshots (docs/theory.md#learning-from-snapshots): "ot" (chained
        optimal-transport couplings of consecutive snapshots, smoothed in time by a penalised cubic spline, the
        loss in its regression form ½E‖∇s − u‖²), "mixture" (samples of the two neighbouring snapshots with the
        linear-interpolation probabilities: the measure path (1-λ)q_k + λq_{k+1}, AM loss), "nearest" (the
        nearest snapshot), "sampler" (fresh samples from a ground-truth sampler passed to fit), or "auto":
        sampler when given; mixture for weighted data; else "ot" when the median coupling signal-to-noise ratio
        of snapshots a tenth of the window apart (:func:`amphys.solver.coupling.coupling_snr`) is at least
        ``min_coupling_snr`` (0.5: measured, docs/benchmarks.md),
        and "mixture" otherwise (snapshots that barely move against their own sampling noise: couplings would be
        noise). (Formerly ``x_source``.)
        smoothing : λ of the spline in time of the "ot" paths (penalty on ∫f‴² in normalised time); "auto"
        chooses it by leave-one-snapshot-out from :data:`amphys.solver.paths.SMOOTHING_GRID`.
        min_coupling_snr : the threshold of ``interpolant="auto"``.
        knot_stride : the mixture (and nearest) path's knots are every ``knot_stride`` snapshots, in that many
        interleaved paths that together use every snapshot (1 = the plain mixture path through consecutive
        snapshots, the behaviour before this option); "auto": about a tenth of the window apart (1 up to 14
        snapshots), which stops the noise of finite differences of close snapshots from growing with their
        number (docs/theory.md#learning-from-snapshots).
        ensemble : independent members trained on bootstrap resamples of every snapshot; the model's velocity is
        their mean and :meth:`amphys.FitResult.velocity_spread` estimates its error from their spread.
        quadrature_rule : "auto" (Gauss–Legendre for "quadrature", irregular Simpson for "snapshots"),
        "gauss-legendre", "simpson" or "trapezoid".
        n_nodes : quadrature nodes, or time strata per batch for "mc" with a sampler.
        centre : gauge-fix s(t, x) - s(t, x̄) (x̄ the data mean): removes any function c(t) from s exactly,
        leaves ∇s unchanged (not allowed with "unbalanced", where s itself is the growth rate).
        boundary_fraction : share of ``batch_size`` used by the two boundary batches together.
    Network (docs/theory.md#normalisation-and-network)
        hidden : width; depth : hidden layers; time_features : Fourier features sin/cos(kπτ), k = 1..K, besides
        τ ("auto": 2 on the "ot" path, 0 otherwise); time_basis : J > 0 puts the time dependence of s in J smooth
        functions of t (:mod:`amphys.solver.sieve`), pooling the snapshots in time (0 = off); quadratic_head : s
        = ½‖y − h(τ, y)‖² with h the MLP (normalised units). derivatives : how ∂_t s and
        ∇s are formed on the one batched forward: "fused" (explicit reverse pass with a fused SiLU derivative,
        fastest; falls back to "autograd" for the quadratic head and the entropic Laplacian), "autograd"
        (torch.autograd.grad with create_graph) or "func" (torch.func.vmap of grad).
    Input representation (docs/theory.md#normalisation-and-network)
        time_frequencies : angular frequencies ω_j (radians per unit of the data's time) whose sin(ω_j t) and
        cos(ω_j t) the network reads next to τ, so a flow that oscillates in time becomes a function of its
        phase; "auto" detects them in the snapshots' moments (:func:`amphys.solver.spectrum.detect_frequencies`,
        none for a flow that does not oscillate), "none" or () gives none; a list (or "0.3, 0.6") gives them. The
        fit returns the resolved tuple. A stored config of a version without these fields reads them as off
        (:data:`ADDED_OFF`).
        periodic_time : the network reads time only through sin/cos of ``time_frequencies`` (τ and the
        sin/cos(kπτ) features held at zero), so s is periodic in t; for flows that are periodic at the detected
        frequency it removes a boundary layer at the ends of the window (docs/bench/quantum.md); no effect when no
        frequency is given or detected.
        input_map : the spatial input of the network, "none" (whitened coordinates z), "radial"
        (z/(1 + ‖z‖/r0)) or "asinh" (r0·asinh(z/r0) per coordinate), compressing heavy tails; input_scale : r0,
        in units of the whitened coordinates.
    """

    steps: int = 4000
    batch_size: int = 1024
    lr: Any = "auto"
    seed: int = 0
    device: str = "auto"
    loss: str = "auto"
    sigma: Any = None
    time_integral: str = "mc"
    checkpoint_every: int = 1000
    hidden: int = 256
    depth: int = 4
    # amphys's own fields
    warmup: int = 100
    schedule: str = "cosine"
    lr_final: float = 0.05
    grad_clip: float = 10.0
    ema_decay: float = 0.999
    dtype: str = "float32"
    max_time: float | None = None
    explode_factor: float = 1e4
    log_every: int = 1
    weight_fn: str = "none"
    laplacian: str = "auto"
    n_probes: int = 1
    interpolant: str = "auto"
    smoothing: Any = "auto"
    min_coupling_snr: float = 0.5
    ensemble: int = 1
    time_basis: int = 0
    knot_stride: Any = "auto"
    quadrature_rule: str = "auto"
    n_nodes: int = 16
    centre: bool = False
    boundary_fraction: float = 0.25
    time_features: Any = "auto"
    quadratic_head: bool = False
    derivatives: str = "fused"
    holdout_fraction: float = 0.1
    holdout_every: int = 100
    patience: int = 10
    holdout_rows: int = 4096
    holdout_ties: float = 2.0
    time_frequencies: Any = ()
    input_map: str = "none"
    input_scale: float = 3.0
    time_modulation: bool = False
    periodic_time: bool = False

    def __post_init__(self):
        check_fields(self, CHECKS)
        sigma = self.sigma
        if sigma is not None and not callable(sigma):
            if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not math.isfinite(sigma) \
                    or sigma < 0:
                raise InputError(f"FitConfig.sigma: expected a finite number >= 0 (entropic noise in the data's "
                                 f"units) or a callable sigma(t), got {describe(sigma)}")
            object.__setattr__(self, "sigma", float(sigma))
        self._check_combinations()

    def _check_combinations(self):
        if self.loss == "entropic" and self.sigma is None:
            raise InputError("FitConfig.sigma: loss='entropic' needs the noise level sigma (dX = ∇s dt + σ dW), "
                             "e.g. sigma=0.5")
        if self.loss == "unbalanced" and self.centre:
            raise InputError("FitConfig.centre: cannot centre s with loss='unbalanced' (s is the growth rate "
                             "there, not defined up to a function of t); set centre=False")
        if self.time_integral == "snapshots" and self.quadrature_rule == "gauss-legendre":
            raise InputError("FitConfig.quadrature_rule: time_integral='snapshots' uses the observed times as nodes, "
                             "so Gauss-Legendre nodes are impossible; use 'auto' (Simpson), 'simpson' or "
                             "'trapezoid'")
        if self.interpolant == "sampler" and self.time_integral == "snapshots":
            raise InputError("FitConfig.interpolant: 'sampler' draws samples between snapshots, but "
                             "time_integral='snapshots' uses the observed times only; use time_integral='mc' or "
                             "'quadrature'")
        if self.interpolant == "ot":
            for name, ok, why in (("loss", self.loss in ("auto", "am"), "fits the deterministic flow (loss='am')"),
                                  ("time_integral", self.time_integral == "mc", "draws times uniformly ('mc')"),
                                  ("weight_fn", self.weight_fn == "none", "has no time weight"),
                                  ("quadratic_head", not self.quadratic_head, "uses the scalar head")):
                if not ok:
                    raise InputError(f"FitConfig.{name}: interpolant='ot' {why}, got {getattr(self, name)!r}; "
                                     "use interpolant='mixture' for this setting")

    # -- construction and serialisation ----------------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict, *, warn_renamed: bool = True) -> FitConfig:
        """Build from a mapping; an unknown key raises :class:`~amphys.errors.UnknownNameError`. Old field names
        (:data:`RENAMED`) are read, with a ``DeprecationWarning`` unless ``warn_renamed=False`` (files written by
        earlier versions)."""
        if not isinstance(values, dict):
            raise InputError(f"FitConfig: expected a mapping of field names to values, got {describe(values)}")
        values = _renamed(values, warn=warn_renamed)
        if all(key in values for key in _STORED):
            values = {**ADDED_OFF, **values}
        names = cls.field_names()
        for key in values:
            if key not in names:
                raise unknown_name("FitConfig field", key, names)
        return cls(**values)

    @classmethod
    def from_json(cls, text: str, *, warn_renamed: bool = True) -> FitConfig:
        try:
            values = json.loads(text)
        except (TypeError, json.JSONDecodeError) as exc:
            raise InputError(f"FitConfig: not valid JSON ({exc})") from None
        return cls.from_dict(values, warn_renamed=warn_renamed)

    @classmethod
    def from_toml(cls, path, **overrides) -> FitConfig:
        """Read a TOML file: the fields at top level or in a ``[fit]`` table; ``overrides`` win.

        Example file::

            steps = 3000
            time_integral = "mc"
            [fit]          # (alternatively everything under this table)
        """
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib

        path = Path(path)
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise FileFormatError(f"{str(path)!r}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise FileFormatError(f"{str(path)!r}: not valid TOML ({exc})") from None
        if "fit" in data and isinstance(data["fit"], dict):
            rest = {k: v for k, v in data.items() if k != "fit"}
            data = {**rest, **data["fit"]}
        try:
            return cls.from_dict({**_renamed(data, warn=True), **overrides})
        except InputError as exc:
            raise type(exc)(f"{str(path)!r}: {exc}") from None

    def to_dict(self) -> dict:
        """Plain JSON types; a callable ``sigma`` becomes the string ``"<callable NAME>"``."""
        out = dataclasses.asdict(self)
        if callable(self.sigma):
            out["sigma"] = f"<callable {getattr(self.sigma, '__name__', 'sigma')}>"
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    def replace(self, **overrides) -> FitConfig:
        """A copy with some fields changed (validated); unknown names raise ``UnknownNameError``; old names
        (:data:`RENAMED`) are read with a ``DeprecationWarning``."""
        overrides = _renamed(overrides, warn=True)
        names = self.field_names()
        for key in overrides:
            if key not in names:
                raise unknown_name("FitConfig field", key, names)
        return dataclasses.replace(self, **overrides)

    def differences(self, other: FitConfig, ignore=RESUME_NEUTRAL) -> list[str]:
        """Names of fields whose values differ (except ``ignore``)."""
        a, b = self.to_dict(), other.to_dict()
        return [k for k in a if k not in ignore and a[k] != b[k]]
