"""The training loop shared by Action Matching and the baselines.

A method supplies an *objective* (:class:`Objective`): ``loss(state)`` draws one batch from the state's random
streams and returns the loss to minimise with the numbers to record; ``record(stats)`` turns the (rank-averaged)
numbers into history entries. Everything else is here, once: Adam with linear warm-up and cosine decay
(:func:`lr_at`), gradient clipping, the EMA of the weights, the divergence guard (:class:`DivergenceGuard`, a
seam: any object with ``check``/``accept``), held-out model selection (:class:`Holdout`, a seam: any
``score(ema_module) -> float``), history, progress bar, callback, ``max_time``, checkpoints and resume, and the
data-parallel hooks of :class:`~amphys.solver.distributed.Context` (gradients and recorded numbers averaged over
ranks before clipping, stops agreed by every rank, rank 0's held-out score used everywhere).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from typing import Callable, Protocol

import numpy as np
import torch

from amphys.errors import InputError
from amphys.solver import checkpoint as ckpt
from amphys.solver.distributed import Context
from amphys.solver.state import TrainState
from amphys.solver.status import FitStatus

__all__ = ["Objective", "LoopSettings", "DivergenceGuard", "Holdout", "Outcome", "Runaway", "LOOP_KEYS", "lr_at",
           "update_ema", "optimiser_step", "run"]

LOOP_KEYS = ("grad_norm", "lr", "wall_time")  # what the loop records besides "step" and the objective's entries


class Runaway(Exception):
    """Raised by a guard or a held-out criterion when the fit has run away from what the data support; the loop
    stops with status ``runaway`` and the exception's text as the reason."""


class Objective(Protocol):
    """One training method as the loop sees it."""

    #: the history's entries, in order: "step", the objective's own, :data:`LOOP_KEYS`, a held-out score
    history_keys: tuple[str, ...]

    def loss(self, state: TrainState) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss with its graph, 1-D tensor of numbers to record whose first entry is the loss value)."""

    def record(self, stats: torch.Tensor) -> dict[str, float]:
        """History entries from the rank-averaged ``stats``."""


@dataclasses.dataclass(frozen=True)
class LoopSettings:
    """The loop's settings, read from a config by :meth:`of` (fields it lacks keep these defaults)."""

    steps: int
    lr: float
    warmup: int = 0
    schedule: str = "cosine"
    lr_final: float = 0.05
    grad_clip: float = 0.0
    ema_decay: float = 0.0
    explode_factor: float = 1e4
    log_every: int = 1
    checkpoint_every: int = 0
    max_time: float | None = None

    @classmethod
    def of(cls, config) -> LoopSettings:
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls) if hasattr(config, f.name)})


def lr_at(settings: LoopSettings, step: int) -> float:
    """Learning rate of step ``step`` (0-based): linear warm-up over ``warmup`` steps, then constant or a cosine
    decay to ``lr * lr_final`` at the last step."""
    s = settings
    warm = min(1.0, (step + 1) / s.warmup) if s.warmup > 0 else 1.0
    if s.schedule == "constant":
        return s.lr * warm
    frac = min(1.0, step / max(1, s.steps - 1))
    return s.lr * warm * (s.lr_final + (1 - s.lr_final) * 0.5 * (1 + math.cos(math.pi * frac)))


def update_ema(state: TrainState, ema_decay: float) -> None:
    """EMA of the weights, with the decay ramped up over the first steps: min(ema_decay, (1 + n)/(10 + n))."""
    decay = min(ema_decay, (1 + state.n_ema) / (10 + state.n_ema))
    with torch.no_grad():
        torch._foreach_lerp_(state.ema, [p.detach() for p in state.params], 1.0 - decay)
    state.n_ema += 1


class DivergenceGuard:
    """Refuses a step with a non-finite loss or gradient norm, or a gradient norm above ``explode_factor`` times
    the running median of the last :data:`~amphys.solver.state.GUARD_WINDOW` accepted steps (after ``warmup``
    of them). Its window lives in the state (``recent_norms``), so it is checkpointed."""

    def __init__(self, explode_factor: float, warmup: int = 20):
        self.explode_factor, self.warmup = float(explode_factor), int(warmup)

    def check(self, state: TrainState, loss: float, grad_norm: float) -> str | None:
        """Why the step about to be applied must not be, or None."""
        step = state.step + 1
        if not math.isfinite(loss):
            return f"non-finite loss ({loss}) at step {step}"
        if not math.isfinite(grad_norm):
            return f"non-finite gradient norm at step {step}"
        if len(state.recent_norms) >= self.warmup:
            med = float(np.median(state.recent_norms))
            if grad_norm > self.explode_factor * med:
                return (f"exploding gradient at step {step}: norm {grad_norm:.3g} > {self.explode_factor:g} x "
                        f"the running median {med:.3g}")
        return None

    def accept(self, state: TrainState, loss: float, grad_norm: float) -> None:
        state.recent_norms.append(grad_norm)


