"""Training loop: Adam with warm-up and cosine decay, gradient clipping, EMA weights, held-out model selection,
checkpoints, resume and a divergence guard (SPEC §2.4).

``train(times, xs, weights, config, ...)`` takes physical arrays (one (n_k, d) array per observed time) and returns
a :class:`TrainOutput` with the EMA model, the history and the status. It knows no physics and no xarray.

One step is split so that data parallelism (``torch.distributed``) slots in without rewriting it: each rank draws
its own batch from generators seeded with (seed, rank) (:meth:`Trainer.draw`), computes its loss
(:meth:`Trainer.loss`), and the gradients are averaged over ranks in :meth:`Trainer.reduce_gradients` (a no-op
without an initialised process group) before clipping, the guard and the Adam update, which are then identical on
every rank. The initial weights depend on the seed only, so all ranks start equal.

Resume: a checkpoint holds the model, EMA, best-EMA and optimiser states, the batch generator and sampler RNG
states, the step, the guard's window and the history; continuing from it gives bitwise the same result as an
uninterrupted run with the same config.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from amphys.errors import CheckpointError, InputError
from amphys.solver.checkpoint import CHECKPOINT_FORMAT, atomic_torch_save, load_checkpoint
from amphys.solver.config import FitConfig
from amphys.solver.distributed import Context, share
from amphys.solver.losses import Evaluated, action_loss, time_weight
from amphys.solver.model import ActionModel, derivatives
from amphys.solver.optim import Adam
from amphys.solver.quadrature import SnapshotData, TimeIntegral
from amphys.solver.rows import LazySnapshotData, is_rows, moments
from amphys.solver.validation import split_holdout

__all__ = ["train", "Trainer", "TrainOutput", "resolve_config", "resolve_device"]

_HISTORY_KEYS = ("step", "loss", "loss_normalised", "kinetic", "grad_norm", "lr", "wall_time", "val_loss")
_GUARD_WARMUP = 20


def _seed(*entropy) -> int:
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


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


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device: 'cuda' was asked for but torch sees no CUDA device; use device='cpu' or 'auto'")
    return torch.device(name)


@dataclass
class TrainOutput:
    model: ActionModel
    config: FitConfig
    history: dict
    status: str
    message: str
    steps_done: int
    wall_time: float
    integral: str
    meta: dict = field(default_factory=dict)


class Trainer:
    """Holds the model, the optimiser, the EMA weights, the random states and the history of one fit."""

    def __init__(self, times, xs, weights, config: FitConfig, *, sampler=None, rank: int = 0,
                 context: Context | None = None):
        # context: data parallelism (amphys.solver.distributed); xs: arrays, or Rows read on demand (solver.rows)
        self.ctx = context if context is not None else Context(rank=rank)
        rank = self.ctx.rank
        self.config = cfg = resolve_config(config, has_weights=weights is not None, has_sampler=sampler is not None)
        self.device = resolve_device(cfg.device)
        self.dtype = torch.float32 if cfg.dtype == "float32" else torch.float64
        times = np.asarray(times, dtype=np.float64)
        self.dim, self.mean, std = moments(xs)
        self.std = np.where(std > 0, std, 1.0)
        self.t_span = (float(times[0]), float(times[-1]))
        self.T = self.t_span[1] - self.t_span[0]
        self.length = float(np.sqrt(np.mean(self.std ** 2)))
        self.scale = self.length ** 2 / self.T  # s_phys = scale * s and L_phys = scale * L
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            model = ActionModel(self.dim, hidden=cfg.hidden, depth=cfg.depth, time_features=cfg.time_features,
                                quadratic_head=cfg.quadratic_head, centre=cfg.centre, t_span=self.t_span,
                                mean=torch.as_tensor(self.mean), std=torch.as_tensor(self.std))
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.params = list(self.model.parameters())
        self.ema = [p.detach().clone() for p in self.params]
        self.n_ema = 0
        self.opt = Adam(self.params, lr=cfg.lr)
        self.gen = torch.Generator().manual_seed(_seed(cfg.seed, rank))
        self.rng = np.random.default_rng([cfg.seed, rank, 1])
        self.laplacian = None
        if cfg.loss == "entropic":
            self.laplacian = cfg.laplacian if cfg.laplacian != "auto" else ("exact" if self.dim <= 8 else "hutchinson")
        # held-out samples (finite data only)
        self.validate = cfg.validation_fraction > 0 and cfg.x_source != "sampler"
        if self.validate:
            xt, wt, xv, wv = split_holdout(xs, weights, cfg.validation_fraction, cfg.seed)
            self.validate = all(len(x) > 0 for x in xv)
        if not self.validate:
            xt, wt = xs, weights
        n_b = 0 if cfg.weight_fn == "sine" else max(1, int(round(cfg.batch_size * cfg.boundary_fraction / 2)))
        n_int = max(2, cfg.batch_size - 2 * n_b)
        if self.ctx.active:  # each rank draws its share of the global batch (at least 1 boundary, 2 interior rows)
            w_, r_ = self.ctx.world_size, rank
            n_int = max(2, share(n_int, r_, w_))
            n_b = max(1, share(n_b, r_, w_)) if n_b else 0
        self.source = self._source(times, xt, wt, n_interior=n_int, n_boundary=n_b, sampler=sampler)
        self.val_batch = None
        if self.validate:
            nv = min(4096, min(len(xv[0]), len(xv[-1]))) if n_b else 0
            val_source = self._source(times, xv, wv, n_interior=cfg.validation_rows, n_boundary=nv, sampler=None,
                                      mode="quadrature", rule="gauss-legendre", n_nodes=32)
            self.val_gen = torch.Generator().manual_seed(_seed(cfg.seed, 99))
            self.val_batch = val_source.draw(self.val_gen, None)
            self.val_probe_state = self.val_gen.get_state()
        self.best = None  # (val_loss, step, ema weights)
        self.since_best = 0
        self.step = 0
        self.elapsed = 0.0
        self.history = {k: [] for k in _HISTORY_KEYS}
        self.recent_norms: deque = deque(maxlen=100)

    def _source(self, times, xs, ws, *, n_interior, n_boundary, sampler, mode=None, rule=None,
                n_nodes=None) -> TimeIntegral:
        counts = np.array([len(x) for x in xs])
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        w = None if ws is None else torch.as_tensor(np.concatenate(ws), dtype=self.dtype).to(self.device)
        if is_rows(xs):  # read on demand: each draw reads the rows it picks
            data = LazySnapshotData((times - times[0]) / self.T, xs, w, mean=self.mean, length=self.length,
                                    dtype=self.dtype, device=self.device)
        else:
            y = torch.as_tensor((np.concatenate(xs) - self.mean) / self.length, dtype=self.dtype).to(self.device)
            data = SnapshotData((times - times[0]) / self.T, y, torch.as_tensor(offsets), torch.as_tensor(counts), w)
        cfg = self.config
        return TimeIntegral(data, mode=mode or cfg.time_integral, x_source=cfg.x_source,
                            rule=rule or cfg.quadrature_rule, n_nodes=n_nodes or cfg.n_nodes,
                            n_interior=n_interior, n_boundary=n_boundary, sampler=sampler,
                            to_norm=self._to_norm, t_phys=lambda tau: self.t_span[0] + self.T * tau)

    # -- pieces of one step -------------------------------------------------------------------------------------
    def _to_norm(self, x) -> torch.Tensor:
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim)
        return torch.as_tensor((x - self.mean) / self.length, dtype=self.dtype).to(self.device)

    def lr_at(self, step: int) -> float:
        cfg = self.config
        warm = min(1.0, (step + 1) / cfg.warmup) if cfg.warmup > 0 else 1.0
        if cfg.schedule == "constant":
            return cfg.lr * warm
        frac = min(1.0, step / max(1, cfg.steps - 1))
        return cfg.lr * warm * (cfg.lr_final + (1 - cfg.lr_final) * 0.5 * (1 + math.cos(math.pi * frac)))

    def draw(self):
        return self.source.draw(self.gen, self.rng)

    def evaluate(self, batch, model=None, *, create_graph=True, gen=None, centre=None) -> Evaluated:
        """s and derivatives on one batched forward of [interior; (references;) boundary 0; boundary 1].

        Only the interior (and reference) rows need ∂_t s and ∇s; the boundary rows need s. ``centre``
        (default: the model's setting) evaluates s̃ = s(τ, y) − s(τ, 0) instead of s.
        """
        model = self.model if model is None else model
        centre = model.is_centred if centre is None else centre
        n, n0, n1 = batch.tau.shape[0], batch.y0.shape[0], batch.y1.shape[0]
        opts = {"dtype": self.dtype, "device": self.device}
        tau_b = torch.cat([torch.zeros(n0, **opts), torch.ones(n1, **opts)])
        taus, ys = [batch.tau], [batch.y]
        r = 0
        if centre:  # references (τ, y = 0) at every distinct time, for s̃ = s(τ, y) − s(τ, 0)
            uniq, inv = torch.unique(torch.cat([batch.tau, tau_b]), return_inverse=True)
            r = uniq.shape[0]
            taus.append(uniq)
            ys.append(torch.zeros(r, self.dim, **opts))
        tau = torch.cat(taus + [tau_b])
        y = torch.cat(ys + [batch.y0, batch.y1])
        probes = None
        if self.laplacian == "hutchinson":
            signs = torch.randint(0, 2, (self.config.n_probes, *y.shape), generator=gen or self.gen)
            probes = (2 * signs - 1).to(**opts)
        s, ds, g, lap = derivatives(model, tau, y, create_graph=create_graph, laplacian=self.laplacian,
                                    probes=probes, mode=self.config.derivatives, n_grad=n + r)
        s_int, s_b = s[:n], s[n + r:]
        if r:
            s_ref, ds_ref = s[n:n + r], ds[n:n + r]
            s_int = s_int - s_ref[inv[:n]]
            s_b = s_b - s_ref[inv[n:]]
            ds = ds[:n] - ds_ref[inv[:n]]
        return Evaluated(s=s_int, ds_dt=ds[:n], grad=g[:n], c=batch.c, s0=s_b[:n0], c0=batch.c0, s1=s_b[n0:],
                         c1=batch.c1, t=batch.tau, lap=None if lap is None else lap[:n])

    def loss(self, batch, model=None, *, create_graph=True, gen=None, centre=None):
        """(loss, parts) in normalised units for one batch."""
        cfg = self.config
        ev = self.evaluate(batch, model, create_graph=create_graph, gen=gen, centre=centre)
        sigma2 = kappa = None
        if cfg.loss == "entropic":
            to_norm = self.T / self.length ** 2  # σ_τ² in normalised units = σ² T / ℓ²
            if callable(cfg.sigma):
                t_phys = self.t_span[0] + self.T * ev.t.detach().double().cpu().numpy()
                sig = np.broadcast_to(np.asarray(cfg.sigma(t_phys), dtype=np.float64), t_phys.shape)
                sigma2 = torch.as_tensor(sig ** 2 * to_norm, dtype=self.dtype).to(self.device)
            else:
                sigma2 = cfg.sigma ** 2 * to_norm
        elif cfg.loss == "unbalanced":
            kappa = self.length ** 2  # ∂_τ q = −∇_y·(q∇_y s) + ℓ² q s in normalised units
        weight = time_weight(cfg.weight_fn, ev.t)
        return action_loss(ev, sigma2=sigma2, kappa=kappa, weight=weight, parts=True)

    def reduce_gradients(self, stats: torch.Tensor | None = None) -> torch.Tensor | None:
        """Average the gradients, and ``stats`` (the loss and its parts, returned), over ranks with one all-reduce
        when training data parallel; else nothing (``stats`` comes back as it is)."""
        return self.ctx.all_reduce_mean([p.grad for p in self.params], stats)

    def update_ema(self):
        decay = min(self.config.ema_decay, (1 + self.n_ema) / (10 + self.n_ema))
        with torch.no_grad():
            torch._foreach_lerp_(self.ema, [p.detach() for p in self.params], 1.0 - decay)
        self.n_ema += 1

    def train_step(self):
        """One optimiser step. Returns (record, problem): ``problem`` is None or why the guard refused it."""
        cfg = self.config
        lr = self.lr_at(self.step)
        self.opt.lr = lr
        loss, parts = self.loss(self.draw())
        self.opt.zero_grad()
        loss.backward()
        stats = self.reduce_gradients(torch.stack([loss.detach(), parts["kinetic"].detach()]))
        max_norm = cfg.grad_clip if cfg.grad_clip > 0 else float("inf")
        gnorm = float(torch.nn.utils.clip_grad_norm_(self.params, max_norm))
        lval, kinetic = float(stats[0]), float(stats[1])  # global-batch values (same on every rank)
        problem = None
        if not math.isfinite(lval):
            problem = f"non-finite loss ({lval}) at step {self.step + 1}"
        elif not math.isfinite(gnorm):
            problem = f"non-finite gradient norm at step {self.step + 1}"
        elif len(self.recent_norms) >= _GUARD_WARMUP:
            med = float(np.median(self.recent_norms))
            if gnorm > cfg.explode_factor * med:
                problem = (f"exploding gradient at step {self.step + 1}: norm {gnorm:.3g} > "
                           f"{cfg.explode_factor:g} x the running median {med:.3g}")
        if problem is None:
            self.opt.step()
            self.update_ema()
            self.recent_norms.append(gnorm)
            self.step += 1
        record = {"step": self.step + (problem is not None), "loss": lval * self.scale, "loss_normalised": lval,
                  "kinetic": kinetic * self.scale, "grad_norm": gnorm, "lr": lr,
                  "val_loss": float("nan")}
        return record, problem

    def validation_loss(self) -> float:
        """Held-out loss (normalised units) of the current EMA weights on the fixed validation batch."""
        module = self._ema_module()
        self.val_gen.set_state(self.val_probe_state)
        loss, _ = self.loss(self.val_batch, module, create_graph=False, gen=self.val_gen,
                            centre=self.config.loss != "unbalanced")
        return float(loss.detach())

    def _ema_module(self) -> ActionModel:
        if not hasattr(self, "_ema_mod"):
            self._ema_mod = copy.deepcopy(self.model)
            for p in self._ema_mod.parameters():
                p.requires_grad_(False)
        with torch.no_grad():
            for p, e in zip(self._ema_mod.parameters(), self.ema):
                p.copy_(e)
        return self._ema_mod

    # -- state ------------------------------------------------------------------------------------------------
    def ema_model(self, dtype=torch.float64, device="cpu", weights=None) -> ActionModel:
        """A copy of the model carrying the EMA weights (or ``weights``), float64 on the CPU by default."""
        m = copy.deepcopy(self.model)
        with torch.no_grad():
            for p, e in zip(m.parameters(), self.ema if weights is None else weights):
                p.copy_(e)
        return m.to(device=device, dtype=dtype).eval()

    def state_dict(self) -> dict:
        best = self.best or (float("inf"), 0, [])
        return {
            "format": CHECKPOINT_FORMAT,
            "config_json": self.config.to_json(),
            "meta_json": json.dumps({"dim": self.dim, "t_span": list(self.t_span)}),
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "ema": [e.detach().cpu() for e in self.ema],
            "best_ema": [e.detach().cpu() for e in best[2]],
            "best_val": float(best[0]), "best_step": int(best[1]), "since_best": self.since_best,
            "optimizer": self.opt.state_dict(),
            "gen_state": self.gen.get_state(),
            "rng_json": json.dumps(self.rng.bit_generator.state),
            "step": self.step, "n_ema": self.n_ema, "elapsed": self.elapsed,
            "recent_norms": torch.tensor(list(self.recent_norms), dtype=torch.float64),
            "history": {k: torch.tensor(v, dtype=torch.float64) for k, v in self.history.items()},
        }

    def load_state_dict(self, state: dict):
        try:
            if state.get("format") != CHECKPOINT_FORMAT:
                raise CheckpointError(f"not an amphys training checkpoint (format {state.get('format')!r})")
            diff = FitConfig.from_json(state["config_json"]).differences(self.config)
            if diff:
                raise CheckpointError(f"the checkpoint was written with different settings ({', '.join(diff)}); "
                                      "resume needs the same config, or start afresh without resume")
            self.model.load_state_dict(state["model"])
            with torch.no_grad():
                for e, v in zip(self.ema, state["ema"], strict=True):
                    e.copy_(v)
            world = int(state.get("world_size", 1))
            if world != self.ctx.world_size:
                raise CheckpointError(f"the checkpoint was written by {world} process(es), this run has "
                                      f"{self.ctx.world_size}; resume with the same number of processes")
            self.opt.load_state_dict(state["optimizer"])
            r = self.ctx.rank
            self.gen.set_state(state["rank_gen_states"][r] if world > 1 else state["gen_state"])
            self.rng.bit_generator.state = json.loads(state["rank_rng_json"][r] if world > 1 else state["rng_json"])
            self.step, self.n_ema, self.elapsed = int(state["step"]), int(state["n_ema"]), float(state["elapsed"])
            self.recent_norms = deque(state["recent_norms"].tolist(), maxlen=100)
            self.history = {k: state["history"][k].tolist() for k in _HISTORY_KEYS}
            self.history["step"] = [int(v) for v in self.history["step"]]
            self.since_best = int(state["since_best"])
            if state["best_ema"]:
                best = [b.to(device=self.device, dtype=self.dtype) for b in state["best_ema"]]
                self.best = (float(state["best_val"]), int(state["best_step"]), best)
        except CheckpointError:
            raise
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"checkpoint does not match this fit ({type(exc).__name__}: {exc})") from None

    def save_checkpoint(self, path):
        """Write the checkpoint atomically; data parallel: every rank's random states, written by rank 0 only
        (a collective: every rank calls it; the others wait at a barrier)."""
        state = self.state_dict()
        if self.ctx.active:
            ranks = self.ctx.gather((self.gen.get_state(), state["rng_json"]))
            state.update(world_size=self.ctx.world_size, rank_gen_states=[g for g, _ in ranks],
                         rank_rng_json=[j for _, j in ranks])
        if self.ctx.is_main:
            atomic_torch_save(state, path)
        self.ctx.barrier()

    # -- the loop -------------------------------------------------------------------------------------------------
    def _log(self, record):
        for k in _HISTORY_KEYS:
            self.history[k].append(record[k])

    def _select(self, record) -> bool:
        """Evaluate the held-out loss; returns True when patience is exhausted."""
        val = self.ctx.broadcast_float(self.validation_loss())  # data parallel: rank 0's value decides everywhere
        record["val_loss"] = val * self.scale
        if self.best is None or val < self.best[0]:
            self.best = (val, self.step, [e.detach().clone() for e in self.ema])
            self.since_best = 0
        else:
            self.since_best += 1
        return self.config.patience > 0 and self.since_best >= self.config.patience

    def run(self, *, checkpoint=None, resume: bool = False, progress: bool = True, callback=None) -> TrainOutput:
        cfg = self.config
        if resume:
            if checkpoint is None:
                raise InputError("resume: needs a checkpoint path (checkpoint=...)")
            exists = Path(checkpoint).exists()
            if self.ctx.active and self.ctx.any(exists) and self.ctx.any(not exists):
                raise CheckpointError(f"{str(checkpoint)!r}: the checkpoint exists for some ranks only; with several "
                                      "nodes put it on a file system every node sees")
            if exists:
                try:
                    self.load_state_dict(load_checkpoint(checkpoint))
                except CheckpointError as exc:
                    msg = str(exc)
                    if str(checkpoint) not in msg:
                        msg = f"{str(checkpoint)!r}: {msg}"
                    raise CheckpointError(msg) from None
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=self.step, disable=not progress or not self.ctx.is_main, desc="fit",
                   unit="step", dynamic_ncols=True, leave=False)
        status, message = "converged", ""
        start = time.perf_counter() - self.elapsed
        try:
            while self.step < cfg.steps:
                record, problem = self.train_step()
                now = time.perf_counter() - start
                record["wall_time"] = now
                if problem is not None:
                    self._log(record)
                    status = "diverged"
                    message = f"{problem}; kept the EMA weights of the last good step ({self.step})"
                    break
                patience_out = False
                if self.validate and (self.step % cfg.eval_every == 0 or self.step == cfg.steps):
                    patience_out = self._select(record)
                if (self.step - 1) % cfg.log_every == 0 or self.step == cfg.steps or not math.isnan(record["val_loss"]):
                    self._log(record)
                if self.step % 10 == 0 or self.step == cfg.steps:
                    bar.set_postfix(loss=f"{record['loss']:.4g}", refresh=False)
                bar.update(1)
                self.elapsed = now
                if patience_out:
                    message = (f"held-out loss stopped improving (patience {cfg.patience} evaluations) at step "
                               f"{self.step}")
                    break
                if checkpoint is not None and cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0 \
                        and self.step < cfg.steps:
                    self.save_checkpoint(checkpoint)
                # data parallel: a stop must happen on every rank at the same step (agreed with one all-reduce)
                if callback is not None and self.ctx.any(callback(self.step, record)):
                    status, message = "stopped", f"stopped by the callback after step {self.step}"
                    break
                if cfg.max_time is not None and self.ctx.any(now > cfg.max_time):
                    status, message = "stopped", f"time limit max_time={cfg.max_time:g} s reached at step {self.step}"
                    break
        except KeyboardInterrupt:
            if self.ctx.active:  # the other ranks may be inside a collective: stop; resume from the last checkpoint
                raise
            status, message = "stopped", f"interrupted at step {self.step}"
        finally:
            bar.close()
        self.elapsed = time.perf_counter() - start
        if checkpoint is not None:
            self.save_checkpoint(checkpoint)
        if status == "converged" and not message:
            message = f"completed {cfg.steps} steps"
        weights = None
        if self.best is not None and status != "diverged":
            weights = self.best[2]
            message += (f"; EMA weights of step {self.best[1]} (lowest held-out loss "
                        f"{self.best[0] * self.scale:.5g})")
        return TrainOutput(model=self.ema_model(weights=weights), config=cfg, history=dict(self.history),
                           status=status, message=message, steps_done=self.step, wall_time=self.elapsed,
                           integral=self.source.describe(), meta={"length": self.length})


def train(times, xs, weights, config: FitConfig, *, sampler=None, checkpoint=None, resume=False, progress=True,
          callback=None, distributed: bool | None = None) -> TrainOutput:
    """Fit s_θ to snapshots ``xs[k]`` (n_k, d) observed at increasing ``times[k]`` (physical units).

    ``weights``: None or one (n_k,) array per time (unbalanced data). ``sampler(t, n, rng) -> (n, d)`` draws
    ground-truth samples at any physical t (``x_source="sampler"``). ``callback(step, record)`` is called after
    every step; a true return stops training (status "stopped").
    ``xs[k]`` may also be a :class:`~amphys.solver.rows.Rows` (rows read on demand, for data larger than memory).
    ``distributed``: data parallel over the ranks of a torchrun launch (None: automatic, see
    :func:`amphys.solver.distributed.setup`); every rank returns the same model; pass the same ``callback`` (or
    none) on every rank.
    """
    from amphys.solver.distributed import setup

    context = setup(distributed, config.device)
    trainer = Trainer(times, xs, weights, config, sampler=sampler, context=context)
    out = trainer.run(checkpoint=checkpoint, resume=resume, progress=progress, callback=callback)
    if context.active:
        out.message += f"; {context.describe()}"
        out.meta.update(rank=context.rank, world_size=context.world_size)
    return out
