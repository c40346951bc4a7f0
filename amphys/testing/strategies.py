"""Hypothesis strategies for property-based tests against the built-in ground truth (docs/testing.md).

- :func:`system_params` — valid parameters of one registered system (cheap settings for the grid solvers);
- :func:`systems` — built systems, of the given names or of every registered one;
- :func:`times` — increasing evaluation times inside a system's window;
- :func:`snapshots` — Snapshots datasets of exact samples of a drawn (or given) system.

    from hypothesis import given, settings
    from amphys.testing import assert_continuity
    from amphys.testing.strategies import systems

    @settings(max_examples=5, deadline=None)
    @given(systems(["ou", "barenblatt"]))
    def test_my_simulator(system):
        assert_continuity(system, my_velocity(system))

Needs hypothesis (an optional dependency: ``pip install hypothesis``); ``import amphys.testing`` does not import it.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import amphys.systems as registry
from amphys.errors import unknown_name

__all__ = ["system_params", "systems", "times", "snapshots", "PARAMS"]


def _num(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _vec(d: int, lo: float, hi: float):
    return st.lists(_num(lo, hi), min_size=d, max_size=d)


def _window(lo0: float, hi0: float, lo_len: float, hi_len: float):
    return st.tuples(_num(lo0, hi0), _num(lo_len, hi_len)).map(lambda p: [p[0], p[0] + p[1]])


@st.composite
def _barenblatt(draw):
    return dict(dim=draw(st.sampled_from([1, 2])), m=draw(_num(1.5, 3.0)), mass=draw(_num(0.5, 2.0)),
                t_span=draw(_window(0.5, 2.0, 0.5, 2.0)))


@st.composite
def _ou(draw):
    d = draw(st.sampled_from([1, 2]))
    a, b = draw(_num(0.3, 2.0)), draw(_num(-2.0, 2.0))
    drift = [[a]] if d == 1 else [[a, -b], [b, a]]
    return dict(drift=drift, diffusion=draw(_num(0.1, 1.0)), mean0=draw(_vec(d, -3.0, 3.0)),
                cov0=draw(_num(0.05, 1.0)), t_span=[0.0, draw(_num(0.5, 2.0))])


@st.composite
def _ou_mixture(draw):
    k = draw(st.integers(2, 3))
    return dict(drift=draw(_num(0.3, 2.0)), diffusion=draw(_num(0.1, 1.0)),
                weights=draw(st.lists(_num(0.2, 1.0), min_size=k, max_size=k)),
                means=[draw(_vec(2, -3.0, 3.0)) for _ in range(k)],
                covs=draw(st.lists(_num(0.05, 0.5), min_size=k, max_size=k)), t_span=[0.0, draw(_num(0.5, 1.5))])


@st.composite
def _harmonic(draw):
    d = draw(st.sampled_from([1, 2]))
    state = draw(st.sampled_from(["coherent", "squeezed"]))
    out = dict(state=state, dim=d, omega=draw(_num(0.5, 2.0)), x0=draw(_vec(d, -2.0, 2.0)),
               p0=draw(_vec(d, -1.0, 1.0)), t_span=[0.0, draw(_num(1.0, 4.0))])
    if state == "squeezed":
        out["squeeze"] = draw(_num(0.5, 2.0))
    return out


@st.composite
def _gaussian_packet(draw):
    d = draw(st.sampled_from([1, 2]))
    return dict(dim=d, x0=draw(_vec(d, -2.0, 2.0)), p0=draw(_vec(d, -1.5, 1.5)), sigma0=draw(_vec(d, 0.4, 1.5)),
                t_span=[0.0, draw(_num(0.5, 2.0))])


@st.composite
def _hydrogen(draw):
    return dict(bohr_radius=draw(_num(0.5, 2.0)), relative_phase=draw(_num(0.0, 6.28)),
                t_span=[0.0, draw(_num(5.0, 30.0))])


@st.composite
def _pme_grid(draw):  # 1-D, coarse: milliseconds per solve
    return dict(dim=1, m=draw(_num(2.0, 3.0)), initial=draw(st.sampled_from(["bumps", "barenblatt"])),
                n_grid=draw(st.sampled_from([128, 256])), t_span=[0.0, draw(_num(0.1, 0.5))], n_frames=21)


@st.composite
def _fp_grid(draw):
    return dict(dim=1, potential=draw(st.sampled_from(["double-well", "harmonic"])),
                diffusion=draw(_num(0.1, 0.3)), sigma0=draw(_num(0.15, 0.3)), x0=[draw(_num(-0.5, 0.5))],
                n_grid=256, box=[[-3.5, 3.5]], dt=1e-3, t_span=[0.0, draw(_num(0.2, 0.5))], n_frames=21)


@st.composite
def _schrodinger_grid(draw):
    return dict(dim=1, potential="harmonic", n_grid=128, box=10.0, dt=5e-3, x0=[draw(_num(-1.5, 1.5))],
                p0=[draw(_num(-1.0, 1.0))], sigma0=[draw(_num(0.6, 1.2))], t_span=[0.0, draw(_num(0.3, 1.0))],
                n_frames=21)


#: strategy of valid parameters per built-in system (grid solvers at cheap settings: 1-D, coarse grids)
PARAMS = {"barenblatt": _barenblatt, "ou": _ou, "ou-mixture": _ou_mixture, "harmonic": _harmonic,
          "gaussian-packet": _gaussian_packet, "hydrogen": _hydrogen, "pme-grid": _pme_grid,
          "fp-grid": _fp_grid, "schrodinger-grid": _schrodinger_grid}


def system_params(name: str) -> st.SearchStrategy:
    """Valid keyword parameters of the registered system ``name`` (``amphys.systems.get(name, **params)``)."""
    if name not in registry.names():
        raise unknown_name("system", name, registry.names())
    if name not in PARAMS:  # a user-registered system: its defaults
        return st.just({})
    return PARAMS[name]()


def systems(names=None) -> st.SearchStrategy:
    """Built systems of ``names`` (default every registered system) with drawn parameters."""
    names = registry.names() if names is None else ([names] if isinstance(names, str) else list(names))
    for name in names:
        if name not in registry.names():
            raise unknown_name("system", name, registry.names())
    return st.sampled_from(names).flatmap(lambda n: system_params(n).map(lambda p: registry.get(n, **p)))


@st.composite
def times(draw, system, min_count: int = 5, max_count: int = 11):
    """Increasing times over ``system.t_span``, its ends included: a count in [min_count, max_count] and each
    interior time moved from an even grid by a drawn fraction (under a third) of the spacing. Roughly even on
    purpose: the continuity test needs snapshots that resolve the motion in time
    (docs/theory.md#calibrated-continuity-test)."""
    t0, t1 = system.t_span
    k = draw(st.integers(max(min_count, 2), max(min_count, max_count)))
    jitter = np.array([0.0] + draw(st.lists(_num(-0.3, 0.3), min_size=k - 2, max_size=k - 2)) + [0.0])
    return t0 + (t1 - t0) * (np.arange(k) + jitter) / (k - 1)


@st.composite
def snapshots(draw, system=None, *, names=None, n_per_time=None, min_times: int = 5,
              max_times: int = 11):
    """Snapshots (``amphys.generate``) of ``system`` (default drawn from :func:`systems` of ``names``) at drawn
    :func:`times`, ``n_per_time`` samples per time (an integer or a strategy of integers; default 50 to 500)."""
    from amphys.data.synthetic import generate

    n_per_time = st.integers(50, 500) if n_per_time is None else n_per_time
    system = draw(systems(names)) if system is None else system
    n = draw(n_per_time) if isinstance(n_per_time, st.SearchStrategy) else int(n_per_time)
    ts = draw(times(system, min_times, max_times))
    return generate(system, ts, n, seed=draw(st.integers(0, 2 ** 31 - 1)))
