"""The Action Matching objective of the training loop: normalisation, network, batches, loss of one step, and the
held-out loss that selects the EMA weights (docs/theory.md#the-action-matching-loss).

:class:`ActionMatching` takes physical arrays (one (n_k, d) array, or :class:`~amphys.solver.rows.Rows`, per
observed time) and a resolved :class:`~amphys.solver.config.FitConfig`. Data parallel, each rank draws its own
share of the global batch (:func:`~amphys.solver.distributed.share`) from its own random streams.

Units (docs/theory.md#normalisation-and-network): time τ = (t − t0)/T in [0, 1], positions y = (x − mean)/ℓ with
one isotropic length ℓ, so s_phys = (ℓ²/T)·s and L_phys = (ℓ²/T)·L (:attr:`ActionMatching.scale`).
"""

from __future__ import annotations

import numpy as np
import torch

from amphys.solver.config import FitConfig
from amphys.solver.distributed import Context, share
from amphys.solver.holdout import split_holdout
from amphys.solver.loop import LOOP_KEYS
from amphys.solver.losses import Evaluated, action_loss, time_weight
from amphys.solver.model import ActionModel, derivatives
from amphys.solver.quadrature import SnapshotData, TimeIntegral
from amphys.solver.rows import LazySnapshotData, is_rows, moments
from amphys.solver.state import TrainState

__all__ = ["ActionMatching", "HISTORY_KEYS", "seed_of"]

#: history of an AM fit: loss (physical units) and its normalised value, kinetic energy, the loop's entries, held-out
#: loss (physical units; NaN between evaluations)
HISTORY_KEYS = ("step", "loss", "loss_normalised", "kinetic", *LOOP_KEYS, "val_loss")


def seed_of(*entropy) -> int:
    """One 32-bit seed from several integers (SeedSequence mixing)."""
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


class ActionMatching:
    """Model, batches and loss of an Action Matching fit (the loop's :class:`~amphys.solver.loop.Objective`).

    ``device``/``dtype``: torch device and training precision. ``holdout``: whether held-out samples exist (finite
    data and ``holdout_fraction > 0``); then :meth:`holdout_score` rates a model on one fixed held-out batch.
    """

    history_keys = HISTORY_KEYS

    def __init__(self, times, xs, weights, config: FitConfig, *, sampler=None, context: Context | None = None,
                 device: torch.device, dtype: torch.dtype):
        self.config = cfg = config
        self.context = context if context is not None else Context()
        self.device, self.dtype = device, dtype
        times = np.asarray(times, dtype=np.float64)
        self.dim, self.mean, std = moments(xs)
        self.std = np.where(std > 0, std, 1.0)
        self.t_span = (float(times[0]), float(times[-1]))
        self.T = self.t_span[1] - self.t_span[0]
        self.length = float(np.sqrt(np.mean(self.std ** 2)))
        self.scale = self.length ** 2 / self.T  # s_phys = scale * s and L_phys = scale * L
        with torch.random.fork_rng(devices=[]):  # the initial weights depend on the seed only: ranks start equal
            torch.manual_seed(cfg.seed)
            model = ActionModel.from_config(cfg, self.dim, t_span=self.t_span, mean=torch.as_tensor(self.mean),
                                            std=torch.as_tensor(self.std))
        self.model = model.to(device=device, dtype=dtype)
        self.laplacian = None
        if cfg.loss == "entropic":
            self.laplacian = cfg.laplacian if cfg.laplacian != "auto" else ("exact" if self.dim <= 8 else "hutchinson")
        self.holdout = cfg.holdout_fraction > 0 and cfg.x_source != "sampler"
        if self.holdout:
            xt, wt, xh, wh = split_holdout(xs, weights, cfg.holdout_fraction, cfg.seed)
            self.holdout = all(len(x) > 0 for x in xh)
        if not self.holdout:
            xt, wt = xs, weights
        n_b = 0 if cfg.weight_fn == "sine" else max(1, int(round(cfg.batch_size * cfg.boundary_fraction / 2)))
        n_int = max(2, cfg.batch_size - 2 * n_b)
        ctx = self.context
        if ctx.active:  # each rank draws its share of the global batch (at least 1 boundary, 2 interior rows)
            n_int = max(2, share(n_int, ctx.rank, ctx.world_size))
            n_b = max(1, share(n_b, ctx.rank, ctx.world_size)) if n_b else 0
        self.source = self._source(times, xt, wt, n_interior=n_int, n_boundary=n_b, sampler=sampler)
        if self.holdout:
            self._holdout_batch(times, xh, wh, n_boundary=n_b)

    def random_streams(self, rank: int) -> tuple[torch.Generator, np.random.Generator]:
        """The batch streams of rank ``rank``, seeded by (seed, rank): (torch generator, numpy generator)."""
        seed = self.config.seed
        return torch.Generator().manual_seed(seed_of(seed, rank)), np.random.default_rng([seed, rank, 1])

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

    def _holdout_batch(self, times, xh, wh, *, n_boundary):
        """One fixed held-out batch (Gauss–Legendre nodes in t) and the probe stream it is scored with."""
        nv = min(4096, min(len(xh[0]), len(xh[-1]))) if n_boundary else 0
        source = self._source(times, xh, wh, n_interior=self.config.holdout_rows, n_boundary=nv, sampler=None,
                              mode="quadrature", rule="gauss-legendre", n_nodes=32)
        self.holdout_gen = torch.Generator().manual_seed(seed_of(self.config.seed, 99))
        self.holdout_batch = source.draw(self.holdout_gen, None)
        self.holdout_probe_state = self.holdout_gen.get_state()

    def _to_norm(self, x) -> torch.Tensor:
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.dim)
        return torch.as_tensor((x - self.mean) / self.length, dtype=self.dtype).to(self.device)

    # -- one step ---------------------------------------------------------------------------------------------------
    def draw(self, state: TrainState):
        """One training batch from the state's random streams."""
        return self.source.draw(state.gen, state.rng)

    def loss(self, state: TrainState) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss of one drawn batch, [loss, kinetic]) in normalised units."""
        loss, parts = self.batch_loss(self.draw(state), gen=state.gen)
        return loss, torch.stack([loss.detach(), parts["kinetic"].detach()])

    def record(self, stats: torch.Tensor) -> dict[str, float]:
        value, kinetic = float(stats[0]), float(stats[1])
        return {"loss": value * self.scale, "loss_normalised": value, "kinetic": kinetic * self.scale}

    def holdout_score(self, module) -> float:
        """Held-out loss (normalised units) of ``module`` on the fixed held-out batch, with the gauge s(t, x) −
        s(t, x̄) and the same probes at every evaluation."""
        self.holdout_gen.set_state(self.holdout_probe_state)
        loss, _ = self.batch_loss(self.holdout_batch, module, create_graph=False, gen=self.holdout_gen,
                                  centre=self.config.loss != "unbalanced")
        return float(loss.detach())

    # -- the loss -----------------------------------------------------------------------------------------------
    def evaluate(self, batch, model=None, *, create_graph=True, gen=None, centre=None) -> Evaluated:
        """s and derivatives on one batched forward of [interior; (references;) boundary 0; boundary 1].

        Only the interior (and reference) rows need ∂_t s and ∇s; the boundary rows need s. ``centre``
        (default: the model's setting) evaluates s̃ = s(τ, y) − s(τ, 0) instead of s. ``gen``: the stream of
        the Hutchinson probes.
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
            signs = torch.randint(0, 2, (self.config.n_probes, *y.shape), generator=gen)
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

    def batch_loss(self, batch, model=None, *, create_graph=True, gen=None, centre=None):
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
