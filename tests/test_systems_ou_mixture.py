"""Gaussian mixture under symmetric, isotropic OU (docs/theory.md#fokker-planck,
docs/theory.md#verification-identities)."""

import json

import numpy as np
import pytest
from helpers import max_asymmetry, mc_tolerance
from hypothesis import given
from hypothesis import strategies as st
from numpy.polynomial.legendre import leggauss
from scipy import integrate, stats

import amphys.systems as systems
from amphys.errors import InputError, UnknownNameError
from amphys.systems.ou import OrnsteinUhlenbeck
from amphys.systems.ou_mixture import OUMixture


@st.composite
def mixture_params(draw, dims=(1, 2)):
    """Random valid parameters: symmetric (possibly indefinite) drift, δ > 0, 1–4 components."""
    d = draw(st.sampled_from(dims))
    K = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    B = draw(st.floats(0.1, 1.5)) * rng.normal(size=(d, d))
    C = rng.normal(size=(K, d, d))
    return dict(drift=0.5 * (B + B.T), diffusion=draw(st.floats(0.05, 1.5)),
                weights=rng.dirichlet(np.ones(K)),
                means=2.0 * rng.normal(size=(K, d)), covs=C @ np.swapaxes(C, 1, 2) / d + 0.05 * np.eye(d),
                t_span=(0.0, draw(st.floats(0.3, 1.5))))


def test_default_is_physics_ou_m_row():
    sys = OUMixture()
    assert sys.dim == 2 and len(sys.weights) == 8 and sys.t_span == (0.0, 1.0)
    np.testing.assert_allclose(np.linalg.norm(sys.means0, axis=1), 4.0, rtol=1e-15)
    np.testing.assert_allclose(sys.covs0, np.broadcast_to(0.0625 * np.eye(2), (8, 2, 2)))
    np.testing.assert_allclose(sys.drift, np.eye(2))
    assert sys.delta == 1.0
    # A = I, D = I: Σ_k(t) = e^{-2t}σ0² + (1 - e^{-2t}), μ_k(t) = e^{-t} μ_k
    t = 0.6
    np.testing.assert_allclose(sys.component_covs(t)[3],
                               (np.exp(-2 * t) * 0.0625 + 1 - np.exp(-2 * t)) * np.eye(2), rtol=1e-13)
    np.testing.assert_allclose(sys.component_means(t), np.exp(-t) * sys.means0, rtol=1e-13)


@given(mixture_params(dims=(1, 2, 3)))
def test_single_component_equals_ou(params):
    # K = 1 reduces to the Gaussian system: same density, and the mixture's v equals the Lyapunov AM field.
    params = {**params, "weights": None, "means": params["means"][:1], "covs": params["covs"][:1]}
    mix = OUMixture(**params)
    d = mix.dim
    ou = OrnsteinUhlenbeck(drift=mix.drift, diffusion=mix.delta * np.eye(d), mean0=params["means"][0],
                           cov0=params["covs"][0], t_span=params["t_span"])
    assert ou.velocity_is_gradient
    t = 0.7 * params["t_span"][1]
    x = ou.sample(t, 100, rng=1)
    np.testing.assert_allclose(mix.log_density(t, x), ou.log_density(t, x), rtol=1e-12)
    np.testing.assert_allclose(mix.velocity(t, x), ou.am_velocity(t, x), rtol=1e-9, atol=1e-9)
    diff = mix.am_potential(t, x) - ou.am_potential(t, x)   # equal up to a function of t
    np.testing.assert_allclose(diff, diff[0], atol=1e-9 * (1 + np.abs(ou.am_potential(t, x)).max()))


# -- (a) continuity, (d) gradients -------------------------------------------------------------------------
# pointwise continuity (∂_t log q + ∇·v + v·∇log q = 0 at samples): tests/test_systems_conformance.py, for
# every system with a closed-form density


@given(mixture_params())
def test_velocity_is_curl_free_gradient_of_potential(params):
    sys = OUMixture(**params)
    assert sys.velocity_is_gradient and sys.has_am_velocity and sys.has_am_potential
    t = 0.5 * sys.t_span[1]
    x = sys.sample(t, 100, rng=3)
    assert max_asymmetry(sys.am_velocity, t, x) < 1e-6   # FD truncation of a non-linear field ~h² relative
    h = 1e-6
    grad = np.stack([(sys.am_potential(t, x + h * e) - sys.am_potential(t, x - h * e)) / (2 * h)
                     for e in np.eye(sys.dim)], axis=1)
    scale = np.abs(sys.am_velocity(t, x)).max()
    np.testing.assert_allclose(grad, sys.am_velocity(t, x), rtol=1e-6, atol=1e-6 * scale)


