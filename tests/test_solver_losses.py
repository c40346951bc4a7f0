"""The AM loss identity (docs/theory.md#verification-identities) on 2D rotational OU with Gaussian marginals,
invariance under s -> s + c(t), and the entropic and unbalanced variants, through the solver's pure loss functions
and ``derivatives``."""

import numpy as np
import pytest
import torch
from scipy.linalg import expm, solve_continuous_lyapunov

from amphys.solver.losses import Evaluated, action_loss, time_weight
from amphys.solver.model import derivatives
from amphys.solver.quadrature import gauss_legendre


@pytest.fixture(autouse=True, scope="module")
def _float64_single_thread():
    """float64 throughout; one torch thread (the 2 shared cores are slower with two contending threads)."""
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)


# OU-G of docs/benchmarks.md over t in [0, 1]: non-symmetric drift, anisotropic diffusion; the AM field is the
# Lyapunov S field
A = np.array([[0.5, -2.0], [2.0, 0.5]])
D = np.diag([0.5, 0.05])
MU0 = np.array([3.0, 0.0])
SIG0 = 0.1 * np.eye(2)
SIG_INF = solve_continuous_lyapunov(A, 2 * D)


def gaussian_state(t):
    """mean, covariance (numpy float64) at time t (docs/theory.md#fokker-planck)."""
    E = expm(-A * t)
    return E @ MU0, SIG_INF + E @ (SIG0 - SIG_INF) @ E.T


def sample(t, n, rng):
    mu, cov = gaussian_state(t)
    return mu + rng.standard_normal((n, 2)) @ np.linalg.cholesky(cov).T


def _matrix_exp(t):  # e^{-At} for a batch of times, differentiable in t
    At = torch.as_tensor(A)[None] * t[:, None, None]
    return torch.linalg.matrix_exp(-At)


def s_star(t, x):
    """s* = ½(x−μ)ᵀS(x−μ) + μ̇ᵀx with SΣ + ΣS = Σ̇ (torch, differentiable in t and x)."""
    E = _matrix_exp(t)
    A_ = torch.as_tensor(A)
    mu = E @ torch.as_tensor(MU0)
    sig_inf = torch.as_tensor(SIG_INF)
    cov = sig_inf + E @ (torch.as_tensor(SIG0) - sig_inf) @ E.transpose(1, 2)
    cov_dot = -A_ @ cov - cov @ A_.T + 2 * torch.as_tensor(D)
    eye = torch.eye(2).expand_as(cov)
    M = torch.einsum("bik,blj->bijkl", eye, cov.transpose(1, 2)) + torch.einsum("bik,bjl->bijkl", cov, eye)
    S = torch.linalg.solve(M.reshape(-1, 4, 4), cov_dot.reshape(-1, 4, 1)).reshape(-1, 2, 2)
    mu_dot = -(A_ @ mu[..., None])[..., 0]
    r = x - mu
    return 0.5 * torch.einsum("bi,bij,bj->b", r, S, r) + torch.sum(mu_dot * x, dim=-1)


def phi(t, x):
    """A smooth perturbation (docs/theory.md#verification-identities uses (1 + t²) sin x in 1D)."""
    return (1 + t ** 2) * torch.sin(0.7 * x[:, 0] - 0.3 * x[:, 1]) + 0.2 * t * x[:, 1] ** 2


def draw(n_nodes, n_per, n_bound, seed=0):
    rng = np.random.default_rng(seed)
    nodes, weights = gauss_legendre(n_nodes)
    t = np.repeat(nodes, n_per)
    x = np.concatenate([sample(tj, n_per, rng) for tj in nodes])
    c = np.repeat(weights / n_per, n_per)
    x0, x1 = sample(0.0, n_bound, rng), sample(1.0, n_bound, rng)
    return [torch.as_tensor(a) for a in (t, x, c, x0, x1)]


def evaluate(fn, batch, laplacian=None):
    t, x, c, x0, x1 = batch
    s, ds, g, lap = derivatives(fn, t, x, create_graph=False, laplacian=laplacian)
    with torch.no_grad():
        s0 = fn(torch.zeros(len(x0)), x0)
        s1 = fn(torch.ones(len(x1)), x1)
    n0, n1 = len(x0), len(x1)
    return Evaluated(s=s, ds_dt=ds, grad=g, c=c, s0=s0, c0=torch.full((n0,), 1 / n0), s1=s1,
                     c1=torch.full((n1,), 1 / n1), t=t, lap=lap)


