"""Hydrogen: the AM paper's (3,2,-1)+(2,1,0) state and (1s+2p_z) (docs/theory.md#schrodinger)."""

import json
from functools import lru_cache
from math import factorial

import numpy as np
import pytest
from helpers import max_asymmetry, mc_tolerance
from hypothesis import given
from hypothesis import strategies as st
from numpy.polynomial.legendre import leggauss
from schrodinger_checks import circulation, schrodinger_residual, velocity_from_psi
from scipy import stats
from scipy.optimize import brentq
from scipy.special import genlaguerre, lpmv, sph_harm_y

import amphys.systems as systems
from amphys.errors import InputError, UnknownNameError
from amphys.systems.hydrogen import Hydrogen

PERIOD = 2 * np.pi * 72 / 5            # paper state, a.u.
DELTA = 3 / 8                          # 1s+2pz beat frequency E_2 - E_1
C_A, C_B = 1 / (81 * np.sqrt(np.pi)), 1 / np.sqrt(32 * np.pi)
# ⟨x⟩ amplitude: C_A C_B ∫ x² z² e^{-5r/6} d³x = C_A C_B (4π/15) 6!/(5/6)^7
AMPLITUDE = C_A * C_B * (4 * np.pi / 15) * factorial(6) * (6 / 5) ** 7

states = st.sampled_from(["paper", "1s+2pz"])
radii = st.sampled_from([1.0, 0.5, 2.0, 4 * np.pi])
phases = st.floats(-np.pi, np.pi)


def _spherical(r, theta, phi):
    return np.stack([r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi), r * np.cos(theta)], -1)


def _radial(n, l, r, a=1.0):
    """R_nl(r) for Bohr radius a (scipy's generalised Laguerre polynomials)."""
    rho = 2 * r / (n * a)
    norm = np.sqrt((2 / (n * a)) ** 3 * factorial(n - l - 1) / (2 * n * factorial(n + l)))
    return norm * np.exp(-rho / 2) * rho ** l * genlaguerre(n - l - 1, 2 * l + 1)(rho)


def _psi_scipy(t, x, states, phase, a=1.0):
    """(ψ_A e^{-iE_A t} + e^{iφ} ψ_B e^{-iE_B t})/√2 from R_nl and scipy's sph_harm_y (Condon–Shortley)."""
    r = np.linalg.norm(x, axis=1)
    theta, phi = np.arccos(x[:, 2] / r), np.arctan2(x[:, 1], x[:, 0])
    out = 0
    for (n, l, m), c in zip(states, (1.0, np.exp(1j * phase)), strict=True):
        out = out + c * _radial(n, l, r, a) * sph_harm_y(l, m, theta, phi) * np.exp(0.5j * t / (n * a) ** 2)
    return out / np.sqrt(2)


@lru_cache(maxsize=8)
def _quadrature(a=1.0, nr=160, nu=16, nphi=16, rmax=100.0):
    """Nodes (N, 3) and weights: Gauss–Legendre in r ∈ [0, rmax·a] and cos θ, trapezoid in φ.

    For q, r q and x q the angular parts are polynomials of degree <= 8 in cos θ and trigonometric of
    degree <= 3 in φ, so those rules are exact; the radial integrands are smooth and negligible beyond
    r = 100a (e^{-2r/3} r^9 < 1e-16).
    """
    r, wr = leggauss(nr)
    r, wr = rmax * a * (r + 1) / 2, rmax * a * wr / 2
    u, wu = leggauss(nu)
    phi = 2 * np.pi * np.arange(nphi) / nphi
    R, U, P = np.meshgrid(r, u, phi, indexing="ij")
    w = (wr[:, None, None] * R ** 2 * wu[None, :, None] * (2 * np.pi / nphi)).ravel()
    return _spherical(R, np.arccos(U), P).reshape(-1, 3), w


