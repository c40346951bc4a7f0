"""Short fits recover known fields (docs/theory.md#the-action-matching-loss, docs/benchmarks.md): Barenblatt, OU
mixture, rotational OU (AM target, not the physical velocity), entropic AM (the SDE drift), unbalanced AM (a
constant growth rate).

Small networks (64 x 3) and 0.6k–1.5k steps: each fit takes seconds to ~20 s on one core. The error measure is the
q-weighted relative error Σ_t E_q‖v − v*‖² / Σ_t E_q‖v*‖² over 11 times on fresh exact samples (3000 per time);
its Monte-Carlo noise is ~1% of its value, far below the margins of the thresholds.
"""

import numpy as np

import amphys

FAST = dict(hidden=64, depth=3, batch_size=512, progress=False)


def relative_error(field, target, system, times, n=3000, seed=11):
    rng = np.random.default_rng(seed)
    num = den = 0.0
    for t in times:
        x = system.sample(t, n, rng)
        a, b = field(t, x), target(t, x)
        num += np.sum((a - b) ** 2)
        den += np.sum(b ** 2)
    return num / den


def test_barenblatt_2d_with_a_ground_truth_sampler():
    system = amphys.systems.get("barenblatt", dim=2, m=2.0)
    data = amphys.generate(system, np.linspace(1.0, 2.0, 11), 500, seed=0)
    model = amphys.fit(data, sampler=system, steps=800, **FAST)
    assert model.config.interpolant == "sampler"
    err = relative_error(model.velocity, system.am_velocity, system, np.linspace(1.0, 2.0, 11))
    assert err < 0.10
    # the loss plateau is −K* (docs/theory.md#the-action-matching-loss): K* = ½∫E|βx/t|² dt, within the noise of
    # the last steps
    loss = model.history["loss"].values[-200:]
    t = np.linspace(1.0, 2.0, 201)
    k_star = 0.5 * np.trapezoid(0.25 ** 2 * np.array([system.second_moment(tt) for tt in t]) / t ** 2, t)
    np.testing.assert_allclose(loss.mean(), -k_star, atol=5 * loss.std() / np.sqrt(len(loss)) + 0.1 * k_star)


def test_barenblatt_2d_from_snapshots_only():
    """Measured-data setting: no sampler, samples between snapshots from the neighbouring snapshots (mixture
    path), 10% held out for model selection. Finite data: looser bound than with fresh samples."""
    system = amphys.systems.get("barenblatt", dim=2, m=2.0)
    data = amphys.generate(system, np.linspace(1.0, 2.0, 11), 2000, seed=0)
    model = amphys.fit(data, steps=1500, **FAST)
    assert model.config.interpolant in ("ot", "mixture") and "held-out" in model.message
    assert relative_error(model.velocity, system.am_velocity, system, np.linspace(1.0, 2.0, 11)) < 0.15


def test_ou_mixture_2d():
    system = amphys.systems.get("ou-mixture", drift=1.0, diffusion=0.5, weights=[0.3, 0.2, 0.25, 0.25],
                                means=[[2, 0], [0, 2], [-2, 0], [0, -2]], covs=[(0.3 * np.eye(2)).tolist()] * 4,
                                t_span=(0.0, 1.0))
    data = amphys.generate(system, np.linspace(0.0, 1.0, 11), 200, seed=0)
    model = amphys.fit(data, sampler=system, steps=1000, lr=3e-3, **FAST)
    assert relative_error(model.velocity, system.am_velocity, system, np.linspace(0.0, 1.0, 11)) < 0.10


def test_rotational_ou_learns_the_am_target_not_the_physical_velocity():
    """OU-G (docs/benchmarks.md): non-symmetric drift, anisotropic diffusion. The probability-flow velocity is not a
    gradient; AM must learn the Lyapunov field v* = μ̇ + S(x − μ). Quadrature nodes: the OU sampler caches its
    Gaussian state per time."""
    system = amphys.systems.get("ou", drift=[[0.5, -2.0], [2.0, 0.5]], diffusion=[[0.5, 0.0], [0.0, 0.05]],
                                mean0=[3.0, 0.0], cov0=0.1, t_span=(0.0, 2.0))
    assert not system.velocity_is_gradient
    data = amphys.generate(system, np.linspace(0.0, 2.0, 11), 200, seed=0)
    model = amphys.fit(data, sampler=system, steps=800, time_integral="quadrature", **FAST)
    times = np.linspace(0.0, 2.0, 11)
    to_target = relative_error(model.velocity, system.am_velocity, system, times)
    to_physical = relative_error(model.velocity, system.velocity, system, times)
    gap = relative_error(system.am_velocity, system.velocity, system, times)  # ≈ 0.15: the non-gradient part
    assert to_target < 0.05
    assert to_physical > 0.5 * gap and to_physical > 3 * to_target


def test_entropic_am_recovers_the_sde_drift():
    """dX = −AX dt + σ dW with symmetric A, σ² = 2δ: entropic AM with the known σ learns ∇s = −Ax (the drift),
    which differs from the probability-flow velocity −Ax − δ∇log q by ~50% here."""
    A, delta = np.diag([1.0, 0.5]), 0.5
    system = amphys.systems.get("ou", drift=A.tolist(), diffusion=delta, mean0=[2.0, -1.0], cov0=0.3,
                                t_span=(0.0, 1.0))
    data = amphys.generate(system, np.linspace(0.0, 1.0, 11), 200, seed=0)
    model = amphys.fit(data, sampler=system, steps=400, time_integral="quadrature", loss="entropic",
                       sigma=np.sqrt(2 * delta), **FAST)
    times = np.linspace(0.0, 1.0, 11)

    def drift(t, x):
        return -x @ A.T

    assert relative_error(model.velocity, drift, system, times) < 0.05
    assert relative_error(model.velocity, system.velocity, system, times) > 0.3


def test_unbalanced_am_recovers_a_constant_growth_rate():
    """q_t = e^{gt} N(0, I): the unbalanced target is s* ≡ g (no transport); pushed log-weights grow as g t."""
    g = 0.7
    rng = np.random.default_rng(0)
    times = np.linspace(0.0, 1.0, 11)
    n = 1000
    data = amphys.make_snapshots(np.repeat(times, n), rng.normal(size=(times.size * n, 2)),
                                 weight=np.repeat(np.exp(g * times), n))
    model = amphys.fit(data, steps=800, **FAST)
    assert model.config.loss == "unbalanced"
    x = rng.normal(size=(2000, 2))
    growth = np.array([model.potential(t, x).mean() for t in times])
    np.testing.assert_allclose(growth, g, rtol=0.15)
    speed2 = np.mean([np.mean(np.sum(model.velocity(t, x) ** 2, axis=1)) for t in times])
    assert speed2 < 0.02 * g ** 2 * 2  # no spurious transport (|v|² ≪ the scale g² ℓ² of the growth term)
    out = model.push_weighted(x[:300], 0.0, [0.5, 1.0])
    np.testing.assert_allclose(out.log_weight.mean(axis=1), [0.5 * g, g], rtol=0.05)