@dataclasses.dataclass
class Holdout:
    """Held-out model selection: every ``every`` steps (and at the last) ``score(ema_module)`` rates the current
    EMA weights (lower is better); the loop keeps the best EMA weights and stops after ``patience`` scores
    without improvement (0 = never). The history records ``unit * score`` under ``name``."""

    score: Callable[[torch.nn.Module], float]
    every: int
    patience: int = 0
    name: str = "val_loss"
    unit: float = 1.0
    label: str = "held-out loss"
    #: ``error() -> float``: the standard error of the last score (None: scores are exact). A score within
    #: ``ties`` standard errors of the best is a tie: the later, more trained weights are kept and patience is
    #: not spent, so a noisy criterion does not stop training early by chance; only a clear rise counts.
    error: Callable[[], float] | None = None
    ties: float = 2.0
    _module: torch.nn.Module | None = dataclasses.field(default=None, init=False, repr=False)

    def ema_module(self, state: TrainState) -> torch.nn.Module:
        """A copy of the model (made once, no gradients) carrying the current EMA weights."""
        if self._module is None:
            self._module = copy.deepcopy(state.model)
            for p in self._module.parameters():
                p.requires_grad_(False)
        with torch.no_grad():
            for p, e in zip(self._module.parameters(), state.ema):
                p.copy_(e)
        return self._module

    def select(self, state: TrainState, context: Context, record: dict) -> bool:
        """Score the EMA weights, keep them when best; True when patience is exhausted."""
        value = context.broadcast_float(self.score(self.ema_module(state)))  # rank 0's value decides everywhere
        record[self.name] = value * self.unit
        noise = self.ties * context.broadcast_float(self.error()) if self.error is not None else 0.0
        if not state.best_ema or value <= state.best_score + noise:
            state.best_score = value if not state.best_ema else min(value, state.best_score)
            state.best_step = state.step
            state.best_ema = [e.detach().clone() for e in state.ema]
            state.since_best = 0
        else:
            state.since_best += 1
        return self.patience > 0 and state.since_best >= self.patience


@dataclasses.dataclass
class Outcome:
    """How the loop ended: ``status``, ``message``, and the weights to evaluate with (the best held-out EMA
    weights when selection ran and training did not diverge, else the last EMA weights)."""

    status: FitStatus
    message: str
    weights: list


def optimiser_step(state: TrainState, objective: Objective, settings: LoopSettings, guard,
                   context: Context) -> tuple[dict, str | None]:
    """One step: loss, gradients (averaged over ranks), clipping, guard, Adam, EMA. Returns the record and None,
    or the record of the refused step and why the guard refused it (the state is then unchanged but for the
    random streams)."""
    lr = lr_at(settings, state.step)
    opt = state.optimizer
    opt.lr = lr
    loss, stats = objective.loss(state)
    opt.zero_grad()
    loss.backward()
    stats = context.all_reduce_mean([p.grad for p in opt.params], stats.detach())
    max_norm = settings.grad_clip if settings.grad_clip > 0 else float("inf")
    grad_norm = float(torch.nn.utils.clip_grad_norm_(opt.params, max_norm))
    value = float(stats[0])  # the global-batch loss, the same on every rank
    problem = guard.check(state, value, grad_norm)
    if problem is None:
        opt.step()
        update_ema(state, settings.ema_decay)
        guard.accept(state, value, grad_norm)
        state.step += 1
    record = {"step": state.step + (problem is not None), **objective.record(stats), "grad_norm": grad_norm,
              "lr": lr}
    return record, problem


