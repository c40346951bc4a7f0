"""Error anatomy (amphys.diagnostics.anatomy): a known error placed in a known region is attributed there, the
totals agree with the q-weighted metric of amphys.evaluate, and node distances are right where the node set is
known in closed form."""

from __future__ import annotations

import numpy as np
import pytest

import amphys
from amphys.diagnostics import anatomy_of_samples, error_anatomy, field_metrics
from amphys.errors import InputError

N = 10000


def _gaussian_case(seed=0, times=(0.0, 1.0)):
    """Samples of N(0, I_2) at each time with exact log-densities, target v* = x."""
    rng = np.random.default_rng(seed)
    times = np.asarray(times)
    x = rng.standard_normal((N * times.size, 2))
    t = np.repeat(times, N)
    logq = -0.5 * np.sum(x * x, axis=1) - np.log(2 * np.pi)
    return times, x, t, logq, x.copy()


def test_totals_match_the_field_metric():
    times, x, t, logq, vt = _gaussian_case()
    v = vt + np.array([0.3, -0.1])  # a constant offset: E‖v − v*‖² = 0.1 at every time
    a = anatomy_of_samples(times, x, v, vt, time=t, log_density=logq)
    ref = field_metrics(v[:N], vt[:N])
    assert float(a["velocity_error"][0]) == pytest.approx(ref["velocity_error"], rel=1e-12)
    assert float(a["mean_sq_error_total"]) == pytest.approx(0.1, rel=1e-12)
    # the pooled ratio Σ_t E‖v − v*‖² / Σ_t E‖v*‖², and every share sums to one
    assert float(a["velocity_error_total"]) == pytest.approx(0.1 / float(a["kinetic_energy_target_total"]))
    for name in ("error_share", "error_share_radius", "error_share_level", "mass_share_radius", "mass_share_level"):
        assert float(a[name].sum()) == pytest.approx(1.0, abs=1e-12)
    assert float(a["error_share_time_radius"].sum()) == pytest.approx(1.0, abs=1e-12)
    # a uniform error: each region's share of the error equals its share of the mass
    np.testing.assert_allclose(a["error_share_radius"].values, a["mass_share_radius"].values, atol=1e-12)


def test_an_error_at_one_time_is_attributed_to_that_time():
    times, x, t, logq, vt = _gaussian_case(times=(0.0, 0.5, 1.0))
    v = vt + (t == 0.5)[:, None] * 0.2
    a = anatomy_of_samples(times, x, v, vt, time=t, log_density=logq)
    np.testing.assert_allclose(a["error_share"].values, [0.0, 1.0, 0.0], atol=1e-12)
    assert float(a["velocity_error"][0]) == 0.0 and float(a["velocity_error"][1]) > 0


def test_an_error_in_a_radius_shell_is_attributed_to_that_shell():
    times, x, t, logq, vt = _gaussian_case()
    a0 = anatomy_of_samples(times, x, vt, vt, time=t, log_density=logq)
    ell = a0.attrs["length"]
    r = np.sqrt(np.sum((x - x.reshape(2, N, 2).mean(axis=1).repeat(N, axis=0)) ** 2, axis=1)) / ell
    shell = (r >= 1.0) & (r < 1.5)
    a = anatomy_of_samples(times, x, vt + shell[:, None] * 0.5, vt, time=t, log_density=logq)
    share = a["error_share_radius"].sel(radius=1.0).item()
    assert share == pytest.approx(1.0, abs=1e-12)
    assert a["mass_share_radius"].sel(radius=1.0).item() == pytest.approx(np.mean(shell), abs=1e-12)


