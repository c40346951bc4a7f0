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

import numpy as np
import torch

from amphys.errors import InputError
from amphys.solver import loop
from amphys.solver.action import ActionMatching, PlausibleLoss
from amphys.solver.checkpoint import Checkpointing
from amphys.solver.config import FitConfig
from amphys.solver.device import resolve_device, resolve_dtype
from amphys.solver.distributed import Context
from amphys.solver.model import ActionModel
from amphys.solver.path_matching import PathMatching
from amphys.solver.spectrum import resolve_representation
from amphys.solver.state import TrainState
from amphys.solver.status import FitStatus

__all__ = ["train", "Trainer", "TrainOutput", "resolve_config", "choose_interpolant"]


def resolve_config(config: FitConfig, *, has_weights: bool, has_sampler: bool) -> FitConfig:
    """Resolve ``loss="auto"`` and the part of ``interpolant="auto"`` that does not need the data's values
    (sampler when given, mixture for weighted data), and check the combination. What remains "auto" is decided
    from the snapshots (:func:`choose_interpolant`)."""
    changes = {}
    if config.loss == "auto":
        changes["loss"] = "unbalanced" if has_weights else "am"
    elif has_weights and config.loss != "unbalanced":
        raise InputError(f"loss: the data carries weights ('weight' variable), which loss={config.loss!r} would "
                         "ignore; use loss='unbalanced' (or 'auto'), or drop the weights for a balanced fit")
    if config.interpolant == "auto":
        if has_sampler and config.time_integral != "snapshots":
            changes["interpolant"] = "sampler"
        elif has_weights or config.loss not in ("auto", "am") or config.time_integral != "mc" \
                or config.weight_fn != "none" or config.quadratic_head:
            changes["interpolant"] = "mixture"  # settings only the AM loss on the measure path has
    elif config.interpolant == "sampler" and not has_sampler:
        raise InputError("interpolant: 'sampler' needs a sampler (fit(..., sampler=system)); use 'auto', 'ot' or "
                         "'mixture'")
    cfg = config.replace(**changes) if changes else config
    if cfg.loss == "unbalanced" and cfg.interpolant == "sampler":
        raise InputError("interpolant: a sampler gives no weights, so loss='unbalanced' needs samples from the "
                         "weighted snapshots; use interpolant='mixture' or 'nearest'")
    if has_weights and cfg.interpolant == "ot":
        raise InputError("interpolant: 'ot' paths couple unweighted snapshots; weighted (unbalanced) data use "
                         "interpolant='mixture' (or 'auto')")
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


def choose_interpolant(times, xs, config: FitConfig) -> tuple[FitConfig, str]:
    """Resolve ``interpolant="auto"`` (after :func:`resolve_config`) and ``smoothing="auto"`` from the snapshots;
    returns the resolved config and a note for the fit's message.

    "ot" when the median coupling signal-to-noise ratio (:func:`coupling_snr`) of snapshots a tenth of the
    window apart (scaled to that distance when consecutive snapshots are further apart) reaches
    ``min_coupling_snr``, else "mixture"; data read lazily (rows on disk) stays on the mixture path, which reads
    rows on demand. The spline's λ of "ot" paths is chosen by leave-one-snapshot-out (:func:`loo_smoothing`).
    """
    from amphys.solver.coupling import coupling_snr
    from amphys.solver.paths import loo_smoothing
    from amphys.solver.rows import is_rows

    cfg, notes = config, []
    times = np.asarray(times, dtype=np.float64)
    if cfg.interpolant == "auto":
        if is_rows(xs):
            cfg = cfg.replace(interpolant="mixture")
            notes.append("interpolant 'mixture' (data read on demand)")
        else:
            # over a tenth of the window, whatever the number of snapshots: the decision does not flip with K.
            # With fewer than 11 snapshots consecutive ones are further apart; the ratio grows like the distance
            # between them (the signal W2 is proportional to it, the noise is not), so it is scaled back to a tenth
            stride = max(1, int(round(0.1 * (len(xs) - 1))))
            ratios = coupling_snr(xs[::stride], n_max=500, seed=cfg.seed)
            picked = times[::stride]
            spans = np.diff(picked) / (0.1 * (times[-1] - times[0]))
            snr = float(np.nanmedian(ratios / np.maximum(spans[:ratios.size], 1.0)))
            pick = "ot" if snr >= cfg.min_coupling_snr else "mixture"
            cfg = cfg.replace(interpolant=pick)
            notes.append(f"interpolant {pick!r} chosen: median coupling signal-to-noise {snr:.3g} "
                         f"{'>=' if pick == 'ot' else '<'} min_coupling_snr {cfg.min_coupling_snr:g}")
    elif cfg.interpolant == "ot" and is_rows(xs):
        raise InputError("interpolant: 'ot' couples whole snapshots in memory; data read on demand (rows on disk) "
                         "use interpolant='mixture' (or 'auto')")
    if cfg.interpolant == "ot" and cfg.smoothing == "auto":
        tau = (times - times[0]) / (times[-1] - times[0])
        lam, _, held = loo_smoothing(tau, xs, seed=cfg.seed)
        cfg = cfg.replace(smoothing=lam)
        notes.append(f"smoothing λ = {lam:g} chosen by leaving out {held.size} snapshot(s)" if held.size
                     else "smoothing λ = 0 (fewer than 4 snapshots: nothing to leave out)")
    return cfg, "; ".join(notes)


