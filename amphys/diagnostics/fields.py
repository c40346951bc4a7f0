"""Field-level metrics against a known target velocity, and pushing samples with a velocity callable
(docs/theory.md#field-and-sample-metrics).

All expectations are over samples x ~ q_t (q-weighted, docs/theory.md#the-action-matching-loss: fields are
compared only where the density lives). Kinetic energies are E_q‖v‖² (no factor ½; the AM action is ½∫E_q‖v‖² dt).
"""

from __future__ import annotations

import numpy as np

from amphys.errors import InputError, describe

__all__ = ["field_metrics", "action_gap", "rk4_push", "push_samples", "call_velocity"]


def call_velocity(model, t: float, x: np.ndarray, name: str = "model") -> np.ndarray:
    """``model(t, x)`` (or ``model.velocity(t, x)``) as a finite float64 ``(n, d)`` array, with a clear error."""
    fn = getattr(model, "velocity", None)
    fn = fn if callable(fn) else model
    if not callable(fn):
        raise InputError(f"{name}: expected a FitResult or a callable v(t, x) -> (n, d), got {describe(model)}")
    v = np.asarray(fn(float(t), x), dtype=np.float64)
    if v.ndim == 1 and x.shape[1] == 1:
        v = v[:, None]
    if v.shape != x.shape:
        raise InputError(f"{name}: v(t, x) must return shape {x.shape} for x of that shape, got {v.shape}")
    return v


def field_metrics(v: np.ndarray, v_target: np.ndarray) -> dict[str, float]:
    """Per-time field metrics of ``v`` against ``v_target``, both ``(n, d)`` at the same samples of q_t.

    Returns ``velocity_error`` E‖v − v*‖²/E‖v*‖², ``velocity_error_root`` (its square root), ``cosine`` (mean of
    v·v*/(‖v‖‖v*‖) over samples where both are non-zero), ``kinetic_energy_model`` E‖v‖²,
    ``kinetic_energy_target`` E‖v*‖², and ``mean_sq_error`` E‖v − v*‖² (for the action gap).
    """
    v = np.asarray(v, dtype=np.float64)
    vt = np.asarray(v_target, dtype=np.float64)
    if v.shape != vt.shape or v.ndim != 2:
        raise InputError(f"v, v_target: expected two (n, d) arrays of one shape, got {v.shape} and {vt.shape}")
    err = float(np.mean(np.sum((v - vt) ** 2, axis=1)))
    ke_t = float(np.mean(np.sum(vt * vt, axis=1)))
    ke_m = float(np.mean(np.sum(v * v, axis=1)))
    nv, nt = np.linalg.norm(v, axis=1), np.linalg.norm(vt, axis=1)
    ok = (nv > 0) & (nt > 0)
    cos = float(np.mean(np.sum(v[ok] * vt[ok], axis=1) / (nv[ok] * nt[ok]))) if ok.any() else float("nan")
    rel = err / ke_t if ke_t > 0 else float("inf") if err > 0 else 0.0
    return {"velocity_error": rel, "velocity_error_root": float(np.sqrt(rel)), "cosine": cos,
            "kinetic_energy_model": ke_m, "kinetic_energy_target": ke_t, "mean_sq_error": err}


def action_gap(times, mean_sq_error) -> float:
    """½∫E_q‖v − v*‖² dt by the trapezoid rule on the (possibly irregular) evaluation times; NaN for one time.

    With the AM loss L, L(v) − L(v*) equals this gap (docs/theory.md#the-action-matching-loss), so it is the loss
    excess a perfect optimiser would remove. The trapezoid error is O(Δt²) in the smoothness of E‖v − v*‖² in t.
    """
    t = np.asarray(times, dtype=np.float64)
    e = np.asarray(mean_sq_error, dtype=np.float64)
    if t.size < 2:
        return float("nan")
    return float(0.5 * np.sum(0.5 * (e[1:] + e[:-1]) * np.diff(t)))


def rk4_push(velocity, x0, t0: float, times, *, n_steps: int = 200) -> np.ndarray:
    """Integrate dx/dt = v(t, x) from ``t0`` with classical RK4 in numpy; positions at each of ``times``.

    ``times`` may lie on either side of ``t0`` (backwards integration for earlier times). The step is at most
    |span|/``n_steps`` with span the largest |t − t0|, shortened to land exactly on every requested time.
    Returns ``(len(times), n, d)``.
    """
    x0 = np.asarray(x0, dtype=np.float64)
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    out = np.empty((times.size,) + x0.shape)
    span = float(np.max(np.abs(times - t0))) if times.size else 0.0
    hmax = span / max(int(n_steps), 1) if span > 0 else 1.0

    def v(t, x):
        return call_velocity(velocity, t, x)

    for sign in (1.0, -1.0):
        idx = np.flatnonzero(sign * (times - t0) >= 0) if sign > 0 else np.flatnonzero(times < t0)
        order = idx[np.argsort(sign * (times[idx] - t0))]
        x, t = x0.copy(), float(t0)
        for k in order:
            target = float(times[k])
            n = int(np.ceil(abs(target - t) / hmax - 1e-12)) if target != t else 0
            h = (target - t) / n if n else 0.0
            for _ in range(n):
                k1 = v(t, x)
                k2 = v(t + h / 2, x + h / 2 * k1)
                k3 = v(t + h / 2, x + h / 2 * k2)
                k4 = v(t + h, x + h * k3)
                x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
                t += h
            t = target
            out[k] = x
    return out


def push_samples(model, x0, t0: float, times, *, n_steps: int = 200) -> np.ndarray:
    """Positions ``(len(times), n, d)`` of ``x0`` moved from ``t0`` by ``model``: its own ``push(x0, t0, times)``
    when it has one (a FitResult, a baseline), else :func:`rk4_push` of the velocity with ``n_steps`` steps."""
    x0 = np.asarray(x0, dtype=np.float64)
    push = getattr(model, "push", None)
    if callable(push):
        out = np.asarray(push(x0, t0, times), dtype=np.float64)
    else:
        out = rk4_push(model, x0, t0, times, n_steps=n_steps)
    if out.shape != (len(times),) + x0.shape:
        raise InputError(f"model.push: expected shape {(len(times),) + x0.shape}, got {out.shape}")
    return out
