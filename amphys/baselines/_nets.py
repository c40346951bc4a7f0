"""Torch pieces shared by the baselines: the time-conditional MLP and :func:`train_network`, which trains it with
the solver's training loop (:mod:`amphys.solver.loop`: Adam, warm-up, cosine schedule, gradient clipping, EMA of
the weights, divergence guard, progress bar), the same loop as Action Matching.

The MLP has the shape of the AM network (docs/theory.md#normalisation-and-network: τ, sin/cos(kπτ), SiLU hidden
layers), so AM and the
baselines are compared at equal capacity when ``hidden``/``depth`` agree. It is the baselines' own rather than
``amphys.solver.model.ActionNet`` because it needs a vector output and an extra conditioning input (the noise
level of the score model), and the baselines should not move when the solver's internals do.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from amphys._checks import check_int
from amphys.baselines._common import Normaliser, check_snapshots
from amphys.errors import InputError, describe
from amphys.solver import loop
from amphys.solver.device import resolve_device, resolve_dtype
from amphys.solver.state import TrainState
from amphys.solver.status import FitStatus

__all__ = ["TimeMLP", "build", "train_network", "TrainedNetwork", "Fitting"]


class TimeMLP(nn.Module):
    """f(τ, y[, c]) -> R^out: an MLP on (τ, sin kπτ, cos kπτ for k = 1..K, extra conditioning c, y)."""

    def __init__(self, dim: int, out: int, hidden: int, depth: int, time_features: int, extra: int = 0):
        super().__init__()
        self.register_buffer("freqs", math.pi * torch.arange(1, time_features + 1, dtype=torch.float64))
        width_in = 1 + 2 * time_features + extra + dim
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(width_in, hidden), nn.SiLU()]
            width_in = hidden
        layers.append(nn.Linear(width_in, out))
        self.net = nn.Sequential(*layers)

    def forward(self, tau: torch.Tensor, y: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        tau = tau.reshape(-1, 1).to(y.dtype).expand(y.shape[0], 1)
        arg = tau * self.freqs.to(y.dtype)
        parts = [tau, torch.sin(arg), torch.cos(arg)]
        if extra is not None:
            parts.append(extra.reshape(y.shape[0], -1).to(y.dtype))
        parts.append(y)
        return self.net(torch.cat(parts, dim=1))


def build(module_fn, seed: int, device: torch.device, dtype: torch.dtype) -> nn.Module:
    """Construct a module with initial weights drawn from ``seed`` without touching torch's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        module = module_fn()
    return module.to(device=device, dtype=dtype)


class _Regression:
    """The loop's objective for a plain loss: ``loss_fn(state) -> scalar tensor``, drawing from the state's
    streams (``state.rng`` numpy: batch indices and OT sampling; ``state.gen`` torch, on the model's device:
    noise)."""

    history_keys = ("step", "loss", *loop.LOOP_KEYS)

    def __init__(self, loss_fn):
        self.loss_fn = loss_fn

    def loss(self, state):
        loss = self.loss_fn(state)
        return loss, loss.detach().reshape(1)

    def record(self, stats):
        return {"loss": float(stats[0])}


def train_network(model: nn.Module, loss_fn, config, desc: str, *, checkpoints=(), on_checkpoint=None,
                  ) -> tuple[nn.Module, dict, FitStatus]:
    """Run ``config.steps`` steps of the solver's training loop on ``loss_fn(state) -> scalar tensor``.

    Returns ``(eval_model, history, status)``: ``eval_model`` is a copy of ``model`` carrying the EMA weights, in
    eval mode; ``history`` maps "step", "loss", "grad_norm", "lr", "wall_time" to arrays over the applied steps;
    ``status`` is converged (the step budget ran), diverged (the guard refused a step: non-finite loss or
    gradient, or an exploding gradient; the weights are those of the last good step, not to be trusted) or
    stopped (KeyboardInterrupt). ``on_checkpoint(step, eval_model, wall_time)`` is called after each step listed
    in ``checkpoints`` (integers ≥ 1), with a copy carrying the EMA weights of that step; True stops training.
    """
    device = next(model.parameters()).device
    gen = torch.Generator(device=device)
    gen.manual_seed(int(config.seed) + 1)
    state = TrainState.start(model, gen=gen, rng=np.random.default_rng(config.seed),
                             history_keys=_Regression.history_keys, lr=config.lr)
    if on_checkpoint is not None and not callable(on_checkpoint):
        raise InputError(f"on_checkpoint: expected a callable on_checkpoint(step, result, wall_time), got "
                         f"{describe(on_checkpoint)}")
    wanted = {check_int(k, "checkpoints", low=1) for k in np.atleast_1d(np.asarray(checkpoints, dtype=object))}

    def callback(step, record):
        if on_checkpoint is None or step not in wanted:
            return False
        return bool(on_checkpoint(step, _with_weights(model, state.ema), record["wall_time"]))

    out = loop.run(state, _Regression(loss_fn), loop.LoopSettings.of(config), progress=config.progress, desc=desc,
                   callback=callback)
    history = {k: np.asarray(v[:state.step]) for k, v in state.history.items()}  # without a refused step
    return _with_weights(model, out.weights), history, out.status


