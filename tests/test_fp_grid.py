"""Fokker–Planck grid system (amphys/systems/fp_grid.py): OU closed form, equilibrium, particles, continuity."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import assert_sample_flux, grid_mean_rate, plane_waves, unresolved_messages
from scipy import stats

import amphys.systems
from amphys.errors import InputError, UnknownNameError
from amphys.systems.fp_grid import FokkerPlanckGrid

D, X0, S0 = 0.5, 1.0, 0.3


def ou_exact(t, x):
    """dX = −X dt + √(2D) dW from N(X0, S0²): density, mean, variance (docs/theory.md#fokker-planck, A = 1)."""
    mu = X0 * np.exp(-t)
    var = np.exp(-2 * t) * S0**2 + D * (1 - np.exp(-2 * t))
    return np.exp(-0.5 * (x - mu) ** 2 / var) / np.sqrt(2 * np.pi * var), mu, var


def ou_system(**kw):
    return FokkerPlanckGrid(potential="harmonic", diffusion=D, x0=X0, sigma0=S0, box=4.0, **kw)


def test_ou_convergence_orders_in_h_and_dt():
    T = 0.2
    ns = (50, 100, 200)
    err_h = []
    for n in ns:  # Δt = 1e-5: time error ~1e-5, below the spatial one
        sys = ou_system(n_grid=n, dt=1e-5, t_span=(0.0, T), n_frames=2)
        x = sys.grid.axes()[0]
        err_h.append(np.abs(sys.frames[-1] - ou_exact(T, x)[0]).sum() * sys.grid.h[0])
    order_h = -np.polyfit(np.log(ns), np.log(err_h), 1)[0]
    assert 1.85 < order_h < 2.15, (err_h, order_h)  # measured 1.99
    dts = np.array([4e-3, 2e-3, 1e-3, 5e-4])
    err_t = []
    for dt in dts:  # 800 cells: spatial error ~1e-5, below the temporal one
        sys = ou_system(n_grid=800, dt=dt, t_span=(0.0, T), n_frames=2)
        x = sys.grid.axes()[0]
        err_t.append(np.abs(sys.frames[-1] - ou_exact(T, x)[0]).sum() * sys.grid.h[0])
    order_t = -np.polyfit(np.log(1 / dts), np.log(err_t), 1)[0]
    assert 0.85 < order_t < 1.15, (err_t, order_t)  # implicit Euler; measured 0.97


def test_ou_velocity_and_samples():
    sys = ou_system(n_grid=400, dt=1e-4, t_span=(0.0, 0.2), n_frames=3)
    t = 0.137  # between checkpoints
    pts = sys.sample(t, 20_000, rng=0)
    _, mu, var = ou_exact(t, pts[:, 0])
    v_exact = -pts[:, 0] + D * (pts[:, 0] - mu) / var  # −∇V − D∇log q
    v = sys.velocity(t, pts)[:, 0]
    assert np.sqrt(np.mean((v - v_exact) ** 2) / np.mean(v_exact**2)) < 2e-3  # measured 6.5e-4
    # samples against the exact Gaussian (KS; a correct sampler gives p ~ U(0, 1), we fail below 1e-3)
    assert stats.kstest(pts[:, 0], stats.norm(mu, np.sqrt(var)).cdf).pvalue > 1e-3
    assert sys.velocity_is_gradient
    np.testing.assert_array_equal(sys.am_velocity(t, pts[:5]), sys.velocity(t, pts[:5]))


def test_ou_2d_moments():
    sys = FokkerPlanckGrid(dim=2, potential="harmonic", diffusion=D, x0=(X0, -0.5), sigma0=S0, n_grid=80,
                           box=5.0, dt=1e-3, t_span=(0.0, 0.3), n_frames=2)
    T = 0.3
    q = sys.frames[-1] * sys.grid.cell_volume
    X, Y = sys.grid.mesh()
    mean = [np.sum(X * q), np.sum(Y * q)]
    np.testing.assert_allclose(mean, [X0 * np.exp(-T), -0.5 * np.exp(-T)], atol=2e-3)  # O(Δt) + O(h²)
    var_x = np.sum((X - mean[0]) ** 2 * q)
    np.testing.assert_allclose(var_x, ou_exact(T, 0.0)[2], rtol=1e-2)


def test_stationary_state_is_boltzmann():
    sys = FokkerPlanckGrid(n_grid=200, dt=0.01, t_span=(0.0, 10.0), n_frames=2)
    x = sys.grid.axes()[0]
    q_eq = np.exp(-((x**2 - 1) ** 2) / 0.25)
    q_eq /= q_eq.sum() * sys.grid.h[0]
    np.testing.assert_allclose(sys.frames[-1], q_eq, rtol=0, atol=1e-9 * q_eq.max())  # measured 2.7e-13
    # the discrete equilibrium exp(−V_i/D) is exact for Scharfetter–Gummel: it does not move at all
    still = FokkerPlanckGrid(n_grid=200, dt=0.01, t_span=(0.0, 1.0), n_frames=2, initial=q_eq)
    np.testing.assert_allclose(still.frames[-1], q_eq, rtol=0, atol=1e-12 * q_eq.max())
    pts = still.sample(0.5, 1000, rng=0)
    assert np.abs(still.velocity(0.5, pts)).max() < 1e-9


def test_particle_cross_check_double_well():
    sys = FokkerPlanckGrid()  # default: V = (x² − 1)², D = 0.25, q0 = N(0, 0.2²), t ∈ [0, 1]
    rng = np.random.default_rng(0)
    n, h = 20_000, 1e-3
    X = rng.normal(0.0, 0.2, n)
    for _ in range(1000):  # Euler–Maruyama; weak error O(h) = 1e-3 against a KS resolution ~1/√n = 7e-3
        X += -4 * X * (X**2 - 1) * h + np.sqrt(2 * 0.25 * h) * rng.normal(size=n)

    def cdf(t):
        f = sys.fields(t)
        xs, q = f.grid.axes()[0], f.q
        c = np.concatenate([[0.0], np.cumsum(0.5 * (q[1:] + q[:-1]) * f.grid.h[0])])
        return lambda y: np.interp(y, xs, c / c[-1])

    assert stats.kstest(X, cdf(1.0)).pvalue > 1e-3  # measured 0.87
    assert stats.kstest(X, cdf(0.8)).pvalue < 1e-6  # negative control: another time is told apart


def test_mass_positivity_and_weak_continuity_2d():
    sys = FokkerPlanckGrid(dim=2, n_grid=48, dt=1e-3, t_span=(0.0, 0.5), n_frames=6)
    assert sys.mass_drift < 1e-12
    assert min(f.min() for f in sys.frames) >= 0.0
    t = 0.23
    f = sys.fields(t)
    pts = sys.sample(t, 100_000, rng=2)
    v = sys.velocity(t, pts)
    for w, b in plane_waves(np.random.default_rng(1), 3, d=2, scale=1.5):
        lhs = grid_mean_rate(sys, t, 1e-3, w, b)
        rhs = 0.0
        for a, (g, J) in enumerate(f.flux):  # ∫ J·∇φ on the face grids
            F = g.mesh()
            rhs += np.sum(J * -np.sin(w[0] * F[0] + w[1] * F[1] + b) * w[a]) * g.cell_volume
        # implicit Euler: the step's slope uses the flux of its end state, O(Δt) = 1e-3 relative
        np.testing.assert_allclose(rhs, lhs, rtol=1e-2, atol=1e-4)
        assert_sample_flux(pts, v, w, b, lhs, rtol=1e-2)


def test_unresolved_warnings():
    assert "wall cells" in unresolved_messages(lambda: FokkerPlanckGrid(box=1.2, n_grid=100, dt=1e-3).frames)
    assert "dt = 0.1" in unresolved_messages(lambda: FokkerPlanckGrid(dt=0.1, n_frames=2))
    assert unresolved_messages(lambda: FokkerPlanckGrid().frames) == ""


def test_bad_input():
    for bad in (0.0, -1.0, [[1.0, 0.0], [0.0, 1.0]]):
        with pytest.raises(InputError, match="diffusion"):
            FokkerPlanckGrid(diffusion=bad)
    with pytest.raises(UnknownNameError, match="known: double-well, harmonic"):
        FokkerPlanckGrid(potential="mexican-hat")
    with pytest.raises(InputError, match="at least 8 cells"):
        FokkerPlanckGrid(n_grid=3)
    with pytest.raises(InputError, match="dt"):
        FokkerPlanckGrid(dt=-1e-3)
    with pytest.raises(InputError, match="dt"):
        FokkerPlanckGrid(dt=2.0)
    with pytest.raises(InputError, match="dim"):
        FokkerPlanckGrid(dim=3)
    with pytest.raises(InputError, match="non-negative"):
        FokkerPlanckGrid(n_grid=16, initial=-np.ones(16))


def test_registry_and_params():
    sys = amphys.systems.get("fp-grid", dim=2, n_grid=32, dt=1e-2, t_span=(0.0, 0.2), n_frames=3)
    assert isinstance(sys, FokkerPlanckGrid)
    params = json.loads(sys.params_json())
    assert params["name"] == "fp-grid" and params["potential"] == "double-well" and params["n_grid"] == [32, 32]
    x = sys.sample(0.1, 9, rng=0)
    assert x.shape == (9, 2) and sys.log_density(0.1, x).shape == (9,) and sys.velocity(0.1, x).shape == (9, 2)
    with pytest.raises(UnknownNameError, match="parameter"):
        amphys.systems.get("fp-grid", drift=1.0)
