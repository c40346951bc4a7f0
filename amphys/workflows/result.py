"""``FitResult``: a fitted Action Matching model in the data's physical units, with its file (save, load_model).

>>> model = amphys.fit(data, steps=2000)                             # doctest: +SKIP
>>> model.velocity(1.5, x)                   # (n, d), units_x/units_t
>>> model.push(x0, 1.0, [1.5, 2.0]).shape    # (2, n, d)
>>> model.save("model.pt"); amphys.load_model("model.pt")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from amphys._checks import check_points, check_time, check_times
from amphys._version import __version__
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
from amphys.solver.status import FitStatus
from amphys.solver.transport import push_ode, push_sde

__all__ = ["FitResult", "Transported", "load_model", "MODEL_FORMAT"]

MODEL_FORMAT = "amphys-model/1"
_CHUNK = 65536


class Transported(NamedTuple):
    """Positions (len(times), n, d) and log-weights (len(times), n) of pushed particles (unbalanced fits)."""

    x: np.ndarray
    log_weight: np.ndarray


class FitResult:
    """A fitted Action Matching model, in the data's physical units.

    Attributes: ``config`` (resolved FitConfig), ``status`` (a :class:`~amphys.solver.status.FitStatus`:
    ``CONVERGED`` all steps done; ``STOPPED`` time limit, callback or interrupt; ``DIVERGED`` the guard stopped
    training and kept the last good EMA weights), ``message``, ``dim``, ``t_span``, ``units_x``, ``units_t``,
    ``dim_names``, ``wall_time``, ``history`` (xarray Dataset over ``step``). Calling the object,
    ``model(t, x)``, is ``model.velocity(t, x)``.
    """

    def __init__(self, model: ActionModel, config: FitConfig, history: dict, status, message: str, *,
                 units_x="1", units_t="1", dim_names=None, wall_time=0.0, integral="", source="",
                 read_options=None):
        self.model_ = model.to(dtype=torch.float64, device="cpu").eval()
        for p in self.model_.parameters():
            p.requires_grad_(False)
        self.config = config
        self._history = {k: np.asarray(v) for k, v in history.items()}
        self.status, self.message = FitStatus(status), message
        self.units_x, self.units_t = units_x, units_t
        self.dim_names = list(dim_names) if dim_names is not None else [f"x{i}" for i in range(model.dim)]
        self.wall_time, self.integral, self.source = float(wall_time), integral, source
        #: how the data file was read (CLI reader options such as the time column), reused by later commands
        self.read_options: dict = dict(read_options or {})

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
                          attrs={"config": self.config.to_json(), "status": self.status.value,
                                 "message": self.message, "time_integral": self.integral,
                                 "units_x": self.units_x, "units_t": self.units_t})

    def __repr__(self) -> str:
        return (f"FitResult(dim={self.dim}, t_span={self.t_span}, loss={self.config.loss!r}, "
                f"status={self.status.value!r}, final_loss={self.final_loss:.5g})")

    # -- evaluation ----------------------------------------------------------------------------------------------
    def _inputs(self, t, x):
        """(t (n,), x (n, d)) as float64 tensors; ``t`` a scalar or one time per point."""
        xa = check_points(x, self.dim, "x")
        if np.ndim(t) == 0:
            return torch.full((xa.shape[0],), check_time(t, "t"), dtype=torch.float64), torch.from_numpy(xa)
        try:
            ta = np.asarray(t, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"t: expected a scalar time or {xa.shape[0]} times, got {describe(t)}") from None
        if ta.shape != (xa.shape[0],):
            raise InputError(f"t: expected a scalar or shape ({xa.shape[0]},), got shape {ta.shape}")
        if not np.all(np.isfinite(ta)):
            raise InputError("t: expected finite times, got NaN or inf")
        return torch.from_numpy(ta), torch.from_numpy(xa)

    def _start(self, x0, t0, times):
        """Checked ``x0`` (a tensor), ``t0`` and ``times`` (any order: earlier times integrate backwards)."""
        t0 = check_time(t0, "t0")
        x0 = torch.from_numpy(check_points(x0, self.dim, "x0"))
        return x0, t0, check_times(times, "times", min_count=0, increasing=False)

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

    def velocity_spread(self, t, x) -> np.ndarray:
        """Estimated size of the error ‖v(t, x) − v*(t, x)‖ per point, shape (n,), in units_x/units_t, from the
        data alone: the spread of the ensemble's members (fit with ``ensemble=M``, M ≥ 2) times a calibration
        factor (:data:`amphys.solver.ensemble.SPREAD_CALIBRATION`, measured on systems with known fields:
        docs/benchmarks.md). It sees the sampling part of the error (how much the field moves when the data are
        drawn again), not a bias every member shares."""
        from amphys.solver.ensemble import SPREAD_CALIBRATION, EnsembleModel

        if not isinstance(self.model_, EnsembleModel):
            raise InputError("velocity_spread: needs an ensemble; fit with ensemble=M (M >= 2 members, e.g. "
                             "amphys.fit(data, ensemble=4) or amphys fit --ensemble 4)")
        tt, xx = self._inputs(t, x)
        out = [self.model_.spread(tt[i:i + _CHUNK], xx[i:i + _CHUNK]) for i in range(0, xx.shape[0], _CHUNK)]
        return SPREAD_CALIBRATION * (torch.cat(out).detach().numpy() if out else np.zeros(0))

    def _velocity_fn(self):
        m = self.model_
        return lambda t, x: m.velocity(t.expand(x.shape[0]), x)

    def push(self, x0, t0, times, *, method: str | None = None, rtol: float = 1e-6, atol: float = 1e-8,
             step_size: float | None = None, seed=None, **removed) -> np.ndarray:
        """Move samples ``x0`` (n, d) from time ``t0`` to each of ``times``: ndarray (len(times), n, d).

        ODE dx/dt = v(t, x) with torchdiffeq (``method`` "dopri5" by default, with ``rtol``/``atol``; fixed-step
        "rk4", "midpoint", "euler" with ``step_size``); times before t0 integrate backwards. Entropic fits use
        Euler–Maruyama for dx = v dt + σ dW (``method="euler-maruyama"``, the default there, forward in time
        only; ``step_size`` is its dt, ``seed`` its noise). The log-weights of unbalanced fits come from
        :meth:`push_weighted` (``log_weights=`` is no longer accepted here).
        """
        if removed.pop("log_weights", False):
            raise InputError("log_weights: push returns positions only; use push_weighted(x0, t0, times) for the "
                             "positions and log-weights of an unbalanced fit")
        if removed:
            raise TypeError(f"push() got an unexpected keyword argument {next(iter(removed))!r}")
        xx, t0, times = self._start(x0, t0, times)
        method = method or ("euler-maruyama" if self.config.loss == "entropic" else "dopri5")
        if method == "euler-maruyama":
            sigma = self.config.sigma if callable(self.config.sigma) else (lambda t, s=self.config.sigma or 0.0: s)
            gen = torch.Generator().manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))
            return push_sde(self._velocity_fn(), sigma, xx, t0, times, dt=step_size, generator=gen).numpy()
        out = push_ode(self._velocity_fn(), xx, t0, times, method=method, rtol=rtol, atol=atol,
                       step_size=step_size)
        return out.detach().numpy()

    def push_weighted(self, x0, t0, times, *, method: str = "dopri5", rtol: float = 1e-6, atol: float = 1e-8,
                      step_size: float | None = None) -> Transported:
        """Positions and log-weights of samples ``x0`` moved from ``t0`` to each of ``times`` (unbalanced fits).

        Along each path dx/dt = v(t, x) and d log w/dt = s(t, x), so log w(t) − log w(t0) = ∫ s dt (the
        unbalanced continuity equation ∂_t q = −∇·(q∇s) + q s). ``method``, ``rtol``, ``atol`` and ``step_size``
        as in :meth:`push`. Returns a :class:`Transported` (x (len(times), n, d), log_weight (len(times), n)).
        """
        if self.config.loss != "unbalanced":
            raise InputError("push_weighted: only unbalanced fits carry a growth rate; this fit used "
                             f"loss={self.config.loss!r} (use push for the positions)")
        xx, t0, times = self._start(x0, t0, times)
        m = self.model_

        def growth(t, x):
            return m.potential(t.expand(x.shape[0]), x)

        x, log_w = push_ode(self._velocity_fn(), xx, t0, times, method=method, rtol=rtol, atol=atol,
                            step_size=step_size, growth=growth)
        return Transported(x.detach().numpy(), log_w.detach().numpy())

    # -- files ---------------------------------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the model atomically: a torch file of tensors, strings and numbers only (state dict, JSON config,
        normalisation buffers, history), loadable with ``torch.load(weights_only=True)`` and
        :func:`amphys.load_model`."""
        if callable(self.config.sigma):
            raise InputError("save: this fit used a callable sigma, which cannot be stored; refit with a scalar "
                             "sigma to save the model")
        meta = {"status": self.status.value, "message": self.message, "units_x": self.units_x,
                "units_t": self.units_t, "dim_names": self.dim_names, "dim": self.dim, "t_span": list(self.t_span),
                "wall_time": self.wall_time, "integral": self.integral, "source": self.source,
                "read_options": self.read_options, "created_by": f"amphys {__version__}"}
        state = {"format": MODEL_FORMAT, "config_json": self.config.to_json(), "meta_json": json.dumps(meta),
                 "model": {k: v.detach().clone() for k, v in self.model_.state_dict().items()},
                 "history": {k: torch.as_tensor(np.asarray(v, dtype=np.float64)) for k, v in self._history.items()}}
        return atomic_torch_save(state, path)


