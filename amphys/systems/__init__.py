"""Physical systems with ground truth (docs/systems.md) and their registry.

>>> import amphys
>>> sys = amphys.systems.get("barenblatt", dim=2, m=2.0)
>>> sys.sample(1.5, 4, rng=0).shape
(4, 2)

A new system subclasses :class:`System` (see :mod:`amphys.systems.base` and docs/architecture.md, "Adding a
system") and is made available to :func:`get` (and so to ``amphys generate`` and ``amphys run``) by
:func:`register`.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect

from amphys.errors import InputError, describe, unknown_name
from amphys.systems.base import System, param

__all__ = ["System", "get", "names", "param", "register", "system_class"]

# name -> "module:Class" (imported on first use, so that a heavy system never slows `import amphys`) or a class.
_REGISTRY: dict[str, str | type[System]] = {
    "barenblatt": "amphys.systems.barenblatt:Barenblatt",
    "ou": "amphys.systems.ou:OrnsteinUhlenbeck",
    "ou-mixture": "amphys.systems.ou_mixture:OUMixture",
    "harmonic": "amphys.systems.harmonic:HarmonicOscillator",
    "gaussian-packet": "amphys.systems.gaussian_packet:GaussianPacket",
    "hydrogen": "amphys.systems.hydrogen:Hydrogen",
    "schrodinger-grid": "amphys.systems.schrodinger_grid:SchrodingerGrid",
    "pme-grid": "amphys.systems.pme_grid:PorousMediumGrid",
    "fp-grid": "amphys.systems.fp_grid:FokkerPlanckGrid",
}


def register(cls: type[System]) -> type[System]:
    """Make the system class ``cls`` available as ``get(cls.name)``; returns ``cls`` (usable as a decorator).

    Registering another class under a name already taken raises :class:`~amphys.errors.InputError`; registering a
    class again (a re-imported module) replaces it.
    """
    if not (isinstance(cls, type) and issubclass(cls, System)) or inspect.isabstract(cls):
        raise InputError(f"register: expected a concrete subclass of amphys.systems.System, got {describe(cls)}")
    if not isinstance(cls.name, str) or not cls.name:
        raise InputError(f"register: {cls.__qualname__} has no registry name; set the class attribute `name`")
    known = _REGISTRY.get(cls.name)
    if known is not None and _qualified(known) != _qualified(cls):
        raise InputError(f"register: the name {cls.name!r} is taken by {_qualified(known)}; choose another name")
    _REGISTRY[cls.name] = cls
    return cls


def _qualified(entry) -> str:
    return entry if isinstance(entry, str) else f"{entry.__module__}:{entry.__qualname__}"


def names() -> list[str]:
    """Names of the registered systems that are available in this installation."""
    return [n for n, e in _REGISTRY.items()
            if not isinstance(e, str) or importlib.util.find_spec(e.split(":")[0]) is not None]


def system_class(name: str) -> type[System]:
    """The class registered under ``name``."""
    if not isinstance(name, str) or name not in names():
        raise unknown_name("system", name, names())
    entry = _REGISTRY[name]
    if isinstance(entry, str):
        module, cls = entry.split(":")
        entry = getattr(importlib.import_module(module), cls)
    return entry


def get(name: str, **params) -> System:
    """Build the system registered under ``name`` with keyword ``params`` (docs/systems.md lists them).

    An unknown name or an unknown parameter raises :class:`amphys.errors.UnknownNameError` listing what is valid;
    a bad value raises :class:`amphys.errors.InputError` naming the parameter.
    """
    if isinstance(name, System):
        if params:
            raise InputError(f"params: cannot apply {sorted(params)} to an already built system {name!r}")
        return name
    cls = system_class(name)
    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    for key in params:
        if key not in valid:
            raise unknown_name(f"parameter of system {name!r}", key, valid)
    try:
        return cls(**params)
    except InputError:
        raise
    except (TypeError, ValueError) as exc:
        raise InputError(f"system {name!r}: bad parameters {describe(params, 200)}: {exc}") from exc
