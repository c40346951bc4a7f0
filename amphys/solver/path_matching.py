"""Action Matching along coupled paths: the ``interpolant="ot"`` objective of the training loop
(docs/theory.md#learning-from-snapshots).

The snapshots are chained by optimal-transport couplings into paths (:func:`~amphys.solver.coupling.chain_paths`)
and each path is smoothed in time by a penalised cubic spline (:mod:`~amphys.solver.paths`): at a time τ a path
sits at y(τ) = Σ_k W_k(τ) y_k and moves with u(τ) = Σ_k W′_k(τ) y_k. For such a coupled interpolant the Action
Matching loss along its marginals equals, up to a constant,

    L(s) = ½ ∫_0^1 E_paths ‖∇s(τ, y(τ)) − u(τ)‖² dτ,

(d/dτ E[s(τ, y(τ))] = E[∂_τ s + ∇s·u] turns the AM loss into this regression): the same minimiser — the gradient
field of the paths' marginals, the q-weighted gradient projection of E[u | y, τ] — with a loss bounded below by
0 and a much smaller variance than the AM estimate (no ∂_τ s, no boundary terms).

Held-out selection: the paths of the held-out samples (chained among themselves) give one fixed batch; its
regression loss (bounded below, ≈ the noise of the held-out velocities plus the squared field error) selects the
EMA weights.
"""

from __future__ import annotations

import numpy as np
import torch

from amphys.solver.config import FitConfig
from amphys.solver.coupling import chain_paths
from amphys.solver.distributed import Context, share
from amphys.solver.holdout import split_holdout
from amphys.solver.loop import LOOP_KEYS
from amphys.solver.model import ActionModel, derivatives
from amphys.solver.paths import spline_weights
from amphys.solver.rows import moments
from amphys.solver.state import TrainState

__all__ = ["PathMatching"]

HISTORY_KEYS = ("step", "loss", "loss_normalised", "kinetic", *LOOP_KEYS, "val_loss")
_GRID = 2049


class PathMatching:
    """Model, paths and regression loss of an ``interpolant="ot"`` fit (the loop's objective).

    ``smoothing`` is the resolved λ of the spline (a number). Same normalisation as
    :class:`~amphys.solver.action.ActionMatching` (τ ∈ [0, 1], y = (x − mean)/ℓ; ``scale`` = ℓ²/T turns the
    normalised loss and kinetic energy into the data's units).
    """

    history_keys = HISTORY_KEYS

    def __init__(self, times, xs, config: FitConfig, *, smoothing: float, context: Context | None = None,
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
        self.scale = self.length ** 2 / self.T
        self.tau = (times - times[0]) / self.T
        with torch.random.fork_rng(devices=[]):  # the initial weights depend on the seed only: ranks start equal
            torch.manual_seed(cfg.seed)
            model = ActionModel.from_config(cfg, self.dim, t_span=self.t_span, mean=torch.as_tensor(self.mean),
                                            std=torch.as_tensor(self.std))
        self.model = model.to(device=device, dtype=dtype)
        weights = spline_weights(self.tau, float(smoothing), n_grid=_GRID)
        self.grid_w = torch.as_tensor(weights.value, dtype=dtype, device=device)
        self.grid_dw = torch.as_tensor(weights.slope, dtype=dtype, device=device)
        self.holdout = cfg.holdout_fraction > 0
        if self.holdout:
            xt, _, xh, _ = split_holdout(xs, None, cfg.holdout_fraction, cfg.seed)
            self.holdout = all(len(x) >= 2 for x in xh)
        if not self.holdout:
            xt = xs
        self.paths = self._paths(xt, seed=cfg.seed)
        n = cfg.batch_size
        self.n_rows = max(2, share(n, self.context.rank, self.context.world_size)) if self.context.active else n
        if self.holdout:
            gen = torch.Generator().manual_seed(int(np.random.SeedSequence([cfg.seed, 99]).generate_state(1)[0]))
            self.holdout_batch = self._draw(self._paths(xh, seed=cfg.seed + 1), cfg.holdout_rows, gen)

    def _paths(self, xs, *, seed: int) -> torch.Tensor:
        """Chained paths in normalised units, (M, K+1, d) on the training device."""
        paths = chain_paths([np.asarray(x, dtype=np.float64) for x in xs], seed=seed)
        return torch.as_tensor((paths - self.mean) / self.length, dtype=self.dtype, device=self.device)

    def random_streams(self, rank: int) -> tuple[torch.Generator, np.random.Generator]:
        seed = self.config.seed
        entropy = int(np.random.SeedSequence([seed, rank]).generate_state(1)[0])
        return torch.Generator().manual_seed(entropy), np.random.default_rng([seed, rank, 1])

    def _draw(self, paths: torch.Tensor, n: int, gen: torch.Generator):
        """n rows: a random path each, at stratified uniform times: (τ, y(τ), u(τ))."""
        i = torch.randint(0, paths.shape[0], (n,), generator=gen)
        u01 = (torch.arange(n, dtype=torch.float64) + torch.rand(n, generator=gen, dtype=torch.float64)) / n
        pos = u01 * (_GRID - 1)
        g = torch.clamp(pos.long(), max=_GRID - 2)
        f = (pos - g).to(self.dtype)[:, None].to(self.device)
        g = g.to(self.device)
        w = (1 - f) * self.grid_w[g] + f * self.grid_w[g + 1]
        dw = (1 - f) * self.grid_dw[g] + f * self.grid_dw[g + 1]
        y_k = paths[i.to(self.device)]
        return u01.to(self.dtype).to(self.device), torch.einsum("nk,nkd->nd", w, y_k), \
            torch.einsum("nk,nkd->nd", dw, y_k)

    def batch_loss(self, batch, model=None, *, create_graph: bool = True):
        """(½ mean ‖∇s − u‖², ½ mean ‖∇s‖²) on one batch, normalised units."""
        tau, y, u = batch
        model = self.model if model is None else model
        _, _, grad, _ = derivatives(model, tau, y, create_graph=create_graph, mode=self.config.derivatives)
        loss = 0.5 * torch.mean(torch.sum((grad - u) ** 2, dim=-1))
        return loss, 0.5 * torch.mean(torch.sum(grad * grad, dim=-1))

    def loss(self, state: TrainState):
        loss, kinetic = self.batch_loss(self._draw(self.paths, self.n_rows, state.gen))
        return loss, torch.stack([loss.detach(), kinetic.detach()])

    def record(self, stats: torch.Tensor) -> dict[str, float]:
        value, kinetic = float(stats[0]), float(stats[1])
        return {"loss": value * self.scale, "loss_normalised": value, "kinetic": kinetic * self.scale}

    def holdout_score(self, module) -> float:
        """Regression loss of ``module`` on the fixed held-out batch (normalised units, ≥ 0); its standard error
        (from the rows) is left in ``holdout_error`` for the loop's selection."""
        tau, y, u = self.holdout_batch
        _, _, grad, _ = derivatives(module, tau, y, create_graph=False, mode=self.config.derivatives)
        rows = 0.5 * torch.sum((grad - u) ** 2, dim=-1)
        self.holdout_error = float(torch.std(rows) / np.sqrt(rows.shape[0]))
        return float(torch.mean(rows))

    def describe(self, smoothing_note: str = "") -> str:
        return (f"ot: {self.paths.shape[0]} paths through {self.tau.size} snapshots along chained exact OT "
                f"couplings, penalised cubic spline in t (λ = {self.config.smoothing:g}{smoothing_note}), "
                "loss ½E‖∇s − u‖²")
