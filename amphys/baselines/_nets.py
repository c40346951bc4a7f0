"""Torch pieces shared by the baselines: the time-conditional MLP, device/dtype resolution, and the training
loop (Adam, warm-up, cosine schedule, gradient clipping, EMA of the weights, divergence guard, tqdm).

The MLP has the shape of the AM network of SPEC §2.4 (τ, sin/cos(kπτ), SiLU hidden layers), so AM and the
baselines are compared at equal capacity when ``hidden``/``depth`` agree. It is the baselines' own rather than
``amphys.solver.model.ActionNet`` because it needs a vector output and an extra conditioning input (the noise
level of the score model), and the baselines should not move when the solver's internals do.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

__all__ = ["TimeMLP", "resolve_device", "resolve_dtype", "train_loop", "Generators"]


class TimeMLP(nn.Module):
    """f(τ, y[, c]) -> R^out: an MLP on (τ, sin kπτ, cos kπτ for k = 1..K, extra conditioning c, y)."""

    def __init__(self, dim: int, out: int, hidden: int, depth: int, time_features: int, extra: int = 0):
        super().__init__()
        self.register_buffer("freqs", math.pi * torch.arange(1, time_features + 1, dtype=torch.float64))
        width_in = 1 + 2 * time_features + extra + dim
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(width_in, hidden), nn.SiLU()]
            width_in = hidden
        layers.append(nn.Linear(width_in, out))
        self.net = nn.Sequential(*layers)

    def forward(self, tau: torch.Tensor, y: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        tau = tau.reshape(-1, 1).to(y.dtype).expand(y.shape[0], 1)
        arg = tau * self.freqs.to(y.dtype)
        parts = [tau, torch.sin(arg), torch.cos(arg)]
        if extra is not None:
            parts.append(extra.reshape(y.shape[0], -1).to(y.dtype))
        parts.append(y)
        return self.net(torch.cat(parts, dim=1))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        from amphys.errors import InputError

        raise InputError("device: 'cuda' requested but torch sees no CUDA device; use device='cpu' or 'auto'")
    return torch.device(name)


def resolve_dtype(name: str) -> torch.dtype:
    return torch.float64 if name == "float64" else torch.float32


class Generators:
    """Seeded random streams of one fit: numpy (batch indices, OT sampling), torch (noise) on ``device``."""

    def __init__(self, seed: int, device: torch.device):
        self.np = np.random.default_rng(seed)
        self.torch = torch.Generator(device=device)
        self.torch.manual_seed(int(seed) + 1)


def build(module_fn, seed: int, device: torch.device, dtype: torch.dtype) -> nn.Module:
    """Construct a module with initial weights drawn from ``seed`` without touching torch's global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        module = module_fn()
    return module.to(device=device, dtype=dtype)


def train_loop(model: nn.Module, loss_fn, config, desc: str):
    """Run ``config.steps`` Adam steps of ``loss_fn(step) -> scalar tensor``.

    Returns ``(eval_model, loss_history, status)``: ``eval_model`` is the EMA copy (or ``model`` when
    ``ema_decay == 0``) in eval mode; ``status`` is "converged" (the step budget ran with finite losses),
    "diverged" (a non-finite loss or gradient: training stops and the result holds the weights reached, which
    are then not to be trusted; ``loss_history`` ends at the last finite step) or
    "stopped" (KeyboardInterrupt).
    """
    from tqdm import tqdm

    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    ema = None
    if config.ema_decay > 0:
        ema = copy.deepcopy(model)
        for p in ema.parameters():
            p.requires_grad_(False)
    losses: list[float] = []
    status = "converged"
    bar = tqdm(range(config.steps), desc=desc, disable=not config.progress, leave=False)
    try:
        for step in bar:
            for group in opt.param_groups:
                group["lr"] = _lr(config, step)
            loss = loss_fn(step)
            value = float(loss.detach())
            if not math.isfinite(value):
                status = "diverged"
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(),
                                                  config.grad_clip if config.grad_clip > 0 else math.inf)
            if not math.isfinite(float(norm)):
                status = "diverged"
                break
            opt.step()
            if ema is not None:
                decay = min(config.ema_decay, (1.0 + step) / (10.0 + step))
                with torch.no_grad():
                    for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
                        pe.lerp_(pm, 1.0 - decay)
            losses.append(value)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{value:.4g}")
    except KeyboardInterrupt:
        status = "stopped"
    finally:
        bar.close()
    out = ema if ema is not None else model
    out.eval()
    return out, np.asarray(losses, dtype=np.float64), status


def _lr(config, step: int) -> float:
    warm = min(1.0, (step + 1) / config.warmup) if config.warmup > 0 else 1.0
    if config.schedule == "constant":
        return config.lr * warm
    frac = step / max(config.steps - 1, 1)
    floor = config.lr_final
    return config.lr * warm * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * frac)))