# -- (b) mass and sampler moments --------------------------------------------------------------------------
def test_mass_by_quadrature():
    sys = OUMixture(drift=[[1.0]], diffusion=0.3, weights=[1, 2, 3], means=[[-3.0], [0.5], [2.0]],
                    covs=[0.1, 0.4, 0.05])
    for t in (0.0, 0.8):
        f = lambda x, t=t: np.exp(sys.log_density(t, [[x]])[0])
        total = integrate.quad(f, -np.inf, np.inf, epsabs=1e-13, limit=200)[0]
        np.testing.assert_allclose(total, 1.0, rtol=1e-9)
    sys2 = OUMixture()   # 2D default: tensor trapezoid (spectrally accurate for smooth, decaying q)
    for t in (0.0, 1.0):
        g = np.linspace(-7, 7, 561)
        xx = np.stack([a.ravel() for a in np.meshgrid(g, g, indexing="ij")], axis=1)
        q = np.exp(sys2.log_density(t, xx)).reshape(len(g), len(g))
        np.testing.assert_allclose(np.trapezoid(np.trapezoid(q, g, axis=0), g), 1.0, rtol=1e-8)


@given(mixture_params(dims=(1, 2, 3)))
def test_sampler_moments(params):
    sys = OUMixture(**params)
    t = sys.t_span[1]
    x = sys.sample(t, 20000, rng=4)
    w, mu, cov = sys.weights, sys.component_means(t), sys.component_covs(t)
    mean = w @ mu
    second = np.einsum("k,kij->ij", w, cov + mu[:, :, None] * mu[:, None, :]) - np.outer(mean, mean)
    # 5 standard errors of each Monte-Carlo mean (products for the covariance, about the exact mean)
    np.testing.assert_allclose(x.mean(axis=0), mean, atol=mc_tolerance(x).max())
    prod = ((x - mean)[:, :, None] * (x - mean)[:, None, :]).reshape(len(x), -1)
    np.testing.assert_allclose(prod.mean(axis=0), second.ravel(), atol=mc_tolerance(prod).max())


@given(mixture_params(dims=(1,)))
def test_sampler_matches_log_density_1d(params):
    # KS of samples against the CDF integrated from log_density (links sampler and density; the moment test
    # above checks the sampler against the component formulas only)
    sys = OUMixture(**params)
    t = sys.t_span[1]
    mu, sd = sys.component_means(t)[:, 0], np.sqrt(sys.component_covs(t)[:, 0, 0])
    grid = np.linspace((mu - 12 * sd).min(), (mu + 12 * sd).max(), 20001)
    cdf = integrate.cumulative_trapezoid(np.exp(sys.log_density(t, grid[:, None])), grid, initial=0.0)
    np.testing.assert_allclose(cdf[-1], 1.0, rtol=1e-6)
    x = sys.sample(t, 20000, rng=8)[:, 0]
    assert stats.kstest(x, lambda v: np.interp(v, grid, cdf)).pvalue > 1e-4


def test_sampler_component_frequencies_and_zero_weight():
    # well separated 1D components: each sample's nearest mean identifies its component
    sys = OUMixture(drift=0.0, diffusion=0.01, weights=[0.2, 0.0, 0.8], means=[[-10.0], [0.0], [10.0]],
                    covs=0.01)
    x = sys.sample(0.5, 50000, rng=5)[:, 0]
    frac = np.mean(x > 0)
    np.testing.assert_allclose(frac, 0.8, atol=5 * np.sqrt(0.16 / len(x)))
    assert not np.any(np.abs(x) < 5)
    assert np.all(np.isfinite(sys.log_density(0.5, [[0.0], [3.0]])))


# -- (c) AM loss identity ----------------------------------------------------------------------------------
def _grid_rule(sys, t):
    """Nodes and weights q_t(x) h^d (trapezoid rule) on a tensor grid covering every component ± 8 widths,
    h = (narrowest width)/8 in 1D, /3 in 2D: spectrally accurate for smooth, Gaussian-decaying integrands
    (measured errors ≲ 1e-11 for the loss; /3 in 1D left 2e-7 on some mixtures)."""
    per_width = 8 if sys.dim == 1 else 3
    mu, sd = sys.component_means(t), np.sqrt(np.linalg.eigvalsh(sys.component_covs(t)))
    lo, hi = (mu - 8 * sd.max()).min(), (mu + 8 * sd.max()).max()
    g = np.linspace(lo, hi, int(np.ceil((hi - lo) * per_width / sd.min())) + 1)
    x = np.stack([a.ravel() for a in np.meshgrid(*([g] * sys.dim), indexing="ij")], axis=1)
    return x, np.exp(sys.log_density(t, x)) * (g[1] - g[0]) ** sys.dim


