"""Linear Ornstein–Uhlenbeck system (docs/theory.md#fokker-planck, docs/theory.md#verification-identities)."""

import json

import numpy as np
import pytest
from helpers import continuity_residual, max_asymmetry, mc_tolerance
from hypothesis import given
from hypothesis import strategies as st
from numpy.polynomial.legendre import leggauss
from scipy.integrate import solve_ivp
from scipy.linalg import expm, solve_continuous_lyapunov
from scipy.special import roots_hermitenorm

import amphys.systems as systems
from amphys.errors import InputError, UnknownNameError
from amphys.systems.ou import OrnsteinUhlenbeck

# the rotational example of docs/theory.md#fokker-planck
A_ROT = [[1.0, 0.8], [-0.5, 0.6]]
D_ROT = [[0.5, 0.1], [0.1, 0.3]]


@st.composite
def ou_params(draw, dims=(1, 2, 3), symmetric=False, isotropic=False):
    """Random valid parameters: any drift (stable or not), D SPD, Σ0 SPD, windows starting at 0."""
    d = draw(st.sampled_from(dims))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    A = draw(st.floats(0.2, 1.5)) * rng.normal(size=(d, d))
    if symmetric:
        A = 0.5 * (A + A.T)
    B = rng.normal(size=(d, d))
    D = draw(st.floats(0.1, 1.0)) * np.eye(d) if isotropic else B @ B.T / d + 0.05 * np.eye(d)
    C = rng.normal(size=(d, d))
    return dict(drift=A, diffusion=D, mean0=2 * rng.normal(size=d), cov0=C @ C.T / d + 0.1 * np.eye(d),
                t_span=(0.0, draw(st.floats(0.3, 2.0))))


def _gauss_rule(sys, t, n=24):
    """Tensor Gauss–Hermite nodes (N, d) and weights (N,) for E over N(μ_t, Σ_t)."""
    z, w = roots_hermitenorm(n)
    w = w / w.sum()
    d = sys.dim
    grids = np.meshgrid(*([z] * d), indexing="ij")
    xi = np.stack([g.ravel() for g in grids], axis=1)
    wt = np.prod(np.stack(np.meshgrid(*([w] * d), indexing="ij")).reshape(d, -1), axis=0)
    return sys.mean(t) + xi @ np.linalg.cholesky(sys.cov(t)).T, wt


# -- closed forms against independent routes ---------------------------------------------------------------
@given(st.one_of(ou_params(), ou_params(symmetric=True)))
def test_mean_cov_match_the_moment_odes(params):
    sys = OrnsteinUhlenbeck(**params)
    A, D, d = sys.drift, sys.diffusion, sys.dim

    def rhs(t, y):
        mu, S = y[:d], y[d:].reshape(d, d)
        return np.concatenate([-A @ mu, (-A @ S - S @ A.T + 2 * D).ravel()])

    t_eval = np.linspace(*sys.t_span, 5)
    sol = solve_ivp(rhs, sys.t_span, np.concatenate([sys.mean0, sys.cov0.ravel()]), t_eval=t_eval,
                    method="DOP853", rtol=1e-12, atol=1e-12)
    for i, t in enumerate(t_eval):  # the ODE solver's tolerance is 1e-12; allow error growth over the window
        np.testing.assert_allclose(sys.mean(t), sol.y[:d, i], rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(sys.cov(t), sol.y[d:, i].reshape(d, d), rtol=1e-8, atol=1e-9)
        h = 1e-5
        np.testing.assert_allclose(sys.mean_dot(t), (sys.mean(t + h) - sys.mean(t - h)) / (2 * h), atol=1e-7)
        np.testing.assert_allclose(sys.cov_dot(t), (sys.cov(t + h) - sys.cov(t - h)) / (2 * h), atol=1e-7)


@given(ou_params(symmetric=True), st.floats(-0.2, 3.0))
def test_symmetric_drift_branch_matches_van_loan(params, t):
    # ou_transition uses the eigenbasis of a symmetric A (numpy only) and Van Loan otherwise: same (F, Q).
    from amphys.systems.ou import _transition_symmetric, _transition_van_loan
    A, D = params["drift"], params["diffusion"]
    for got, want in zip(_transition_symmetric(A, D, t), _transition_van_loan(A, D, t), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(want).max()))


