"""The template every physical system fills: checked public methods over small physics methods.

A system is a path of probability densities q_t on R^d with known ground truth (docs/systems.md; the mathematics
in docs/theory.md). The public methods check their inputs once and call methods that receive checked values —
a float time ``t``, float64 points ``x`` of shape ``(n, d)``, an integer ``n >= 0`` and a ``numpy`` Generator:

==============================  ====================  ===========================================================
public method                   the system writes     meaning
==============================  ====================  ===========================================================
``sample(t, n, rng)``           ``_sample``           ``(n, d)`` exact (or converged) samples of q_t
``log_density(t, x)``           ``_log_density``      ``(n,)`` log q_t(x), ``-inf`` outside the support
``velocity(t, x)``              ``_velocity``         ``(n, d)`` the *physical* continuity velocity v
                                                      (Bohmian, probability flow): ∂_t q + ∇·(q v) = 0
``am_velocity(t, x)``           ``_am_velocity``      ``(n, d)`` the Action Matching target ∇s*, the q_t-weighted
                                (optional)            gradient projection of any valid velocity
                                                      (docs/theory.md#the-am-target); by default ``velocity``
                                                      when ``velocity_is_gradient``, otherwise unavailable
``am_potential(t, x)``          ``_am_potential``     ``(n,)`` s*, up to a function of t, where known
                                (optional)
==============================  ====================  ===========================================================

Parameters are declared once, as annotated class attributes: every subclass of :class:`System` is made a
dataclass (``eq=False, repr=False``), so each annotation in a class body is a constructor parameter (class
constants such as ``name`` are written without an annotation). :func:`param` attaches a check
``check(value, name) -> value``; the base class runs the checks in declaration order, then :meth:`System._setup`
(checks that involve several parameters, derived quantities). From the fields come :meth:`System.params` (plain
JSON types, stored in the attrs of generated data), ``repr``, ``==`` and the parameter names that
``amphys.systems.get`` accepts. The fields hold the checked, normalised values (``params()`` of a system rebuilds
an equal one), so a check must be idempotent.

Systems use numpy and scipy only. Time ``t`` is a scalar in the system's own units (``units_t``).
"""

from __future__ import annotations

import abc
import dataclasses
import json
from typing import Any, ClassVar

import numpy as np

# check_count and check_time are re-exported for diagnostics, which imported them from here
from amphys._checks import as_rng, check_count, check_dim, check_points, check_time
from amphys.errors import InputError, describe

__all__ = ["System", "param", "dimension", "check_count", "check_time"]


def param(default=dataclasses.MISSING, check=None, *, to_json=None):
    """A system parameter: a dataclass field with a ``default``, a ``check(value, name) -> value`` run at
    construction (its result replaces the value), and ``to_json(value)`` for :meth:`System.params` when the plain
    conversion (arrays to lists, callables to their name) does not fit."""
    metadata = {k: v for k, v in (("check", check), ("to_json", to_json)) if v is not None}
    return dataclasses.field(default=default, metadata=metadata)


def dimension(*allowed: int):
    """A check for a ``dim`` parameter that must be one of ``allowed``: :func:`~amphys._checks.check_dim`, with the
    allowed dimensions spelled out ("1, 2 or 3") in every message."""
    words = ", ".join(map(str, allowed[:-1])) + f" or {allowed[-1]}" if len(allowed) > 1 else str(allowed[0])

    def check(value, name: str = "dim") -> int:
        try:
            return check_dim(value, name, allowed=allowed)
        except InputError:
            raise InputError(f"{name}: expected {words}, got {describe(value)}") from None

    return check


