"""``train``: fit s_θ to snapshot arrays with the shared training loop; the entry point of :func:`amphys.fit`.

``train(times, xs, weights, config, ...)`` takes physical arrays (one (n_k, d) array per observed time) and returns
a :class:`TrainOutput` with the EMA model, the history and the status. It knows no physics and no xarray. The
pieces: :mod:`~amphys.solver.action` (the Action Matching objective: batches and loss), :mod:`~amphys.solver.loop`
(schedule, clipping, EMA, guard, held-out selection, checkpoints, progress), :mod:`~amphys.solver.state` (the
training state, which is also the checkpoint schema), :mod:`~amphys.solver.distributed` (data parallelism).

Resume: a checkpoint holds the whole :class:`~amphys.solver.state.TrainState`; continuing from it gives bitwise
the same result as an uninterrupted run with the same config.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from amphys.errors import InputError
from amphys.solver import loop
from amphys.solver.action import ActionMatching
from amphys.solver.checkpoint import Checkpointing
from amphys.solver.config import FitConfig
from amphys.solver.device import resolve_device, resolve_dtype
from amphys.solver.distributed import Context
from amphys.solver.model import ActionModel
from amphys.solver.spectrum import resolve_representation
from amphys.solver.state import TrainState
from amphys.solver.status import FitStatus

__all__ = ["train", "Trainer", "TrainOutput", "resolve_config"]


def resolve_config(config: FitConfig, *, has_weights: bool, has_sampler: bool) -> FitConfig:
    """Resolve the data-dependent choices ``loss="auto"`` and ``x_source="auto"`` and check the combination."""
    changes = {}
    if config.loss == "auto":
        changes["loss"] = "unbalanced" if has_weights else "am"
    elif has_weights and config.loss != "unbalanced":
        raise InputError(f"loss: the data carries weights ('weight' variable), which loss={config.loss!r} would "
                         "ignore; use loss='unbalanced' (or 'auto'), or drop the weights for a balanced fit")
    if config.x_source == "auto":
        changes["x_source"] = "sampler" if has_sampler and config.time_integral != "snapshots" else "mixture"
    elif config.x_source == "sampler" and not has_sampler:
        raise InputError("x_source: 'sampler' needs a sampler (fit(..., sampler=system)); use 'mixture' or 'auto'")
    cfg = config.replace(**changes) if changes else config
    if cfg.loss == "unbalanced" and cfg.x_source == "sampler":
        raise InputError("x_source: a sampler gives no weights, so loss='unbalanced' needs samples from the "
                         "weighted snapshots; use x_source='mixture' or 'nearest'")
    return cfg


@dataclass
class TrainOutput:
    model: ActionModel
    config: FitConfig
    history: dict
    status: FitStatus
    message: str
    steps_done: int
    wall_time: float
    integral: str
    meta: dict = field(default_factory=dict)


class Trainer:
    """One Action Matching fit: the objective (``method``), its training state (``state``) and the loop's
    settings. ``rank``/``context``: which data-parallel stream this process draws (:mod:`~amphys.solver.distributed`).
    """

    def __init__(self, times, xs, weights, config: FitConfig, *, sampler=None, rank: int = 0,
                 context: Context | None = None):
        self.context = ctx = context if context is not None else Context(rank=rank)
        self.config = cfg = resolve_config(config, has_weights=weights is not None, has_sampler=sampler is not None)
        self.config = cfg = resolve_representation(cfg, times, xs)
        self.method = ActionMatching(times, xs, weights, cfg, sampler=sampler, context=ctx,
                                     device=resolve_device(cfg.device), dtype=resolve_dtype(cfg.dtype))
        gen, rng = self.method.random_streams(ctx.rank)
        self.state = TrainState.start(self.method.model, gen=gen, rng=rng, history_keys=self.method.history_keys,
                                      lr=cfg.lr)
        self.settings = loop.LoopSettings.of(cfg)
        self.guard = loop.DivergenceGuard(cfg.explode_factor)
        self.holdout = None
        if self.method.holdout:
            self.holdout = loop.Holdout(self.method.holdout_score, every=cfg.holdout_every, patience=cfg.patience,
                                        unit=self.method.scale)

    def step(self) -> tuple[dict, str | None]:
        """One optimiser step (see :func:`amphys.solver.loop.optimiser_step`)."""
        return loop.optimiser_step(self.state, self.method, self.settings, self.guard, self.context)

    def ema_model(self, dtype=torch.float64, device="cpu", weights=None) -> ActionModel:
        """A copy of the model carrying the EMA weights (or ``weights``), float64 on the CPU by default."""
        m = copy.deepcopy(self.method.model)
        with torch.no_grad():
            for p, e in zip(m.parameters(), self.state.ema if weights is None else weights):
                p.copy_(e)
        return m.to(device=device, dtype=dtype).eval()

    def run(self, *, checkpoint=None, resume: bool = False, progress: bool = True, callback=None) -> TrainOutput:
        method = self.method
        saving = None
        if checkpoint is not None:
            saving = Checkpointing(checkpoint, self.config, {"dim": method.dim, "t_span": list(method.t_span)})
        out = loop.run(self.state, method, self.settings, guard=self.guard, holdout=self.holdout,
                       context=self.context, checkpoint=saving, resume=resume, progress=progress, callback=callback)
        state = self.state
        return TrainOutput(model=self.ema_model(weights=out.weights), config=self.config, history=dict(state.history),
                           status=out.status, message=out.message, steps_done=state.step, wall_time=state.elapsed,
                           integral=method.source.describe(), meta={"length": method.length})


def train(times, xs, weights, config: FitConfig, *, sampler=None, checkpoint=None, resume=False, progress=True,
          callback=None, distributed: bool | None = None) -> TrainOutput:
    """Fit s_θ to snapshots ``xs[k]`` (n_k, d) observed at increasing ``times[k]`` (physical units).

    ``weights``: None or one (n_k,) array per time (unbalanced data). ``sampler(t, n, rng) -> (n, d)`` draws
    ground-truth samples at any physical t (``x_source="sampler"``). ``callback(step, record)`` is called after
    every step; a true return stops training (status stopped).
    ``xs[k]`` may also be a :class:`~amphys.solver.rows.Rows` (rows read on demand, for data larger than memory).
    ``distributed``: data parallel over the ranks of a torchrun launch (None: automatic, see
    :func:`amphys.solver.distributed.setup`); every rank returns the same model; pass the same ``callback`` (or
    none) on every rank.
    """
    from amphys.solver.distributed import setup

    context = setup(distributed, config.device)
    out = Trainer(times, xs, weights, config, sampler=sampler, context=context).run(
        checkpoint=checkpoint, resume=resume, progress=progress, callback=callback)
    if context.active:
        out.message += f"; {context.describe()}"
        out.meta.update(rank=context.rank, world_size=context.world_size)
    return out
