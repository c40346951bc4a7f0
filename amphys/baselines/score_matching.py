"""Score matching + Langevin dynamics: the Action Matching paper's baseline (docs/benchmarks.md).

A time- and noise-conditional score network s_θ(t, x, σ) ≈ ∇_x log (q_t ∗ N(0, σ²))(x) is trained on snapshots
over a geometric ladder σ_1 > … > σ_L (NCSN, Song & Ermon 2019), with one of three objectives, each averaged
over snapshot times and levels:

- ``"dsm"`` denoising score matching (Vincent 2011): ½λ(σ) E‖s(t, x + σz, σ) + z/σ‖², with antithetic pairs
  (z, −z) on the same x by default (``antithetic``), which cancels the O(1/σ) noise term of the gradient;
- ``"ssm"`` sliced score matching (Song et al. 2019) on the perturbed samples x̃: λ(σ) E[½‖s‖² + vᵀ∇(vᵀs)],
  v Rademacher (``n_probes`` of them);
- ``"sm"`` implicit score matching (Hyvärinen 2005), the same with the exact divergence (d reverse passes).

The network sees τ ∈ [0, 1], whitened y and the normalised log σ, and its output is divided by √(1 + σ²), so
it is O(1) at every level. The weight is λ(σ) = 1 + σ² for every objective: equal weight on the error of the
network's output at every level (the same balance as NCSN's λ = σ² with s = net/σ). NCSN's λ = σ² with this
output scaling would weight the smallest level 100× below the largest; on the tests' Gaussian path that left
a relative error of ≈ 8% at σ_L = 0.1 (t = 1) where λ = 1 + σ² reaches 0.5% with the same budget. Noise levels and the
Langevin step are in whitened units (σ = 1 is one data standard deviation per coordinate).

Samples at any time come from Langevin dynamics on the learned score (:mod:`amphys.baselines._langevin`):
``sampler="annealed"`` (annealed over the noise levels at that time, from a broad Gaussian) or
``sampler="tracking"`` (the official code's protocol, below).

What the official code does (necludov/action-matching, read through the code index: ``core/losses.py``
``SMLoss``/``divH``, ``models/mlp.py`` ``ScoreNet``, ``utils/train_utils.py``
``prepare_hydrogen``/``evaluate``, ``notebooks/annealed_Langevin`` checkpoint): the hydrogen SM baseline is a
*noise-free* time-conditional score net s(t, x) = 10⁻²·MLP(t, x) (raw coordinates, t/T ∈ [0, 1], 4 hidden SiLU
layers of 256) trained with implicit score matching, ½‖s‖² + div s, where "sm" takes the exact divergence
(full Jacobian) and "ssm" one Rademacher Hutchinson probe; no noise ladder, no denoising objective. Sampling
is not annealing over σ: starting from the t = 0 data, it makes 1000 time steps over the horizon and after
each one 5 Langevin steps x ← x + ½ε s(t + dt, x) + √ε ξ with ε = 15 (raw units). The step ε was chosen with
the *true* score ∇log|ψ_t|² (autograd of the exact density) by a sweep ε ∈ linspace(10, 40, 30), scoring each
by the mean MMD over the first quarter of the path. The paper's SM/SSM MMDs (4.75e-2 / 4.71e-2) come from that
protocol. Here: the official setup is ``objective="sm"`` or ``"ssm"``, ``n_levels=1, sigma_min=0``,
``sampler="tracking"``, ``tracking_steps=1000, tracking_langevin_steps=5``; the NCSN variant of the brief is
the default (``"dsm"``, 10 levels, ``"annealed"``). :func:`tune_langevin_step` reproduces the step sweep with
a true score, scored by the energy distance to the snapshots.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from amphys._checks import check_count, check_points, check_time, check_times
from amphys.baselines import _langevin
from amphys.baselines._common import BaseConfig, Normaliser, draw_rows
from amphys.baselines._nets import Fitting, TimeMLP, TrainedNetwork
from amphys.errors import InputError, unknown_name
from amphys.solver.fields import Choice, Flag, Integer, Number

__all__ = ["SMConfig", "ScoreMatchingResult", "fit_score_matching", "SAMPLER_FIELDS"]

#: SMConfig fields that only concern sampling (may differ between training and generation).
SAMPLER_FIELDS = ("sampler", "langevin_eps", "langevin_steps", "denoise", "tracking_steps",
                  "tracking_langevin_steps")


@dataclasses.dataclass(frozen=True)
class SMConfig(BaseConfig):
    """Settings of a score-matching fit (fields of :class:`~amphys.baselines._common.BaseConfig` plus):

    objective : "dsm", "ssm" or "sm" (module docstring). n_probes : Rademacher probes per sample for "ssm".
    n_levels : number of noise levels L; sigma_min : σ_L; sigma_max : σ_1 (None: the largest pairwise distance
    of the whitened data). All in whitened units. ``n_levels=1`` trains at σ_min only (σ_min = 0 allowed there
    for "sm"/"ssm": the noise-free score of the official code).
    sampler : "annealed" or "tracking". langevin_eps : step ε at the smallest level (None: a default, see
    :func:`amphys.baselines._langevin.default_eps`; better, tune it with :func:`tune_langevin_step`).
    langevin_steps : T, steps per level (annealed). denoise : final Tweedie step (annealed).
    antithetic : "dsm" with noise pairs (z, −z) on the same samples (variance reduction).
    tracking_steps : time steps over the whole observed span; tracking_langevin_steps : Langevin steps after
    each time step (tracking).
    """

    objective: str = "dsm"
    n_probes: int = 1
    n_levels: int = 10
    sigma_min: float = 0.01
    sigma_max: float | None = None
    sampler: str = "annealed"
    langevin_eps: float | None = None
    langevin_steps: int = 100
    denoise: bool = True
    antithetic: bool = True
    tracking_steps: int = 1000
    tracking_langevin_steps: int = 5

    CHECKS: ClassVar[dict] = {
        **BaseConfig.CHECKS,
        "objective": Choice("dsm", "ssm", "sm"),
        "sampler": Choice("annealed", "tracking"),
        **{name: Integer(1) for name in ("n_probes", "n_levels", "langevin_steps", "tracking_steps",
                                         "tracking_langevin_steps")},
        "sigma_min": Number(0.0),
        "sigma_max": Number(0.0, low_open=True, optional=True),
        "langevin_eps": Number(0.0, low_open=True, optional=True),
        "denoise": Flag(),
        "antithetic": Flag(),
    }

    def __post_init__(self):
        super().__post_init__()
        if self.sigma_min == 0 and (self.objective == "dsm" or self.n_levels > 1):
            raise InputError("SMConfig.sigma_min: 0 is only allowed for objective 'sm'/'ssm' with n_levels=1 "
                             "(denoising and a noise ladder need σ > 0); give e.g. sigma_min=0.01")
        if self.sigma_max is not None and self.n_levels > 1 and self.sigma_max <= self.sigma_min:
            raise InputError(f"SMConfig.sigma_max: expected sigma_max > sigma_min = {self.sigma_min}, got "
                             f"{self.sigma_max}")


class ScoreNet(nn.Module):
    """Whitened score s(τ, y, σ) = MLP(τ, y, log-σ feature)/√(1 + σ²)."""

    def __init__(self, d: int, config: SMConfig, sigmas: np.ndarray):
        super().__init__()
        self.conditional = sigmas.size > 1
        self.mlp = TimeMLP(d, d, config.hidden, config.depth, config.time_features,
                           extra=int(self.conditional))
        self.log_hi = float(np.log(sigmas[0])) if self.conditional else 0.0
        self.log_lo = float(np.log(sigmas[-1])) if self.conditional else 0.0

    def forward(self, tau, y, sigma):
        """``sigma``: tensor broadcastable to (n, 1)."""
        sigma = torch.as_tensor(sigma, dtype=y.dtype, device=y.device).reshape(-1, 1).expand(y.shape[0], 1)
        feat = None
        if self.conditional:
            feat = 2.0 * (torch.log(sigma) - self.log_lo) / (self.log_hi - self.log_lo) - 1.0
        return self.mlp(tau, y, feat) / torch.sqrt(1.0 + sigma**2)


@dataclasses.dataclass
class ScoreMatchingResult(TrainedNetwork):
    """A trained score model (fields of :class:`~amphys.baselines._nets.TrainedNetwork`, ``model`` a
    :class:`ScoreNet`); ``sigmas``: the noise levels (whitened units); ``history``: "loss" (and "step",
    "grad_norm", "lr", "wall_time") per applied step."""

    config: SMConfig
    sigmas: np.ndarray

    def _score_fn(self):
        sig = self._tensor(self.sigmas)

        def score_fn(tau, y, level):
            return self.model(self._tensor([tau]), y, sig[level])

        return score_fn

    def score(self, t, x, level: int = -1) -> np.ndarray:
        """Learned score ∇_x log(q_t ∗ N(0, σ_level²)) in the user's units, shape ``(n, d)``; ``level=-1`` is
        the smallest noise (≈ ∇log q_t when σ_L is small)."""
        x = check_points(x, self.dim)
        tau = float(self.normaliser.tau(check_time(t, "t")))
        L = self.sigmas.size
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not -L <= level < L:
            raise InputError(f"level: expected an integer index of one of the {L} noise levels (-1 = the "
                             f"smallest), got {level!r}")
        with torch.no_grad():
            s = self._score_fn()(tau, self._tensor(self.normaliser.y(x)), int(level))
        return s.double().cpu().numpy() / self.normaliser.std

    def generate(self, times, n: int, seed: int = 0, *, x0=None, eps: float | None = None,
                 **sampler_options) -> np.ndarray:
        """Samples at each of ``times`` by Langevin dynamics on the learned score; shape (len(times), n, d).

        ``eps`` (e.g. :attr:`StepTuning.best`) and ``sampler_options`` (any of ``SAMPLER_FIELDS``: sampler,
        langevin_steps, denoise, tracking_steps, tracking_langevin_steps) override the config. "tracking" starts
        from ``x0`` (default: ``n`` rows of the first snapshot) at the first observed time and needs ``times``
        at or after it.
        """
        for key in sampler_options:
            if key not in SAMPLER_FIELDS:
                raise unknown_name("sampler option", key, SAMPLER_FIELDS)
        if eps is not None:
            sampler_options["langevin_eps"] = eps
        cfg = self.config.replace(**sampler_options)
        p = next(self.model.parameters())
        with torch.no_grad():
            return langevin_samples(self._score_fn(), cfg, self.normaliser, self.sigmas, self.times,
                                    self.x_first, times, n, seed, x0=x0, dtype=p.dtype, device=p.device)


def langevin_samples(score_fn, cfg: SMConfig, norm: Normaliser, sigmas, obs_times, x_first, times, n, seed, *,
                     x0=None, dtype=torch.float64, device="cpu") -> np.ndarray:
    """Run ``cfg.sampler`` with ``score_fn`` (whitened units) at ``times``; user's units out, (T, n, d)."""
    times = check_times(times, increasing=False)
    n = check_count(n, low=1)
    d = norm.mean.size
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    eps = _langevin.default_eps(cfg, sigmas)
    taus = norm.tau(times)
    out = np.empty((times.size, n, d))
    if cfg.sampler == "annealed":
        for i, tau in enumerate(taus):
            y = _langevin.annealed(score_fn, float(tau), n, d, sigmas, eps, cfg.langevin_steps, cfg.denoise,
                                   gen, dtype, device)
            out[i] = norm.x(y.double().cpu().numpy())
        return out
    if np.any(times < obs_times[0]):
        raise InputError(f"times: the tracking sampler runs forward from the first observed time "
                         f"{obs_times[0]}, got {times.min()}; use sampler='annealed' for earlier times")
    x0 = draw_rows(x_first, n, np.random.default_rng(seed)) if x0 is None else check_points(x0, d, "x0")
    y0 = torch.as_tensor(norm.y(x0), dtype=dtype, device=device)
    order = np.argsort(taus, kind="stable")
    ys = _langevin.tracking(score_fn, 0.0, y0, taus[order], 1.0 / cfg.tracking_steps, eps,
                            cfg.tracking_langevin_steps, sigmas.size, gen)
    for j, y in zip(order, ys, strict=True):
        out[j] = norm.x(y.double().cpu().numpy())
    return out


