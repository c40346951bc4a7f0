"""Analytic Schrödinger systems: free Gaussian packet and harmonic oscillator (docs/theory.md#schrodinger)."""

import json

import numpy as np
import pytest
from helpers import max_asymmetry, mc_tolerance
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.polynomial.hermite import hermroots
from schrodinger_checks import circulation, schrodinger_residual, velocity_from_psi
from scipy import stats
from scipy.special import eval_hermite, factorial

import amphys.systems as systems
from amphys.errors import InputError, UnknownNameError
from amphys.systems.gaussian_packet import GaussianPacket
from amphys.systems.harmonic import HarmonicOscillator
from amphys.systems.schrodinger.hermite import HermiteDensitySampler

finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def packet_params(draw):
    d = draw(st.sampled_from([1, 2, 3]))
    vec = lambda lo, hi: draw(st.lists(st.floats(lo, hi, **finite), min_size=d, max_size=d))
    return dict(dim=d, x0=vec(-3, 3), p0=vec(-2, 2), sigma0=vec(0.3, 2.0),
                mass=draw(st.floats(0.5, 2.0)), hbar=draw(st.floats(0.5, 2.0)))


@st.composite
def oscillator_params(draw, states=("coherent", "squeezed", "superposition", "vortex")):
    state = draw(st.sampled_from(states))
    d = 2 if state == "vortex" else draw(st.sampled_from([1, 2, 3]))
    kw = dict(state=state, dim=d, omega=draw(st.floats(0.5, 2.0)), mass=draw(st.floats(0.5, 2.0)),
              hbar=draw(st.floats(0.5, 2.0)))
    if state in ("coherent", "squeezed"):
        kw["x0"] = draw(st.lists(st.floats(-2, 2, **finite), min_size=d, max_size=d))
        kw["p0"] = draw(st.lists(st.floats(-2, 2, **finite), min_size=d, max_size=d))
    if state == "squeezed":
        kw["squeeze"] = draw(st.lists(st.floats(0.3, 3.0), min_size=d, max_size=d))
    if state == "superposition":
        c = draw(st.lists(st.floats(-1, 1, **finite), min_size=2, max_size=6))
        assume(sum(ci * ci for ci in c) > 0.05)
        kw["coefficients"] = c
    return kw


def _potential(sys):
    if isinstance(sys, HarmonicOscillator):
        return sys.potential_energy
    return lambda x: np.zeros(x.shape[0])


def _far_from_nodes(sys, t, margin=0.05):
    """Superpositions: ψ/φ_0 is a polynomial in ξ_1 = x_1/ℓ (Hermite series, numpy's hermroots); require its
    roots to stay ``margin`` away from the real axis, i.e. t away from a node instant (docs/theory.md#schrodinger,
    "Nodes at isolated instants")."""
    if getattr(sys, "state", None) != "superposition":
        return True
    c = np.asarray(sys.params()["coefficients"])
    k = np.arange(c.size)
    herm = c * np.exp(-1j * sys.omega * k * t) / np.sqrt(2.0 ** k * factorial(k))
    herm = herm[: np.flatnonzero(c)[-1] + 1]
    roots = hermroots(herm) if herm.size > 1 else np.array([1j])
    return np.min(np.abs(roots.imag)) > margin


# -- the wavefunction solves the Schrödinger equation, and q, v derive from it -------------------------------
@given(packet_params(), st.floats(-3, 3))
def test_packet_solves_schrodinger(params, t):
    sys = GaussianPacket(**params)
    x = sys.sample(t, 200, rng=1)
    res = schrodinger_residual(sys.psi, _potential(sys), t, x, hbar=sys.hbar, mass=sys.mass)
    # FD truncation ≈1e-7 relative (see schrodinger_checks); a wrong phase or width gives O(1).
    assert np.max(res) < 1e-4


@given(oscillator_params(), st.floats(-4, 8))
def test_oscillator_solves_schrodinger(params, t):
    sys = HarmonicOscillator(**params)
    assume(_far_from_nodes(sys, t))
    x = sys.sample(t, 200, rng=2)
    res = schrodinger_residual(sys.psi, _potential(sys), t, x, hbar=sys.hbar, mass=sys.mass)
    # FD round-off grows in the tails of narrow states (squeezed, m = 2, ħ = 0.5: 1.1e-4 at one of 200 samples,
    # 3e-6 typical); a wrong phase or width gives O(1)
    assert np.max(res) < 1e-3


