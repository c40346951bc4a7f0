"""Barenblatt–Pattle system (docs/theory.md#porous-medium, docs/theory.md#verification-identities)."""

import json

import numpy as np
import pytest
from helpers import max_asymmetry, mc_tolerance
from hypothesis import given
from hypothesis import strategies as st
from numpy.polynomial.legendre import leggauss
from scipy import integrate, stats
from scipy.special import gammaln, roots_jacobi

import amphys.systems as systems
from amphys.errors import InputError, UnknownNameError
from amphys.systems.barenblatt import Barenblatt

dims = st.integers(1, 3)
ms = st.floats(1.2, 4.0)
masses = st.floats(0.2, 5.0)
times = st.floats(0.3, 3.0)


def _sphere_area(d):
    return 2.0 * np.pi ** (d / 2) / np.exp(gammaln(d / 2))


def _radial_points(sys, r):
    x = np.zeros((len(r), sys.dim))
    x[:, 0] = r
    return x


def _radial_cdf(sys, t, n_grid=200001):
    """CDF of |x| under q_t, from log_density alone (trapezoid on a fine radial grid)."""
    R = sys.radius(t)
    r = np.linspace(0.0, R, n_grid)
    dens = _sphere_area(sys.dim) * r ** (sys.dim - 1) * np.exp(sys.log_density(t, _radial_points(sys, r)))
    cdf = integrate.cumulative_trapezoid(dens, r, initial=0.0)
    return lambda s: np.interp(s, r, cdf / cdf[-1])


# -- constants and exact relations -------------------------------------------------------------------------
def test_reference_constants_d2_m2():
    # docs/theory.md#porous-medium: d=2, m=2, M=1 gives k = 1/16, C = (8π)^{-1/2}, R = 1.7865 τ^{1/4}.
    sys = Barenblatt(dim=2, m=2.0, mass=1.0)
    np.testing.assert_allclose([sys.alpha, sys.beta, sys.k], [0.5, 0.25, 1 / 16], rtol=1e-15)
    np.testing.assert_allclose(sys.C, (8 * np.pi) ** -0.5, rtol=1e-13)
    np.testing.assert_allclose(sys.radius(3.0), 1.7865 * 3.0**0.25, rtol=3e-5)  # 5 printed digits
    np.testing.assert_allclose(sys.peak(1.0), sys.C, rtol=1e-13)  # ρ(0,1) = C^{1/(m-1)} = C for m = 2


@given(dim=dims, m=ms)
def test_exponent_identities(dim, m):
    sys = Barenblatt(dim=dim, m=m)
    np.testing.assert_allclose(sys.alpha * (m - 1) + 2 * sys.beta, 1.0, rtol=1e-14)
    np.testing.assert_allclose(m / (m - 1) * 2 * sys.k, sys.beta, rtol=1e-14)


@given(dim=dims, m=ms, mass=masses, t=times)
def test_potential_is_minus_pressure(dim, m, mass, t):
    # s* = β|x|²/(2t) equals -P = -(m/(m-1)) ρ^{m-1} up to a function of t on the support
    # (docs/theory.md#porous-medium).
    sys = Barenblatt(dim=dim, m=m, mass=mass)
    x = sys.sample(t, 200, rng=1)
    pressure = m / (m - 1) * np.exp((m - 1) * sys.log_rho(t, x))
    c = sys.am_potential(t, x) + pressure
    np.testing.assert_allclose(c, c[0], rtol=1e-10, atol=1e-12 * np.abs(pressure).max())


def test_heat_equation_limit():
    # m -> 1: ρ -> M (4πt)^{-d/2} exp(-|x|²/4t) with error O(m-1); m - 1 = 1e-6 gives ~1e-5.
    for d in (1, 2, 3):
        sys = Barenblatt(dim=d, m=1.0 + 1e-6, mass=2.0, t_span=(0.5, 2.0))
        t = 1.3
        x = np.random.default_rng(d).normal(scale=np.sqrt(2 * t), size=(50, d))
        heat = np.log(2.0) - d / 2 * np.log(4 * np.pi * t) - np.sum(x**2, axis=1) / (4 * t)
        np.testing.assert_allclose(sys.log_rho(t, x), heat, atol=1e-4)


# -- (a) continuity ----------------------------------------------------------------------------------------
# pointwise continuity (∂_t log q + ∇·v + v·∇log q = 0 at samples): tests/test_systems_conformance.py, for
# every system with a closed-form density