def fit_score_matching(times, xs, config: SMConfig | None = None, *, checkpoints=(), on_checkpoint=None,
                       **overrides) -> ScoreMatchingResult:
    """Train a time- and noise-conditional score model on snapshots ``xs[k] ~ q_{times[k]}``.

    Parameters
    ----------
    times : (K,) strictly increasing observation times, K ≥ 2.
    xs : K arrays (n_k, d) of samples in the user's units.
    config : :class:`SMConfig` (None = defaults); ``overrides`` replace its fields.
    checkpoints, on_checkpoint : ``on_checkpoint(step, result, wall_time) -> bool`` is called after each step in
        ``checkpoints`` with a result built from the EMA weights of that step (its ``status`` is "stopped", its
        history empty); returning True stops training (training curves without refitting).

    Returns a :class:`ScoreMatchingResult` with ``score`` and ``generate``.
    """
    run = Fitting.start(SMConfig, config, overrides, times, xs)
    cfg = run.config
    sigmas = _langevin.sigma_ladder(cfg, run.ys)
    model = run.network(lambda: ScoreNet(run.dim, cfg, sigmas))
    step_loss = ScoreMatchingLoss(model, cfg, run.ys, run.taus, sigmas)
    return run.train(model, step_loss, f"score matching ({cfg.objective})", ScoreMatchingResult, sigmas=sigmas,
                     checkpoints=checkpoints, on_checkpoint=on_checkpoint)


