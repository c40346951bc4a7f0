r"""Weak continuity residual from samples alone (docs/theory.md#weak-continuity-residual).

For test functions φ_k(x) = cos(ω_k·x + b_k) the continuity equation ∂_t q = −∇·(q v) gives, for every k,

    r_k(t) = d/dt E_{q_t}[φ_k] − E_{q_t}[∇φ_k · v] = 0.

Both terms are estimated from snapshots: the means m_k(t_i) = E_{q_{t_i}}[φ_k] are sample means, their time
derivative at t_i is that of a local polynomial (degree 2 by default) fitted to the means at the nearest snapshots
(a finite-difference formula on the possibly irregular times; one-sided at the ends), and E[∇φ_k·v] is the mean of
−sin(ω_k·x + b_k) ω_k·v(t_i, x) over the snapshot at t_i. Frequencies ω_k ~ N(0, diag(1/σ²)) with σ the per-axis
standard deviation of all samples (times ``length``), phases b_k ~ U[0, 2π), from a fixed seed.

Normalisation, per time: R(t) = ‖r(t)‖ / (‖d_t m(t)‖ + ‖E[∇φ·v](t)‖) over k, in [0, 1] by the triangle
inequality: 0 when the field transports the observed means exactly, 1 for a zero field or the opposite field.
Its **floor** is the same ratio with ‖r‖ replaced by the size r would have for the exact field: the standard
error of r from the sampling noise of the snapshots (propagated through the finite-difference weights, including
the covariance at t_i), combined in quadrature with the finite-difference truncation, O(Δt^degree), estimated as
the difference from the derivative of a degree + 2 fit over two more snapshots (when there are enough; this
estimate is itself noisy, so the floor is conservative). R at or below the floor means "consistent with the
data at its time resolution and sample size". The residual sees only the gradient part of v: a
q-divergence-free part w (∇·(qw) = 0) leaves every r_k unchanged, exactly as in Action Matching, so a field that
is off by such a w passes, by design.
Weights of unbalanced data are ignored (the balanced continuity equation is tested).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from amphys._checks import check_int
from amphys.diagnostics._blocks import as_samples
from amphys.diagnostics.fields import call_velocity
from amphys.errors import InputError, describe

__all__ = ["continuity_residual", "derivative_weights", "as_snapshot_list"]


def _project(x: np.ndarray, omega: np.ndarray) -> np.ndarray:
    """x @ omega.T without BLAS (einsum): the inner dimension d is tiny, and multi-threaded BLAS calls were
    measured to stall on a loaded 2-core machine."""
    return np.einsum("nd,kd->nk", x, omega)


def as_snapshot_list(snapshots, name: str = "snapshots") -> list[tuple[float, np.ndarray]]:
    """``[(t, x (n_t, d)), ...]`` sorted by time, from Snapshots or from a sequence of (t, x) pairs."""
    if isinstance(snapshots, xr.Dataset):
        from amphys.data.snapshots import check_snapshots, split_snapshots

        parts = split_snapshots(check_snapshots(snapshots, name=name))
        return [(t, x) for t, x, _ in parts]
    try:
        pairs = [(float(t), as_samples(x, f"{name}[{i}]")) for i, (t, x) in enumerate(snapshots)]
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: expected Snapshots (xarray.Dataset) or a sequence of (t, x) pairs, got "
                         f"{describe(snapshots)} ({exc})") from None
    pairs.sort(key=lambda p: p[0])
    if len({p[1].shape[1] for p in pairs}) > 1:
        raise InputError(f"{name}: every snapshot must have the same number of coordinates")
    return pairs


def derivative_weights(times: np.ndarray, i: int, degree: int = 2, window: int | None = None) -> tuple:
    """Weights c_j (and their snapshot indices) with d/dt f(t_i) ≈ Σ_j c_j f(t_j): the derivative at t_i of the
    least-squares polynomial of ``degree`` through the ``window`` (default degree + 1) snapshots nearest t_i."""
    n = times.size
    window = degree + 1 if window is None else int(window)
    window = min(max(window, degree + 1), n)
    lo = min(max(i - window // 2, 0), n - window)
    idx = np.arange(lo, lo + window)
    dt = times[idx] - times[i]
    scale = max(np.max(np.abs(dt)), 1e-300)
    V = np.vander(dt / scale, degree + 1, increasing=True)
    c = np.linalg.pinv(V)[1] / scale
    return idx, c


def continuity_residual(snapshots, velocity, *, n_test: int = 128, length: float = 1.0, degree: int = 2,
                        window: int | None = None, seed: int = 0, times=None) -> xr.Dataset:
    """Weak continuity residual of ``velocity`` on ``snapshots`` (see the module docstring).

    Parameters
    ----------
    snapshots : Snapshots dataset or a sequence of ``(t, x)`` pairs (at least degree + 1 distinct times).
    velocity : a FitResult or any callable v(t, x) -> (n, d).
    n_test : number of random Fourier test functions.
    length : multiplies the data scale σ in the frequencies (larger = smoother test functions).
    degree, window : local polynomial for d/dt (window defaults to degree + 1 nearest snapshots).
    seed : seed of the test functions.
    times : evaluate only at these snapshot times (default: all).

    Returns
    -------
    xarray.Dataset over ``time`` with ``continuity_residual`` R(t), ``continuity_residual_floor``, and over
    (``time``, ``test``) ``dmean_dt`` (d/dt E[φ_k]) and ``transport`` (E[∇φ_k·v]).
    """
    snaps = as_snapshot_list(snapshots)
    if len(snaps) < degree + 1:
        raise InputError(f"snapshots: the weak residual needs at least {degree + 1} distinct times for a degree-"
                         f"{degree} time derivative, got {len(snaps)}")
    n_test = check_int(n_test, "n_test", low=1)
    t_all = np.array([t for t, _ in snaps])
    pooled = np.concatenate([x for _, x in snaps])
    d = pooled.shape[1]
    sigma = pooled.std(axis=0) * float(length)
    sigma = np.where(sigma > 0, sigma, 1.0)
    rng = np.random.default_rng(seed)
    omega = rng.standard_normal((n_test, d)) / sigma
    phase = rng.uniform(0.0, 2.0 * np.pi, n_test)

    means, variances = [], []
    for _, x in snaps:
        phi = np.cos(_project(x, omega) + phase)
        means.append(phi.mean(axis=0))
        variances.append(phi.var(axis=0, ddof=1) / x.shape[0])
    means, variances = np.array(means), np.array(variances)

    which = _snapshot_indices(times, t_all)
    lhs, rhs, resid, floor = [], [], [], []
    for i in which:
        a, b, r, f = _residual_at(int(i), snaps, t_all, means, variances, omega, phase, velocity, degree, window)
        lhs.append(a)
        rhs.append(b)
        resid.append(r)
        floor.append(f)
    return xr.Dataset(
        {"continuity_residual": ("time", np.array(resid)),
         "continuity_residual_floor": ("time", np.array(floor)),
         "dmean_dt": (("time", "test"), np.array(lhs)),
         "transport": (("time", "test"), np.array(rhs))},
        coords={"time": t_all[which]},
        attrs={"n_test": int(n_test), "degree": int(degree), "seed": int(seed), "length": float(length),
               "definition": "R = |r| / (|d/dt E[phi]| + |E[grad phi . v]|) over random Fourier phi"},
    )


def _snapshot_indices(times, t_all: np.ndarray) -> np.ndarray:
    """Indices of the requested snapshot times (all when None); a time that is not a snapshot time is an error."""
    if times is None:
        return np.arange(t_all.size)
    req = np.atleast_1d(np.asarray(times, dtype=np.float64))
    which = np.array([int(np.argmin(np.abs(t_all - t))) for t in req])
    bad = [float(t) for t, k in zip(req, which) if not np.isclose(t_all[k], t, rtol=1e-12, atol=1e-12)]
    if bad:
        raise InputError(f"times: {bad} are not snapshot times; available: {t_all.tolist()}")
    return which


def _residual_at(i: int, snaps, t_all, means, variances, omega, phase, velocity, degree: int, window):
    """At snapshot ``i``: d/dt E[φ_k] (local polynomial), E[∇φ_k·v], the residual R and its floor."""
    idx, c = derivative_weights(t_all, i, degree, window)
    a = c @ means[idx]
    t, x = snaps[i]
    v = call_velocity(velocity, t, x, "velocity")
    arg = _project(x, omega) + phase
    g = -np.sin(arg) * _project(v, omega)  # ∇φ_k · v at each sample, (n, K)
    b = g.mean(axis=0)
    # variance of r_k = Σ_j c_j m_j − mean(g): independent snapshots, plus the covariance of φ and g at t_i
    ci = c[idx == i][0] if np.any(idx == i) else 0.0
    phi = np.cos(arg)
    cov = np.mean((phi - phi.mean(0)) * (g - b), axis=0) * x.shape[0] / (x.shape[0] - 1) / x.shape[0]
    var_r = (c ** 2) @ variances[idx] + g.var(axis=0, ddof=1) / x.shape[0] - 2.0 * ci * cov
    # truncation of the degree-p derivative, estimated by the degree-(p+2) fit over two more snapshots
    trunc2 = 0.0
    if len(snaps) >= degree + 3:
        idx4, c4 = derivative_weights(t_all, i, degree + 2, (window or degree + 1) + 2)
        trunc2 = float(np.sum((a - c4 @ means[idx4]) ** 2))
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    scale = scale if scale > 0 else 1.0
    return a, b, np.linalg.norm(a - b) / scale, np.sqrt(max(float(np.sum(var_r)), 0.0) + trunc2) / scale