def test_covariance_special_cases():
    t = 0.7
    # stable A: Σ∞ + e^{-At}(Σ0 - Σ∞)e^{-Aᵀt}, AΣ∞ + Σ∞Aᵀ = 2D (docs/theory.md#fokker-planck)
    A, D, S0 = np.array(A_ROT), np.array(D_ROT), np.array([[0.3, 0.1], [0.1, 0.2]])
    sinf = solve_continuous_lyapunov(A, 2 * D)
    F = expm(-A * t)
    np.testing.assert_allclose(OrnsteinUhlenbeck(A, D, 0.0, S0).cov(t), sinf + F @ (S0 - sinf) @ F.T,
                               rtol=1e-12)
    # A = 0 (heat equation): Σ0 + 2Dt; scalar A = aI (also unstable a < 0): e^{-2at}Σ0 + (δ/a)(1 - e^{-2at})
    np.testing.assert_allclose(OrnsteinUhlenbeck(0.0, D, 0.0, S0).cov(t), S0 + 2 * D * t, rtol=1e-13)
    for a in (1.3, -0.4):
        sys = OrnsteinUhlenbeck(a, 0.5, 1.0, 0.2, dim=3)
        expected = (np.exp(-2 * a * t) * 0.2 + 0.5 / a * (1 - np.exp(-2 * a * t))) * np.eye(3)
        np.testing.assert_allclose(sys.cov(t), expected, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(sys.mean(t), np.full(3, np.exp(-a * t)), rtol=1e-13)


@given(ou_params())
def test_am_matrix_solves_lyapunov(params):
    sys = OrnsteinUhlenbeck(**params)
    t = sys.t_span[1] * 0.6
    S, cov = sys.am_matrix(t), sys.cov(t)
    np.testing.assert_allclose(S, S.T, atol=1e-14)
    np.testing.assert_allclose(S @ cov + cov @ S, sys.cov_dot(t), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(S, solve_continuous_lyapunov(cov, sys.cov_dot(t)), rtol=1e-8, atol=1e-10)


# -- (a) continuity, (d) gradients -------------------------------------------------------------------------
@given(ou_params())
def test_continuity_of_both_fields(params):
    sys = OrnsteinUhlenbeck(**params)
    for t in (0.0, sys.t_span[1]):
        x = sys.sample(t, 200, rng=1)
        for field in (sys.velocity, sys.am_velocity):
            r, scale = continuity_residual(sys.log_density, field, t, x)
            # central differences, h = 1e-5: truncation 0 (log q quadratic, v linear),
            # round-off ~eps·|log q|/h; measured ≲ 1e-8 relative. A wrong Σ̇ or S gives O(1).
            np.testing.assert_array_less(np.abs(r), 1e-6 * scale + 1e-9)


@given(ou_params())
def test_am_velocity_is_curl_free_gradient_of_potential(params):
    sys = OrnsteinUhlenbeck(**params)
    t = 0.5 * sys.t_span[1]
    x = sys.sample(t, 50, rng=2)
    assert max_asymmetry(sys.am_velocity, t, x) < 1e-8  # the field is linear: FD exact up to round-off
    h = 1e-5
    grad = np.stack([(sys.am_potential(t, x + h * e) - sys.am_potential(t, x - h * e)) / (2 * h)
                     for e in np.eye(sys.dim)], axis=1)
    np.testing.assert_allclose(grad, sys.am_velocity(t, x), rtol=1e-7, atol=1e-7)


@given(ou_params())
def test_velocity_is_gradient_flag_is_honest(params):
    sys = OrnsteinUhlenbeck(**params)
    ts = np.random.default_rng(3).uniform(*sys.t_span, size=4)  # times other than the 9 the flag used
    gaps = [np.abs(sys.velocity(t, x) - sys.am_velocity(t, x)).max() / np.abs(sys.am_velocity(t, x)).max()
            for t in ts for x in [sys.sample(t, 50, rng=4)]]
    if sys.velocity_is_gradient:
        np.testing.assert_array_less(gaps, 1e-8)
    else:  # a random drift is almost surely rotational: the two valid fields differ
        assert max(gaps) > 1e-6


@given(ou_params(symmetric=True, isotropic=True))
def test_symmetric_drift_isotropic_noise_is_gradient(params):
    sys = OrnsteinUhlenbeck(**params)
    assert sys.velocity_is_gradient
    t = 0.3 * sys.t_span[1]
    delta = sys.diffusion[0, 0]
    np.testing.assert_allclose(sys.am_matrix(t), delta * np.linalg.inv(sys.cov(t)) - sys.drift, atol=1e-9)
    x = sys.sample(t, 50, rng=5)
    assert max_asymmetry(sys.velocity, t, x) < 1e-8


def test_rotational_ou_physics_example():
    # the example of docs/theory.md#fokker-planck: A, D rotational, μ0 = (2, -1), Σ0 = 0.1 I, t = 0.4; E|v_pf|² = 2.851,
    # E|v*|² = 2.596 (an earlier reference, with μ0, Σ0 unstated, quoted 2.84 / 2.56).
    sys = OrnsteinUhlenbeck(A_ROT, D_ROT, mean0=[2.0, -1.0], cov0=0.1)
    assert not sys.velocity_is_gradient
    t = 0.4
    mu_dot, S, cov = sys.mean_dot(t), sys.am_matrix(t), sys.cov(t)
    J = -sys.drift + sys.diffusion @ np.linalg.inv(cov)
    e_pf = mu_dot @ mu_dot + np.trace(J @ cov @ J.T)
    e_am = mu_dot @ mu_dot + np.trace(S @ cov @ S)
    np.testing.assert_allclose([e_pf, e_am], [2.8507, 2.5956], atol=1e-4)
    x = sys.sample(t, 200_000, rng=6)
    v_pf, v_am = sys.velocity(t, x), sys.am_velocity(t, x)
    k_pf, k_am = np.sum(v_pf**2, axis=1), np.sum(v_am**2, axis=1)
    np.testing.assert_allclose([k_pf.mean(), k_am.mean()], [e_pf, e_am],
                               atol=5 * np.std(k_pf) / np.sqrt(len(x)))  # 5 standard errors
    assert e_am < e_pf - 0.2
    # v_pf - v* is q-divergence-free, hence q-orthogonal to ∇s*: E|v_pf|² = E|v*|² + E|v_pf - v*|²
    w = np.sum((v_pf - v_am) ** 2, axis=1)
    np.testing.assert_allclose(k_pf.mean() - k_am.mean(), w.mean(), atol=mc_tolerance(k_pf - k_am - w))
    # both fields satisfy continuity; only v* is curl-free
    xs = x[:200]
    for field in (sys.velocity, sys.am_velocity):
        r, scale = continuity_residual(sys.log_density, field, t, xs)
        np.testing.assert_array_less(np.abs(r), 1e-6 * scale)
    assert max_asymmetry(sys.velocity, t, xs) > 0.1
    assert max_asymmetry(sys.am_velocity, t, xs) < 1e-8


# -- (b) mass and sampler moments --------------------------------------------------------------------------
@given(ou_params(dims=(1, 2)))
def test_mass_by_grid_quadrature(params):
    sys = OrnsteinUhlenbeck(**params)
    t = sys.t_span[1]
    # grid along the principal axes (x = μ + U diag(√λ) z), so that strong correlations are resolved
    lam, U = np.linalg.eigh(sys.cov(t))
    z = np.linspace(-10, 10, 201)
    zz = np.stack([g.ravel() for g in np.meshgrid(*([z] * sys.dim), indexing="ij")], axis=1)
    x = sys.mean(t) + (zz * np.sqrt(lam)) @ U.T
    q = np.exp(sys.log_density(t, x)).reshape([len(z)] * sys.dim) * np.prod(np.sqrt(lam))
    for _ in range(sys.dim):  # trapezoid is spectrally accurate for a Gaussian (h = 0.1 widths)
        q = np.trapezoid(q, z, axis=0)
    np.testing.assert_allclose(q, 1.0, rtol=1e-6)


@given(ou_params())
def test_sampler_moments(params):
    sys = OrnsteinUhlenbeck(**params)
    t = sys.t_span[1]
    x = sys.sample(t, 20000, rng=7)
    mu, cov = sys.mean(t), sys.cov(t)
    # 5 standard errors of each Monte-Carlo mean (products for the covariance, about the exact mean)
    np.testing.assert_allclose(x.mean(axis=0), mu, atol=mc_tolerance(x).max())
    prod = ((x - mu)[:, :, None] * (x - mu)[:, None, :]).reshape(len(x), -1)
    np.testing.assert_allclose(prod.mean(axis=0), cov.ravel(), atol=mc_tolerance(prod).max())


# -- (c) AM loss identity ----------------------------------------------------------------------------------
def _dt_potential(sys, t, x):
    """∂_t s* for s* = ½(x-μ)ᵀS(x-μ) + μ̇ᵀx, from the public helpers and the OU equations (no differencing):
    μ̈ = -Aμ̇, Σ̈ = -AΣ̇ - Σ̇Aᵀ, and Ṡ solves ṠΣ + ΣṠ = Σ̈ - SΣ̇ - Σ̇S (the time derivative of SΣ + ΣS = Σ̇)."""
    A, mu, mu_dot, S = sys.drift, sys.mean(t), sys.mean_dot(t), sys.am_matrix(t)
    cov, cov_dot = sys.cov(t), sys.cov_dot(t)
    S_dot = solve_continuous_lyapunov(cov, -A @ cov_dot - cov_dot @ A.T - S @ cov_dot - cov_dot @ S)
    dx = x - mu
    return -dx @ (S @ mu_dot) + 0.5 * np.sum((dx @ S_dot) * dx, axis=1) + x @ (-A @ mu_dot)


def _am_loss(sys, phi, epsilons, n_t=16, n_x=24):
    """L(s* + εφ) for each ε, ½∫E|∇φ|² and K* = ½∫(|μ̇|² + tr SΣS) dt.

    Gauss–Legendre in t, Gauss–Hermite in x, ∂_t s* in closed form. The system is evaluated once per node;
    each L(s* + εφ) is then assembled from s = s* + εφ, ∇s = ∇s* + ε∇φ, ∂_t s.
    """
    t0, t1 = sys.t_span
    tn, tw = leggauss(n_t)
    tn, tw = t0 + (tn + 1) * (t1 - t0) / 2, tw * (t1 - t0) / 2
    ends = []
    for t in (t0, t1):
        x, w = _gauss_rule(sys, t, n_x)
        ends.append((w, sys.am_potential(t, x), phi(t, x)[0]))
    nodes = []
    for t in tn:
        x, w = _gauss_rule(sys, t, n_x)
        nodes.append((w, sys.am_velocity(t, x), _dt_potential(sys, t, x), *phi(t, x)[1:]))
    out = []
    for eps in epsilons:
        (w0, s0, p0), (w1, s1, p1) = ends
        total = np.sum(w0 * (s0 + eps * p0)) - np.sum(w1 * (s1 + eps * p1))
        for wt, (w, v, ds_dt, dphi_dt, grad_phi) in zip(tw, nodes, strict=True):
            grad = v + eps * grad_phi
            total += wt * np.sum(w * (0.5 * np.sum(grad**2, axis=1) + ds_dt + eps * dphi_dt))
        out.append(total)
    half = 0.5 * sum(wt * np.sum(node[0] * np.sum(node[4] ** 2, axis=1))
                     for wt, node in zip(tw, nodes, strict=True))
    k_star = 0.5 * sum(wt * (sys.mean_dot(t) @ sys.mean_dot(t) + np.trace(sys.am_matrix(t) @ sys.cov(t)
                                                                          @ sys.am_matrix(t)))
                       for t, wt in zip(tn, tw, strict=True))
    return np.array(out), half, k_star


def _sin_phi(c):
    def phi(t, x):
        arg = np.sum(x * c, axis=1) + 0.3
        return (1 + t * t) * np.sin(arg), 2 * t * np.sin(arg), (1 + t * t) * np.cos(arg)[:, None] * c
    return phi


def test_am_loss_physics_1d_reference_numbers():
    # docs/theory.md#verification-identities, item 7: "1D OU", L(s*) = -0.9650542 = -K*, φ = (1+t²) sin x, ε = 1 gives
    # 0.3499653 on both sides, with a = 1, δ = 0.5, μ0 = 2 (or -2), σ0² = 0.1, t ∈ [0, 1] (all 7 digits).
    sys = OrnsteinUhlenbeck(drift=1.0, diffusion=0.5, mean0=2.0, cov0=0.1)
    phi = lambda t, x: ((1 + t * t) * np.sin(x[:, 0]), 2 * t * np.sin(x[:, 0]),
                        (1 + t * t) * np.cos(x[:, :1]))
    (l_star, l_one), half, k_star = _am_loss(sys, phi, [0.0, 1.0], n_t=40, n_x=60)
    np.testing.assert_allclose([l_star, k_star], [-0.9650542, 0.9650542], atol=6e-8)  # 7 printed digits
    np.testing.assert_allclose([l_one - l_star, half], [0.3499653, 0.3499653], atol=6e-8)


@given(ou_params(dims=(1, 2)))
def test_am_loss_identity(params):
    sys = OrnsteinUhlenbeck(**params)
    c = np.array([1.0, -0.6])[: sys.dim]
    # keep |Lᵀc| <= 1 over the window (strongly unstable drifts spread q_t): Gauss–Hermite converges for sin
    width = max(np.sqrt(c @ sys.cov(t) @ c) for t in np.linspace(*sys.t_span, 9))
    phi = _sin_phi(c / max(1.0, width))
    eps = np.array([0.0, -2.0, 0.5, 1.0, 3.0])
    losses, half, k_star = _am_loss(sys, phi, eps)
    # Gauss–Hermite 24 nodes/axis, Gauss–Legendre 16 nodes: quadrature errors ≲ 1e-10.
    np.testing.assert_allclose(losses[0], -k_star, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(losses[1:] - losses[0], eps[1:] ** 2 * half, rtol=1e-7, atol=1e-9)


# -- inputs ------------------------------------------------------------------------------------------------
def test_dimension_inference_and_params_roundtrip():
    assert OrnsteinUhlenbeck().dim == 1
    assert OrnsteinUhlenbeck(mean0=[1.0, 2.0, 3.0]).dim == 3
    assert OrnsteinUhlenbeck(dim=4).dim == 4
    sys = systems.get("ou", drift=A_ROT, diffusion=D_ROT, mean0=[1, 0], cov0=[[1, 0.2], [0.2, 0.5]])
    again = systems.get("ou", **json.loads(json.dumps(sys.params())))
    x = sys.sample(0.5, 20, rng=8)
    np.testing.assert_array_equal(again.am_velocity(0.5, x), sys.am_velocity(0.5, x))
    assert again.velocity_is_gradient is sys.velocity_is_gradient is False


def test_rejects_bad_points_times_and_names():
    sys = OrnsteinUhlenbeck(A_ROT, D_ROT)
    for method in (sys.log_density, sys.velocity, sys.am_velocity, sys.am_potential):
        with pytest.raises(InputError, match="x"):
            method(0.5, np.zeros((3, 3)))
        with pytest.raises(InputError, match="t"):
            method(float("inf"), np.zeros((3, 2)))
    with pytest.raises(InputError, match="positive definite"):
        OrnsteinUhlenbeck(drift=0.0, diffusion=1.0, cov0=0.1).cov(-1.0)   # Σ0 - 2t < 0 before t = 0
    with pytest.raises(UnknownNameError, match="diffusion"):
        systems.get("ou", diffusivity=1.0)