def _sin_phi(c):
    def phi(t, x):
        arg = np.sum(x * c, axis=1) + 0.3
        return (1 + t * t) * np.sin(arg), 2 * t * np.sin(arg), (1 + t * t) * np.cos(arg)[:, None] * c
    return phi


def _am_loss(sys, phi, epsilons, n_t=24):
    """L(s* + εφ) for each ε, ½∫E|∇φ|² and K* = ½∫E|∇s*|²: Gauss–Legendre in t, :func:`_grid_rule` in x.

    The system is evaluated once per node (∂_t s* by 4th-order central differences with h = 1e-4 (t - t0):
    the widths change fast right after t0); each loss is then
    assembled from s = s* + εφ, ∇s = ∇s* + ε∇φ, ∂_t s = ∂_t s* + ε∂_tφ.
    """
    t0, t1 = sys.t_span
    u, uw = leggauss(n_t)   # graded nodes t = t0 + (t1 - t0) u², u ∈ [0, 1]: resolves the fast start
    u, uw = (u + 1) / 2, uw / 2
    tn, tw = t0 + (t1 - t0) * u**2, (t1 - t0) * 2 * u * uw
    ends = [(w, sys.am_potential(t, x), phi(t, x)[0]) for t in (t0, t1) for x, w in [_grid_rule(sys, t)]]
    nodes = []
    for t in tn:
        x, w = _grid_rule(sys, t)
        h = 1e-4 * (t - t0)
        s = [sys.am_potential(t + k * h, x) for k in (-2, -1, 1, 2)]
        ds_dt = (s[0] - 8 * s[1] + 8 * s[2] - s[3]) / (12 * h)
        nodes.append((w, sys.am_velocity(t, x), ds_dt, *phi(t, x)[1:]))
    losses = []
    for eps in epsilons:
        (w0, s0, p0), (w1, s1, p1) = ends
        total = np.sum(w0 * (s0 + eps * p0)) - np.sum(w1 * (s1 + eps * p1))
        for wt, (w, v, ds_dt, dphi_dt, grad_phi) in zip(tw, nodes, strict=True):
            kinetic = 0.5 * np.sum((v + eps * grad_phi) ** 2, axis=1)
            total += wt * np.sum(w * (kinetic + ds_dt + eps * dphi_dt))
        losses.append(total)
    k_star = 0.5 * sum(wt * np.sum(n[0] * np.sum(n[1] ** 2, axis=1)) for wt, n in zip(tw, nodes, strict=True))
    half = 0.5 * sum(wt * np.sum(n[0] * np.sum(n[4] ** 2, axis=1)) for wt, n in zip(tw, nodes, strict=True))
    return np.array(losses), half, k_star


EPS = np.array([0.0, -2.0, 0.5, 1.0, 3.0])


def test_am_loss_identity_default_mixture():
    sys = OUMixture()
    losses, half, k_star = _am_loss(sys, _sin_phi(np.array([0.8, -0.5])), EPS)
    # L(s*) = -K*, and L(s* + εφ) - L(s*) = ½ε²∫E|∇φ|² with no linear term. Measured errors: 1e-9 relative
    # for L(s*) (24 Gauss–Legendre nodes graded towards t0; uniform nodes needed 48 because of the fast
    # start), 1e-15 for the ε terms.
    np.testing.assert_allclose(losses[0], -k_star, rtol=1e-8)
    np.testing.assert_allclose(losses[1:] - losses[0], EPS[1:] ** 2 * half, rtol=1e-8, atol=1e-10)


@given(mixture_params(dims=(1,)))
def test_am_loss_identity_1d(params):
    sys = OUMixture(**params)
    losses, half, k_star = _am_loss(sys, _sin_phi(np.array([1.0])), EPS)
    np.testing.assert_allclose(losses[0], -k_star, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(losses[1:] - losses[0], EPS[1:] ** 2 * half, rtol=1e-8, atol=1e-10)


# -- inputs ------------------------------------------------------------------------------------------------
def test_rejects_non_symmetric_drift_with_reason():
    with pytest.raises(InputError, match="symmetric.*no closed form"):
        OUMixture(drift=[[1.0, 0.8], [-0.5, 0.6]])


def test_rejects_bad_points_and_names_and_roundtrips():
    sys = OUMixture()
    for method in (sys.log_density, sys.velocity, sys.am_velocity, sys.am_potential):
        with pytest.raises(InputError, match="x"):
            method(0.5, np.zeros((4, 3)))
        with pytest.raises(InputError, match="t"):
            method("soon", np.zeros((4, 2)))
    with pytest.raises(UnknownNameError, match="weights"):
        systems.get("ou-mixture", weight=[1.0])
    again = systems.get("ou-mixture", **json.loads(json.dumps(sys.params())))
    x = sys.sample(0.4, 50, rng=6)
    np.testing.assert_array_equal(again.velocity(0.4, x), sys.velocity(0.4, x))