#: "auto" of ``lr`` and ``time_features`` per objective (measured: docs/benchmarks.md, snapshots): the regression
#: on coupled paths is well conditioned and takes a larger step and two Fourier time features; the AM loss on
#: the measure path or with a sampler keeps the settings measured for it.
PATH_DEFAULTS = {"ot": {"lr": 3e-3, "time_features": 2}, "other": {"lr": 1e-3, "time_features": 0}}


def resolve_defaults(config: FitConfig) -> FitConfig:
    """Replace "auto" of ``lr`` and ``time_features`` by the measured default of the (resolved) interpolant."""
    table = PATH_DEFAULTS["ot" if config.interpolant == "ot" else "other"]
    changes = {k: v for k, v in table.items() if getattr(config, k) == "auto"}
    return config.replace(**changes) if changes else config


class Trainer:
    """One Action Matching fit: the objective (``method``), its training state (``state``) and the loop's
    settings. ``rank``/``context``: which data-parallel stream this process draws (:mod:`~amphys.solver.distributed`).
    """

    def __init__(self, times, xs, weights, config: FitConfig, *, sampler=None, rank: int = 0,
                 context: Context | None = None):
        self.context = ctx = context if context is not None else Context(rank=rank)
        cfg = resolve_config(config, has_weights=weights is not None, has_sampler=sampler is not None)
        self.note = ""
        if cfg.interpolant in ("auto", "ot"):
            cfg, self.note = choose_interpolant(times, xs, cfg)
        device, dtype = resolve_device(cfg.device), resolve_dtype(cfg.dtype)
        cfg = resolve_representation(resolve_defaults(cfg), times, xs)
        self.config = cfg = cfg.replace(device=device.type)  # the device used, not "auto"
        if cfg.interpolant == "ot":
            self.method = PathMatching(times, xs, cfg, smoothing=cfg.smoothing, context=ctx, device=device,
                                       dtype=dtype)
        else:
            self.method = ActionMatching(times, xs, weights, cfg, sampler=sampler, context=ctx, device=device,
                                         dtype=dtype)
        gen, rng = self.method.random_streams(ctx.rank)
        self.state = TrainState.start(self.method.model, gen=gen, rng=rng, history_keys=self.method.history_keys,
                                      lr=cfg.lr)
        self.settings = loop.LoopSettings.of(cfg)
        self.guard = loop.DivergenceGuard(cfg.explode_factor)
        bound = getattr(self.method, "action_bound", None)
        if bound:  # the AM loss on finite samples is unbounded below: stop it when it runs away
            self.guard = PlausibleLoss(cfg.explode_factor, bound, self.method.scale)
        self.holdout = None
        if self.method.holdout:
            if isinstance(self.method, PathMatching):
                self.holdout = loop.Holdout(self.method.holdout_score, every=cfg.holdout_every, patience=cfg.patience,
                                            unit=self.method.scale, label="held-out path loss",
                                            error=lambda: self.method.holdout_error, ties=cfg.holdout_ties)
            else:
                self.holdout = loop.Holdout(self.method.holdout_score, every=cfg.holdout_every, patience=cfg.patience,
                                            unit=self.method.scale, error=lambda: self.method.holdout_error,
                                            ties=cfg.holdout_ties)

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
        message = f"{out.message}; {self.note}" if self.note else out.message
        model = self.ema_model(weights=out.weights)
        if getattr(method, "h_y", None) is not None and out.status == FitStatus.CONVERGED:
            try:  # the returned weights, pushed through the held-out snapshots: a distance a user can read
                dist = method.transport_distance(self.ema_model(dtype=method.dtype, device=method.device,
                                                                weights=out.weights))
                message += f"; held-out transport distance {dist:.3g} (1 = not moving, 0 = the noise level)"
            except loop.Runaway as exc:
                out.status, message = FitStatus.RUNAWAY, f"{message}; then {exc}"
        return TrainOutput(model=model, config=self.config, history=dict(state.history),
                           status=out.status, message=message, steps_done=state.step, wall_time=state.elapsed,
                           integral=method.describe(), meta={"length": method.length})