def run(state: TrainState, objective: Objective, settings: LoopSettings, *, guard=None, holdout: Holdout | None = None,
        context: Context | None = None, checkpoint: ckpt.Checkpointing | None = None, resume: bool = False,
        progress: bool = True, callback=None, desc: str = "fit") -> Outcome:
    """Train until ``settings.steps`` steps are done, the guard refuses a step (status diverged), held-out
    patience runs out (converged), or the callback, ``max_time`` or an interrupt stops it (stopped).

    ``checkpoint``: written every ``checkpoint_every`` steps and at the end; with ``resume`` the run first
    continues from it when it exists. ``callback(step, record) -> bool`` after every step; True stops.
    """
    context = context if context is not None else Context()
    guard = guard if guard is not None else DivergenceGuard(settings.explode_factor)
    if resume:
        if checkpoint is None:
            raise InputError("resume: needs a checkpoint path (checkpoint=...)")
        checkpoint.restore(state, context)
    from tqdm.auto import tqdm

    bar = tqdm(total=settings.steps, initial=state.step, disable=not progress or not context.is_main, desc=desc,
               unit="step", dynamic_ncols=True, leave=False)
    status, message = FitStatus.CONVERGED, ""
    start = time.perf_counter() - state.elapsed
    try:
        while state.step < settings.steps:
            record, problem = optimiser_step(state, objective, settings, guard, context)
            record["wall_time"] = now = time.perf_counter() - start
            if problem is not None:
                _log(state, record)
                status = FitStatus.DIVERGED
                message = f"{problem}; kept the EMA weights of the last good step ({state.step})"
                break
            state.elapsed = now
            stop = _after_step(state, record, settings, holdout, context, checkpoint, callback, bar)
            if stop is not None:
                status, message = stop
                break
    except Runaway as exc:
        status, message = FitStatus.RUNAWAY, f"stopped at step {state.step}: {exc}"
    except KeyboardInterrupt:
        if context.active:  # the other ranks may be inside a collective: stop; resume from the last checkpoint
            raise
        status, message = FitStatus.STOPPED, f"interrupted at step {state.step}"
    finally:
        bar.close()
    state.elapsed = time.perf_counter() - start
    if checkpoint is not None:
        checkpoint.save(state, context)
    return _outcome(state, settings, holdout, status, message)


def _after_step(state, record, settings, holdout, context, checkpoint, callback, bar):
    """Held-out selection, history, progress bar, periodic checkpoint, stops: (status, message) or None."""
    s, step = settings, state.step
    patience_out = holdout is not None and (step % holdout.every == 0 or step == s.steps) \
        and holdout.select(state, context, record)
    if (step - 1) % s.log_every == 0 or step == s.steps or (holdout is not None and holdout.name in record):
        _log(state, record)
    if step % 10 == 0 or step == s.steps:
        bar.set_postfix(loss=f"{record['loss']:.4g}", refresh=False)
    bar.update(1)
    if patience_out:
        return FitStatus.CONVERGED, (f"{holdout.label} stopped improving (patience {holdout.patience} "
                                     f"evaluations) at step {step}")
    if checkpoint is not None and s.checkpoint_every and step % s.checkpoint_every == 0 and step < s.steps:
        checkpoint.save(state, context)
    # data parallel: a stop must happen on every rank at the same step (agreed with one all-reduce)
    if callback is not None and context.any(callback(step, record)):
        return FitStatus.STOPPED, f"stopped by the callback after step {step}"
    if s.max_time is not None and context.any(record["wall_time"] > s.max_time):
        return FitStatus.STOPPED, f"time limit max_time={s.max_time:g} s reached at step {step}"
    return None


def _log(state: TrainState, record: dict) -> None:
    for key, values in state.history.items():
        values.append(record.get(key, math.nan))


def _outcome(state, settings, holdout, status, message) -> Outcome:
    if status == FitStatus.CONVERGED and not message:
        message = f"completed {settings.steps} steps"
    weights = state.ema
    if holdout is not None and state.best_ema and status != FitStatus.DIVERGED:  # (runaway: the best before it)
        weights = state.best_ema
        if holdout.error is None or holdout.ties == 0:
            message += (f"; EMA weights of step {state.best_step} (lowest {holdout.label} "
                        f"{state.best_score * holdout.unit:.5g})")
        else:
            message += (f"; EMA weights of step {state.best_step} (the last whose {holdout.label} was within "
                        f"{holdout.ties:g} standard errors of the lowest, {state.best_score * holdout.unit:.5g})")
    return Outcome(status, message, weights)
