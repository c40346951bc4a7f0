"""Every registered system fills the same template (amphys/systems/base.py).

Parameters are declared once, so for every system: ``params()`` is plain JSON and rebuilds an equal system through
the registry; the registry accepts exactly the declared parameters and names the valid ones otherwise; a bad value
of any parameter is a one-line InputError that names it. The public methods check their inputs the same way for
all systems, and ``has_am_velocity``/``has_am_potential`` say truthfully whether the closed forms exist. Written
with :mod:`amphys.testing` for every name in ``amphys.systems.names()``, on hypothesis-drawn parameters and times:
the drawn parameters round-trip, ``velocity`` and ``am_velocity`` transport the densities the sampler draws (the
calibrated weak-form test), and closed-form densities satisfy continuity pointwise.
"""

from __future__ import annotations

import dataclasses
import inspect
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import amphys.systems as systems
from amphys.errors import InputError, UnknownNameError
from amphys.systems.schrodinger.wave import WavefunctionSystem, WaveState
from amphys.testing import assert_continuity
from amphys.testing.strategies import system_params
from amphys.testing.strategies import times as time_grids

# cheap variants of each system (the grid systems solve lazily, on first use of the density)
SMALL_GRID = {
    "pme-grid": dict(dim=1, n_grid=32, t_span=(0.0, 0.05), n_frames=3),
    "fp-grid": dict(dim=1, n_grid=32, t_span=(0.0, 0.05), n_frames=3, dt=1e-2),
    "schrodinger-grid": dict(dim=1, potential="harmonic", n_grid=64, box=8.0, t_span=(0.0, 0.5), n_frames=3,
                             dt=1e-2),
}
VARIANTS = [(name, {}) for name in systems.names()] + [(name, kw) for name, kw in SMALL_GRID.items()] + [
    ("barenblatt", dict(dim=3, m=2.5, mass=2.0, t_span=(0.5, 1.5))),
    ("ou", dict(drift=[[0.5, -2.0], [2.0, 0.5]], diffusion=[[0.5, 0.1], [0.1, 0.3]], mean0=[3, 0], cov0=0.1)),
    ("ou-mixture", dict(drift=[[1.0, 0.2], [0.2, 0.5]], diffusion=0.3, weights=[1, 3], means=[[0, 1], [2, 0]],
                        covs=[0.1, 0.2])),
    ("harmonic", dict(state="squeezed", dim=2, omega=1.5, squeeze=[0.5, 2.0], x0=[1, -1], p0=0.5)),
    ("harmonic", dict(state="superposition", dim=3, coefficients=[0.2, -0.5, 0.9, 0.1])),
    ("harmonic", dict(state="vortex", dim=2, omega=0.7, mass=2.0)),
    ("gaussian-packet", dict(dim=2, x0=[1, 2], p0=[0.5, -1], sigma0=[0.3, 0.7], hbar=0.5)),
    ("hydrogen", dict(state="1s+2pz", bohr_radius=4 * np.pi, relative_phase=0.5)),
    ("pme-grid", dict(dim=1, m=3.0, initial="barenblatt", n_grid=64, t_span=(0.0, 0.2))),
    ("schrodinger-grid", dict(dim=2, potential="harmonic", n_grid=32, box=6.0, x0=[0.5, 0], p0=[1, 0], sigma0=0.7,
                              t_span=(0.0, 0.5), n_frames=2, dt=0.05)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(VARIANTS)]


def _fields(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


@pytest.mark.parametrize("name, params", VARIANTS, ids=IDS)
def test_params_round_trip(name, params):
    sys = systems.get(name, **params)
    stored = json.loads(json.dumps(sys.params()))          # plain JSON types only
    assert stored == sys.params() and json.loads(sys.params_json())["name"] == name
    again = systems.get(name, **stored)
    assert again == sys and again.params() == sys.params() and hash(again) == hash(sys)
    assert repr(again) == repr(sys) and repr(sys).startswith(type(sys).__name__ + "(")
    assert systems.get(name, **{**stored, "t_span": [v + 0.01 for v in stored["t_span"]]}) != sys


@pytest.mark.parametrize("name", systems.names())
def test_parameters_are_declared_once(name):
    cls = systems.system_class(name)
    assert cls.name == name
    assert list(inspect.signature(cls).parameters) == _fields(cls)
    assert "t_span" in _fields(cls)
    with pytest.raises(UnknownNameError, match=f"parameter of system '{name}'.*known: .*t_span"):
        systems.get(name, not_a_parameter=1)


@pytest.mark.parametrize("name", systems.names())
def test_bad_value_of_every_parameter_is_named(name):
    for field in _fields(systems.system_class(name)):
        with pytest.raises(InputError) as info:
            systems.get(name, **{**SMALL_GRID.get(name, {}), field: object()})
        message = str(info.value)
        assert "\n" not in message and field in message, (field, message)


# Specific rules of each system's parameters (ranges, shapes, symmetry, states), each bad value with a pattern its
# one-line message must contain; the test above covers the generic case (a value of the wrong kind) for all.
BAD_VALUES = {
    "barenblatt": [
        ({"dim": 0}, "dim"), ({"dim": 1.5}, "dim"), ({"dim": True}, "dim"), ({"dim": "2"}, "dim"),
        ({"m": float("nan")}, "m"), ({"m": float("inf")}, "m"), ({"m": "two"}, "m"),
        ({"mass": 0.0}, "mass"), ({"mass": -1.0}, "mass"),
        ({"t_span": (0.0, 1.0)}, "t_span"), ({"t_span": (-1.0, 1.0)}, "t_span"),
        ({"t_span": (2.0, 1.0)}, "t_span"),
    ],
    "ou": [
        ({"cov0": [[1.0, 2.0], [2.0, 1.0]]}, "cov0"),             # not positive definite
        ({"cov0": [[1.0, 0.5], [0.0, 1.0]]}, "cov0"),             # not symmetric
        ({"cov0": -1.0}, "cov0"),
        ({"diffusion": [[1.0, 0.3], [0.0, 1.0]]}, "diffusion"),   # not symmetric
        ({"diffusion": -0.5}, "diffusion"),
        ({"drift": [[1.0, 0.0], [0.0, 1.0]], "mean0": [0.0, 0.0, 0.0]}, "mean0"),
        ({"drift": [[1.0, 0.0, 0.0]]}, "drift"),
        ({"drift": 1.0, "dim": 2, "cov0": np.eye(3)}, "cov0"),
        ({"dim": 0}, "dim"), ({"dim": 1.5}, "dim"),
        ({"drift": float("nan")}, "drift"),
        ({"t_span": (1.0, 1.0)}, "t_span"),
    ],
    "ou-mixture": [
        ({"diffusion": [[1.0, 0.0], [0.0, 0.5]]}, "diffusion"),
        ({"diffusion": -1.0}, "diffusion"),
        ({"weights": [1.0] * 7 + [-1.0]}, "weights"),
        ({"weights": [0.0] * 8}, "weights"),
        ({"weights": [1.0, 1.0]}, "weights"),
        ({"means": [1.0, 2.0]}, "means"),
        ({"means": [[0.0, 0.0]], "covs": [[1.0, 2.0], [2.0, 1.0]]}, "covs"),
        ({"means": [[0.0, 0.0]], "covs": np.ones((2, 3, 3))}, "covs"),
        ({"means": [[0.0, 0.0], [1.0, 1.0]], "covs": [1.0, -1.0]}, "covs"),
        ({"drift": np.eye(3)}, "drift"),
        ({"t_span": (1.0, 0.0)}, "t_span"),
    ],
    "hydrogen": [
        ({"bohr_radius": 0.0}, "bohr_radius"),
        ({"bohr_radius": -1.0}, "bohr_radius"),
        ({"bohr_radius": np.inf}, "bohr_radius"),
        ({"relative_phase": np.nan}, "relative_phase"),
        ({"relative_phase": "pi"}, "relative_phase"),
        ({"t_span": (2.0, 1.0)}, "t_span"),
    ],
    "harmonic": [
        ({"state": "thermal"}, "known: coherent, squeezed, superposition, vortex"),
        ({"state": "vortex", "dim": 3}, "pass dim=2"),
        ({"state": "vortex"}, "pass dim=2"),
        ({"dim": 4}, "1, 2 or 3"),
        ({"dim": True}, "1, 2 or 3"),
        ({"state": "squeezed", "squeeze": 0.0}, "squeeze"),
        ({"state": "squeezed", "squeeze": -1.0}, "squeeze"),
        ({"state": "coherent", "squeeze": 0.5}, "only of 'squeezed'"),
        ({"state": "superposition", "x0": 1.0}, "x0: not a parameter of state 'superposition'"),
        ({"state": "vortex", "dim": 2, "coefficients": [1, 1]}, "coefficients"),
        ({"state": "superposition", "coefficients": [0, 0]}, "not all zero"),
        ({"state": "superposition", "coefficients": [1, 1j]}, "real"),
        ({"state": "superposition", "coefficients": [[1, 1]]}, "1-D"),
        ({"state": "superposition", "coefficients": np.ones(30)}, "at most"),
        ({"omega": 0.0}, "omega"),
        ({"mass": -1.0}, "mass"),
        ({"dim": 2, "x0": [1, 2, 3]}, "x0"),
        ({"t_span": (1.0, 0.0)}, "t_span"),
    ],
}
BAD = [(name, kwargs, match) for name, cases in BAD_VALUES.items() for kwargs, match in cases]


@pytest.mark.parametrize("name, kwargs, match", BAD, ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(BAD)])
def test_bad_values_are_refused_with_the_rule(name, kwargs, match):
    with pytest.raises(InputError, match=match):
        systems.system_class(name)(**kwargs)


@pytest.mark.parametrize("name, params", VARIANTS, ids=IDS)
def test_protocol_checks_inputs_once_for_all(name, params):
    sys = systems.get(name, **params)
    t0, t1 = sys.t_span
    t = t0 + 0.3 * (t1 - t0)
    x = sys.sample(t, 7, rng=0)
    assert x.shape == (7, sys.dim) and x.dtype == np.float64
    np.testing.assert_array_equal(sys.sample(t, 7, rng=np.random.default_rng(0)), x)
    assert sys.sample(t, 0, rng=1).shape == (0, sys.dim)
    assert sys.log_density(t, x).shape == (7,) and np.all(np.isfinite(sys.log_density(t, x)))
    assert sys.velocity(t, x.tolist()).shape == (7, sys.dim)      # nested lists are points too
    methods = [sys.log_density, sys.velocity]
    methods += [sys.am_velocity] if sys.has_am_velocity else []
    methods += [sys.am_potential] if sys.has_am_potential else []
    for method in methods:
        with pytest.raises(InputError, match=rf"x: expected shape \(n, {sys.dim}\)"):
            method(t, np.zeros((3, sys.dim + 1)))
        with pytest.raises(InputError, match="x: expected finite values"):
            method(t, np.full((2, sys.dim), np.nan))
        with pytest.raises(InputError, match="^t: "):
            method(np.nan, x)
    with pytest.raises(InputError, match="^n: "):
        sys.sample(t, -1)
    with pytest.raises(InputError, match="^rng: "):
        sys.sample(t, 2, rng="seed")


@pytest.mark.parametrize("name, params", VARIANTS, ids=IDS)
def test_closed_forms_are_declared_truthfully(name, params):
    sys = systems.get(name, **params)
    t = sum(sys.t_span) / 2
    x = sys.sample(t, 5, rng=2)
    if sys.has_am_velocity:
        v = sys.am_velocity(t, x)
        assert v.shape == (5, sys.dim) and np.all(np.isfinite(v))
        if sys.velocity_is_gradient:     # the same field (ou writes the Lyapunov form: equal to round-off)
            np.testing.assert_allclose(v, sys.velocity(t, x), rtol=1e-9, atol=1e-12 * np.abs(v).max())
    else:
        assert not sys.velocity_is_gradient
        with pytest.raises(NotImplementedError, match="project_gradient"):
            sys.am_velocity(t, x)
    if sys.has_am_potential:
        assert sys.am_potential(t, x).shape == (5,)
    else:
        with pytest.raises(NotImplementedError):
            sys.am_potential(t, x)


@pytest.mark.parametrize("name, params", [v for v in VARIANTS if v[0] in ("harmonic", "gaussian-packet",
                                                                          "hydrogen")])
def test_wavefunction_systems_share_the_state_protocol(name, params):
    sys = systems.get(name, **params)
    assert isinstance(sys, WavefunctionSystem) and isinstance(sys.wave, WaveState)
    assert sys.wave.dim == sys.dim and sys.velocity_is_gradient == sys.wave.velocity_is_gradient
    t = sum(sys.t_span) / 2
    x = sys.sample(t, 50, rng=3)
    np.testing.assert_allclose(np.exp(sys.log_density(t, x)), np.abs(sys.psi(t, x)) ** 2, rtol=1e-10)


def test_register_refuses_a_taken_name_and_a_non_system(monkeypatch):
    monkeypatch.setattr(systems, "_REGISTRY", dict(systems._REGISTRY))

    class Barenblatt2(systems.system_class("barenblatt")):
        name = "barenblatt"

    with pytest.raises(InputError, match="'barenblatt' is taken"):
        systems.register(Barenblatt2)
    with pytest.raises(InputError, match="concrete subclass"):
        systems.register(dict)
    with pytest.raises(InputError, match="concrete subclass"):
        systems.register(systems.System)


# -- property-based conformance with amphys.testing: drawn parameters and times, every registered system -------
# derandomize: the draws are fixed, so a run is reproducible and the 1e-3 level of each continuity assertion is
# not paid again on every CI run; max_examples small to keep the file within its time budget.
CONFORMANCE = settings(max_examples=4, deadline=None, derandomize=True,
                       suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("name", systems.names())
@CONFORMANCE
@given(data=st.data())
def test_drawn_parameters_round_trip(name, data):
    sys = systems.get(name, **data.draw(system_params(name)))
    again = systems.get(name, **json.loads(json.dumps(sys.params())))
    assert again == sys and again.params() == sys.params()


@pytest.mark.parametrize("name", systems.names())
@CONFORMANCE
@given(data=st.data())
def test_velocity_and_am_velocity_transport_the_sampled_densities(name, data):
    """The weak form, from the sampler alone: both fields move the densities the sampler draws (the AM field
    differs from the physical one by a q-divergence-free part only, which moves no density)."""
    sys = systems.get(name, **data.draw(system_params(name)))
    # at least 11 times: the quadrature in time must resolve the motion (a coherent state at ω = 2 over [0, 2]
    # with 6 times, 8 per period, was rejected at p = 1e-14 with the observed motion 0.91 × the predicted one)
    ts = data.draw(time_grids(sys, min_count=11, max_count=16))
    assert_continuity(sys, "velocity", times=ts, n=1000, seed=1)
    if sys.has_am_velocity:
        assert_continuity(sys, "am_velocity", times=ts, n=1000, seed=2)


EXACT = [n for n in systems.names() if not n.endswith("-grid")]


@pytest.mark.parametrize("name", EXACT)
@CONFORMANCE
@given(data=st.data())
def test_pointwise_continuity_where_the_density_is_exact(name, data):
    """∂_t log q + ∇·v + v·∇log q = 0 at samples (central differences), for closed-form densities."""
    sys = systems.get(name, **data.draw(system_params(name)))
    t0, t1 = sys.t_span
    t = t0 + data.draw(st.floats(0.1, 0.9)) * (t1 - t0)
    x = sys.sample(t, 200, rng=4)
    lq = sys.log_density(t, x)
    x = x[lq > lq.max() - 8.0]           # away from the edge of a compact support and from nodes
    ht, hx = 1e-5 * (t1 - t0), 1e-5 * max(float(x.std()), 1e-3)
    dt_lq = (sys.log_density(t + ht, x) - sys.log_density(t - ht, x)) / (2 * ht)
    v = sys.velocity(t, x)
    div, transport = np.zeros(len(x)), np.zeros(len(x))
    for a in range(sys.dim):
        e = np.zeros(sys.dim)
        e[a] = hx
        div += (sys.velocity(t, x + e)[:, a] - sys.velocity(t, x - e)[:, a]) / (2 * hx)
        transport += v[:, a] * (sys.log_density(t, x + e) - sys.log_density(t, x - e)) / (2 * hx)
    scale = np.abs(dt_lq) + np.abs(div) + np.abs(transport) + 1e-8
    assert np.max(np.abs(dt_lq + div + transport) / scale) < 1e-5, name