def train(times, xs, weights, config: FitConfig, *, sampler=None, checkpoint=None, resume=False, progress=True,
          callback=None, distributed: bool | None = None) -> TrainOutput:
    """Fit s_θ to snapshots ``xs[k]`` (n_k, d) observed at increasing ``times[k]`` (physical units).

    ``weights``: None or one (n_k,) array per time (unbalanced data). ``sampler(t, n, rng) -> (n, d)`` draws
    ground-truth samples at any physical t (``interpolant="sampler"``). ``callback(step, record)`` is called
    after every step; a true return stops training (status stopped).
    ``xs[k]`` may also be a :class:`~amphys.solver.rows.Rows` (rows read on demand, for data larger than memory).
    ``distributed``: data parallel over the ranks of a torchrun launch (None: automatic, see
    :func:`amphys.solver.distributed.setup`); every rank returns the same model; pass the same ``callback`` (or
    none) on every rank. With ``config.ensemble`` = M > 1, M members are trained on bootstrap resamples (see
    :mod:`amphys.solver.ensemble`); the checkpoint of member m is ``<stem>.member<m><suffix>``.
    """
    from amphys.solver.distributed import setup

    context = setup(distributed, config.device)
    kwargs = {"resume": resume, "progress": progress, "callback": callback}
    if config.ensemble > 1:
        out = _train_ensemble(times, xs, weights, config, sampler=sampler, checkpoint=checkpoint, context=context,
                              **kwargs)
    else:
        out = Trainer(times, xs, weights, config, sampler=sampler, context=context).run(checkpoint=checkpoint,
                                                                                        **kwargs)
    if context.active:
        out.message += f"; {context.describe()}"
        out.meta.update(rank=context.rank, world_size=context.world_size)
    return out


def _member_path(checkpoint, m: int):
    if checkpoint is None:
        return None
    from pathlib import Path

    path = Path(checkpoint)
    return path.with_name(f"{path.stem}.member{m}{path.suffix}")


def _train_ensemble(times, xs, weights, config: FitConfig, *, sampler, checkpoint, context, **kwargs) -> TrainOutput:
    """``config.ensemble`` members, each on a bootstrap resample of every snapshot (fresh samples with a
    sampler: then members differ by their seeds only) and its own seed; the path and its smoothing are chosen
    once, on the whole data, and shared."""
    from amphys.solver.ensemble import EnsembleModel, bootstrap
    from amphys.solver.rows import is_rows

    if is_rows(xs):
        raise InputError("ensemble: members are trained on bootstrap resamples, which data read on demand (rows "
                         "on disk) cannot give; load the data in memory or use ensemble=1")
    cfg = resolve_config(config, has_weights=weights is not None, has_sampler=sampler is not None)
    note = ""
    if cfg.interpolant in ("auto", "ot"):
        cfg, note = choose_interpolant(times, xs, cfg)
    cfg = resolve_defaults(cfg)
    members, outs = [], []
    for m in range(cfg.ensemble):
        member_cfg = cfg.replace(seed=cfg.seed + m, ensemble=1)
        mx, mw = (xs, weights) if sampler is not None else bootstrap(xs, weights, cfg.seed + m)
        out = Trainer(times, mx, mw, member_cfg, sampler=sampler, context=context).run(
            checkpoint=_member_path(checkpoint, m), **kwargs)
        members.append(out.model)
        outs.append(out)
        if out.status != FitStatus.CONVERGED:  # a member that did not converge ends the ensemble
            break
    worst = next((o for o in outs if o.status != FitStatus.CONVERGED), outs[0])
    how = "fresh samples, own seeds" if sampler is not None else "bootstrap resamples of every snapshot"
    message = f"ensemble of {len(members)} members ({how})"
    if len(members) < cfg.ensemble:
        message += f", stopped at member {len(members)}: {worst.message}"
    else:
        message += f"; member 1: {outs[0].message}"
    if note:
        message = f"{note}; {message}"
    first = outs[0]
    return TrainOutput(model=EnsembleModel(members), config=cfg, history=first.history, status=worst.status,
                       message=message, steps_done=sum(o.steps_done for o in outs),
                       wall_time=sum(o.wall_time for o in outs), integral=first.integral, meta=first.meta)