def build_model(config: FitConfig, dim: int):
    """The network of ``config`` for ``dim`` coordinates (float64), to load a state dict into (an
    :class:`~amphys.solver.ensemble.EnsembleModel` of ``config.ensemble`` members when that is > 1)."""
    def one():
        return ActionModel.from_config(config, dim).to(torch.float64)

    if config.ensemble > 1:
        from amphys.solver.ensemble import EnsembleModel

        return EnsembleModel([one() for _ in range(config.ensemble)]).to(torch.float64)
    return one()


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
            meta.setdefault("status", FitStatus.STOPPED.value)
            meta.setdefault("message", f"loaded from a training checkpoint at step {meta.pop('step')}")
        else:
            raise CheckpointError(f"{str(path)!r}: unknown format {fmt!r}; expected {MODEL_FORMAT!r}")
        config = FitConfig.from_json(config_json, warn_renamed=False)  # files of older versions use old names
        dim = int(meta["dim"])
        if dim < 1:
            raise ValueError(f"bad dim {dim}")
        model = build_model(config, dim)
        model.load_state_dict(weights)
        if ema is not None:
            with torch.no_grad():
                for p, e in zip(model.parameters(), ema, strict=True):
                    p.copy_(e)
        history = {k: v.numpy() for k, v in history.items()}
        status = FitStatus(meta.get("status", FitStatus.CONVERGED.value))
    except CheckpointError:
        raise
    except (KeyError, ValueError, TypeError, RuntimeError, AttributeError) as exc:
        raise CheckpointError(f"{str(path)!r}: not a valid amphys model ({type(exc).__name__}: {exc})") from None
    return FitResult(model, config, history, status, meta.get("message", ""),
                     units_x=meta.get("units_x", "1"), units_t=meta.get("units_t", "1"),
                     dim_names=meta.get("dim_names"), wall_time=meta.get("wall_time", 0.0),
                     integral=meta.get("integral", ""), source=meta.get("source", ""),
                     read_options=meta.get("read_options"))
