"""Split-step Fourier Schrödinger system (amphys/systems/schrodinger_grid.py) against closed forms
(docs/theory.md#schrodinger)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import assert_sample_flux, grid_mean_rate, plane_waves, unresolved_messages

import amphys.systems
from amphys.errors import InputError, UnknownNameError
from amphys.systems.grid import UnresolvedWarning
from amphys.systems.schrodinger_grid import SchrodingerGrid


# -- closed forms (docs/theory.md#schrodinger), ħ = m = 1 --------------------------------------------------------------
def squeezed(t, x, X0, P0, s0, omega=1.0):
    """Density and velocity of the Gaussian state ψ₀ = N(X0, s0²) e^{iP0x} in V = ½ω²x² (1D)."""
    xc = X0 * np.cos(omega * t) + P0 / omega * np.sin(omega * t)
    xc_dot = -X0 * omega * np.sin(omega * t) + P0 * np.cos(omega * t)
    s2 = s0**2 * np.cos(omega * t) ** 2 + (1 / (2 * omega * s0)) ** 2 * np.sin(omega * t) ** 2
    rate = omega * np.sin(2 * omega * t) * ((1 / (2 * omega * s0)) ** 2 - s0**2) / (2 * s2)
    q = np.exp(-0.5 * (x - xc) ** 2 / s2) / np.sqrt(2 * np.pi * s2)
    return q, xc_dot + (x - xc) * rate


def free_packet(t, x, x0, k0, s0):
    """Density and velocity of the free Gaussian packet (1D)."""
    ts = 2 * s0**2
    mu = x0 + k0 * t
    s2 = s0**2 * (1 + (t / ts) ** 2)
    q = np.exp(-0.5 * (x - mu) ** 2 / s2) / np.sqrt(2 * np.pi * s2)
    return q, k0 + (x - mu) * t / (ts**2 + t**2)


def weighted_rel(v, v_ref):
    """Relative RMS error over sample points (samples of q give the q-weighting)."""
    return np.sqrt(np.mean(np.sum((v - v_ref) ** 2, axis=-1)) / np.mean(np.sum(v_ref**2, axis=-1)))


# -- accuracy ---------------------------------------------------------------------------------------------------
def test_norm_conserved_to_round_off():
    sys = SchrodingerGrid(dim=2, t_span=(0.0, 1.0), n_frames=11)
    norms = [np.sum(np.abs(p) ** 2) * sys.grid.cell_volume for p in sys.frames]
    np.testing.assert_allclose(norms, 1.0, rtol=0, atol=1e-12)
    psi = sys.wavefunction(0.537)  # partial step: unitary too
    np.testing.assert_allclose(np.sum(np.abs(psi) ** 2) * sys.grid.cell_volume, 1.0, rtol=0, atol=1e-12)


def test_squeezed_state_error_order_two_in_dt():
    T, X0, s0 = 3.0, 2.0, 0.4
    x = None
    errors, steps = [], [30, 60, 120, 240]
    for n in steps:
        sys = SchrodingerGrid(dim=1, potential="harmonic", n_grid=256, box=9.0, dt=T / n, t_span=(0.0, T),
                              x0=X0, p0=0.0, sigma0=s0, n_frames=2)
        x = sys.grid.axes()[0]
        q_exact, _ = squeezed(T, x, X0, 0.0, s0)
        q = np.abs(sys.frames[-1]) ** 2
        errors.append(np.sqrt(np.sum((q - q_exact) ** 2) / np.sum(q_exact**2)))
    order = -np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert 1.9 < order < 2.1, (errors, order)
    assert errors[-1] < 1e-4, errors


def test_free_packet_exact_in_time_and_velocity():
    # V = 0: the kinetic step is exact, so only round-off and spectral errors remain
    sys = SchrodingerGrid(dim=1, potential="free", n_grid=512, box=30.0, dt=0.05, t_span=(0.0, 4.0),
                          x0=-3.0, p0=1.5, sigma0=0.8, n_frames=5)
    x = sys.grid.axes()[0]
    q_exact, _ = free_packet(4.0, x, -3.0, 1.5, 0.8)
    np.testing.assert_allclose(np.abs(sys.frames[-1]) ** 2, q_exact, rtol=0, atol=1e-12 * q_exact.max())
    t = 2.345  # between checkpoints, off the grid: multilinear interpolation of j and q on the 8× refined grid
    pts = sys.sample(t, 20_000, rng=1)
    _, v_exact = free_packet(t, pts[:, 0], -3.0, 1.5, 0.8)
    assert weighted_rel(sys.velocity(t, pts), v_exact[:, None]) < 1e-4
    q_pts, _ = free_packet(t, pts[:, 0], -3.0, 1.5, 0.8)
    np.testing.assert_allclose(np.exp(sys.log_density(t, pts)), q_pts, rtol=1e-3)


def test_2d_squeezed_and_coherent_product_state():
    sys = SchrodingerGrid(dim=2, potential="harmonic", n_grid=64, box=8.0, dt=0.01, t_span=(0.0, 2.0),
                          x0=(1.5, 0.0), p0=(0.0, 1.0), sigma0=(0.5, 1 / np.sqrt(2)), n_frames=3)
    t = 1.3
    pts = sys.sample(t, 20_000, rng=2)
    qx, vx = squeezed(t, pts[:, 0], 1.5, 0.0, 0.5)
    qy, vy = squeezed(t, pts[:, 1], 0.0, 1.0, 1 / np.sqrt(2))  # coherent: uniform velocity in y
    np.testing.assert_allclose(vy, np.cos(t))
    v_exact = np.stack([vx, vy], axis=1)
    assert weighted_rel(sys.velocity(t, pts), v_exact) < 2e-3
    # multilinear interpolant on the 4× refined grid: relative error ≈ ((h/4)²/8)·|∂²q/q| ~ 1e-3 on average
    # (measured 7.9e-4; larger in the far tails)
    assert np.mean(np.abs(np.exp(sys.log_density(t, pts)) / (qx * qy) - 1)) < 2e-3
    # sample moments against the closed form: 5 standard errors
    np.testing.assert_allclose(pts.mean(0), [1.5 * np.cos(t), np.sin(t)], atol=5 * pts.std(0).max() / np.sqrt(2e4))
    assert sys.velocity_is_gradient and sys.vortex_counts.sum() == 0
    np.testing.assert_array_equal(sys.am_velocity(t, pts), sys.velocity(t, pts))


def test_3d_coherent_state_centre_and_norm():
    sys = SchrodingerGrid(dim=3, potential="harmonic", n_grid=32, box=7.0, dt=0.01, t_span=(0.0, 1.0),
                          x0=(1.0, 0.0, -0.5), p0=(0.0, 0.5, 0.0), sigma0=1 / np.sqrt(2), n_frames=2)
    psi = sys.frames[-1]
    q = np.abs(psi) ** 2 * sys.grid.cell_volume
    np.testing.assert_allclose(q.sum(), 1.0, atol=1e-12)
    centre = [np.sum(m * q) for m in sys.grid.mesh()]
    # Strang in a harmonic trap advances the phase by ~ω³Δt²t/24 = 4e-6 here
    np.testing.assert_allclose(centre, [np.cos(1.0), 0.5 * np.sin(1.0), -0.5 * np.cos(1.0)], atol=2e-5)
    v = sys.velocity(1.0, np.array([centre]))
    np.testing.assert_allclose(v[0], [-np.sin(1.0), 0.5 * np.cos(1.0), 0.5 * np.sin(1.0)], atol=1e-3)


def test_ground_state_by_imaginary_time():
    sys = SchrodingerGrid(dim=1, potential="harmonic", initial="ground", n_grid=128, box=8.0, dt=0.005,
                          t_span=(0.0, 1.0), x0=0.7, n_frames=3)
    q = np.abs(sys.frames[0]) ** 2
    x = sys.grid.axes()[0]
    np.testing.assert_allclose(sys.ground_energy, 0.5, atol=1e-5)  # O(dt²) splitting error of the ground state
    # the split-operator ground state is O(Δt²) = 2.5e-5 (times a constant < 1) from the exact one
    np.testing.assert_allclose(q, np.exp(-(x**2)) / np.sqrt(np.pi), atol=1e-5)
    np.testing.assert_allclose(np.abs(sys.frames[-1]) ** 2, q, atol=1e-5)  # stationary up to the same
    pts = sys.sample(0.5, 2000, rng=3)
    assert np.abs(sys.velocity(0.5, pts)).max() < 1e-4


# -- continuity and mass ------------------------------------------------------------------------------------------
def test_weak_continuity_and_mass_default_double_well():
    sys = SchrodingerGrid(t_span=(0.0, 1.0), n_frames=11)
    assert sys.velocity_is_gradient  # product state in a separable potential: no vortices
    t = 0.63
    f = sys.fields(t)
    g = f.grid
    np.testing.assert_allclose(np.sum(f.q) * g.cell_volume, 1.0, rtol=1e-12)  # normalised interpolant
    rng = np.random.default_rng(4)
    pts = sys.sample(t, 100_000, rng=rng)
    v = sys.velocity(t, pts)
    X = g.mesh()
    for w, b in plane_waves(rng, 3, d=2, scale=1.5):
        lhs = grid_mean_rate(sys, t, 1e-3, w, b)  # O(dt²) ~ 1e-6
        grad = -np.sin(w[0] * X[0] + w[1] * X[1] + b)
        rhs = np.sum((f.flux[..., 0] * w[0] + f.flux[..., 1] * w[1]) * grad) * g.cell_volume
        np.testing.assert_allclose(rhs, lhs, atol=1e-5 * (1 + abs(lhs)))
        # the same with samples and the interpolated velocity
        assert_sample_flux(pts, v, w, b, lhs, rtol=1e-3)
    assert sys.masked_mass_fraction < 1e-6  # the velocity is masked only on negligible mass


def test_vortex_state_is_not_gradient():
    def psi0(x):  # ψ ∝ e^{−r²/2}(1 + (x + iy)): a vortex at (−1, 0)
        return np.exp(-0.5 * np.sum(x**2, axis=1)) * (1 + x[:, 0] + 1j * x[:, 1])

    sys = SchrodingerGrid(dim=2, potential="harmonic", initial=psi0, n_grid=64, box=8.0, dt=0.01,
                          t_span=(0.0, 1.0), n_frames=3)
    assert sys.vortex_counts.min() >= 1
    assert not sys.velocity_is_gradient and not sys.has_am_velocity
    with pytest.raises(NotImplementedError, match="project_gradient"):
        sys.am_velocity(0.5, np.zeros((1, 2)))
    assert SchrodingerGrid(dim=1, potential="harmonic", n_grid=64, t_span=(0, 1), n_frames=2).velocity_is_gradient


# -- warnings and bad input -------------------------------------------------------------------------------------
def test_unresolved_warnings():
    assert "box faces" in unresolved_messages(
        lambda: SchrodingerGrid(dim=1, potential="harmonic", box=3.0, t_span=(0, 1), n_frames=2).frames)
    assert "Nyquist" in unresolved_messages(
        lambda: SchrodingerGrid(dim=1, potential="harmonic", n_grid=16, box=9.0, t_span=(0, 1), n_frames=2).frames)
    with pytest.warns(UnresolvedWarning, match="potential phase"):
        SchrodingerGrid(dim=2, dt=0.05, t_span=(0, 1))
    assert unresolved_messages(lambda: SchrodingerGrid(dim=1, t_span=(0, 1), n_frames=2).frames) == ""  # resolved


def test_bad_input():
    with pytest.raises(UnknownNameError, match="known: double-well, free, harmonic, softened-coulomb"):
        SchrodingerGrid(potential="morse")
    with pytest.raises(UnknownNameError, match="ground, packet"):
        SchrodingerGrid(initial="coherent")
    with pytest.raises(InputError, match="dt"):
        SchrodingerGrid(dt=0.0)
    with pytest.raises(InputError, match="dt"):
        SchrodingerGrid(dt=10.0, t_span=(0, 1))
    with pytest.raises(InputError, match="at least 8 cells"):
        SchrodingerGrid(n_grid=4)
    with pytest.raises(InputError, match="dim"):
        SchrodingerGrid(dim=4)
    with pytest.raises(InputError, match="grid's shape"):
        SchrodingerGrid(dim=1, n_grid=32, initial=np.ones(31, dtype=complex))
    with pytest.raises(InputError, match="sigma0"):
        SchrodingerGrid(sigma0=-1.0)
    with pytest.raises(InputError, match="potential"):
        SchrodingerGrid(dim=1, n_grid=32, potential=lambda x: np.ones(3))
    sys = SchrodingerGrid(dim=1, n_grid=32, t_span=(0, 1), n_frames=2)
    with pytest.raises(InputError, match="t_span"):
        sys.sample(1.5, 3, rng=0)


def test_registry_and_params():
    sys = amphys.systems.get("schrodinger-grid", dim=1, potential="harmonic", n_grid=64, box=8.0, dt=0.01,
                             t_span=(0.0, 1.0), n_frames=2)
    assert isinstance(sys, SchrodingerGrid)
    params = json.loads(sys.params_json())
    assert params["name"] == "schrodinger-grid" and params["n_grid"] == [64]
    arr = SchrodingerGrid(dim=1, n_grid=32, initial=np.exp(-np.linspace(-4, 4, 32) ** 2) + 0j)
    assert json.loads(arr.params_json())["initial"] == "array"
    x = sys.sample(0.5, 7, rng=0)
    assert x.shape == (7, 1) and sys.log_density(0.5, x).shape == (7,) and sys.velocity(0.5, x).shape == (7, 1)
