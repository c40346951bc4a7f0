"""The Action Matching objective of the training loop: normalisation, network, batches, loss of one step, and the
held-out loss that selects the EMA weights (docs/theory.md#the-action-matching-loss).

:class:`ActionMatching` takes physical arrays (one (n_k, d) array, or :class:`~amphys.solver.rows.Rows`, per
observed time) and a resolved :class:`~amphys.solver.config.FitConfig`. Data parallel, each rank draws its own
share of the global batch (:func:`~amphys.solver.distributed.share`) from its own random streams.

Units (docs/theory.md#normalisation-and-network): time τ = (t − t0)/T in [0, 1], positions y = (x − mean)/ℓ with
one isotropic length ℓ, so s_phys = (ℓ²/T)·s and L_phys = (ℓ²/T)·L (:attr:`ActionMatching.scale`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from amphys.solver.config import FitConfig
from amphys.solver.distributed import Context, share
from amphys.solver.holdout import split_holdout
from amphys.solver.loop import LOOP_KEYS, DivergenceGuard, Runaway
from amphys.solver.losses import Evaluated, action_loss, time_weight
from amphys.solver.model import ActionModel, derivatives
from amphys.solver.quadrature import SnapshotData, TimeIntegral
from amphys.solver.rows import LazySnapshotData, is_rows, moments
from amphys.solver.state import TrainState

__all__ = ["ActionMatching", "HISTORY_KEYS", "seed_of", "plausible_action", "PlausibleLoss", "HOLDOUT_SAMPLES"]

#: Held-out samples per snapshot used by the held-out transport distance.
HOLDOUT_SAMPLES = 512
#: Held-out samples pushed further than this many data radii: the fit has run away.
_RUNAWAY_RADIUS = 100.0
#: A training loss below −(this) × the empirical action bound (median of the last 50 steps): the fit has run away.
RUNAWAY_FACTOR = 10.0

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
        self.stride = knot_stride(cfg, len(times))
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
        self.holdout = cfg.holdout_fraction > 0 and cfg.interpolant != "sampler"
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
        self.action_bound = self.h_y = None
        if self.holdout:
            self._holdout_batch(times, xh, wh, n_boundary=n_b)
            self._holdout_samples(times, xh)
        if cfg.interpolant != "sampler" and cfg.loss != "unbalanced":  # finite data: the AM loss can run away
            self.action_bound = plausible_action((times - times[0]) / self.T, xt, self.mean, self.length,
                                                 seed=cfg.seed)

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
        return TimeIntegral(data, mode=mode or cfg.time_integral, x_source=cfg.interpolant,
                            rule=rule or cfg.quadrature_rule, n_nodes=n_nodes or cfg.n_nodes,
                            n_interior=n_interior, n_boundary=n_boundary, sampler=sampler,
                            to_norm=self._to_norm, t_phys=lambda tau: self.t_span[0] + self.T * tau,
                            stride=self.stride)

    def _holdout_batch(self, times, xh, wh, *, n_boundary):
        """One fixed held-out batch (Gauss–Legendre nodes in t) and the probe stream it is scored with."""
        nv = min(4096, min(len(xh[0]), len(xh[-1]))) if n_boundary else 0
        if self.stride > 1:  # the held-out loss on the same (strided) path as training: one fixed mc batch
            source = self._source(times, xh, wh, n_interior=self.config.holdout_rows, n_boundary=nv, sampler=None,
                                  mode="mc")
        else:
            source = self._source(times, xh, wh, n_interior=self.config.holdout_rows, n_boundary=nv, sampler=None,
                                  mode="quadrature", rule="gauss-legendre", n_nodes=32)
        self.holdout_gen = torch.Generator().manual_seed(seed_of(self.config.seed, 99))
        self.holdout_batch = source.draw(self.holdout_gen, None)
        self.holdout_probe_state = self.holdout_gen.get_state()

    def _holdout_samples(self, times, xh):
        """Held-out samples for :meth:`transport_distance` (at most :data:`HOLDOUT_SAMPLES` per snapshot, normalised),
        the score of not moving at all (its unit) and the data's radius (runaway check)."""
        rng = np.random.default_rng([self.config.seed, 0x7A])
        self.h_tau = torch.as_tensor((times - times[0]) / self.T, dtype=self.dtype, device=self.device)
        self.h_y = [torch.as_tensor((_take_rows(x, HOLDOUT_SAMPLES, rng) - self.mean) / self.length, dtype=self.dtype,
                                    device=self.device) for x in xh]
        self.h_static = float(np.mean([_energy(self.h_y[0], y) for y in self.h_y[1:]]))
        self.h_radius = float(max(torch.max(torch.linalg.norm(y, dim=1)) for y in self.h_y))

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
        """Held-out AM loss (normalised units) of ``module`` on the fixed held-out batch, with the gauge s(t, x) −
        s(t, x̄) and the same probes at every evaluation: an estimate of minus the action of the flow (its
        plateau is −K*, in the data's units ℓ²/T times this); its standard error (from the batch's row terms) is
        left in ``holdout_error``. On finite samples the AM loss is unbounded below; a
        held-out loss below −RUNAWAY_FACTOR × the empirical action bound (:func:`plausible_action`) raises
        :class:`~amphys.solver.loop.Runaway` instead of being selected, so the criterion is bounded."""
        self.holdout_gen.set_state(self.holdout_probe_state)
        loss, parts = self.batch_loss(self.holdout_batch, module, create_graph=False, gen=self.holdout_gen,
                                      centre=self.config.loss != "unbalanced")
        value = float(loss.detach())
        self.holdout_error = float(parts["standard_error"])  # read by the loop's selection (ties within noise)
        if self.action_bound and value < -RUNAWAY_FACTOR * self.action_bound:
            raise Runaway(f"the held-out loss ({value * self.scale:.4g}) fell far below −"
                          f"{self.action_bound * self.scale:.4g}, minus the action of moving between the snapshots "
                          "along straight OT lines, which the least-action flow cannot beat by much: the network "
                          "is fitting the finite samples (the AM loss is unbounded below on them)")
        return value

    def transport_distance(self, module) -> float:
        """Held-out transport distance of ``module``: the held-out samples of the first snapshot pushed by the
        model's flow (RK4) to every later snapshot time, energy distance to that snapshot's held-out samples,
        averaged over the times and divided by the same average for not moving at all (1 = no better than not
        moving; ≈ 0 = within the noise of the held-out sets). Raises :class:`~amphys.solver.loop.Runaway` when
        the pushed samples leave the data by two orders of magnitude."""
        pushed = _rk4_positions(module, self.h_y[0], self.h_tau)
        for k, y in enumerate(pushed):
            far = float(torch.max(torch.linalg.norm(y, dim=1))) if torch.all(torch.isfinite(y)) else math.inf
            if far > _RUNAWAY_RADIUS * self.h_radius:
                raise Runaway(f"held-out samples pushed by the flow left the data (|x − mean| up to {far:.3g} ℓ "
                              f"at the {k + 1}-th snapshot time, the data lie within {self.h_radius:.3g} ℓ): the "
                              "field has run away outside the samples")
        dist = float(np.mean([_energy(p, y) for p, y in zip(pushed[1:], self.h_y[1:])]))
        return dist / self.h_static if self.h_static > 0 else dist

    def describe(self) -> str:
        return self.source.describe()

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
        tau_b = torch.cat([torch.zeros(n0, **opts) if batch.tau0 is None else batch.tau0,
                           torch.ones(n1, **opts) if batch.tau1 is None else batch.tau1])
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


