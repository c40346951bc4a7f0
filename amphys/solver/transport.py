"""Moving samples with a learned field: ODE dx/dt = v(t, x) (torchdiffeq), the SDE dx = v dt + σ_t dW of entropic
fits (Euler–Maruyama), and the log-weights d log w/dt = s(t, x) of unbalanced fits
(docs/theory.md#the-action-matching-loss, docs/theory.md#normalisation-and-network).

Times may lie on both sides of t0 (the ODE is integrated backwards for earlier times) and in any order; the
result has one slice per requested time, in the requested order: shape (len(times), n, d).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from amphys.errors import InputError

__all__ = ["push_ode", "push_sde", "ODE_METHODS", "FIXED_STEP", "MAX_STEPS"]

ODE_METHODS = ("dopri5", "dopri8", "bosh3", "adaptive_heun", "rk4", "midpoint", "euler")
FIXED_STEP = ("rk4", "midpoint", "euler")
#: Steps an adaptive method may take per branch before push gives up with an error.
MAX_STEPS = 20000


def _branches(t0: float, times: np.ndarray):
    """Indices and sorted unique times of the forward (> t0) and backward (< t0) branches."""
    fwd = np.unique(times[times > t0])
    bwd = np.unique(times[times < t0])[::-1]
    return fwd, bwd


def push_ode(velocity: Callable, x0: torch.Tensor, t0: float, times, *, method: str = "dopri5",
             rtol: float = 1e-6, atol: float = 1e-8, step_size: float | None = None,
             growth: Callable | None = None, max_steps: int = MAX_STEPS):
    """Integrate dx/dt = velocity(t, x) from x0 at t0 to each of ``times``.

    ``velocity(t, x)`` takes a scalar tensor t and (n, d) x. With ``growth(t, x) -> (n,)`` the log-weights
    d log w/dt = growth are integrated too (starting from 0). ``step_size`` for the fixed-step methods
    (default: 1/100 of the longest branch). Adaptive methods stop after ``max_steps`` steps per branch with a
    :class:`~amphys.errors.InputError` that says why (a field that has run away makes the step size collapse, and
    the integration would not finish). Returns x (len(times), n, d) and, with growth, log w (len(times), n).
    """
    from torchdiffeq import odeint

    if method not in ODE_METHODS:
        from amphys.errors import unknown_name

        raise unknown_name("ODE method", method, ODE_METHODS)
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    fwd, bwd = _branches(t0, times)
    options = None
    if method in FIXED_STEP:
        span = max([abs(b[-1] - t0) for b in (fwd, bwd) if b.size] + [0.0])
        h = step_size if step_size is not None else (span / 100 if span > 0 else 1.0)
        options = {"step_size": h}
    else:
        options = {"max_num_steps": int(max_steps)}
    n = x0.shape[0]
    lw0 = torch.zeros(n, dtype=x0.dtype, device=x0.device)

    if growth is None:
        def rhs(t, x):
            return velocity(t, x)
        state0 = x0
    else:
        def rhs(t, state):
            x, _ = state
            return velocity(t, x), growth(t, x)
        state0 = (x0, lw0)

    found: dict[float, tuple] = {float(t0): (x0, lw0)}
    for branch in (fwd, bwd):
        if branch.size == 0:
            continue
        tt = torch.as_tensor(np.concatenate([[t0], branch]), dtype=x0.dtype, device=x0.device)
        try:
            sol = odeint(rhs, state0, tt, method=method, rtol=rtol, atol=atol, options=options)
        except AssertionError as exc:  # torchdiffeq: max_num_steps reached, or the step size underflowed
            if "max_num_steps" not in str(exc) and "underflow" not in str(exc):
                raise
            speed = float(torch.linalg.norm(velocity(tt[0], x0), dim=1).max())
            raise InputError(f"push: the adaptive ODE solver ({method}) needed more than {max_steps} steps from "
                             f"t={t0:g} to t={float(tt[-1]):g}: the field is too rough to integrate at rtol={rtol:g} "
                             f"(|v| up to {speed:.3g} at the start); check the fit's status (a fit that ran away "
                             "has such fields), or push with method='rk4' and a step_size") from None
        xs, lws = (sol, None) if growth is None else sol
        for i, t in enumerate(branch):
            found[float(t)] = (xs[i + 1], None if lws is None else lws[i + 1])
    x_out = torch.stack([found[float(t)][0] for t in times])
    if growth is None:
        return x_out
    return x_out, torch.stack([found[float(t)][1] for t in times])


def push_sde(velocity: Callable, sigma: Callable, x0: torch.Tensor, t0: float, times, *, dt: float | None = None,
             generator: torch.Generator | None = None):
    """Euler–Maruyama for dx = velocity(t, x) dt + σ(t) dW from x0 at t0, recorded at ``times`` (all ≥ t0).

    ``dt`` defaults to 1/200 of the span; steps are shortened to land exactly on each requested time.
    Returns (len(times), n, d).
    """
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if np.any(times < t0):
        raise InputError(f"times: an SDE (entropic fit) can only be pushed forward in time, from t0={t0:g}; got "
                         f"{times[times < t0].tolist()[:3]} (the reverse-time SDE needs the score, which AM does "
                         "not learn)")
    end = float(times.max())
    h = dt if dt is not None else max((end - t0) / 200, 1e-12)
    targets = np.unique(times)
    out = {}
    x, t = x0.clone(), float(t0)
    for target in targets:
        while t < target - 1e-14 * max(1.0, abs(target)):
            step = min(h, target - t)
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
            tt = torch.as_tensor(t, dtype=x.dtype, device=x.device)
            x = x + velocity(tt, x) * step + float(sigma(t)) * np.sqrt(step) * noise
            t += step
        out[float(target)] = x
    return torch.stack([out[float(t)] for t in times])
