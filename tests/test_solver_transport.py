"""Transport: the ODE push against the exact Barenblatt flow map, log-weights, and Euler–Maruyama moments."""

import numpy as np
import pytest
import torch

from amphys.errors import InputError
from amphys.solver.transport import push_ode, push_sde

BETA = 0.25  # Barenblatt d = 2, m = 2: v = βx/t, X_t = X_{t0} (t/t0)^β (docs/theory.md#porous-medium)


def velocity(t, x):
    return BETA * x / t


@pytest.mark.parametrize("method, tol", [("dopri5", 1e-7), ("rk4", 1e-7), ("euler", 5e-3)])
def test_ode_matches_the_flow_map_both_directions(method, tol):
    x0 = torch.as_tensor(np.random.default_rng(0).normal(size=(50, 2)))
    times = np.array([1.7, 1.0, 2.0, 0.6, 1.3])  # unsorted; 0.6 is before t0 = 1.3 (integrated backwards)
    out = push_ode(velocity, x0, 1.3, times, method=method, rtol=1e-10, atol=1e-12,
                   step_size=0.001 if method != "dopri5" else None)
    assert out.shape == (5, 50, 2)
    exact = np.stack([x0.numpy() * (t / 1.3) ** BETA for t in times])
    np.testing.assert_allclose(out.numpy(), exact, atol=tol, rtol=tol)
    np.testing.assert_array_equal(out[4].numpy(), x0.numpy())


def test_log_weights_integrate_the_growth_rate():
    x0 = torch.zeros(10, 2, dtype=torch.float64)
    x, lw = push_ode(velocity, x0 + 1.0, 1.0, [2.0, 0.5], growth=lambda t, x: 0.3 + 0.0 * x[:, 0] + 0.2 * t)
    np.testing.assert_allclose(lw[0].numpy(), 0.3 * 1.0 + 0.1 * (4 - 1), rtol=1e-6)
    np.testing.assert_allclose(lw[1].numpy(), -0.3 * 0.5 - 0.1 * (1 - 0.25), rtol=1e-6)
    np.testing.assert_allclose(x[0].numpy(), 2.0 ** BETA, rtol=1e-6)


def test_euler_maruyama_reproduces_ou_moments():
    """dX = −aX dt + σ dW: mean e^{−at}x0 and variance σ²(1 − e^{−2at})/(2a); Euler–Maruyama with dt has
    O(dt) bias, far below the Monte-Carlo tolerance at dt = 1e-3."""
    a, sigma, n = 1.5, 0.7, 20000
    x0 = torch.full((n, 1), 2.0, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    out = push_sde(lambda t, x: -a * x, lambda t: sigma, x0, 0.0, [0.5, 1.0], dt=1e-3, generator=gen).numpy()
    for k, t in enumerate([0.5, 1.0]):
        var = sigma ** 2 * (1 - np.exp(-2 * a * t)) / (2 * a)
        np.testing.assert_allclose(out[k].mean(), 2.0 * np.exp(-a * t), atol=5 * np.sqrt(var / n))
        np.testing.assert_allclose(out[k].var(), var, rtol=5 * np.sqrt(2 / n))
    with pytest.raises(InputError, match="forward in time"):
        push_sde(lambda t, x: -a * x, lambda t: sigma, x0, 0.5, [0.2], generator=gen)
