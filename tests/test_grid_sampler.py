"""Grid helpers (amphys/systems/grid/): grids, multilinear interpolation, time brackets, exact grid sampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from amphys.errors import InputError
from amphys.systems.grid import Grid, GridDensity, interpolate, make_grid, sample_mixture, time_bracket

# Goodness-of-fit tests with a fixed seed: a correct sampler gives p ~ U(0, 1); we fail below 1e-3 (a wrong
# sampler with these sample sizes gives p < 1e-10, see the negative controls below).
P_MIN = 1e-3


def test_grid_geometry():
    g = Grid([[-1.0, 1.0], [0.0, 3.0]], (4, 6))
    np.testing.assert_allclose(g.h, [0.5, 0.5])
    np.testing.assert_allclose(g.axes()[0], [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(g.axes()[1], 0.25 + 0.5 * np.arange(6))
    assert g.cell_volume == 0.25 and g.size == 24 and g.dim == 2
    pts = g.points()
    assert pts.shape == (24, 2)
    np.testing.assert_allclose(pts[1], [-0.75, 0.75])  # C order: last axis fastest
    f = g.staggered(0)
    np.testing.assert_allclose(f.axes()[0], [-1.0, -0.5, 0.0, 0.5, 1.0])  # faces, walls included
    np.testing.assert_allclose(f.axes()[1], g.axes()[1])


def test_make_grid_arguments():
    g = make_grid(2, None, None, default_n=16, default_half_width=(2.0, 3.0), periodic=True)
    np.testing.assert_allclose(g.box, [[-2, 2], [-3, 3]])
    assert g.shape == (16, 16) and g.periodic
    assert make_grid(2, (10, 12), 5.0, default_n=16, default_half_width=1, periodic=False).shape == (10, 12)
    np.testing.assert_allclose(make_grid(1, 9, (0, 2), default_n=16, default_half_width=1, periodic=False).box,
                               [[0, 2]])
    with pytest.raises(InputError, match="at least 8 cells"):
        make_grid(1, 4, None, default_n=16, default_half_width=1, periodic=False)
    with pytest.raises(InputError, match="n_grid"):
        make_grid(2, (10, 10, 10), None, default_n=16, default_half_width=1, periodic=False)
    with pytest.raises(InputError, match="n_grid"):
        make_grid(2, 10.5, None, default_n=16, default_half_width=1, periodic=False)
    with pytest.raises(InputError, match="lo < hi"):
        make_grid(2, 10, [[1, 0], [0, 1]], default_n=16, default_half_width=1, periodic=False)
    with pytest.raises(InputError, match="box"):
        make_grid(2, 10, [1, 2, 3], default_n=16, default_half_width=1, periodic=False)


def test_interpolation_exact_for_multilinear_and_order_two():
    rng = np.random.default_rng(0)
    g = Grid([[-1.0, 2.0], [0.0, 1.0]], (7, 5))
    X, Y = g.mesh()
    f = 1.0 + 2.0 * X - 3.0 * Y + 0.5 * X * Y
    lo, hi = g.lo + g.h / 2, g.hi - g.h / 2
    x = lo + (hi - lo) * rng.random((200, 2))
    np.testing.assert_allclose(interpolate(g, f, x), 1 + 2 * x[:, 0] - 3 * x[:, 1] + 0.5 * x[:, 0] * x[:, 1],
                               rtol=1e-13, atol=1e-13)
    # several fields at once, and fill outside the hull of the centres (bounded grid)
    both = interpolate(g, np.stack([f, 2 * f], axis=-1), np.array([[0.0, 0.5], [1.99, 0.5]]), fill=-7.0)
    np.testing.assert_allclose(both[0, 1], 2 * both[0, 0])
    np.testing.assert_allclose(both[1], [-7.0, -7.0])
    # smooth periodic function: error ∝ h² (observed order from 3 grids)
    errs = []
    for n in (16, 32, 64):
        gp = Grid([[0.0, 2 * np.pi]], (n,), periodic=True)
        xs = rng.random((500, 1)) * 2 * np.pi
        errs.append(np.abs(interpolate(gp, np.sin(3 * gp.axes()[0]), xs) - np.sin(3 * xs[:, 0])).max())
    order = np.polyfit(np.log([16, 32, 64]), np.log(errs), 1)[0]
    assert -2.3 < order < -1.8, (errs, order)
    # periodic wrap: the point just below hi interpolates between the last and the first centre
    gp = Grid([[0.0, 1.0]], (4,), periodic=True)
    np.testing.assert_allclose(interpolate(gp, np.array([1.0, 2.0, 3.0, 5.0]), np.array([[0.0]])), [3.0])
    np.testing.assert_allclose(interpolate(gp, np.array([1.0, 2.0, 3.0, 5.0]), np.array([[1.5]])), [0.0])


def test_time_bracket():
    times = np.array([0.0, 0.5, 1.0, 2.0])
    assert time_bracket(times, 0.0) == (0, 0.0)
    k, th = time_bracket(times, 1.5)
    assert k == 2
    np.testing.assert_allclose(th, 0.5)
    assert time_bracket(times, 2.0) == (2, 1.0)
    # linear blending is exact for linear-in-time data
    data = 3.0 * times - 1.0
    k, th = time_bracket(times, 0.8)
    np.testing.assert_allclose((1 - th) * data[k] + th * data[k + 1], 3 * 0.8 - 1, rtol=1e-14)
    with pytest.raises(InputError, match="expected a time in"):
        time_bracket(times, 2.5)


def test_cells_sampler_matches_cell_masses_chi_square():
    rng = np.random.default_rng(1)
    g = Grid([[-1.0, 1.0], [0.0, 2.0]], (12, 10))
    q = rng.gamma(2.0, size=g.shape)
    q[3, 4] = 0.0  # an empty cell must stay empty
    dens = GridDensity(g, q)
    n = 200_000
    x = dens.sample(n, np.random.default_rng(2), method="cells")
    assert x.shape == (n, 2)
    idx = np.floor((x - g.lo) / g.h).astype(int)
    counts = np.zeros(g.shape)
    np.add.at(counts, (idx[:, 0], idx[:, 1]), 1)
    assert counts[3, 4] == 0
    expected = n * dens.cell_masses()
    keep = expected > 0
    p = stats.chisquare(counts[keep], expected[keep]).pvalue
    assert p > P_MIN, p
    # negative control: the same test rejects samples of a slightly different density
    wrong = GridDensity(g, q * (1 + 0.1 * (np.arange(g.shape[1]) > 4))).sample(n, np.random.default_rng(3), "cells")
    idx = np.floor((wrong - g.lo) / g.h).astype(int)
    counts = np.zeros(g.shape)
    np.add.at(counts, (idx[:, 0], idx[:, 1]), 1)
    assert stats.chisquare(counts[keep], expected[keep]).pvalue < 1e-10
    # jitter: the position inside the cell is uniform
    frac = ((x - g.lo) / g.h) % 1.0
    assert stats.kstest(frac[:, 0], "uniform").pvalue > P_MIN


def _linear_cdf(centres, q, x):
    """Exact CDF of the piecewise-linear interpolant of ``q`` between ``centres`` (zero outside their hull)."""
    h = centres[1] - centres[0]
    seg = 0.5 * h * (q[:-1] + q[1:])
    total = seg.sum()
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    j = np.clip(np.floor((x - centres[0]) / h).astype(int), 0, len(q) - 2)
    u = np.clip((x - centres[j]) / h, 0, 1)
    partial = h * (q[j] * u + 0.5 * (q[j + 1] - q[j]) * u**2)
    return (cum[j] + partial) / total


def test_multilinear_sampler_exact_1d_ks():
    rng = np.random.default_rng(4)
    g = Grid([[0.0, 3.0]], (15,))
    q = rng.gamma(1.5, size=15)
    dens = GridDensity(g, q)
    x = dens.sample(50_000, np.random.default_rng(5), method="multilinear")[:, 0]
    assert x.min() >= g.axes()[0][0] and x.max() <= g.axes()[0][-1]
    cdf = lambda s: _linear_cdf(g.axes()[0], q, s)
    assert stats.kstest(x, cdf).pvalue > P_MIN
    # the piecewise-constant sampler is a different density: the same test rejects it
    xc = dens.sample(50_000, np.random.default_rng(5), method="cells")[:, 0]
    assert stats.kstest(xc, cdf).pvalue < 1e-6
    # pdf is the interpolant, integrating to 1
    s = np.linspace(0.1, 2.9, 28_001)[:, None]  # the hull of the centres (the pdf jumps to 0 outside)
    np.testing.assert_allclose(np.trapezoid(dens.pdf(s), s[:, 0]), 1.0, rtol=1e-9)
    np.testing.assert_allclose(dens.pdf(g.points()), dens.q.ravel(), rtol=1e-12)


def test_multilinear_sampler_2d_dual_cells_and_corners():
    rng = np.random.default_rng(6)
    g = Grid([[0.0, 1.0], [0.0, 2.0]], (6, 8))
    q = rng.gamma(1.0, size=g.shape)
    dens = GridDensity(g, q)
    n = 200_000
    x = dens.sample(n, np.random.default_rng(7))
    s = (x - g.lo) / g.h - 0.5  # coordinates in units of the centre spacing
    j = np.floor(s).astype(int)
    counts = np.zeros((5, 7))
    np.add.at(counts, (j[:, 0], j[:, 1]), 1)
    dual = 0.25 * (q[:-1, :-1] + q[1:, :-1] + q[:-1, 1:] + q[1:, 1:])
    assert stats.chisquare(counts.ravel(), n * (dual / dual.sum()).ravel()).pvalue > P_MIN
    # inside one dual cell, the x-marginal is the linear interpolant of the corner sums
    cell = (j[:, 0] == 2) & (j[:, 1] == 3)
    u = s[cell, 0] - 2
    a, b = q[2, 3] + q[2, 4], q[3, 3] + q[3, 4]
    cdf = lambda t: (a * t + 0.5 * (b - a) * t**2) / (0.5 * (a + b))
    assert stats.kstest(u, cdf).pvalue > P_MIN


def test_samplers_3d():
    rng = np.random.default_rng(10)
    g = Grid([[0.0, 1.0], [-1.0, 1.0], [0.0, 0.5]], (4, 5, 3))
    q = rng.gamma(2.0, size=g.shape)
    dens = GridDensity(g, q)
    n = 100_000
    for method, shape, masses in [("cells", g.shape, dens.cell_masses()),
                                  ("multilinear", (3, 4, 2), dens._dual / dens._dual.sum())]:
        x = dens.sample(n, np.random.default_rng(11), method=method)
        s = (x - g.lo) / g.h - (0.0 if method == "cells" else 0.5)
        j = np.floor(s).astype(int)
        counts = np.zeros(shape)
        np.add.at(counts, tuple(j.T), 1)
        assert stats.chisquare(counts.ravel(), n * masses.ravel()).pvalue > P_MIN, method
    # pdf: the trilinear interpolant, equal to q at the centres
    np.testing.assert_allclose(dens.pdf(g.points()), dens.q.ravel(), rtol=1e-12)


def test_periodic_multilinear_sampler_wraps():
    g = Grid([[0.0, 1.0]], (10,), periodic=True)
    q = np.zeros(10)
    q[0] = q[-1] = 1.0  # mass across the seam
    dens = GridDensity(g, q)
    x = dens.sample(20_000, np.random.default_rng(8))[:, 0]
    assert np.all((x >= 0) & (x < 1))
    # support: the dual cells touching a centre with mass, (8, 9), (9, 0) across the seam, and (0, 1)
    assert np.all((x <= 0.15) | (x >= 0.85))
    # the seam dual cell has both corners at 1: half of the mass (binomial proportions, 5 standard errors)
    tol = 5 * 0.5 / np.sqrt(20_000)
    np.testing.assert_allclose(np.mean((x < 0.05) | (x > 0.95)), 0.5, atol=tol)
    np.testing.assert_allclose(np.mean(x < 0.5), 0.5, atol=tol)


def test_sample_mixture_weights():
    g = Grid([[0.0, 1.0]], (8,))
    left = GridDensity(g, np.array([1, 1, 1, 0, 0, 0, 0, 0.0]))
    right = GridDensity(g, np.array([0, 0, 0, 0, 0, 1, 1, 1.0]))
    x = sample_mixture([(0.3, left), (0.7, right)], 40_000, np.random.default_rng(9))
    # binomial proportion: 5 standard errors
    np.testing.assert_allclose(np.mean(x[:, 0] > 0.5), 0.7, atol=5 * np.sqrt(0.21 / 40_000))


def test_grid_density_bad_input():
    g = Grid([[0.0, 1.0]], (4,))
    with pytest.raises(InputError, match="non-negative"):
        GridDensity(g, np.array([1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(InputError, match="non-negative"):
        GridDensity(g, np.array([1.0, np.nan, 1.0, 1.0]))
    with pytest.raises(InputError, match="zero total mass"):
        GridDensity(g, np.zeros(4))
    with pytest.raises(InputError, match="shape"):
        GridDensity(g, np.ones(5))
    with pytest.raises(InputError, match="method"):
        GridDensity(g, np.ones(4)).sample(3, np.random.default_rng(0), method="nearest")
