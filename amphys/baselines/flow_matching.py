"""Minibatch-OT conditional flow matching between consecutive snapshots (Tong et al. 2023), the second
baseline of the benchmarks (docs/benchmarks.md).

For each pair of consecutive snapshots (t_k, t_{k+1}) a minibatch of each is drawn and coupled by exact
optimal transport (POT ``ot.emd``, uniform weights, squared Euclidean cost in the user's units: the physical
metric, as AM's kinetic energy; a cost in per-coordinate whitened units would give the OT map of another
metric for anisotropic data). With λ ~ U(0, 1)

    x_λ = (1 − λ) x_k + λ x_{k+1} + σ ε,        t = t_k + λ (t_{k+1} − t_k),

the velocity network regresses v_θ(t, x_λ) on (x_{k+1} − x_k)/(t_{k+1} − t_k). With exact (full-batch) OT this
is the displacement interpolation between neighbouring snapshots, so the learned field is piecewise the
McCann-interpolation velocity; unlike AM it is not asked to be a gradient, and between snapshots it follows
straight lines, not the physical path. A minibatch OT plan is not the full one; its couplings approach the
exact ones as the minibatch grows (Fatras et al. 2020), so ``batch_size`` matters.

Normalisation (docs/theory.md#normalisation-and-network): the network sees τ = (t − t_0)/T and y = (x − m)/s;
its output is dy/dτ and ``velocity`` returns (s/T)·v in the user's units. Generation integrates dx/dt = v(t, x)
with torchdiffeq.

References: A. Tong et al., "Improving and generalizing flow-based generative models with minibatch optimal
transport", TMLR 2024 (arXiv:2302.00482); K. Fatras et al., "Learning with minibatch Wasserstein",
AISTATS 2020.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from amphys._checks import check_count, check_points, check_time, check_times
from amphys.baselines._common import BaseConfig, draw_rows
from amphys.baselines._nets import Fitting, TimeMLP, TrainedNetwork
from amphys.solver.fields import Choice, Integer, Number

__all__ = ["CFMConfig", "FlowMatchingResult", "fit_flow_matching"]

ODE_METHODS = ("dopri5", "dopri8", "bosh3", "adaptive_heun", "rk4", "midpoint", "euler")
FIXED_STEP = ("rk4", "midpoint", "euler")


@dataclasses.dataclass(frozen=True)
class CFMConfig(BaseConfig):
    """Settings of a flow-matching fit (fields of :class:`~amphys.baselines._common.BaseConfig` plus):

    coupling : "ot" (exact minibatch OT, Tong et al.) or "independent" (plain CFM, random pairs; a control).
    sigma : std of the Gaussian path around the straight line, in normalised units (0 = deterministic).
    pairs_per_step : snapshot pairs per step (each gets ``batch_size // pairs_per_step`` points and its own
    OT problem); capped at the number of pairs.
    ode_method : torchdiffeq solver for ``push``; rtol, atol : its tolerances; ode_step : step in normalised
    time for the fixed-step solvers (rk4, midpoint, euler).
    """

    coupling: str = "ot"
    sigma: float = 0.0
    pairs_per_step: int = 4
    ode_method: str = "dopri5"
    rtol: float = 1e-5
    atol: float = 1e-5
    ode_step: float = 0.01

    CHECKS: ClassVar[dict] = {
        **BaseConfig.CHECKS,
        "coupling": Choice("ot", "independent"),
        "ode_method": Choice(*ODE_METHODS),
        "sigma": Number(0.0),
        "pairs_per_step": Integer(1),
        "rtol": Number(0.0, low_open=True),
        "atol": Number(0.0, low_open=True),
        "ode_step": Number(0.0, 1.0, low_open=True),
    }


class VelocityNet(nn.Module):
    """dy/dτ = v(τ, y) in normalised units; :class:`FlowMatchingResult` maps to and from the user's units."""

    def __init__(self, dim: int, config: CFMConfig):
        super().__init__()
        self.mlp = TimeMLP(dim, dim, config.hidden, config.depth, config.time_features)

    def forward(self, tau, y):
        return self.mlp(tau, y)


@dataclasses.dataclass
class FlowMatchingResult(TrainedNetwork):
    """A trained flow-matching model (fields of :class:`~amphys.baselines._nets.TrainedNetwork`, ``model`` a
    :class:`VelocityNet`). ``history["loss"]`` holds the regression loss of every applied step (with "step",
    "grad_norm", "lr", "wall_time")."""

    config: CFMConfig

    def velocity(self, t, x) -> np.ndarray:
        """Learned velocity at time ``t`` (scalar, user's units) and points ``x (n, d)``; shape ``(n, d)``."""
        x = check_points(x, self.dim)
        tau = float(self.normaliser.tau(check_time(t, "t")))
        with torch.no_grad():
            v = self.model(self._tensor([tau]), self._tensor(self.normaliser.y(x)))
        return v.double().cpu().numpy() * self.normaliser.std / self.normaliser.t_scale

    def push(self, x0, t0, times) -> np.ndarray:
        """Integrate dx/dt = v(t, x) from ``x0 (n, d)`` at ``t0`` to each of ``times``; (len(times), n, d).

        Times may lie on either side of ``t0`` (backward integration is allowed) and in any order.
        """
        import torchdiffeq

        x0 = check_points(x0, self.dim, "x0")
        tau0 = float(self.normaliser.tau(check_time(t0, "t0")))
        taus = self.normaliser.tau(check_times(times, increasing=False))
        out = np.empty((taus.size, x0.shape[0], self.dim))
        y0 = self._tensor(self.normaliser.y(x0))
        cfg = self.config
        options = {"step_size": cfg.ode_step} if cfg.ode_method in FIXED_STEP else None

        def field(tau, y):
            return self.model(tau.reshape(1), y)

        for side in (1.0, -1.0):
            sel = np.flatnonzero((taus - tau0) * side > 0)
            if sel.size == 0:
                continue
            grid, inverse = np.unique(taus[sel], return_inverse=True)
            if side < 0:
                grid, inverse = grid[::-1], grid.size - 1 - inverse
            with torch.no_grad():
                ys = torchdiffeq.odeint(field, y0, self._tensor(np.concatenate([[tau0], grid])),
                                        method=cfg.ode_method, rtol=cfg.rtol, atol=cfg.atol, options=options)
            out[sel] = self.normaliser.x(ys[1:].double().cpu().numpy())[inverse]
        out[taus == tau0] = x0
        return out

    def generate(self, times, n: int, seed: int = 0, *, x0=None, t0=None) -> np.ndarray:
        """Push ``n`` rows of the first snapshot (or the given ``x0`` at ``t0``, default the first time) to
        each of ``times``; shape (len(times), n, d). Rows are drawn without replacement when there are enough.
        """
        n = check_count(n, low=1)
        if x0 is None:
            x0 = draw_rows(self.x_first, n, np.random.default_rng(seed))
        else:
            x0 = check_points(x0, self.dim, "x0")
        return self.push(x0, self.times[0] if t0 is None else t0, times)