def _with_weights(model: nn.Module, weights) -> nn.Module:
    """A copy of ``model`` with ``weights``, frozen, in eval mode."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        for p, w in zip(out.parameters(), weights, strict=True):
            p.copy_(w)
            p.requires_grad_(False)
    return out.eval()


@dataclasses.dataclass
class TrainedNetwork:
    """What a baseline's result holds: its ``config``, ``status`` and ``history`` (:func:`train_network`), the
    observed ``times``, the trained network ``model`` (EMA weights, eval mode), the ``normaliser`` and the first
    snapshot ``x_first`` (where generation starts by default)."""

    config: Any
    status: FitStatus
    history: dict
    times: np.ndarray
    model: nn.Module
    normaliser: Normaliser
    x_first: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.normaliser.mean.size)

    def _tensor(self, a) -> torch.Tensor:
        p = next(self.model.parameters())
        return torch.as_tensor(np.asarray(a), dtype=p.dtype, device=p.device)


@dataclasses.dataclass
class Fitting:
    """One baseline fit in the making, the steps both baselines share: the resolved ``config``, the checked
    ``times`` and ``xs`` (user's units), their ``normaliser``, the snapshots ``ys`` and their times ``taus`` in
    normalised units, and the training ``device`` and ``dtype``. :meth:`network` builds the network from the
    config's seed; :meth:`train` trains it with :func:`train_network` and returns the result object."""

    config: Any
    times: np.ndarray
    xs: list
    normaliser: Normaliser
    ys: list
    taus: np.ndarray
    device: torch.device
    dtype: torch.dtype

    @classmethod
    def start(cls, config_cls, config, overrides: dict, times, xs) -> Fitting:
        """Resolve ``config`` (an instance of ``config_cls`` or None) with ``overrides`` and check the data."""
        cfg = config_cls.resolve(config, overrides)
        times, xs = check_snapshots(times, xs)
        norm = Normaliser.from_data(times, xs)
        return cls(cfg, times, xs, norm, [norm.y(x) for x in xs], norm.tau(times), resolve_device(cfg.device),
                   resolve_dtype(cfg.dtype))

    @property
    def dim(self) -> int:
        return int(self.normaliser.mean.size)

    def network(self, module_fn) -> nn.Module:
        """``module_fn()`` with initial weights drawn from the config's seed, on the training device and dtype."""
        return build(module_fn, self.config.seed, self.device, self.dtype)

    def train(self, model: nn.Module, loss_fn, desc: str, result_cls, *, checkpoints=(), on_checkpoint=None,
              **fields):
        """Train ``model`` on ``loss_fn`` and return ``result_cls`` (a :class:`TrainedNetwork`) with ``fields``.
        ``on_checkpoint(step, result, wall_time) -> bool`` gets the same result object built from the EMA weights
        after each step in ``checkpoints`` (True stops training)."""
        hook = None
        if on_checkpoint is not None:
            if not callable(on_checkpoint):
                raise InputError(f"on_checkpoint: expected a callable on_checkpoint(step, result, wall_time), got "
                                 f"{describe(on_checkpoint)}")

            def hook(step, eval_model, wall_time):
                result = result_cls(self.config, FitStatus.STOPPED, {}, self.times, eval_model, self.normaliser,
                                    x_first=self.xs[0].copy(), **fields)
                return on_checkpoint(step, result, wall_time)
        eval_model, history, status = train_network(model, loss_fn, self.config, desc, checkpoints=checkpoints,
                                                    on_checkpoint=hook)
        return result_cls(self.config, status, history, self.times, eval_model, self.normaliser,
                          x_first=self.xs[0].copy(), **fields)
