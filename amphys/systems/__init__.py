"""Physical systems with ground truth (SPEC §3) and their registry.

>>> import amphys
>>> sys = amphys.systems.get("barenblatt", dim=2, m=2.0)
>>> sys.sample(1.5, 4, rng=0).shape
(4, 2)
"""

from __future__ import annotations

import importlib
import inspect

from amphys.errors import InputError, describe, unknown_name
from amphys.systems.base import System

__all__ = ["System", "get", "names", "system_class"]

# name -> (module, class). Modules are imported on first use so that a broken or heavy system never slows
# `import amphys`.
_REGISTRY: dict[str, tuple[str, str]] = {
    "barenblatt": ("amphys.systems.barenblatt", "Barenblatt"),
    "ou": ("amphys.systems.ou", "OrnsteinUhlenbeck"),
    "ou-mixture": ("amphys.systems.ou_mixture", "OUMixture"),
    "harmonic": ("amphys.systems.harmonic", "HarmonicOscillator"),
    "gaussian-packet": ("amphys.systems.gaussian_packet", "GaussianPacket"),
    "hydrogen": ("amphys.systems.hydrogen", "Hydrogen"),
    "schrodinger-grid": ("amphys.systems.schrodinger_grid", "SchrodingerGrid"),
    "pme-grid": ("amphys.systems.pme_grid", "PorousMediumGrid"),
    "fp-grid": ("amphys.systems.fp_grid", "FokkerPlanckGrid"),
}


def names() -> list[str]:
    """Names of the registered systems that are available in this installation."""
    return [n for n in _REGISTRY if importlib.util.find_spec(_REGISTRY[n][0]) is not None]


def system_class(name: str) -> type[System]:
    """The class registered under ``name``."""
    if not isinstance(name, str) or name not in _REGISTRY or name not in names():
        raise unknown_name("system", name, names())
    module, cls = _REGISTRY[name]
    return getattr(importlib.import_module(module), cls)


def get(name: str, **params) -> System:
    """Build the system registered under ``name`` with keyword ``params`` (SPEC §7.1).

    An unknown name or an unknown parameter raises :class:`amphys.errors.UnknownNameError` listing what is valid;
    a bad value raises :class:`amphys.errors.InputError` from the system's constructor.
    """
    if isinstance(name, System):
        if params:
            raise InputError(f"params: cannot apply {sorted(params)} to an already built system {name!r}")
        return name
    cls = system_class(name)
    sig = inspect.signature(cls.__init__)
    valid = [p for p in sig.parameters if p != "self"]
    for key in params:
        if key not in valid:
            raise unknown_name(f"parameter of system {name!r}", key, valid)
    try:
        return cls(**params)
    except InputError:
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(f"system {name!r}: bad parameters {describe(params, 200)}: {exc}") from exc