@given(dim=dims, m=ms, t=times)
def test_velocity_is_curl_free_and_grad_potential(dim, m, t):
    sys = Barenblatt(dim=dim, m=m)
    x = sys.sample(t, 100, rng=3)
    assert sys.velocity_is_gradient and sys.has_am_velocity and sys.has_am_potential
    assert max_asymmetry(sys.am_velocity, t, x) < 1e-8
    h = 1e-6
    grad = np.stack([(sys.am_potential(t, x + h * e) - sys.am_potential(t, x - h * e)) / (2 * h)
                     for e in np.eye(dim)], axis=1)
    np.testing.assert_allclose(grad, sys.am_velocity(t, x), rtol=1e-7, atol=1e-8)  # FD round-off ~1e-10/h


# -- (b) mass and sampler moments --------------------------------------------------------------------------
@given(dim=dims, m=ms, mass=masses, t=times)
def test_mass_by_radial_quadrature(dim, m, mass, t):
    sys = Barenblatt(dim=dim, m=m, mass=mass)

    def radial(r, log):
        return _sphere_area(dim) * r ** (dim - 1) * np.exp(log(t, _radial_points(sys, np.atleast_1d(r)))[0])

    R = sys.radius(t)
    total = integrate.quad(radial, 0.0, R, args=(sys.log_density,), epsabs=0, epsrel=1e-12, limit=200)[0]
    rho = integrate.quad(radial, 0.0, R, args=(sys.log_rho,), epsabs=0, epsrel=1e-12, limit=200)[0]
    np.testing.assert_allclose([total, rho], [1.0, mass], rtol=1e-9)  # quad's own error estimate ~1e-12
    assert sys.log_density(t, _radial_points(sys, [1.0001 * R]))[0] == -np.inf


def test_mass_by_cartesian_quadrature_2d():
    sys = Barenblatt(dim=2, m=3.0, mass=1.0)
    t, R = 1.4, sys.radius(1.4)
    f = lambda y, x: np.exp(sys.log_density(t, [[x, y]])[0])
    total = integrate.dblquad(f, -R, R, lambda x: -np.sqrt(max(R * R - x * x, 0)),
                              lambda x: np.sqrt(max(R * R - x * x, 0)), epsabs=1e-10)[0]
    np.testing.assert_allclose(total, 1.0, rtol=1e-8)


@given(dim=dims, m=ms, mass=masses, t=times)
def test_sampler_moments(dim, m, mass, t):
    sys = Barenblatt(dim=dim, m=m, mass=mass, t_span=(0.2, 4.0))
    x = sys.sample(t, 20000, rng=4)
    assert x.shape == (20000, dim)
    assert np.all(np.linalg.norm(x, axis=1) <= sys.radius(t))
    # 5 standard errors of the Monte-Carlo mean: a false alarm has probability ~1e-6 per check.
    np.testing.assert_array_less(np.abs(x.mean(axis=0)), mc_tolerance(x))
    r2 = np.sum(x * x, axis=1)
    np.testing.assert_allclose(r2.mean(), sys.second_moment(t), atol=mc_tolerance(r2))


@pytest.mark.parametrize("dim,m", [(1, 2.0), (2, 1.5), (3, 3.0), (2, 5.0)])
def test_sampler_radius_distribution_matches_density(dim, m):
    # KS of |x| against the CDF integrated from log_density (independent of the sampler's construction).
    sys = Barenblatt(dim=dim, m=m, mass=0.7)
    t = 1.6
    x = sys.sample(t, 5000, rng=5)
    assert stats.kstest(np.linalg.norm(x, axis=1), _radial_cdf(sys, t)).pvalue > 1e-3


def test_sample_reproducible_and_shapes():
    sys = Barenblatt(dim=2)
    np.testing.assert_array_equal(sys.sample(1.5, 10, rng=7),
                                  sys.sample(1.5, 10, rng=np.random.default_rng(7)))
    assert sys.sample(1.5, 0, rng=0).shape == (0, 2)
    assert Barenblatt(dim=1).log_density(1.2, np.array([0.1, 0.2])).shape == (2,)