@given(st.one_of(packet_params(), oscillator_params()), st.floats(0.1, 6))
def test_density_and_velocity_derive_from_psi(params, t):
    sys = HarmonicOscillator(**params) if "state" in params else GaussianPacket(**params)
    assume(_far_from_nodes(sys, t))
    x = sys.sample(t, 200, rng=3)
    np.testing.assert_allclose(np.exp(sys.log_density(t, x)), np.abs(sys.psi(t, x)) ** 2, rtol=1e-10)
    v_fd = velocity_from_psi(sys.psi, t, x, hbar=sys.hbar, mass=sys.mass)
    v = sys.velocity(t, x)
    # central difference h = 1e-6 of ψ: truncation ~1e-12, round-off ~1e-10 relative to |∇ψ/ψ|
    np.testing.assert_allclose(v, v_fd, rtol=1e-5, atol=1e-6 * (1 + np.abs(v_fd).max()))


# -- (a) strong continuity residual at samples ---------------------------------------------------------------
# pointwise continuity (∂_t log q + ∇·v + v·∇log q = 0 at samples): tests/test_systems_conformance.py, for
# every system with a closed-form density


# -- closed forms of docs/theory.md#schrodinger, written out independently ---------------------------------------------
def test_packet_matches_physics_formulas():
    m, hbar, s0, x0, p0 = 1.3, 0.8, 0.7, -0.5, 1.5
    sys = GaussianPacket(x0=x0, p0=p0, sigma0=s0, mass=m, hbar=hbar)
    ts, v0 = 2 * m * s0 ** 2 / hbar, p0 / m
    x = np.linspace(-4, 6, 41)[:, None]
    for t in (0.0, 0.6, 2.5):
        mu, var = x0 + v0 * t, s0 ** 2 * (1 + t ** 2 / ts ** 2)
        np.testing.assert_allclose(sys.log_density(t, x)[:, None],
                                   -0.5 * np.log(2 * np.pi * var) - (x - mu) ** 2 / (2 * var), rtol=1e-12)
        np.testing.assert_allclose(sys.velocity(t, x), v0 + (x - mu) * t / (ts ** 2 + t ** 2), rtol=1e-12)
        s_phys = v0 * x[:, 0] + (x[:, 0] - mu) ** 2 * t / (2 * (ts ** 2 + t ** 2))
        diff = sys.am_potential(t, x) - s_phys          # equal up to a function of t
        np.testing.assert_allclose(diff - diff[0], 0.0, atol=1e-12)


def test_squeezed_matches_physics_formulas():
    w, x0, s0 = 1.4, 2.0, 0.4
    sys = HarmonicOscillator(state="squeezed", omega=w, squeeze=s0 / np.sqrt(1 / (2 * w)))
    x = np.linspace(-3, 4, 29)[:, None]
    for t in (0.3, 1.0, 2.2):
        xc = x0 * np.cos(w * t)
        b2 = (1 / (2 * w * s0)) ** 2
        var = s0 ** 2 * np.cos(w * t) ** 2 + b2 * np.sin(w * t) ** 2
        rate = w * np.sin(2 * w * t) * (b2 - s0 ** 2) / (2 * var)
        np.testing.assert_allclose(sys.log_density(t, x)[:, None],
                                   -0.5 * np.log(2 * np.pi * var) - (x - xc) ** 2 / (2 * var), rtol=1e-12)
        np.testing.assert_allclose(sys.velocity(t, x), -x0 * w * np.sin(w * t) + (x - xc) * rate, rtol=1e-10)


def test_two_state_matches_physics_formulas():
    w, m, hbar = 1.5, 0.8, 1.2
    sys = HarmonicOscillator(state="superposition", omega=w, mass=m, hbar=hbar)
    x = np.linspace(-3, 3, 61)[:, None]
    xi = x[:, 0] * np.sqrt(m * w / hbar)
    for t in (0.5, 1.2, 1.9):
        c = np.cos(w * t)
        poly = 1 + 2 * xi ** 2 + 2 * np.sqrt(2) * xi * c
        q = np.sqrt(m * w / (np.pi * hbar)) * np.exp(-xi ** 2) * poly / 2
        np.testing.assert_allclose(np.exp(sys.log_density(t, x)), q, rtol=1e-12)
        v = -np.sqrt(2 * hbar * w / m) * np.sin(w * t) / poly
        np.testing.assert_allclose(sys.velocity(t, x)[:, 0], v, rtol=1e-10)
        s = -(hbar / m) * np.arctan2(np.sqrt(2) * xi * np.sin(w * t), 1 + np.sqrt(2) * xi * c)
        diff = sys.am_potential(t, x) - s
        np.testing.assert_allclose(diff - diff[0], 0.0, atol=1e-10)