def linear_term_and_se(fn_star, fn_phi, batch):
    """E0[φ] − E1[φ] + ∫E[∂_tφ + ∇s*·∇φ] dt and its Monte-Carlo standard error (per-node variances)."""
    t, x, c, x0, x1 = batch
    ev_s = evaluate(fn_star, batch)
    ev_p = evaluate(fn_phi, batch)
    row = (ev_p.ds_dt + torch.sum(ev_s.grad * ev_p.grad, -1)).numpy()
    cn = c.numpy()
    lin = np.sum(cn * row) + ev_p.s0.mean().item() - ev_p.s1.mean().item()
    var = ev_p.s0.var().item() / len(x0) + ev_p.s1.var().item() / len(x1)
    for tj in np.unique(t.numpy()):
        sel = t.numpy() == tj
        var += np.sum(cn[sel]) ** 2 * row[sel].var(ddof=1) / sel.sum()
    return lin, np.sqrt(var)


def test_loss_identity_action_gap():
    """L(s* + εφ) − L(s*) = ½ε²∫E‖∇φ‖² dt: the term linear in ε (the weak continuity equation for ∇s*) vanishes
    within Monte-Carlo error, and the full difference matches the action gap within ε × (5 s.e.)."""
    batch = draw(n_nodes=10, n_per=2000, n_bound=10000)
    eps = 1.0
    L_star = action_loss(evaluate(s_star, batch)).item()
    L_pert = action_loss(evaluate(lambda t, x: s_star(t, x) + eps * phi(t, x), batch)).item()
    gap = 0.5 * eps ** 2 * action_loss_kinetic(batch)
    lin, se = linear_term_and_se(s_star, phi, batch)
    assert abs(lin) < 5 * se
    np.testing.assert_allclose(L_pert - L_star, gap, atol=eps * 5 * se)
    assert gap > 10 * eps * se  # the check has power: the gap is far above the noise
    # L(s*) = −K* = −½∫E‖∇s*‖² (exact for the continuous problem; here up to the same Monte-Carlo error)
    ev = evaluate(s_star, batch)
    kin = 0.5 * torch.sum(ev.c * torch.sum(ev.grad ** 2, -1)).item()
    lin_star, se_star = linear_term_and_se(s_star, s_star, batch)
    np.testing.assert_allclose(L_star, -kin, atol=5 * se_star)


def action_loss_kinetic(batch):
    ev = evaluate(phi, batch)
    return torch.sum(ev.c * torch.sum(ev.grad ** 2, -1)).item()


def test_identity_has_power_against_a_wrong_field():
    """The same check fails for a wrong potential (s* scaled by 1.1): its linear term is many s.e. from zero."""
    batch = draw(n_nodes=8, n_per=1500, n_bound=10000, seed=1)
    lin, se = linear_term_and_se(lambda t, x: 1.2 * s_star(t, x), phi, batch)
    assert abs(lin) > 8 * se


def test_invariance_under_functions_of_time():
    """L(s + c(t)) = L(s): exact for quadrature nodes (Gauss–Legendre integrates ċ to 1e-12), and in expectation
    for stratified Monte Carlo in t (mean over draws within 5 s.e.)."""
    batch = draw(n_nodes=12, n_per=500, n_bound=2000, seed=2)

    def c_of_t(t):
        return torch.sin(3 * t) + t ** 2

    L1 = action_loss(evaluate(phi, batch)).item()
    L2 = action_loss(evaluate(lambda t, x: phi(t, x) + c_of_t(t), batch)).item()
    np.testing.assert_allclose(L2, L1, atol=1e-10)
    # stratified MC: the c-part of the estimate is c(0) − c(1) + mean_i ċ(t_i)
    rng = np.random.default_rng(3)
    draws = []
    for _ in range(200):
        n = 64
        t = torch.as_tensor((np.arange(n) + rng.random(n)) / n).requires_grad_(True)
        (cdot,) = torch.autograd.grad(c_of_t(t).sum(), t)
        draws.append(c_of_t(torch.tensor(0.0)).item() - c_of_t(torch.tensor(1.0)).item() + cdot.mean().item())
    draws = np.array(draws)
    assert abs(draws.mean()) < 5 * draws.std(ddof=1) / np.sqrt(len(draws)) + 1e-12


