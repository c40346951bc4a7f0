"""Action Matching losses as pure functions on tensors (docs/theory.md#the-action-matching-loss; the identities
they satisfy: docs/theory.md#verification-identities).

Every loss is an estimate of

    L(s) = w(t0) E_{q_t0}[s(t0, ·)] − w(t1) E_{q_t1}[s(t1, ·)]
           + ∫ E_{q_t}[ w(t) (½‖∇s‖² + ∂_t s + extra) + w′(t) s ] dt,

from interior rows (t_i, x_i) with quadrature/Monte-Carlo weights c_i (Σ_i c_i f(t_i, x_i) ≈ ∫E_{q_t}[f] dt,
data weights already folded in) and two boundary batches with weights c0, c1 (Σ c0_i f(x_i) ≈ E_{q_t0}[f]).
``extra`` is ½σ_t²Δs (entropic AM, dX = ∇s dt + σ_t dW) or ½κ s² (unbalanced AM,
∂_t q = −∇·(q∇s) + κ q s; κ = 1 in the units in which the PDE is written).

Identity (the *action gap*): L(s) − L(s*) = ½∫ w E_{q_t}‖∇s − ∇s*‖² dt (+ ½κ∫wE(s − s*)² when unbalanced),
with L(s*) = −½∫ w E‖∇s*‖² dt (no zero floor). The balanced losses are invariant under s → s + c(t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["Evaluated", "action_loss", "am_loss", "weighted_am_loss", "entropic_am_loss", "unbalanced_am_loss",
           "time_weight", "integrand"]


@dataclass
class Evaluated:
    """s and its derivatives on a batch. Interior: ``s, ds_dt, grad`` (n,), (n,), (n, d), ``c`` (n,) weights,
    ``t`` (n,) times, optional ``lap`` (n,). Boundaries: ``s0, c0`` at t0 and ``s1, c1`` at t1."""

    s: torch.Tensor
    ds_dt: torch.Tensor
    grad: torch.Tensor
    c: torch.Tensor
    s0: torch.Tensor
    c0: torch.Tensor
    s1: torch.Tensor
    c1: torch.Tensor
    t: torch.Tensor | None = None
    lap: torch.Tensor | None = None


def integrand(grad, ds_dt, *, s=None, lap=None, sigma2=None, kappa=None):
    """½‖∇s‖² + ∂_t s [+ ½σ²Δs] [+ ½κ s²], per row."""
    out = 0.5 * torch.sum(grad * grad, dim=-1) + ds_dt
    if sigma2 is not None:
        if lap is None:
            raise ValueError("entropic AM needs the Laplacian of s (lap)")
        out = out + 0.5 * sigma2 * lap
    if kappa is not None:
        out = out + 0.5 * kappa * s * s
    return out


def action_loss(ev: Evaluated, *, sigma2=None, kappa=None, weight=None, parts: bool = False):
    """The general estimate above. ``weight``: None or ``(w, dw, w0, w1)`` with w, dw per interior row and
    w0 = w(t0), w1 = w(t1). With ``parts=True`` also returns a dict of the interior and boundary terms."""
    f = integrand(ev.grad, ev.ds_dt, s=ev.s, lap=ev.lap, sigma2=sigma2, kappa=kappa)
    w0 = w1 = 1.0
    if weight is not None:
        w, dw, w0, w1 = weight
        f = w * f + dw * ev.s
    interior = torch.sum(ev.c * f)
    boundary = w0 * torch.sum(ev.c0 * ev.s0) - w1 * torch.sum(ev.c1 * ev.s1)
    loss = interior + boundary
    if parts:
        kinetic = 0.5 * torch.sum(ev.c * torch.sum(ev.grad * ev.grad, dim=-1))
        # the estimate's standard error: a sum of three independent sums of i.i.d. row terms
        se = torch.sqrt(sum(_sum_variance(t) for t in (ev.c * f, w0 * ev.c0 * ev.s0, w1 * ev.c1 * ev.s1)))
        return loss, {"interior": interior, "boundary": boundary, "kinetic": kinetic, "standard_error": se}
    return loss


def _sum_variance(terms: torch.Tensor) -> torch.Tensor:
    """Variance of the sum of ``terms`` read as i.i.d. draws: n·Var(term) (0 for fewer than 2 rows)."""
    n = terms.shape[0]
    return n * torch.var(terms.detach()) if n > 1 else torch.zeros((), dtype=terms.dtype, device=terms.device)


def am_loss(ev: Evaluated):
    """Plain AM: E0[s] − E1[s] + ∫E[½‖∇s‖² + ∂_t s] dt."""
    return action_loss(ev)


def weighted_am_loss(ev: Evaluated, w, dw, w0, w1):
    """Time-weighted AM with w(t) ≥ 0: minimises ½∫w E‖∇s − ∇s*‖² dt."""
    return action_loss(ev, weight=(w, dw, w0, w1))


def entropic_am_loss(ev: Evaluated, sigma2):
    """Entropic AM (adds ½σ_t²Δs; needs ``ev.lap``)."""
    return action_loss(ev, sigma2=sigma2)


def unbalanced_am_loss(ev: Evaluated, kappa=1.0):
    """Unbalanced AM (adds ½κ s²; weights of the unnormalised measure folded into c, c0, c1)."""
    return action_loss(ev, kappa=kappa)


def time_weight(name, tau: torch.Tensor):
    """(w, w′) of a named time weight on normalised time τ ∈ [0, 1], and (w(0), w(1)).

    "none": w = 1; "sine": w = sin(πτ) (vanishes at both ends, so the boundary terms drop out).
    A callable ``w(tau)`` (differentiable torch function) is also accepted; w′ comes from autograd.
    """
    if name is None or name == "none":
        return None
    if name == "sine":
        w = torch.sin(math.pi * tau)
        dw = math.pi * torch.cos(math.pi * tau)
        return w, dw, 0.0, 0.0
    if callable(name):
        with torch.enable_grad():
            tt = tau.detach().requires_grad_(True)
            w = name(tt)
            (dw,) = torch.autograd.grad(w.sum(), tt)
        ends = name(torch.tensor([0.0, 1.0], dtype=tau.dtype, device=tau.device))
        return w.detach(), dw, float(ends[0]), float(ends[1])
    raise ValueError(f"unknown time weight {name!r}; known: none, sine, or a callable w(tau)")