def _rz(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


# -- the wavefunction: independent constructions and the Schrödinger equation --------------------------------
@given(st.floats(0, 100), phases, radii)
def test_paper_psi_matches_scipy_and_cartesian_forms(t, phase, a):
    sys = Hydrogen(bohr_radius=a, relative_phase=phase)
    x = sys.sample(t, 300, rng=1)
    ref = _psi_scipy(t, x, [(3, 2, -1), (2, 1, 0)], phase, a)
    np.testing.assert_allclose(sys.psi(t, x), ref, rtol=1e-10, atol=1e-14 * a ** -1.5)
    # Cartesian forms (a.u.) of docs/theory.md#schrodinger, which are the Condon–Shortley ones
    xa = x / a
    r = np.linalg.norm(xa, axis=1)
    e3, e2 = -1 / 18, -1 / 8
    psi_32m1 = (xa[:, 0] - 1j * xa[:, 1]) * xa[:, 2] * np.exp(-r / 3) / (81 * np.sqrt(np.pi))
    psi_210 = xa[:, 2] * np.exp(-r / 2) / np.sqrt(32 * np.pi)
    ta = t / a ** 2
    psi = psi_32m1 * np.exp(-1j * e3 * ta) + np.exp(1j * phase) * psi_210 * np.exp(-1j * e2 * ta)
    np.testing.assert_allclose(np.exp(sys.log_density(t, x)), np.abs(psi) ** 2 / (2 * a ** 3), rtol=1e-10)


def test_1s2pz_psi_matches_scipy():
    sys = Hydrogen(state="1s+2pz", relative_phase=0.4)
    x = sys.sample(2.0, 300, rng=2)
    np.testing.assert_allclose(sys.psi(2.0, x), _psi_scipy(2.0, x, [(1, 0, 0), (2, 1, 0)], 0.4), rtol=1e-10)


def test_relative_phase_pi_is_the_official_code():
    """necludov/action-matching core/hmodel.py (a0 = 4π) is relative_phase=π (our q turned by π).

    Port of its EigenState: R_nl with a0, and Y = (-1)^m sqrt((2l+1)(l-m)!/(4π(l+m)!)) P_l^m(cos θ) e^{imφ}
    with P_l^m the Condon–Shortley associated Legendre function (scipy's lpmv; theirs for m < 0 uses the same
    relation); the extra (-1)^m makes its Y_2^{-1} = -Y_2^{-1}(Condon–Shortley). Energies -1/(2 a0² n²).
    """
    a0 = 4 * np.pi
    sys = Hydrogen(bohr_radius=a0, relative_phase=np.pi)
    base = Hydrogen(bohr_radius=a0)
    for t in (0.0, 3000.0, 14000.0):
        x = base.sample(t, 300, rng=3)
        r = np.linalg.norm(x, axis=1)
        theta, phi = np.arccos(x[:, 2] / r), np.arctan2(x[:, 1], x[:, 0])
        psi = 0
        for n, l, m in [(3, 2, -1), (2, 1, 0)]:
            y = ((-1) ** m * np.sqrt((2 * l + 1) * factorial(l - m) / factorial(l + m) / (4 * np.pi))
                 * lpmv(m, l, np.cos(theta)) * np.exp(1j * m * phi))
            psi = psi + _radial(n, l, r, a0) * y * np.exp(1j * t / (2 * a0 ** 2 * n ** 2)) / np.sqrt(2)
        np.testing.assert_allclose(-psi, sys.psi(t, x), rtol=1e-10, atol=1e-16)
        # ... which is the relative_phase=0 density rotated by half a turn
        turned = x @ _rz(np.pi).T
        np.testing.assert_allclose(base.log_density(t, turned), np.log(np.abs(psi) ** 2), rtol=1e-10)


@given(states, radii, phases, st.floats(0, 1))
def test_solves_schrodinger(state, a, phase, frac):
    sys = Hydrogen(state=state, bohr_radius=a, relative_phase=phase)
    t = frac * sys.period
    x = sys.sample(t, 200, rng=4)
    x = x[np.linalg.norm(x, axis=1) > 0.3 * a]       # FD across the Coulomb cusp at r = 0 is not a test
    res = schrodinger_residual(sys.psi, sys.potential_energy, t, x, h_t=1e-3 * a * a, h_x=1e-3 * a)
    assert np.max(res) < 1e-4               # FD truncation ~1e-6 relative; wrong physics gives O(1)


@given(states, radii, phases, st.floats(0, 1))
def test_density_and_velocity_derive_from_psi(state, a, phase, frac):
    sys = Hydrogen(state=state, bohr_radius=a, relative_phase=phase)
    t = frac * sys.period
    x = sys.sample(t, 200, rng=5)
    np.testing.assert_allclose(np.exp(sys.log_density(t, x)), np.abs(sys.psi(t, x)) ** 2, rtol=1e-10)
    v_fd = velocity_from_psi(sys.psi, t, x, h=1e-6 * a)
    # FD round-off ~1e-10 relative to |∇ψ/ψ| ~ 1/a; at node instants of 1s+2pz v ≡ 0
    np.testing.assert_allclose(sys.velocity(t, x), v_fd, rtol=1e-5, atol=1e-8 / a)


# -- (a) continuity ------------------------------------------------------------------------------------------
# pointwise continuity (∂_t log q + ∇·v + v·∇log q = 0 at samples): tests/test_systems_conformance.py, for
# every system with a closed-form density


# -- (b) mass, moments, sampler ------------------------------------------------------------------------------
@given(radii, phases, st.floats(0, 1))
def test_paper_mass_and_moments_by_quadrature(a, phase, frac):
    sys = Hydrogen(bohr_radius=a, relative_phase=phase)
    t = frac * sys.period
    x, w = _quadrature(a)
    q = np.exp(sys.log_density(t, x))
    np.testing.assert_allclose(w @ q, 1.0, rtol=1e-10)
    np.testing.assert_allclose(w @ (q * np.linalg.norm(x, axis=1)), 7.75 * a, rtol=1e-10)
    angle = phase + (-1 / 18 + 1 / 8) * t / a ** 2
    mean = a * AMPLITUDE * np.array([np.cos(angle), -np.sin(angle), 0])
    np.testing.assert_allclose(w @ (q[:, None] * x), mean, atol=1e-10 * a)


def test_paper_sampler_moments():
    sys = Hydrogen()
    for t in (0.0, 17.0, 45.0, 80.0):
        x = sys.sample(t, 100000, rng=7)
        r = np.linalg.norm(x, axis=1)
        assert abs(r.mean() - 7.75) <= mc_tolerance(r)
        angle = (-1 / 18 + 1 / 8) * t
        mean = AMPLITUDE * np.array([np.cos(angle), -np.sin(angle), 0.0])     # 1.5014 (cos, -sin, 0)
        assert np.all(np.abs(x.mean(0) - mean) <= mc_tolerance(x))


def test_rotation_covariance():
    sys = Hydrogen(relative_phase=0.3)
    omega = sys.angular_velocity
    np.testing.assert_allclose(omega, -5 / 72, rtol=1e-15)
    for t in (10.0, 33.0, 70.0):
        R = _rz(omega * t)
        x = sys.sample(0.0, 500, rng=8)
        np.testing.assert_allclose(sys.log_density(t, x @ R.T), sys.log_density(0.0, x), rtol=1e-10)
        np.testing.assert_allclose(sys.velocity(t, x @ R.T), sys.velocity(0.0, x) @ R.T, rtol=1e-8,
                                   atol=1e-12)
        # the sampler (which accepts at t directly) against rotated t = 0 samples: KS per coordinate
        xt = sys.sample(t, 20000, rng=9)
        x0 = sys.sample(0.0, 20000, rng=10) @ R.T
        for i in range(3):
            assert stats.ks_2samp(xt[:, i], x0[:, i]).pvalue > 1e-4


def test_nodal_plane():
    sys = Hydrogen()
    x = sys.sample(5.0, 200, rng=11)
    x[:, 2] = 0.0
    assert np.all(sys.log_density(5.0, x) == -np.inf)
    assert np.all(sys.psi(5.0, x) == 0)
    # v is continuous across the plane (the factor z carries no phase; v_z = O(z))
    v0 = sys.velocity(5.0, x)
    assert np.all(np.isfinite(v0)) and np.abs(v0).max() > 1e-2
    for z in (1e-7, -1e-7):
        x[:, 2] = z
        np.testing.assert_allclose(sys.velocity(5.0, x), v0, atol=1e-6)


def test_paper_kinetic_energy():
    """E|v_B|²: an earlier reference value is 0.0250; the quadrature here converges to 0.025106 (200/300/600 radial
    and 96²-384² angular nodes: 0.025103, 0.025106, 0.025106), 0.4% above — its grid value is slightly low."""
    sys = Hydrogen()
    x = sys.sample(0.0, 200000, rng=12)
    v2 = np.sum(sys.velocity(0.0, x) ** 2, axis=1)
    # |v|² has a log-divergent variance (q ~ d², |v|² ~ 1/d² near vortex lines), so 5 SE from the sample
    # std plus the reference's rounding ±0.00005
    assert abs(v2.mean() - 0.0250) <= mc_tolerance(v2) + 5e-5
    xq, w = _quadrature(nr=200, nu=96, nphi=96, rmax=90.0)
    ke = w @ (np.exp(sys.log_density(0.0, xq)) * np.sum(sys.velocity(0.0, xq) ** 2, axis=1))
    np.testing.assert_allclose(ke, 0.025106, atol=1e-5)   # |v|² kinks at vortex lines: ~3e-6 quadrature error


# -- (d) the non-gradient Bohmian field of the paper state, the gradient one of 1s+2pz -----------------------
def test_paper_vortex_line_circulation():
    sys = Hydrogen()
    assert not sys.velocity_is_gradient and not sys.has_am_velocity and not sys.has_am_potential
    z0 = 3.0
    # at t = 0 the vortex line is h = 0: y = 0, x = -ρ with ρ e^{r/6} = C_B/C_A = 81/√32 (docs/theory.md#schrodinger)
    rho = brentq(lambda p: p * np.exp(np.hypot(p, z0) / 6) - C_B / C_A, 0.1, 20)
    line = np.array([-rho, 0.0, z0])
    assert abs(sys.psi(0.0, line[None, :])[0]) < 1e-15
    for radius in (0.05, 0.3):
        # winding -1: near the line the m = -1 term (x - iy) sets the phase
        np.testing.assert_allclose(circulation(sys.velocity, 0.0, line, radius, dim=3), -2 * np.pi, rtol=1e-8)
    np.testing.assert_allclose(circulation(sys.velocity, 0.0, [rho, 0, z0], 0.3, dim=3), 0.0, atol=1e-9)
    # locally curl-free away from the line: the defect is topological
    x = sys.sample(0.0, 300, rng=13)
    x = x[(np.abs(x[:, 2]) > 0.1) & (np.linalg.norm(x - line, axis=1) > 0.5)]
    assert max_asymmetry(sys.velocity, 0.0, x) < 1e-5
    with pytest.raises(NotImplementedError, match="project_gradient"):
        sys.am_velocity(0.0, x)
    with pytest.raises(NotImplementedError, match="project_gradient"):
        sys.am_potential(0.0, x)


@given(radii, phases, st.floats(0, 1))
def test_1s2pz_closed_forms(a, phase, frac):
    sys = Hydrogen(state="1s+2pz", bohr_radius=a, relative_phase=phase)
    assert sys.velocity_is_gradient and sys.has_am_velocity and sys.has_am_potential
    t0, t1 = sys.t_span                # the default window avoids the node instants (s* jumps there)
    t = t0 + frac * (t1 - t0)
    x = sys.sample(t, 300, rng=14)
    xa, ta = x / a, t / a ** 2
    r = np.linalg.norm(xa, axis=1)
    u = xa[:, 2] * np.exp(r / 2) / (4 * np.sqrt(2))
    c, s = np.cos(DELTA * ta - phase), np.sin(DELTA * ta - phase)
    q = np.exp(-2 * r) * (1 + u * u + 2 * u * c) / (2 * np.pi) / a ** 3
    np.testing.assert_allclose(np.exp(sys.log_density(t, x)), q, rtol=1e-10)
    grad_u = (np.exp(r / 2) / (4 * np.sqrt(2)))[:, None] * (np.array([0, 0, 1.0])
                                                             + xa[:, 2:3] * xa / (2 * r[:, None]))
    v = -s * grad_u / (1 + u * u + 2 * u * c)[:, None] / a
    np.testing.assert_allclose(sys.velocity(t, x), v, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(sys.am_velocity(t, x), sys.velocity(t, x), rtol=0)
    np.testing.assert_allclose(sys.am_potential(t, x), -np.arctan2(u * s, 1 + u * c), rtol=1e-10, atol=1e-12)
    grad = np.empty_like(x)
    for i in range(3):
        e = np.zeros(3)
        e[i] = 1e-6 * a
        grad[:, i] = (sys.am_potential(t, x + e) - sys.am_potential(t, x - e)) / (2e-6 * a)
    np.testing.assert_allclose(grad, v, rtol=1e-5, atol=1e-6 * np.abs(v).max())
    assert max_asymmetry(sys.am_velocity, t, x[np.linalg.norm(x, axis=1) > 0.1 * a], h=1e-5 * a) < 1e-5


def test_1s2pz_ehrenfest_and_window():
    sys = Hydrogen(state="1s+2pz")
    np.testing.assert_allclose(sys.t_span, (1.396263, 6.981317), rtol=1e-6)    # S-H, docs/benchmarks.md
    xq, w = _quadrature()
    for t in (0.0, 1.4, 4.0, 7.0, 11.0):
        ez = 128 * np.sqrt(2) / 243 * np.cos(DELTA * t)
        q = np.exp(sys.log_density(t, xq))
        np.testing.assert_allclose([w @ q, w @ (q * xq[:, 2])], [1.0, ez], rtol=1e-10, atol=1e-12)
        x = sys.sample(t, 100000, rng=15)
        assert np.all(np.abs(x.mean(0) - [0, 0, ez]) <= mc_tolerance(x))


# -- units: bohr_radius scaling ------------------------------------------------------------------------------
@given(states, st.floats(0.2, 20), st.floats(0, 100), phases)
def test_bohr_radius_scaling(state, a, t, phase):
    one = Hydrogen(state=state, relative_phase=phase)
    sys = Hydrogen(state=state, bohr_radius=a, relative_phase=phase)
    x = one.sample(t, 200, rng=16)
    np.testing.assert_allclose(sys.log_density(a * a * t, a * x), one.log_density(t, x) - 3 * np.log(a),
                               rtol=1e-10)
    np.testing.assert_allclose(sys.velocity(a * a * t, a * x), one.velocity(t, x) / a, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(sys.period, a * a * one.period, rtol=1e-14)
    np.testing.assert_allclose(sys.t_span, a * a * np.asarray(one.t_span), rtol=1e-14)


def test_official_units_and_period():
    np.testing.assert_allclose(Hydrogen().period, PERIOD, rtol=1e-15)
    np.testing.assert_allclose(PERIOD, 90.478, rtol=1e-5)
    code = Hydrogen(bohr_radius=4 * np.pi)
    # docs/theory.md#schrodinger: T = 14000 code units = 88.66 a.u. = 0.98 of a turn; E_n = -1/(32π² n²) in code units
    np.testing.assert_allclose(14000 / (4 * np.pi) ** 2, 88.66, rtol=1e-4)
    np.testing.assert_allclose(14000 / code.period, 0.98, atol=0.005)
    energies = [-1 / (32 * np.pi ** 2 * 9), -1 / (32 * np.pi ** 2 * 4)]
    np.testing.assert_allclose(code.energies, energies, rtol=1e-14)
    r = np.linalg.norm(code.sample(100.0, 50000, rng=17), axis=1)
    assert abs(r.mean() - 7.75 * 4 * np.pi) <= mc_tolerance(r)
    assert "bohr/12.56637061" in code.units_x and Hydrogen().units_x == "bohr"


# -- registry, params, bad input -----------------------------------------------------------------------------
def test_registry_roundtrip():
    for state in ("paper", "1s+2pz"):
        sys = systems.get("hydrogen", state=state, bohr_radius=2.0, relative_phase=0.5)
        again = systems.get("hydrogen", **json.loads(json.dumps(sys.params())))
        x = sys.sample(3.0, 20, rng=18)
        np.testing.assert_array_equal(again.log_density(3.0, x), sys.log_density(3.0, x))
        assert sys.sample(3.0, 0, rng=0).shape == (0, 3)
        np.testing.assert_array_equal(sys.sample(3.0, 5, rng=1), sys.sample(3.0, 5, rng=1))
    assert Hydrogen().t_span == (0.0, PERIOD)


def test_bad_input_names_and_shapes():
    with pytest.raises(UnknownNameError, match="known: 1s\\+2pz, paper"):
        Hydrogen(state="3d")
    with pytest.raises(UnknownNameError, match="parameter of system 'hydrogen'"):
        systems.get("hydrogen", dim=3)
    sys = Hydrogen()
    with pytest.raises(InputError, match=r"shape \(n, 3\)"):
        sys.velocity(0.0, np.zeros((4, 2)))
    with pytest.raises(InputError, match="finite"):
        sys.log_density(0.0, np.full((1, 3), np.nan))
    with pytest.raises(InputError, match="only state 'paper'"):
        _ = Hydrogen(state="1s+2pz").angular_velocity