def knot_stride(cfg: FitConfig, n_times: int) -> int:
    """The resolved ``knot_stride``: "auto" is round(0.1 × intervals) for the data's mixture/nearest paths drawn
    by "mc" without a time weight (knots about a tenth of the window apart, or closer when the data are sparser),
    1 otherwise; a number is used as given (at most the number of intervals)."""
    eligible = cfg.interpolant in ("mixture", "nearest") and cfg.time_integral == "mc" and cfg.weight_fn == "none"
    if not eligible:
        return 1
    if cfg.knot_stride == "auto":
        return max(1, int(round(0.1 * (n_times - 1))))
    return max(1, min(int(cfg.knot_stride), n_times - 1))


def _take_rows(x, m: int, rng) -> np.ndarray:
    """At most m random rows of an array or of :class:`~amphys.solver.rows.Rows` (read from disk)."""
    from amphys.solver.rows import Rows

    idx = np.sort(rng.choice(len(x), min(m, len(x)), replace=False))
    if isinstance(x, Rows):
        return x.reader.read(x.global_rows(idx))
    return np.asarray(x, dtype=np.float64)[idx]


def _energy(a: torch.Tensor, b: torch.Tensor) -> float:
    """Energy distance 2E|X−Y| − E|X−X′| − E|Y−Y′| (within-set means over distinct pairs)."""
    def within(u):
        n = u.shape[0]
        return torch.cdist(u, u).sum() / max(n * (n - 1), 1)

    return float(2 * torch.cdist(a, b).mean() - within(a) - within(b))