class ScoreMatchingLoss:
    """One score-matching step: draw snapshots, samples, noise levels and noise from the state's torch stream and
    return the objective ``cfg.objective`` (module docstring) on that batch, in whitened units."""

    def __init__(self, model: ScoreNet, cfg: SMConfig, ys, taus, sigmas):
        p = next(model.parameters())
        self.model, self.cfg, self.device, self.dtype = model, cfg, p.device, p.dtype
        self.data = torch.as_tensor(np.concatenate(ys), dtype=p.dtype, device=p.device)
        self.sizes = torch.as_tensor([y.shape[0] for y in ys], device=p.device)
        self.offsets = torch.cumsum(self.sizes, 0) - self.sizes
        self.taus = torch.as_tensor(taus, dtype=p.dtype, device=p.device)
        self.sigmas = torch.as_tensor(sigmas, dtype=p.dtype, device=p.device)

    def __call__(self, state) -> torch.Tensor:
        cfg, model, gen, dtype, device = self.cfg, self.model, state.gen, self.dtype, self.device
        B, K, L, d = cfg.batch_size, self.sizes.numel(), self.sigmas.numel(), self.data.shape[1]

        def rand(*shape):
            return torch.rand(shape, generator=gen, device=device, dtype=dtype)

        k = torch.randint(K, (B,), generator=gen, device=device)
        idx = self.offsets[k] + torch.minimum((rand(B) * self.sizes[k]).long(), self.sizes[k] - 1)
        y, tau = self.data[idx], self.taus[k][:, None]
        sigma = self.sigmas[torch.randint(L, (B,), generator=gen, device=device)][:, None]
        z = torch.randn(y.shape, generator=gen, device=device, dtype=dtype)
        if cfg.antithetic:  # pairs (y, z), (y, −z): cancels the O(1/σ) noise term of the DSM gradient
            half = (B + 1) // 2
            y, tau, sigma = (torch.cat([a[:half], a[:B - half]]) for a in (y, tau, sigma))
            z = torch.cat([z[:half], -z[:B - half]])
        y_noisy = y + sigma * z
        if cfg.objective == "dsm":
            s = model(tau, y_noisy, sigma)
            return 0.5 * ((1.0 + sigma**2) * (s + z / sigma) ** 2).sum(1).mean()
        y_noisy.requires_grad_(True)
        s = model(tau, y_noisy, sigma)
        if cfg.objective == "ssm":
            div = 0.0
            for _ in range(cfg.n_probes):
                v = 2.0 * (rand(B, d) < 0.5).to(dtype) - 1.0
                g = torch.autograd.grad((s * v).sum(), y_noisy, create_graph=True)[0]
                div = div + (g * v).sum(1) / cfg.n_probes
        else:
            div = sum(torch.autograd.grad(s[:, j].sum(), y_noisy, create_graph=True)[0][:, j]
                      for j in range(d))
        return ((1.0 + sigma[:, 0] ** 2) * (0.5 * (s**2).sum(1) + div)).mean()