def test_an_error_on_the_lowest_density_percent_leaves_the_99_percent_region_exact():
    """An error confined to the 1% of the mass with the lowest density: the q-weighted error sees it, the error on
    the region holding 99% of the mass is zero, and all of it is carried outside that region."""
    times, x, t, logq, vt = _gaussian_case()
    sliver = np.zeros(x.shape[0], dtype=bool)
    for k in range(2):   # the N/100 rows of lowest density at each time
        rows = np.arange(k * N, (k + 1) * N)
        sliver[rows[np.argsort(logq[rows])[: N // 100]]] = True
    a = anatomy_of_samples(times, x, vt + sliver[:, None] * 3.0, vt, time=t, log_density=logq)
    assert float(a["velocity_error_total"]) > 0.01
    assert float(a["velocity_error_mass_total"]) == 0.0
    assert float(a["error_share_outside_mass"]) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(a["error_share_level"].sel(level=[0.5, 0.9, 0.99]).values, 0.0, atol=1e-12)
    # the density-level bins hold the mass their names say (ranks of the exact density; ±2 samples per time)
    np.testing.assert_allclose(a["mass_share_level"].values, [0.5, 0.4, 0.09, 0.009, 0.001], atol=1e-4)


def test_weights_and_a_density_estimate():
    """Weighted rows (a quadrature rule) give the same totals as the samples they stand for; without a density the
    levels come from a nearest-neighbour estimate, which still orders core and tail (the core bin is inside 1.6ℓ
    for a Gaussian)."""
    times, x, t, logq, vt = _gaussian_case()
    v = vt * 1.1
    a = anatomy_of_samples(times, x, v, vt, time=t, log_density=logq)
    w = np.ones(x.shape[0]) * 3.0
    b = anatomy_of_samples(times, x, v, vt, time=t, log_density=logq, weights=w)
    assert float(b["velocity_error_total"]) == pytest.approx(float(a["velocity_error_total"]), rel=1e-12)
    c = anatomy_of_samples(times[:1], x[:4000], v[:4000], vt[:4000])
    assert c.attrs["density_source"] == "knn estimate"
    assert float(c["velocity_error_total"]) == pytest.approx(0.01, rel=1e-12)


def test_node_region_on_the_vortex_control():
    """An error placed within 0.35ℓ of the vortex of the 2-D oscillator is attributed to the node bins below
    0.35ℓ; the node distance is the distance to the vortex point there."""
    system = amphys.systems.get("harmonic", state="vortex", dim=2)
    t = 0.4
    p = system.vortex_point(t)
    near = p + np.array([[0.02, 0.0], [0.0, -0.05], [0.03, 0.04]])
    np.testing.assert_allclose(system.node_distance(t, near), np.linalg.norm(near - p, axis=1), rtol=1e-6)
    proj = {"n_grid": 48}
    ell = {}

    def model(tt, x):
        from amphys.diagnostics import am_target

        d = system.node_distance(tt, x)
        return am_target(system, tt, **proj)(x) + (d < 0.35 * ell["value"])[:, None] * 2.0

    a0 = error_anatomy(lambda tt, x: np.zeros_like(x), system, [0.0, t], n_per_time=1500, projection=proj)
    ell["value"] = a0.attrs["length"]
    a = error_anatomy(model, system, [0.0, t], n_per_time=1500, projection=proj)
    assert a.attrs["target"] == "projection" and a.attrs["node_source"] == "node_distance"
    near = [0.0, 0.05, 0.1, 0.2]
    assert float(a["mean_sq_error_total"]) > 0
    assert float(a["error_share_node"].sel(node=near).sum()) == pytest.approx(1.0, abs=1e-9)
    assert float(a["mass_share_node"].sel(node=near).sum()) < 0.05   # q ∝ ρ² near the vortex


def test_node_distance_of_the_hydrogen_paper_state():
    """The nodal plane z = 0 bounds the distance, and points near it are at |z|; in the official code's units
    (bohr_radius = 4π) every distance scales by 4π."""
    h = amphys.systems.get("hydrogen", state="paper")
    x = h.sample(0.0, 500, np.random.default_rng(1))
    d = h.node_distance(0.0, x)
    assert np.all(d <= np.abs(x[:, 2]) + 1e-12) and np.all(d > 0)
    rng = np.random.default_rng(2)   # near the plane, far inside the vortex lines (ρ ≈ 6 at z = 0)
    close = np.column_stack([rng.uniform(-2, 2, (50, 2)), rng.uniform(-0.2, 0.2, 50)])
    np.testing.assert_allclose(h.node_distance(0.0, close), np.abs(close[:, 2]), rtol=1e-12)
    h4 = amphys.systems.get("hydrogen", state="paper", bohr_radius=4 * np.pi)
    np.testing.assert_allclose(h4.node_distance(0.0, 4 * np.pi * x), 4 * np.pi * d, rtol=1e-6)


def test_error_anatomy_checks_and_closed_form_target():
    s = amphys.systems.get("harmonic", state="coherent", dim=1)
    a = error_anatomy(lambda t, x: s.am_velocity(t, x) + 0.1, s, [0.5, 1.0], n_per_time=500)
    assert a.attrs["target"] == "am_velocity" and a.attrs["node_source"] == "node_distance"
    assert float(a["mean_sq_error_total"]) == pytest.approx(0.01, rel=1e-9)
    with pytest.raises(InputError):
        anatomy_of_samples([0.0, 1.0], np.zeros((4, 1)), np.zeros((4, 1)), np.zeros((4, 1)))
    with pytest.raises(InputError):
        anatomy_of_samples([0.0], np.zeros((4, 1)), np.zeros((4, 1)), np.zeros((4, 1)), mass=1.5)
    with pytest.raises(amphys.errors.UnknownNameError):
        error_anatomy(lambda t, x: x, s, [0.5], target="bohm")


@pytest.mark.parametrize("with_nodes", [False, True], ids=["no-nodes", "nodes"])
def test_the_anatomy_figure_is_written(tmp_path, with_nodes):
    """plot_error_anatomy draws the panels of an anatomy with and without node distances into a PNG."""
    from amphys.plotting import plot_error_anatomy

    times, x, t, logq, vt = _gaussian_case(times=(0.0, 0.5, 1.0))
    nodes = np.abs(x[:, 0]) if with_nodes else None
    a = anatomy_of_samples(times, x, vt + 0.1 * x ** 2, vt, time=t, log_density=logq, node_distance=nodes)
    path = plot_error_anatomy(a, tmp_path / "anatomy.png", title="test")
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
