"""Langevin samplers of the score-matching baseline, in normalised units (τ ∈ [0, 1], whitened y).

A score function here is ``score_fn(tau: float, y: Tensor (n, d), level: int) -> Tensor (n, d)``: the score of
q_τ perturbed by N(0, σ_level²) in whitened units (level L−1 is the smallest noise, the "clean" score).

- ``annealed``: annealed Langevin dynamics of Song & Ermon (2019), Algorithm 1: from a broad Gaussian, for
  each level i = 1..L run T steps y ← y + (α_i/2) s(y, σ_i) + √α_i ξ with α_i = ε σ_i²/σ_L²; optionally one
  final denoising step y ← y + σ_L² s(y, σ_L) (Tweedie; Song & Ermon 2020, Jolicoeur-Martineau et al. 2021).
- ``tracking``: the AM paper's protocol (official code, ``ScoreNet.propagate``): start from samples of the
  first snapshot and follow the path in small time steps; after each time step run a few Langevin steps with a
  fixed step ε on the score at the new time.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["sigma_ladder", "default_eps", "annealed", "tracking", "BLOWUP"]

#: A chain whose whitened position exceeds BLOWUP × the scale of its start has diverged (the step is past the
#: stability limit): its row becomes NaN, so it scores ``inf`` in the tuning and shows as NaN in the samples.
#: Without this a chain driven by an exact Gaussian score can blow up at the coarse levels and contract back
#: at the fine ones, and the tuning would pick a step that makes a learned (non-linear) score fail.
BLOWUP = 1e3


def sigma_ladder(config, ys: list[np.ndarray]) -> np.ndarray:
    """Noise levels σ_1 > … > σ_L (geometric) in whitened units.

    ``sigma_max=None`` takes σ_1 = the largest pairwise distance of (a subsample of) the pooled whitened data,
    Song & Ermon (2020) technique 1, so that the most perturbed distribution covers the data.
    """
    if config.n_levels == 1:
        return np.array([config.sigma_min])
    smax = config.sigma_max
    if smax is None:
        pooled = np.concatenate(ys)
        rng = np.random.default_rng(config.seed)
        if pooled.shape[0] > 1000:
            pooled = pooled[rng.choice(pooled.shape[0], 1000, replace=False)]
        r2 = (pooled**2).sum(1)[:, None] + (pooled**2).sum(1)[None, :] - 2.0 * pooled @ pooled.T
        smax = max(float(np.sqrt(np.maximum(r2, 0.0).max())), 2.0 * config.sigma_min)
    return np.geomspace(smax, config.sigma_min, config.n_levels)


def default_eps(config, sigmas: np.ndarray) -> float:
    """Langevin step ε (the step at the smallest level, whitened units²) when the config gives none.

    Annealed: ε = σ_L², i.e. relative step α_i/σ_i² = 1 at every level (stable below 4 for a Gaussian). This
    is larger than Song & Ermon's (2020) technique 4, which for T = 100 steps gives α_i/σ_i² ≈ 0.04 and, in
    low dimension, leaves the chains at the levels below the data scale unmixed (2-D Gaussian path of the
    tests: energy distance 0.10 against 0.0014 at ε = σ_L², true score). Tracking, or a single level: ε =
    0.01, 1% of the data variance, whose Langevin bias on a unit Gaussian is a variance excess of ε/4. Tune it
    with :func:`amphys.baselines.tune_langevin_step`.
    """
    if config.langevin_eps is not None:
        return float(config.langevin_eps)
    if config.sampler == "tracking" or sigmas.size < 2:
        return 0.01
    return float(sigmas[-1] ** 2)


def annealed(score_fn, tau: float, n: int, d: int, sigmas: np.ndarray, eps: float, steps: int, denoise: bool,
             gen: torch.Generator, dtype: torch.dtype, device) -> torch.Tensor:
    """Annealed Langevin dynamics at one time τ from y ~ N(0, (1 + σ_1²) I) (the scale of the most perturbed
    whitened data). Returns ``(n, d)`` whitened samples."""
    scale = math.sqrt(1.0 + float(sigmas[0]) ** 2)
    bound = BLOWUP * scale
    y = scale * torch.randn((n, d), generator=gen, dtype=dtype, device=device)
    last = float(sigmas[-1])
    for i, s in enumerate(sigmas):
        alpha = eps * (float(s) / last) ** 2 if len(sigmas) > 1 else eps  # one level: σ_L may be 0
        root = math.sqrt(alpha)
        for _ in range(steps):
            noise = torch.randn((n, d), generator=gen, dtype=dtype, device=device)
            y = y + 0.5 * alpha * score_fn(tau, y, i) + root * noise
        y = _mark_blowup(y, bound)
    if denoise:
        y = y + last**2 * score_fn(tau, y, len(sigmas) - 1)
    return y


def tracking(score_fn, tau0: float, y0: torch.Tensor, taus: np.ndarray, dtau: float, eps: float, steps: int,
             n_levels: int, gen: torch.Generator) -> list[torch.Tensor]:
    """Follow the path from ``y0`` at ``tau0`` through the increasing ``taus`` (all ≥ tau0) in time steps of
    at most ``dtau``, with ``steps`` Langevin steps of size ``eps`` on the smallest-noise score after each
    time step. Returns one ``(n, d)`` tensor per entry of ``taus``."""
    out, y, cur = [], y0, tau0
    root = math.sqrt(eps)
    for target in taus:
        n_sub = max(int(math.ceil((target - cur) / dtau - 1e-9)), 0)
        h = (target - cur) / n_sub if n_sub else 0.0
        for k in range(n_sub):
            now = cur + (k + 1) * h
            for _ in range(steps):
                noise = torch.randn(y.shape, generator=gen, dtype=y.dtype, device=y.device)
                y = y + 0.5 * eps * score_fn(now, y, n_levels - 1) + root * noise
            y = _mark_blowup(y, BLOWUP)
        cur = float(target)
        out.append(y)
    return out


def _mark_blowup(y: torch.Tensor, bound: float) -> torch.Tensor:
    bad = ~(y.abs().amax(dim=1) <= bound)  # also catches NaN
    if bool(bad.any()):
        y = y.masked_fill(bad[:, None], float("nan"))
    return y