def test_time_weighted_loss_identity():
    """Time-weighted AM (w = sin πt): the linear term still vanishes, so the minimiser is unchanged."""
    batch = draw(n_nodes=10, n_per=2000, n_bound=10, seed=4)
    t = batch[0]
    w, dw, w0, w1 = time_weight("sine", t)
    ev_s, ev_p = evaluate(s_star, batch), evaluate(phi, batch)
    eps = 0.3
    ev_sum = evaluate(lambda tt, xx: s_star(tt, xx) + eps * phi(tt, xx), batch)
    L_star = action_loss(ev_s, weight=(w, dw, w0, w1)).item()
    L_pert = action_loss(ev_sum, weight=(w, dw, w0, w1)).item()
    gap = 0.5 * eps ** 2 * torch.sum(ev_p.c * w * torch.sum(ev_p.grad ** 2, -1)).item()
    row = (w * (ev_p.ds_dt + torch.sum(ev_s.grad * ev_p.grad, -1)) + dw * ev_p.s).numpy()
    cn = batch[2].numpy()
    se = np.sqrt(sum(np.sum(cn[t.numpy() == tj]) ** 2 * row[t.numpy() == tj].var(ddof=1) / np.sum(t.numpy() == tj)
                     for tj in np.unique(t.numpy())))
    np.testing.assert_allclose(L_pert - L_star, gap, atol=eps * 5 * se)
    assert (w0, w1) == (0.0, 0.0)


def test_entropic_loss_identity_on_symmetric_ou():
    """Entropic AM for dX = −aX dt + σ dW (isotropic): s* = −a|x|²/2 is the drift potential, so the linear term
    E0φ − E1φ + ∫E[∂_tφ + ∇s*·∇φ + ½σ²Δφ] dt vanishes; with the Laplacian left out it does not."""
    a, sigma = 1.0, 0.8
    rng = np.random.default_rng(5)
    mu0, v0 = np.array([1.5, -0.5]), 0.2

    def samp(t, n):  # X_t ~ N(e^{-at}μ0, (e^{-2at}v0 + σ²(1 − e^{-2at})/(2a)) I)
        var = np.exp(-2 * a * t) * v0 + sigma ** 2 * (1 - np.exp(-2 * a * t)) / (2 * a)
        return np.exp(-a * t) * mu0 + np.sqrt(var) * rng.standard_normal((n, 2))

    nodes, weights = gauss_legendre(10)
    n = 4000
    t = torch.as_tensor(np.repeat(nodes, n))
    x = torch.as_tensor(np.concatenate([samp(tj, n) for tj in nodes]))
    c = torch.as_tensor(np.repeat(weights / n, n))
    x0, x1 = torch.as_tensor(samp(0.0, 20000)), torch.as_tensor(samp(1.0, 20000))
    _, ds, g, lap = derivatives(phi, t, x, create_graph=False, laplacian="exact")
    row = (ds + torch.sum(-a * x * g, -1) + 0.5 * sigma ** 2 * lap).numpy()
    with torch.no_grad():
        p0, p1 = phi(torch.zeros(len(x0)), x0), phi(torch.ones(len(x1)), x1)
    lin = np.sum(c.numpy() * row) + p0.mean().item() - p1.mean().item()
    se = np.sqrt(p0.var().item() / len(x0) + p1.var().item() / len(x1)
                 + sum((weights[j] ** 2) * row[j * n:(j + 1) * n].var() / n for j in range(len(nodes))))
    assert abs(lin) < 5 * se
    lin_no_lap = lin - np.sum(c.numpy() * 0.5 * sigma ** 2 * lap.numpy())
    assert abs(lin_no_lap) > 8 * se


def test_hutchinson_matches_exact_laplacian_in_expectation():
    """Hutchinson with k Rademacher probes is unbiased with per-row variance 2Σ_{i≠j}H_ij²/k; both derivative
    back ends (autograd, torch.func) give the same exact Laplacian."""
    torch.manual_seed(0)
    t = torch.rand(40)
    x = torch.randn(40, 3)

    def f(tt, xx):
        return torch.sin(xx).prod(-1) * (1 + tt) + (xx ** 3).sum(-1) + xx[:, 0] * xx[:, 1] * xx[:, 2]

    _, _, _, exact = derivatives(f, t, x, create_graph=True, laplacian="exact")
    hess = _hessian(f, t, x)
    np.testing.assert_allclose(torch.diagonal(hess, dim1=1, dim2=2).sum(-1).numpy(), exact.detach().numpy(),
                               rtol=1e-10, atol=1e-10)
    k = 48
    probes = (2 * torch.randint(0, 2, (k, 40, 3)) - 1).double()
    for mode in ("autograd", "func"):
        _, _, _, hutch = derivatives(f, t, x, create_graph=False, laplacian="hutchinson", probes=probes, mode=mode)
        off = hess - torch.diag_embed(torch.diagonal(hess, dim1=1, dim2=2))
        sd = torch.sqrt(2 * torch.sum(off ** 2, dim=(1, 2)) / k)
        assert torch.all(torch.abs(hutch - exact.detach()) < 5 * sd + 1e-12)
    _, _, _, func = derivatives(f, t, x, create_graph=False, laplacian="exact", mode="func")
    np.testing.assert_allclose(func.numpy(), exact.detach().numpy(), rtol=1e-12, atol=1e-12)