# -- (b) mass by quadrature and sampler moments --------------------------------------------------------------
@given(st.one_of(packet_params(), oscillator_params()), st.floats(0.1, 6))
def test_mass_is_one(params, t):
    sys = HarmonicOscillator(**params) if "state" in params else GaussianPacket(**params)
    x = sys.sample(t, 2000, rng=5)
    lo, hi = x.mean(0) - 10 * x.std(0), x.mean(0) + 10 * x.std(0)    # tails beyond: < e^{-50}·poly
    n = {1: 801, 2: 161, 3: 61}[sys.dim]
    axes = [np.linspace(a, b, n) for a, b in zip(lo, hi, strict=True)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, sys.dim)
    cell = np.prod([ax[1] - ax[0] for ax in axes])
    # trapezoid on Gaussian-type integrands sampled ≥ ~3 points per σ: spectrally accurate (error < 1e-6)
    np.testing.assert_allclose(np.sum(np.exp(sys.log_density(t, grid))) * cell, 1.0, rtol=1e-5)


@given(packet_params(), st.floats(-2, 3))
def test_packet_sampler_moments(params, t):
    sys = GaussianPacket(**params)
    x = sys.sample(t, 20000, rng=6)
    ts = 2 * sys.mass * np.asarray(params["sigma0"]) ** 2 / sys.hbar
    mu = np.asarray(params["x0"]) + np.asarray(params["p0"]) / sys.mass * t
    var = np.asarray(params["sigma0"]) ** 2 * (1 + t ** 2 / ts ** 2)
    assert np.all(np.abs(x.mean(0) - mu) <= mc_tolerance(x))
    # sample variance of a Gaussian: standard error var·sqrt(2/(n-1)); 5 of them
    assert np.all(np.abs(x.var(0, ddof=1) - var) <= 5 * var * np.sqrt(2 / (x.shape[0] - 1)))


@given(oscillator_params(states=("coherent", "squeezed")), st.floats(0, 7))
def test_gaussian_oscillator_ehrenfest(params, t):
    sys = HarmonicOscillator(**params)
    w, m, hbar = sys.omega, sys.mass, sys.hbar
    x0, p0 = np.asarray(params["x0"]), np.asarray(params["p0"])
    s0 = np.sqrt(hbar / (2 * m * w)) * np.asarray(params.get("squeeze", 1.0))
    xc = x0 * np.cos(w * t) + p0 / (m * w) * np.sin(w * t)
    var = s0 ** 2 * np.cos(w * t) ** 2 + (hbar / (2 * m * w * s0)) ** 2 * np.sin(w * t) ** 2
    x = sys.sample(t, 20000, rng=7)
    assert np.all(np.abs(x.mean(0) - xc) <= mc_tolerance(x))
    assert np.all(np.abs(x.var(0, ddof=1) - var) <= 5 * var * np.sqrt(2 / (x.shape[0] - 1)))


@given(oscillator_params(states=("superposition",)), st.floats(0, 7))
def test_superposition_ehrenfest(params, t):
    sys = HarmonicOscillator(**params)
    c = np.asarray(params["coefficients"]) / np.linalg.norm(params["coefficients"])
    ell = np.sqrt(sys.hbar / (sys.mass * sys.omega))
    # <φ_k|ξ|φ_{k+1}> = sqrt((k+1)/2): ⟨x_1⟩ = ℓ √2 Σ c_k c_{k+1} sqrt(k+1) cos ωt
    mean1 = ell * np.sqrt(2) * np.sum(c[:-1] * c[1:] * np.sqrt(np.arange(1, c.size))) * np.cos(sys.omega * t)
    x = sys.sample(t, 20000, rng=8)
    tol = mc_tolerance(x)
    assert abs(x[:, 0].mean() - mean1) <= tol[0]
    assert np.all(np.abs(x[:, 1:].mean(0)) <= tol[1:])
    var = ell ** 2 / 2                        # ground state along the other axes
    assert np.all(np.abs(x[:, 1:].var(0, ddof=1) - var) <= 5 * var * np.sqrt(2 / (x.shape[0] - 1)))