# -- (c) AM loss identity ----------------------------------------------------------------------------------
def _expectation_rule(sys, t, n_r=40):
    """Nodes (N, d) and weights (N,) with Σ w f(x) = E_{q_t} f, weights built from log_density.

    |x|² = R²u, u with Gauss–Jacobi nodes for the weight u^{d/2-1}(1-u)^p; symmetric direction rules (±1, a
    trapezoid circle, Gauss–Legendre × trapezoid sphere) make the direction average smooth in u.
    """
    d, p, R = sys.dim, 1.0 / (sys.m - 1.0), sys.radius(t)
    xj, lj = roots_jacobi(n_r, p, d / 2 - 1)
    u, lam = (1 + xj) / 2, lj * 2.0 ** -(p + d / 2)
    if d == 1:
        dirs, dw = np.array([[1.0], [-1.0]]), np.array([0.5, 0.5])
    elif d == 2:
        a = 2 * np.pi * np.arange(32) / 32
        dirs, dw = np.stack([np.cos(a), np.sin(a)], 1), np.full(32, 1 / 32)
    else:
        c, cw = leggauss(12)
        a = 2 * np.pi * np.arange(24) / 24
        s = np.sqrt(1 - c**2)
        dirs = np.stack([np.outer(s, np.cos(a)), np.outer(s, np.sin(a)), np.outer(c, np.ones(24))], -1)
        dirs = dirs.reshape(-1, 3)
        dw = np.outer(cw / 2, np.full(24, 1 / 24)).ravel()
    x = (R * np.sqrt(u))[:, None, None] * dirs[None]
    x = x.reshape(-1, d)
    w = (_sphere_area(d) * R**d / 2 * lam[:, None] * dw[None]).ravel()
    w = w * np.exp(sys.log_density(t, x) - p * np.repeat(np.log1p(-u), len(dw)))
    return x, w


def _phi(t, x, c):
    arg = np.sum(x * c, axis=1) + 0.3  # elementwise: BLAS threads are slow on a busy machine
    return (1 + t * t) * np.sin(arg), 2 * t * np.sin(arg), (1 + t * t) * np.cos(arg)[:, None] * c


def _am_loss(sys, c, epsilons, n_t=16):
    """L(s* + εφ) for each ε, and ½∫E|∇φ|², by Gauss–Legendre in t and the rule above in x.

    ∂_t s* by central differences (relative error ~1e-10).
    """
    t0, t1 = sys.t_span
    tn, tw = leggauss(n_t)
    tn, tw = t0 + (tn + 1) * (t1 - t0) / 2, tw * (t1 - t0) / 2
    rules = {t: _expectation_rule(sys, t) for t in (t0, t1, *tn)}
    losses = []
    for eps in epsilons:
        def s(t, x, eps=eps):
            return sys.am_potential(t, x) + eps * _phi(t, x, c)[0]

        total = np.sum(rules[t0][1] * s(t0, rules[t0][0])) - np.sum(rules[t1][1] * s(t1, rules[t1][0]))
        for t, wt in zip(tn, tw, strict=True):
            x, w = rules[t]
            _, dphi_dt, grad_phi = _phi(t, x, c)
            grad = sys.am_velocity(t, x) + eps * grad_phi
            h = 1e-5 * t
            ds_dt = (sys.am_potential(t + h, x) - sys.am_potential(t - h, x)) / (2 * h) + eps * dphi_dt
            total += wt * np.sum(w * (0.5 * np.sum(grad**2, axis=1) + ds_dt))
        losses.append(total)
    half_grad_sq = 0.5 * sum(wt * np.sum(rules[t][1] * np.sum(_phi(t, rules[t][0], c)[2] ** 2, axis=1))
                             for t, wt in zip(tn, tw, strict=True))
    return np.array(losses), half_grad_sq


@given(dim=dims, m=ms, mass=masses, t0=st.floats(0.3, 2.0), length=st.floats(0.2, 2.0))
def test_am_loss_identity(dim, m, mass, t0, length):
    sys = Barenblatt(dim=dim, m=m, mass=mass, t_span=(t0, t0 + length))
    c = np.array([1.0, 0.5, -0.7])[:dim]
    eps = np.array([0.0, -2.0, 0.5, 1.0, 3.0])
    losses, half_grad_sq = _am_loss(sys, c, eps)
    # L(s*) = -K*, K* = ½∫β² E|x|²/t² dt (analytic second moment); quadrature errors ~1e-12.
    tn, tw = leggauss(16)
    tn, tw = t0 + (tn + 1) * length / 2, tw * length / 2
    k_star = 0.5 * sum(w * sys.beta**2 * sys.second_moment(t) / t**2 for t, w in zip(tn, tw, strict=True))
    np.testing.assert_allclose(losses[0], -k_star, rtol=1e-8)
    # exactly quadratic in ε: no linear term (continuity), quadratic term ½ε²∫E|∇φ|².
    np.testing.assert_allclose(losses[1:] - losses[0], eps[1:] ** 2 * half_grad_sq, rtol=1e-7, atol=1e-10)


