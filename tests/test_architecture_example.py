"""The example system of docs/architecture.md ("Adding a system") runs and is right, so the page cannot rot.

The page's python blocks are extracted and run in order; the example system then fills the protocol (checked
inputs, parameters, registry) and its physics holds: the strong continuity residual vanishes for the physical
velocity and for the AM target (both move the same densities), only the AM target is curl-free, and the AM target
has the smaller kinetic energy (it is the q-weighted projection of the physical field).
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from helpers import continuity_residual, max_asymmetry, mc_tolerance

import amphys
import amphys.systems as systems
from amphys.errors import InputError, UnknownNameError

PAGE = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _blocks() -> list[str]:
    section = PAGE.read_text().split("## Adding a system", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


@pytest.fixture
def example(monkeypatch):
    """The namespace of the page's code, run as a module; the registry is restored afterwards."""
    monkeypatch.setattr(systems, "_REGISTRY", dict(systems._REGISTRY))
    module = types.ModuleType("architecture_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    blocks = _blocks()
    assert len(blocks) >= 2, "docs/architecture.md: the 'Adding a system' section lost its code blocks"
    for code in blocks:
        exec(compile(code, str(PAGE), "exec"), module.__dict__)
    return module.__dict__


def test_example_runs_and_is_registered(example):
    system = example["system"]
    assert isinstance(system, systems.System) and systems.get("rotating-gaussian") == example["RotatingGaussian"]()
    assert "rotating-gaussian" in systems.names()
    assert example["x"].shape == (1000, 2) and example["v_target"].shape == (1000, 2)
    data = example["data"]
    assert data.attrs["source"] == "rotating-gaussian" and "v_true" in data
    # parameters declared once: params, repr, equality and the registry's validation come from the fields
    assert system.params() == {"omega": 2.0, "radius": 2.0, "sigma_x": 1.0, "sigma_y": 0.5, "t_span": [0.0, 3.0]}
    assert repr(system).startswith("RotatingGaussian(omega=2.0, radius=2.0")
    assert systems.get("rotating-gaussian", **system.params()) == system
    with pytest.raises(UnknownNameError, match="sigma_x, sigma_y"):
        systems.get("rotating-gaussian", sigma=1.0)
    with pytest.raises(InputError, match="^sigma_y: "):
        systems.get("rotating-gaussian", sigma_y=-1.0)
    # inputs are checked by the base class
    with pytest.raises(InputError, match=r"shape \(n, 2\)"):
        system.velocity(0.5, np.zeros((3, 3)))
    with pytest.raises(InputError, match="finite scalar time"):
        system.sample(np.nan, 3)
    assert amphys.systems.get("rotating-gaussian").has_am_velocity and not system.has_am_potential


def test_example_physics(example):
    system = example["RotatingGaussian"](omega=1.3, radius=1.5, sigma_x=0.8, sigma_y=0.3)
    assert not system.velocity_is_gradient
    for t in (0.0, 0.7, 2.1):
        x = system.sample(t, 400, rng=1)
        for field in (system.velocity, system.am_velocity):
            r, scale = continuity_residual(system.log_density, field, t, x)
            # central differences h = 1e-5 in float64: truncation ~1e-10, round-off ~1e-11 relative
            assert np.all(np.abs(r) <= 1e-6 * scale + 1e-8)
        assert max_asymmetry(system.am_velocity, t, x) < 1e-6     # a gradient field
        assert max_asymmetry(system.velocity, t, x) > 0.5          # a rotation: J - Jᵀ = 2ΩJ
        # the projection has the least kinetic energy among the fields that move q_t
        ke_phys = np.sum(system.velocity(t, x) ** 2, axis=1)
        ke_am = np.sum(system.am_velocity(t, x) ** 2, axis=1)
        assert ke_am.mean() < ke_phys.mean()
    # the sampler matches the law: mean R_t μ_0
    t = 0.9
    x = system.sample(t, 20000, rng=2)
    mean = 1.5 * np.array([np.cos(1.3 * t), np.sin(1.3 * t)])
    assert np.all(np.abs(x.mean(axis=0) - mean) <= mc_tolerance(x))