def _rk4_positions(module, y0: torch.Tensor, tau: torch.Tensor, max_steps: int = 64) -> list[torch.Tensor]:
    """Positions at the times ``tau`` (from tau[0]) of ``y0`` moved by dy/dτ = ∇_y s(τ, y) of ``module``, classical
    RK4 on a uniform grid of at most ``max_steps`` steps (at least 2 per interval when possible), positions at the
    snapshot times by linear interpolation between steps."""
    t0, t1 = float(tau[0]), float(tau[-1])
    n = int(min(max_steps, max(16, 2 * (tau.numel() - 1))))
    h = (t1 - t0) / n

    def v(t, y):
        with torch.enable_grad():
            y = y.detach().requires_grad_(True)
            s = module(torch.full((y.shape[0],), t, dtype=y.dtype, device=y.device), y)
            (g,) = torch.autograd.grad(s.sum(), y)
        return g

    ys, y = [y0], y0
    for i in range(n):
        t = t0 + i * h
        k1 = v(t, y)
        k2 = v(t + h / 2, y + h / 2 * k1)
        k3 = v(t + h / 2, y + h / 2 * k2)
        k4 = v(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        if not torch.all(torch.isfinite(y)):
            return [y0] + [torch.full_like(y0, math.inf)] * (tau.numel() - 1)
        ys.append(y)
    out = []
    for t in tau.tolist():
        pos = min((t - t0) / h, n)
        i = min(int(pos), n - 1)
        f = pos - i
        out.append((1 - f) * ys[i] + f * ys[i + 1])
    return out


def plausible_action(tau: np.ndarray, xs, mean, length: float, *, n_max: int = 300, seed: int = 0) -> float:
    """Σ_k W2²(q̂_k, q̂_{k+1}) / (2Δτ_k) in normalised units (at most ``n_max`` samples of each snapshot): the
    action of moving between the snapshots along straight OT lines, inflated by their sampling noise. The least
    action of the true path is at least about this (Benamou–Brenier), and the AM loss at its optimum is minus
    the least action, so a loss far below −(this) is the network fitting the finite samples, not the flow."""
    from amphys.solver.coupling import ot_plan

    rng = np.random.default_rng([seed, 0xAC])
    ys = [(_take_rows(x, n_max, rng) - mean) / length for x in xs]
    total = 0.0
    for k in range(len(ys) - 1):
        i, j, w = ot_plan(ys[k], ys[k + 1])
        total += float(np.sum(w * np.sum((ys[k][i] - ys[k + 1][j]) ** 2, axis=1))) / (2 * (tau[k + 1] - tau[k]))
    return total


class PlausibleLoss(DivergenceGuard):
    """The divergence guard, plus: a median training loss (last 50 recorded steps) below −RUNAWAY_FACTOR × the
    empirical action bound (:func:`plausible_action`) stops the fit as run away."""

    def __init__(self, explode_factor: float, bound: float, unit: float):
        super().__init__(explode_factor)
        self.bound, self.unit = float(bound), float(unit)

    def check(self, state, loss: float, grad_norm: float):
        recent = state.history.get("loss_normalised", [])[-50:]
        if len(recent) >= 50 and self.bound > 0 and float(np.median(recent)) < -RUNAWAY_FACTOR * self.bound:
            raise Runaway(f"the training loss ({float(np.median(recent)) * self.unit:.4g}, median of the last 50 "
                          f"steps) fell far below −{self.bound * self.unit:.4g}, minus the action of moving "
                          "between the snapshots along straight OT lines, which the least-action flow cannot "
                          "beat by much: the network is fitting the finite samples (the AM loss is unbounded "
                          "below on them)")
        return super().check(state, loss, grad_norm)