def test_superposition_sampler_is_exact():
    """KS against the CDF of log_density by quadrature (1D), over several states and times."""
    cases = [([1, 1], 0.3), ([0.2, -0.5, 0.9, 0.1], 1.1), ([0, 0, 0, 1], 0.0), ([1, 0, 0.3, 0, 0, -0.6], 2.0)]
    for coefficients, t in cases:
        sys = HarmonicOscillator(state="superposition", coefficients=coefficients)
        grid = np.linspace(-10, 10, 20001)
        pdf = np.exp(sys.log_density(t, grid))
        cdf = np.concatenate([[0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
        x = sys.sample(t, 20000, rng=9)[:, 0]
        p = stats.kstest(x, lambda u, g=grid, c=cdf: np.interp(u, g, c)).pvalue
        assert p > 1e-4, (coefficients, t, p)


def test_hermite_density_sampler():
    """|φ_k|² sampler vs its CDF (scipy's Hermite polynomials, independent of the recurrence in the code)."""
    grid = np.linspace(-12, 12, 24001)
    for k in range(0, 9):
        pdf = eval_hermite(k, grid) ** 2 * np.exp(-grid ** 2) / (2 ** k * factorial(k) * np.sqrt(np.pi))
        cdf = np.concatenate([[0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
        np.testing.assert_allclose(cdf[-1], 1.0, rtol=1e-10)
        x = HermiteDensitySampler(k).sample(20000, np.random.default_rng(k))
        assert stats.kstest(x, lambda u, cdf=cdf: np.interp(u, grid, cdf)).pvalue > 1e-4, k


# -- (d) gradient structure ----------------------------------------------------------------------------------
@given(st.one_of(packet_params(), oscillator_params(states=("coherent", "squeezed", "superposition"))),
       st.floats(0.1, 6))
def test_am_potential_gradient_and_curl(params, t):
    sys = HarmonicOscillator(**params) if "state" in params else GaussianPacket(**params)
    assume(_far_from_nodes(sys, t))
    assert sys.velocity_is_gradient and sys.has_am_velocity and sys.has_am_potential
    x = sys.sample(t, 200, rng=10)
    grad = np.empty_like(x)
    for i in range(sys.dim):
        e = np.zeros(sys.dim)
        e[i] = 1e-6
        grad[:, i] = (sys.am_potential(t, x + e) - sys.am_potential(t, x - e)) / 2e-6
    v = sys.am_velocity(t, x)
    np.testing.assert_allclose(grad, v, rtol=1e-5, atol=1e-6 * (1 + np.abs(v).max()))
    if sys.dim > 1:
        assert max_asymmetry(sys.am_velocity, t, x) < 1e-6


@given(oscillator_params(states=("superposition",)), st.floats(0.1, 6))
def test_superposition_potential_is_continuous(params, t):
    """The branch of arg ψ is continuous along x_1: no 2π jumps on a fine line (polynomial_phase)."""
    sys = HarmonicOscillator(**params)
    assume(_far_from_nodes(sys, t))
    x1 = np.linspace(-5, 5, 20001) * sys.oscillator_length
    x = np.hstack([x1[:, None], np.zeros((x1.size, sys.dim - 1))])
    s = sys.am_potential(t, x)
    # steps of ∫v dx over dx = 5e-4 ℓ: a jump of 2πħ/m would stand out by orders of magnitude
    steps = np.diff(s)
    v = sys.velocity(t, x)[:, 0]
    np.testing.assert_allclose(steps, 0.5 * (v[1:] + v[:-1]) * np.diff(x1), atol=1e-3 * sys.hbar / sys.mass)


# -- the vortex control --------------------------------------------------------------------------------------
@given(st.floats(0.5, 2), st.floats(0.5, 2), st.floats(0.5, 2), st.floats(0, 7))
def test_vortex_circulation(omega, mass, hbar, t):
    sys = HarmonicOscillator(dim=2, state="vortex", omega=omega, mass=mass, hbar=hbar)
    assert not sys.velocity_is_gradient and not sys.has_am_velocity and not sys.has_am_potential
    c = sys.vortex_point(t)
    assert abs(sys.psi(t, c[None, :])[0]) < 1e-14
    ell = sys.oscillator_length
    for radius in (0.05 * ell, 0.5 * ell):
        gamma = circulation(sys.velocity, t, c, radius)
        np.testing.assert_allclose(gamma, 2 * np.pi * hbar / mass, rtol=1e-8)
    # a loop that does not enclose the node: zero; locally v is curl-free (the defect is topological)
    np.testing.assert_allclose(circulation(sys.velocity, t, -c, 0.5 * ell), 0.0, atol=1e-8)
    x = sys.sample(t, 200, rng=11)
    x = x[np.linalg.norm(x - c, axis=1) > 0.1 * ell]
    assert max_asymmetry(sys.velocity, t, x) < 1e-5


def test_vortex_kinetic_energy_and_rotation():
    sys = HarmonicOscillator(dim=2, state="vortex")
    # quadrature of q|v|² = |j|²/q (bounded) on a fine grid, then Monte Carlo
    g = np.linspace(-7, 7, 701)
    grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    for t in (0.0, 1.0, 4.0):
        q = np.exp(sys.log_density(t, grid))
        ke = np.sum(q * np.sum(sys.velocity(t, grid) ** 2, 1)) * (g[1] - g[0]) ** 2
        np.testing.assert_allclose(ke, 0.5, rtol=1e-3)      # grid error from the kink of |v|² at the node
        v2 = np.sum(sys.velocity(t, sys.sample(t, 100000, rng=12)) ** 2, 1)
        assert abs(v2.mean() - 0.5) <= mc_tolerance(v2)
        # rigid rotation at rate ω: q(t, R x) = q(0, x)
        R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        x = sys.sample(0.0, 500, rng=13)
        np.testing.assert_allclose(sys.log_density(t, x @ R.T), sys.log_density(0.0, x), rtol=1e-10,
                                   atol=1e-12)
    with pytest.raises(NotImplementedError, match="project_gradient"):
        sys.am_velocity(0.0, grid[:3])
    with pytest.raises(NotImplementedError, match="project_gradient"):
        sys.am_potential(0.0, grid[:3])


# -- defaults, registry and bad input ------------------------------------------------------------------------
def test_defaults_and_registry_roundtrip():
    spans = {"coherent": (0, 2 * np.pi), "squeezed": (0, 2 * np.pi),
             "superposition": (np.pi / 6, 5 * np.pi / 6), "vortex": (0, 2 * np.pi)}
    for state, span in spans.items():
        sys = systems.get("harmonic", state=state, dim=2 if state == "vortex" else 1)
        np.testing.assert_allclose(sys.t_span, span, rtol=1e-15)
        again = systems.get("harmonic", **json.loads(json.dumps(sys.params())))
        x = sys.sample(1.0, 50, rng=14)
        # (re-normalising stored coefficients may move the last bit)
        np.testing.assert_allclose(again.log_density(1.0, x), sys.log_density(1.0, x), rtol=1e-13)
    sq = HarmonicOscillator(state="squeezed")
    np.testing.assert_allclose(sq.sample(0.0, 40000, rng=15).std(), 0.4, rtol=0.02)  # S-HO (a): σ0 = 0.4
    pk = systems.get("gaussian-packet", dim=2, x0=[1, 2])
    assert json.loads(pk.params_json())["x0"] == [1.0, 2.0] and pk.t_span == (0.0, 1.0)
    assert systems.get("harmonic", t_span=(1, 2)).t_span == (1.0, 2.0)


def test_bad_input_misc():
    with pytest.raises(UnknownNameError, match="did you mean 'squeezed'"):
        systems.get("harmonic", state="squeeze")
    with pytest.raises(InputError, match="sigma0"):
        GaussianPacket(sigma0=0.0)
    with pytest.raises(InputError, match="x0"):
        GaussianPacket(dim=2, x0=[1.0, np.nan])
    with pytest.raises(InputError, match="hbar"):
        GaussianPacket(hbar=0.0)
    sys = HarmonicOscillator(dim=2)
    with pytest.raises(InputError, match=r"shape \(n, 2\)"):
        sys.log_density(0.0, np.zeros((3, 3)))
    with pytest.raises(InputError, match="finite scalar time"):
        sys.velocity(np.nan, np.zeros((3, 2)))
    with pytest.raises(InputError, match="non-negative integer"):
        sys.sample(0.0, -1)
    with pytest.raises(InputError, match="only for state 'vortex'"):
        sys.vortex_point(0.0)
    assert sys.sample(0.0, 0, rng=0).shape == (0, 2)
    np.testing.assert_array_equal(sys.sample(0.5, 7, rng=3), sys.sample(0.5, 7, rng=3))