class System(abc.ABC):
    """Abstract base of a physical system with ground truth; subclasses are small and final (see the module
    docstring for what a subclass writes)."""

    #: Registry name (``amphys.systems.get(name)``).
    name: ClassVar[str] = ""
    #: Units of positions and of time, stored in the attrs of generated data.
    units_x: ClassVar[str] = "1"
    units_t: ClassVar[str] = "1"
    #: Whether the physical velocity is a gradient field (then it is also the AM target). A class constant, or an
    #: instance value set in :meth:`_setup` where it depends on the parameters.
    velocity_is_gradient: bool = True

    dim: int
    t_span: tuple[float, float]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(cls, eq=False, repr=False)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            check = f.metadata.get("check")
            if check is not None:
                try:
                    value = check(getattr(self, f.name), f.name)
                except InputError:
                    raise
                except (TypeError, ValueError) as exc:
                    raise InputError(f"{f.name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                                     ) from exc
                setattr(self, f.name, value)
        self._setup()

    def _setup(self) -> None:
        """Checks across parameters and derived quantities (called once, after the per-parameter checks)."""
        return None

    # -- the physics a system writes (inputs already checked) -----------------------------------------------
    @abc.abstractmethod
    def _sample(self, t: float, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent samples of q_t, shape ``(n, d)``."""

    @abc.abstractmethod
    def _log_density(self, t: float, x: np.ndarray) -> np.ndarray:
        """log q_t(x), shape ``(n,)``; ``-inf`` outside the support."""

    @abc.abstractmethod
    def _velocity(self, t: float, x: np.ndarray) -> np.ndarray:
        """Physical continuity-equation velocity v(t, x), shape ``(n, d)``."""

    def _am_velocity(self, t: float, x: np.ndarray) -> np.ndarray:
        if self.velocity_is_gradient:
            return self._velocity(t, x)
        raise NotImplementedError(
            f"system {self.name!r} has a non-gradient physical velocity and no closed-form AM target; "
            "use amphys.diagnostics.project_gradient(system, t) to compute it on a grid")

    def _am_potential(self, t: float, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"system {self.name!r} has no closed-form AM potential")

    def _check_time(self, t, name: str = "t") -> float:
        """A valid time for this system (a finite scalar; systems with a narrower domain override this)."""
        return check_time(t, name)

    def _checked(self, t, x) -> tuple[float, np.ndarray]:
        """``(t, x)`` checked: for the system's own extra methods of ``(t, x)``."""
        return self._check_time(t), check_points(x, self.dim)

    # -- protocol ---------------------------------------------------------------------------------------------
    def sample(self, t: float, n: int, rng=None) -> np.ndarray:
        """Draw ``n`` independent samples of q_t, shape ``(n, d)``; ``rng``: a Generator, a seed or None."""
        return self._sample(self._check_time(t), check_count(n), as_rng(rng))

    def log_density(self, t: float, x) -> np.ndarray:
        """log q_t(x) for ``x`` of shape ``(n, d)``; ``-inf`` outside the support. Shape ``(n,)``."""
        return self._log_density(*self._checked(t, x))

    def velocity(self, t: float, x) -> np.ndarray:
        """Physical continuity-equation velocity v(t, x), shape ``(n, d)``."""
        return self._velocity(*self._checked(t, x))

    def am_velocity(self, t: float, x) -> np.ndarray:
        """The Action Matching target ∇s*(t, x), shape ``(n, d)``.

        Equal to :meth:`velocity` when that is a gradient. Systems whose physical velocity is not a gradient
        give their closed form, or leave it unavailable (``has_am_velocity`` is False, and this raises
        ``NotImplementedError``); then use :func:`amphys.diagnostics.project_gradient`.
        """
        return self._am_velocity(*self._checked(t, x))

    def am_potential(self, t: float, x) -> np.ndarray:
        """The AM potential s*(t, x) (defined up to a function of t), shape ``(n,)``, where known."""
        return self._am_potential(*self._checked(t, x))

    @property
    def has_am_velocity(self) -> bool:
        """True when :meth:`am_velocity` is available in closed form."""
        return self.velocity_is_gradient or type(self)._am_velocity is not System._am_velocity

    @property
    def has_am_potential(self) -> bool:
        """True when :meth:`am_potential` is available in closed form."""
        return type(self)._am_potential is not System._am_potential

    # -- parameters -------------------------------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """Constructor parameters as plain JSON types (stored as the ``system`` attr of generated data); unset
        (None) parameters are left out. ``amphys.systems.get(self.name, **self.params())`` builds an equal system
        (except for parameters given as a callable or an array, which are stored by name)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = f.metadata.get("to_json", _jsonable)(value)
        return out

    def params_json(self) -> str:
        return json.dumps({"name": self.name, **self.params()}, sort_keys=True)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in dataclasses.fields(self))

    def __hash__(self) -> int:
        return hash((type(self), self.params_json()))


def _same(a, b) -> bool:
    """Equality of two parameter values: arrays by shape and entries, callables by identity."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and bool(np.array_equal(a, b)))
    if callable(a) or callable(b):
        return a is b
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b, strict=True))
    return bool(a == b)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if callable(value):
        return getattr(value, "__name__", repr(value))
    return value
