"""``amphys.fit``: learn the Action Matching flow of Snapshots; ``FitResult``; ``load_model`` (SPEC §7.1).

The bridge between the xarray Snapshots of :mod:`amphys.data` and the array-level solver of
:mod:`amphys.solver`. A fitted model answers in the data's physical units:

>>> import amphys                                                    # doctest: +SKIP
>>> data = amphys.generate("barenblatt", [1.0, 1.25, 1.5, 1.75, 2.0], 2000)
>>> model = amphys.fit(data, steps=2000, hidden=128)
>>> model.velocity(1.5, data["x"].values[:5])       # (5, d), physical units
>>> model.push(x0, 1.0, [1.5, 2.0]).shape            # (2, n, d)
"""

from __future__ import annotations

import json
import numbers
import sys
import types
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from amphys._version import __version__
from amphys.data.lazy import is_lazy
from amphys.data.snapshots import split_snapshots, validate_snapshots
from amphys.errors import CheckpointError, InputError, describe
from amphys.solver.checkpoint import (
    CHECKPOINT_FORMAT,
    OLD_FORMATS,
    atomic_torch_save,
    checkpoint_weights,
    load_checkpoint,
)
from amphys.solver.config import FitConfig
from amphys.solver.model import ActionModel
from amphys.solver.train import train
from amphys.solver.transport import push_ode, push_sde

__all__ = ["fit", "FitResult", "load_model", "Transported", "MODEL_FORMAT"]

MODEL_FORMAT = "amphys-model/1"
_CHUNK = 65536


class Transported(NamedTuple):
    """Positions (len(times), n, d) and log-weights (len(times), n) of pushed particles (unbalanced fits)."""

    x: np.ndarray
    log_weight: np.ndarray


def _make_config(config, overrides) -> FitConfig:
    if config is None:
        config = FitConfig()
    elif isinstance(config, dict):
        config = FitConfig.from_dict(config)
    elif isinstance(config, (str, Path)):
        config = FitConfig.from_toml(config)
    elif not isinstance(config, FitConfig):
        raise InputError(f"config: expected a FitConfig, a dict of its fields or a TOML path, got {describe(config)}")
    return config.replace(**overrides) if overrides else config


def _as_sampler(sampler):
    if sampler is None:
        return None
    if hasattr(sampler, "sample") and callable(sampler.sample):
        return lambda t, n, rng: sampler.sample(t, n, rng)
    if callable(sampler):
        return sampler
    raise InputError(f"sampler: expected a System (with .sample) or a callable sampler(t, n, rng) -> (n, d), got "
                     f"{describe(sampler)}")


def _lazy_parts(ds):
    """Times, one :class:`~amphys.solver.rows.Rows` per time (positions read on demand) and weights (in memory)."""
    from amphys.data.lazy import RowReader
    from amphys.solver.rows import Rows

    t = np.asarray(ds["time"].values, dtype=np.float64)
    times, starts = np.unique(t, return_index=True)
    ends = np.append(starts[1:], t.size)
    del t
    reader = RowReader(ds, time_of=lambda i: times[np.searchsorted(starts, i, side="right") - 1])
    xs = [Rows(reader, a, b) for a, b in zip(starts, ends)]
    weights = None
    if "weight" in ds.data_vars:
        w = np.asarray(ds["weight"].values, dtype=np.float64)
        weights = [w[a:b] for a, b in zip(starts, ends)]
    note = (f"data read on demand ({reader.n_rows} samples on disk, {reader.mode} reads, blocks of "
            f"{reader.chunk_rows}); ")
    return times, xs, weights, note