def _hessian(f, t, x):
    def row(i):
        return torch.autograd.functional.hessian(lambda xx: f(t[i:i + 1], xx[None])[0], x[i])

    return torch.stack([row(i) for i in range(len(x))])


def test_unbalanced_identity_constant_growth():
    """Unbalanced AM for q_t = e^{gt} N(0, I) (mass grows at rate g, shape fixed): s* = g; the linear term
    E0[φ] − E1[φ] + ∫E[∂_tφ + ∇s*·∇φ + κ s*φ] dt under the unnormalised measure vanishes."""
    g = 0.7
    rng = np.random.default_rng(6)
    nodes, weights = gauss_legendre(10)
    n = 4000
    t = torch.as_tensor(np.repeat(nodes, n))
    x = torch.as_tensor(rng.standard_normal((len(t), 2)))
    mass = torch.exp(g * t)
    c = torch.as_tensor(np.repeat(weights / n, n)) * mass
    x0, x1 = torch.as_tensor(rng.standard_normal((20000, 2))), torch.as_tensor(rng.standard_normal((20000, 2)))
    _, ds, grad, _ = derivatives(phi, t, x, create_graph=False)
    with torch.no_grad():
        p0, p1 = phi(torch.zeros(len(x0)), x0), phi(torch.ones(len(x1)), x1)
        s_val = phi(t, x)
    ev = Evaluated(s=s_val, ds_dt=ds, grad=grad, c=c, s0=p0, c0=torch.full((len(x0),), 1 / len(x0)), s1=p1,
                   c1=torch.full((len(x1),), np.exp(g) / len(x1)), t=t)
    # L(s* + εφ) − L(s*) for s* ≡ g: linear part = ε[E0φ − E1φ + ∫E(∂_tφ + g φ)], quadratic = ½ε²∫E(|∇φ|² + φ²)
    lin = (torch.sum(ev.c0 * p0) - torch.sum(ev.c1 * p1) + torch.sum(c * (ds + g * s_val))).item()
    row = (ds + g * s_val).numpy() * np.exp(g * t.numpy())
    se = np.sqrt(p0.var().item() / len(x0) + np.exp(2 * g) * p1.var().item() / len(x1)
                 + sum(weights[j] ** 2 * row[j * n:(j + 1) * n].var() / n for j in range(len(nodes))))
    assert abs(lin) < 5 * se
    ev_star = Evaluated(s=torch.full_like(s_val, g), ds_dt=torch.zeros_like(ds), grad=torch.zeros_like(grad), c=c,
                        s0=torch.full_like(p0, g), c0=ev.c0, s1=torch.full_like(p1, g), c1=ev.c1, t=t)
    eps = 0.4
    ev_pert = Evaluated(s=g + eps * s_val, ds_dt=eps * ds, grad=eps * grad, c=c, s0=g + eps * p0, c0=ev.c0,
                        s1=g + eps * p1, c1=ev.c1, t=t)
    diff = (action_loss(ev_pert, kappa=1.0) - action_loss(ev_star, kappa=1.0)).item()
    quad = 0.5 * eps ** 2 * torch.sum(c * (torch.sum(grad ** 2, -1) + s_val ** 2)).item()
    np.testing.assert_allclose(diff, quad, atol=eps * 5 * se)


@pytest.mark.parametrize("name", ["none", "sine"])
def test_time_weight_derivative(name):
    tau = torch.linspace(0, 1, 11)
    out = time_weight(name, tau)
    if name == "none":
        assert out is None
        return
    w, dw, w0, w1 = out
    custom = time_weight(lambda s: torch.sin(np.pi * s), tau)
    np.testing.assert_allclose(custom[1].numpy(), dw.numpy(), atol=1e-12)
    np.testing.assert_allclose(custom[0].numpy(), w.numpy(), atol=1e-12)