# -- (f) flow map and scaling laws -------------------------------------------------------------------------
@pytest.mark.parametrize("dim,m", [(1, 2.0), (2, 2.0), (3, 1.5)])
def test_flow_map_pushes_q_t0_to_q_t1(dim, m):
    sys = Barenblatt(dim=dim, m=m, t_span=(0.5, 2.5))
    t0, t1 = sys.t_span
    pushed = sys.flow_map(sys.sample(t0, 4000, rng=8), t0, t1)
    fresh = sys.sample(t1, 4000, rng=9)
    r_pushed, r_fresh = np.linalg.norm(pushed, axis=1), np.linalg.norm(fresh, axis=1)
    assert stats.ks_2samp(r_pushed, r_fresh).pvalue > 1e-3
    assert stats.kstest(r_pushed, _radial_cdf(sys, t1)).pvalue > 1e-3
    assert r_pushed.max() <= sys.radius(t1) * (1 + 1e-12)


@given(dim=dims, m=ms, t=times)
def test_flow_map_velocity_and_darcy(dim, m, t):
    sys = Barenblatt(dim=dim, m=m, t_span=(0.2, 4.0))
    x0 = sys.sample(0.25, 50, rng=10)
    h = 1e-6 * t
    dx_dt = (sys.flow_map(x0, 0.25, t + h) - sys.flow_map(x0, 0.25, t - h)) / (2 * h)
    np.testing.assert_allclose(dx_dt, sys.velocity(t, sys.flow_map(x0, 0.25, t)), rtol=1e-7, atol=1e-9)
    # front moves with the fluid: dR/dt = v(R)
    dR_dt = (sys.radius(t + h) - sys.radius(t - h)) / (2 * h)
    np.testing.assert_allclose(dR_dt, sys.velocity(t, _radial_points(sys, [sys.radius(t)]))[0, 0], rtol=1e-7)


@given(dim=dims, m=ms, mass=masses, t0=times, t1=times)
def test_scaling_laws(dim, m, mass, t0, t1):
    sys = Barenblatt(dim=dim, m=m, mass=mass, t_span=(0.2, 4.0))
    ratio = t1 / t0
    np.testing.assert_allclose(sys.radius(t1) / sys.radius(t0), ratio**sys.beta, rtol=1e-12)
    np.testing.assert_allclose(sys.peak(t1) / sys.peak(t0), ratio**-sys.alpha, rtol=1e-12)
    np.testing.assert_allclose(sys.second_moment(t1) / sys.second_moment(t0), ratio ** (2 * sys.beta),
                               rtol=1e-12)
    # change of variables along the flow: log q(X_t1, t1) = log q(X_t0, t0) - ∫∇·v = ... - dβ log(t1/t0)
    x0 = sys.sample(t0, 100, rng=11)
    np.testing.assert_allclose(sys.log_density(t1, sys.flow_map(x0, t0, t1)),
                               sys.log_density(t0, x0) - dim * sys.beta * np.log(ratio),
                               rtol=1e-10, atol=1e-10)


# -- inputs ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("m", [1.0, 0.5, -2.0])
def test_rejects_m_at_most_one(m):
    with pytest.raises(InputError, match="heat equation"):
        Barenblatt(m=m)


def test_rejects_bad_points_and_times():
    sys = Barenblatt(dim=2)
    for x in (np.zeros((3, 3)), np.zeros(4), [[0.0, np.nan]], "x"):
        with pytest.raises(InputError, match="x"):
            sys.log_density(1.5, x)
        with pytest.raises(InputError, match="x"):
            sys.velocity(1.5, x)
    for t in (0.0, -1.0, float("nan"), [1.0, 2.0]):
        with pytest.raises(InputError, match="t"):
            sys.sample(t, 3)
    with pytest.raises(InputError, match="n"):
        sys.sample(1.5, -1)
    with pytest.raises(InputError, match="t0"):
        sys.flow_map(np.zeros((1, 2)), 0.0, 1.0)


def test_registry_params_roundtrip_and_unknown_parameter():
    sys = systems.get("barenblatt", dim=3, m=2.5, mass=2.0, t_span=(0.5, 1.5))
    again = systems.get("barenblatt", **json.loads(json.dumps(sys.params())))
    x = sys.sample(1.0, 20, rng=12)
    np.testing.assert_array_equal(again.log_density(1.0, x), sys.log_density(1.0, x))
    assert sys.units_x == sys.units_t == "1"
    with pytest.raises(UnknownNameError, match="m"):
        systems.get("barenblatt", exponent=2.0)