def fit(snapshots, config=None, *, sampler=None, checkpoint=None, resume: bool = False, progress: bool = True,
        callback=None, distributed: bool | None = None, **overrides) -> FitResult:
    """Fit an Action Matching model s_θ(t, x) to ``snapshots`` (SPEC §2, §7.1).

    Parameters
    ----------
    snapshots : xarray.Dataset in the Snapshots schema (§4.1), at least 2 distinct times.
    config : :class:`~amphys.solver.config.FitConfig`, a dict of its fields, a TOML path, or None (defaults).
    sampler : a ground-truth System (or callable ``sampler(t, n, rng) -> (n, d)``) to draw samples between
        snapshots (``x_source="sampler"``, chosen automatically for ``time_integral`` "mc"/"quadrature").
    checkpoint : path of a training checkpoint written every ``checkpoint_every`` steps and at the end.
    resume : continue from ``checkpoint`` when it exists (same config), to the same result as an uninterrupted
        run.
    progress : show a progress bar (loss and steps/s).
    callback : ``callback(step, record) -> bool`` after every step; True stops training (status "stopped").
    distributed : data-parallel training over the processes of a ``torchrun`` launch: None (default) = on when
        the torchrun environment (RANK, WORLD_SIZE, LOCAL_RANK) is set, True = required, False = off. Every rank
        returns the same model; save it on rank 0 (docs/scaling.md).
    **overrides : FitConfig fields, e.g. ``steps=2000``.

    Lazily opened data (``amphys.io.read(path, chunks={"sample": N})``, dask-backed) is never loaded whole: one
    streaming pass computes the normalisation and checks the values, then every batch reads only its rows.

    Data with a ``weight`` variable is fitted with the unbalanced loss (``loss="auto"``; the result's message
    says so); asking for a balanced loss on weighted data is an error.
    """
    cfg = _make_config(config, overrides)
    ds = validate_snapshots(snapshots, min_times=2)
    if is_lazy(ds):
        times, xs, weights, note = _lazy_parts(ds)
    else:
        parts = split_snapshots(ds)
        times = np.array([p[0] for p in parts])
        xs = [p[1] for p in parts]
        for t, x in zip(times, xs):
            if not np.all(np.isfinite(x)):
                raise InputError(f"snapshots: variable 'x' has NaN or inf at time {t:g}; drop or fix those rows "
                                 "before fitting")
        weights = None if parts[0][2] is None else [p[2] for p in parts]
        note = ""
    if weights is not None and cfg.loss == "auto":
        note += "data carries weights: loss 'unbalanced' chosen (loss='auto'); "
    out = train(times, xs, weights, cfg, sampler=_as_sampler(sampler), checkpoint=checkpoint, resume=resume,
                progress=progress, callback=callback, distributed=distributed)
    dim_names = [str(v) for v in ds["dim"].values]
    return FitResult(out.model, out.config, out.history, out.status, note + out.message,
                     units_x=str(ds.attrs.get("units_x", "1")), units_t=str(ds.attrs.get("units_t", "1")),
                     dim_names=dim_names, wall_time=out.wall_time, integral=out.integral,
                     source=str(ds.attrs.get("source", "")))