def fit_flow_matching(times, xs, config: CFMConfig | None = None, *, checkpoints=(), on_checkpoint=None,
                      **overrides) -> FlowMatchingResult:
    """Train minibatch-OT conditional flow matching on snapshots ``xs[k] ~ q_{times[k]}``.

    Parameters
    ----------
    times : (K,) strictly increasing observation times, K ≥ 2.
    xs : K arrays (n_k, d) of samples in the user's units.
    config : :class:`CFMConfig` (None = defaults); ``overrides`` replace its fields.
    checkpoints, on_checkpoint : ``on_checkpoint(step, result, wall_time) -> bool`` is called after each step in
        ``checkpoints`` with a result built from the EMA weights of that step (its ``status`` is "stopped", its
        history empty); returning True stops training (training curves without refitting).

    Returns a :class:`FlowMatchingResult` with ``velocity``, ``push`` and ``generate``.
    """
    run = Fitting.start(CFMConfig, config, overrides, times, xs)
    model = run.network(lambda: VelocityNet(run.dim, run.config))
    step_loss = FlowMatchingLoss(model, run.config, run.ys, run.taus, run.normaliser.std)
    return run.train(model, step_loss, "flow matching", FlowMatchingResult,
                     checkpoints=checkpoints, on_checkpoint=on_checkpoint)


class FlowMatchingLoss:
    """One flow-matching step: draw ``pairs_per_step`` pairs of consecutive snapshots and a minibatch of each from
    the state's numpy stream, couple them (exact OT or independent), draw λ (and the path noise) from its torch
    stream, and return the regression loss of v_θ on the straight-line velocity (normalised units)."""

    def __init__(self, model: VelocityNet, cfg: CFMConfig, ys, taus, std):
        p = next(model.parameters())
        self.model, self.cfg, self.ys, self.taus, self.std = model, cfg, ys, taus, std
        self.device, self.dtype = p.device, p.dtype
        self.n_pairs = len(ys) - 1
        self.per_step = min(cfg.pairs_per_step, self.n_pairs)
        self.b = max(cfg.batch_size // self.per_step, 2)

    def couple(self, a: np.ndarray, c: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Index pairs (i, j) drawn from the exact OT plan between the minibatches ``a`` and ``c``."""
        import ot

        b = self.b
        if self.cfg.coupling == "independent":
            return np.arange(b), np.arange(b)
        weights = np.full(b, 1.0 / b)
        cost = ot.dist(a * self.std, c * self.std)  # squared Euclidean in the user's (physical) metric
        plan = ot.emd(weights, weights, cost / max(cost.max(), 1e-300))
        if np.all((plan > 0.5 / b).sum(1) == 1):  # a permutation, the usual vertex solution (uniform weights)
            return np.arange(b), plan.argmax(1)
        flat = rng.choice(b * b, size=b, p=(plan / plan.sum()).ravel())  # general plan: sample it (Tong)
        return flat // b, flat % b

    def __call__(self, state) -> torch.Tensor:
        b, rng, opts = self.b, state.rng, {"dtype": self.dtype, "device": self.device}
        pairs = rng.choice(self.n_pairs, size=self.per_step, replace=False)
        y0s, y1s, lam_taus, dts = [], [], [], []
        for k in pairs:
            a = draw_rows(self.ys[k], b, rng)
            c = draw_rows(self.ys[k + 1], b, rng)
            i, j = self.couple(a, c, rng)
            y0s.append(a[i])
            y1s.append(c[j])
            lam_taus.append(np.full(b, self.taus[k]))
            dts.append(np.full(b, self.taus[k + 1] - self.taus[k]))
        y0 = torch.as_tensor(np.concatenate(y0s), **opts)
        y1 = torch.as_tensor(np.concatenate(y1s), **opts)
        tk = torch.as_tensor(np.concatenate(lam_taus), **opts)[:, None]
        dt = torch.as_tensor(np.concatenate(dts), **opts)[:, None]
        lam = torch.rand(tk.shape, generator=state.gen, **opts)
        y = (1 - lam) * y0 + lam * y1
        if self.cfg.sigma > 0:
            y = y + self.cfg.sigma * torch.randn(y.shape, generator=state.gen, **opts)
        target = (y1 - y0) / dt
        v = self.model(tk + lam * dt, y)
        return ((v - target) ** 2).sum(1).mean()