class FitResult:
    """A fitted Action Matching model, in the data's physical units.

    Attributes: ``config`` (resolved FitConfig), ``status`` ("converged": all steps done; "stopped": time limit,
    callback or interrupt; "diverged": the guard stopped training and kept the last good EMA weights),
    ``message``, ``dim``, ``t_span``, ``units_x``, ``units_t``, ``dim_names``, ``wall_time``, ``history``
    (xarray Dataset over ``step``). Calling the object, ``model(t, x)``, is ``model.velocity(t, x)``.
    """

    def __init__(self, model: ActionModel, config: FitConfig, history: dict, status: str, message: str, *,
                 units_x="1", units_t="1", dim_names=None, wall_time=0.0, integral="", source=""):
        self.model_ = model.to(dtype=torch.float64, device="cpu").eval()
        for p in self.model_.parameters():
            p.requires_grad_(False)
        self.config = config
        self._history = {k: np.asarray(v) for k, v in history.items()}
        self.status, self.message = status, message
        self.units_x, self.units_t = units_x, units_t
        self.dim_names = list(dim_names) if dim_names is not None else [f"x{i}" for i in range(model.dim)]
        self.wall_time, self.integral, self.source = float(wall_time), integral, source

    # -- basic facts -------------------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.model_.dim

    @property
    def t_span(self) -> tuple[float, float]:
        t0 = float(self.model_.t0)
        return t0, t0 + float(self.model_.t_scale)

    @property
    def final_loss(self) -> float:
        loss = self._history.get("loss", np.array([]))
        return float(loss[-1]) if loss.size else float("nan")

    @property
    def history(self):
        """Training history, an ``xarray.Dataset`` over ``step``: loss (physical units; its plateau is −K*),
        loss_normalised, kinetic (½∫E‖v‖² dt estimate), grad_norm, lr, wall_time (s)."""
        import xarray as xr

        h = self._history
        step = h.get("step", np.arange(0))
        data = {k: ("step", np.asarray(v, dtype=np.float64)) for k, v in h.items() if k != "step"}
        return xr.Dataset(data, coords={"step": np.asarray(step, dtype=np.int64)},
                          attrs={"config": self.config.to_json(), "status": str(self.status), "message": self.message,
                                 "time_integral": self.integral, "units_x": self.units_x, "units_t": self.units_t})

    def __repr__(self) -> str:
        return (f"FitResult(dim={self.dim}, t_span={self.t_span}, loss={self.config.loss!r}, "
                f"status={self.status!r}, final_loss={self.final_loss:.5g})")

    # -- evaluation ----------------------------------------------------------------------------------------------
    def _inputs(self, t, x):
        try:
            xa = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"x: expected a numeric array of shape (n, {self.dim}), got {describe(x)}") from None
        if xa.ndim == 1 and self.dim == 1:
            xa = xa[:, None]
        if xa.ndim != 2 or xa.shape[1] != self.dim:
            raise InputError(f"x: expected shape (n, {self.dim}), got shape {xa.shape}")
        ta = np.asarray(t, dtype=np.float64)
        if ta.ndim == 0:
            ta = np.full(xa.shape[0], float(ta))
        if ta.shape != (xa.shape[0],):
            raise InputError(f"t: expected a scalar or shape ({xa.shape[0]},), got shape {ta.shape}")
        if not (np.all(np.isfinite(ta)) and np.all(np.isfinite(xa))):
            raise InputError("t, x: expected finite values, got NaN or inf")
        return torch.from_numpy(ta), torch.from_numpy(xa)

    def velocity(self, t, x) -> np.ndarray:
        """v(t, x) = ∇_x s(t, x) in units_x/units_t, shape (n, d); ``t`` scalar or (n,)."""
        tt, xx = self._inputs(t, x)
        out = [self.model_.velocity(tt[i:i + _CHUNK], xx[i:i + _CHUNK]) for i in range(0, xx.shape[0], _CHUNK)]
        return torch.cat(out).numpy() if out else np.zeros((0, self.dim))

    __call__ = velocity

    def potential(self, t, x) -> np.ndarray:
        """s(t, x) in units_x²/units_t, shape (n,); ∇_x s = velocity. Defined up to a function of t (pinned to
        s(t, data mean) = 0 with ``centre=True``), except for unbalanced fits, where s is also the growth rate
        d log w/dt (the unbalanced PDE ∂_t q = −∇·(q∇s) + q s is written in the data's units)."""
        tt, xx = self._inputs(t, x)
        with torch.no_grad():
            out = [self.model_.potential(tt[i:i + _CHUNK], xx[i:i + _CHUNK]) for i in range(0, xx.shape[0], _CHUNK)]
        return torch.cat(out).numpy() if out else np.zeros(0)

    def push(self, x0, t0, times, *, method: str | None = None, rtol: float = 1e-6, atol: float = 1e-8,
             step_size: float | None = None, seed=None, log_weights: bool = False):
        """Move samples ``x0`` (n, d) from time ``t0`` to each of ``times``: ndarray (len(times), n, d).

        ODE dx/dt = v(t, x) with torchdiffeq (``method`` "dopri5" by default, with ``rtol``/``atol``; fixed-step
        "rk4", "midpoint", "euler" with ``step_size``); times before t0 integrate backwards. Entropic fits use
        Euler–Maruyama for dx = v dt + σ dW (``method="euler-maruyama"``, the default there, forward in time
        only; ``step_size`` is its dt, ``seed`` its noise). With ``log_weights=True`` (unbalanced fits) returns a
        :class:`Transported` (x, log_weight) where log w(t) − log w(t0) = ∫ s dt along each path.
        """
        _, xx = self._inputs(t0, x0)
        t0 = float(t0)
        times = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if times.ndim != 1 or not np.all(np.isfinite(times)):
            raise InputError(f"times: expected a 1-D sequence of finite times, got {describe(times)}")
        entropic = self.config.loss == "entropic"
        method = method or ("euler-maruyama" if entropic else "dopri5")
        if log_weights and self.config.loss != "unbalanced":
            raise InputError("log_weights: only unbalanced fits carry a growth rate; this fit used "
                             f"loss={self.config.loss!r}")
        m = self.model_

        def velocity(t, x):
            return m.velocity(t.expand(x.shape[0]), x)

        if method == "euler-maruyama":
            sigma = self.config.sigma if callable(self.config.sigma) else (lambda t, s=self.config.sigma or 0.0: s)
            gen = torch.Generator().manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))
            return push_sde(velocity, sigma, xx, t0, times, dt=step_size, generator=gen).numpy()
        growth = None
        if log_weights:
            def growth(t, x):
                return m.potential(t.expand(x.shape[0]), x)
        out = push_ode(velocity, xx, t0, times, method=method, rtol=rtol, atol=atol, step_size=step_size,
                       growth=growth)
        if log_weights:
            return Transported(out[0].detach().numpy(), out[1].detach().numpy())
        return out.detach().numpy()

    # -- files ---------------------------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the model atomically: a torch file of tensors, strings and numbers only (state dict, JSON config,
        normalisation buffers, history), loadable with ``torch.load(weights_only=True)`` and
        :func:`amphys.load_model`."""
        if callable(self.config.sigma):
            raise InputError("save: this fit used a callable sigma, which cannot be stored; refit with a scalar "
                             "sigma to save the model")
        meta = {"status": self.status, "message": self.message, "units_x": self.units_x, "units_t": self.units_t,
                "dim_names": self.dim_names, "dim": self.dim, "t_span": list(self.t_span),
                "wall_time": self.wall_time, "integral": self.integral, "source": self.source,
                "created_by": f"amphys {__version__}"}
        state = {"format": MODEL_FORMAT, "config_json": self.config.to_json(), "meta_json": json.dumps(meta),
                 "model": {k: v.detach().clone() for k, v in self.model_.state_dict().items()},
                 "history": {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in self._history.items()}}
        return atomic_torch_save(state, path)


def _build_model(config: FitConfig, dim: int) -> ActionModel:
    return ActionModel(dim, hidden=config.hidden, depth=config.depth, time_features=config.time_features,
                       quadratic_head=config.quadratic_head, centre=config.centre).to(torch.float64)


def load_model(path) -> FitResult:
    """Load a model written by :meth:`FitResult.save` (or the EMA weights of a training checkpoint).

    Raises :class:`amphys.errors.CheckpointError` for a missing, corrupt or foreign file.
    """
    state = load_checkpoint(path)
    fmt = state.get("format")
    try:
        if fmt == MODEL_FORMAT:
            weights, ema = state["model"], None
            meta = json.loads(state["meta_json"])
            config_json, history = state["config_json"], state.get("history", {})
        elif fmt in (CHECKPOINT_FORMAT, *OLD_FORMATS):
            weights, ema, meta = checkpoint_weights(state)
            config_json, history = meta.pop("config_json"), meta.pop("history")
            meta.setdefault("status", "stopped")
            meta.setdefault("message", f"loaded from a training checkpoint at step {meta.pop('step')}")
        else:
            raise CheckpointError(f"{str(path)!r}: unknown format {fmt!r}; expected {MODEL_FORMAT!r}")
        config = FitConfig.from_json(config_json, warn_renamed=False)
        dim = int(meta["dim"])
        if not isinstance(dim, numbers.Integral) or dim < 1:
            raise ValueError(f"bad dim {dim}")
        model = _build_model(config, dim)
        model.load_state_dict(weights)
        if ema is not None:
            with torch.no_grad():
                for p, e in zip(model.parameters(), ema, strict=True):
                    p.copy_(e)
        history = {k: v.numpy() for k, v in history.items()}
    except CheckpointError:
        raise
    except (KeyError, ValueError, TypeError, RuntimeError, AttributeError) as exc:
        raise CheckpointError(f"{str(path)!r}: not a valid amphys model ({type(exc).__name__}: {exc})") from None
    return FitResult(model, config, history, meta.get("status", "converged"), meta.get("message", ""),
                     units_x=meta.get("units_x", "1"), units_t=meta.get("units_t", "1"),
                     dim_names=meta.get("dim_names"), wall_time=meta.get("wall_time", 0.0),
                     integral=meta.get("integral", ""), source=meta.get("source", ""))


class _CallableModule(types.ModuleType):
    """``amphys.fit`` is both this module and the function :func:`fit`: once ``import amphys.fit`` (or ``from
    amphys.fit import ...``) has run, Python binds the *module* to the attribute ``amphys.fit``, and the lazy
    attribute of ``amphys/__init__.py`` is never consulted; calling the module calls the function."""

    def __call__(self, *args, **kwargs):
        return fit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
