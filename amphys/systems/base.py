"""The protocol every physical system fills (SPEC §3, §7.1), and small input checks shared by systems.

A system is a path of probability densities q_t on R^d with known ground truth. It exposes

- ``dim`` and ``t_span``;
- ``sample(t, n, rng)`` -> ``(n, d)`` exact (or converged) samples of q_t;
- ``log_density(t, x)`` -> ``(n,)``;
- ``velocity(t, x)`` -> ``(n, d)``: the *physical* continuity-equation velocity (Bohmian, probability flow);
- ``velocity_is_gradient``: whether that physical field is a gradient (then it is the Action Matching target);
- ``am_velocity(t, x)`` -> ``(n, d)``: the Action Matching target ∇s*, the q_t-weighted gradient projection
  of any valid velocity (SPEC §2.1), where it is known in closed form.

Systems use numpy and scipy only (SPEC §10). Time ``t`` is a scalar in the system's own units.
"""

from __future__ import annotations

import abc
import json
import numbers
from typing import Any, ClassVar

import numpy as np

from amphys.errors import InputError, describe

__all__ = ["System", "as_rng", "check_points", "check_time", "check_count", "as_matrix", "as_vector",
           "positive", "check_t_span"]


class System(abc.ABC):
    """Abstract base of a physical system with ground truth. Subclasses are small and final."""

    #: Registry name (``amphys.systems.get(name)``).
    name: ClassVar[str] = ""
    #: Units of positions and of time, stored in the attrs of generated data.
    units_x: ClassVar[str] = "1"
    units_t: ClassVar[str] = "1"
    #: Whether the physical velocity is a gradient field (then it is also the AM target).
    velocity_is_gradient: bool = True

    dim: int
    t_span: tuple[float, float]

    # -- protocol ---------------------------------------------------------------------------------------------
    @abc.abstractmethod
    def sample(self, t: float, n: int, rng=None) -> np.ndarray:
        """Draw ``n`` independent samples of q_t, shape ``(n, d)``."""

    @abc.abstractmethod
    def log_density(self, t: float, x) -> np.ndarray:
        """log q_t(x) for ``x`` of shape ``(n, d)``; ``-inf`` outside the support. Shape ``(n,)``."""

    @abc.abstractmethod
    def velocity(self, t: float, x) -> np.ndarray:
        """Physical continuity-equation velocity v(t, x), shape ``(n, d)``."""

    def am_velocity(self, t: float, x) -> np.ndarray:
        """The Action Matching target ∇s*(t, x), shape ``(n, d)``.

        Equal to :meth:`velocity` when that is a gradient. Systems whose physical velocity is not a gradient
        override this with their closed form, or leave it unavailable (``has_am_velocity`` is False); then use
        :func:`amphys.diagnostics.project_gradient`.
        """
        if self.velocity_is_gradient:
            return self.velocity(t, x)
        raise NotImplementedError(
            f"system {self.name!r} has a non-gradient physical velocity and no closed-form AM target; "
            "use amphys.diagnostics.project_gradient(system, t) to compute it on a grid"
        )

    def am_potential(self, t: float, x) -> np.ndarray:
        """The AM potential s*(t, x) (defined up to a function of t), shape ``(n,)``, where known."""
        raise NotImplementedError(f"system {self.name!r} has no closed-form AM potential")

    @property
    def has_am_velocity(self) -> bool:
        """True when :meth:`am_velocity` is available in closed form."""
        return self.velocity_is_gradient or type(self).am_velocity is not System.am_velocity

    @property
    def has_am_potential(self) -> bool:
        return type(self).am_potential is not System.am_potential

    def params(self) -> dict[str, Any]:
        """Constructor parameters as plain JSON types (stored as the ``system`` attr of generated data)."""
        return _jsonable(getattr(self, "_params", {}))

    def params_json(self) -> str:
        return json.dumps({"name": self.name, **self.params()}, sort_keys=True)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


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


# -- input checks ----------------------------------------------------------------------------------------------
def as_rng(rng) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator, a seed, a SeedSequence or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise InputError(f"rng: expected a numpy Generator, an integer seed or None, got {describe(rng)}")


def check_time(t, name: str = "t") -> float:
    """A finite scalar time as float."""
    try:
        value = float(np.asarray(t, dtype=float).reshape(()))
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a finite scalar time, got {describe(t)}") from None
    if not np.isfinite(value):
        raise InputError(f"{name}: expected a finite scalar time, got {value}")
    return value


def check_count(n, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise InputError(f"{name}: expected a non-negative integer number of samples, got {describe(n)}")
    return int(n)


def check_points(x, dim: int, name: str = "x") -> np.ndarray:
    """Positions as a float64 array of shape ``(n, dim)``. A 1-D array is accepted when ``dim == 1``."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a numeric array of shape (n, {dim}), got {describe(x)}") from None
    if arr.ndim == 1 and dim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise InputError(f"{name}: expected shape (n, {dim}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(arr), axis=1))[0])
        raise InputError(f"{name}: expected finite values, got NaN or inf (first at row {bad})")
    return arr


def positive(value, name: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a positive number, got {describe(value)}") from None
    ok = (v >= 0 if allow_zero else v > 0) and np.isfinite(v)
    if not ok:
        kind = "non-negative" if allow_zero else "positive"
        raise InputError(f"{name}: expected a finite {kind} number, got {v}")
    return v


def check_t_span(t_span, name: str = "t_span", *, t_min: float | None = None) -> tuple[float, float]:
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a pair (t0, t1), got {describe(t_span)}") from None
    if not (np.isfinite(t0) and np.isfinite(t1) and t1 > t0):
        raise InputError(f"{name}: expected finite t0 < t1, got ({t0}, {t1})")
    if t_min is not None and t0 <= t_min:
        raise InputError(f"{name}: expected t0 > {t_min}, got t0 = {t0}")
    return (t0, t1)


def as_vector(value, d: int, name: str) -> np.ndarray:
    """A length-``d`` float vector; a scalar is broadcast."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number or a vector of length {d}, got {describe(value)}") from None
    if arr.ndim == 0:
        arr = np.full(d, float(arr))
    if arr.shape != (d,) or not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: expected a finite vector of length {d}, got {describe(value)}")
    return arr


def as_matrix(value, d: int | None, name: str, *, spd: bool = False, symmetric: bool = False) -> np.ndarray:
    """A ``(d, d)`` float matrix; a scalar means that multiple of the identity (``d`` must then be known)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a (d, d) matrix or a scalar, got {describe(value)}") from None
    if arr.ndim == 0:
        if d is None:
            raise InputError(f"{name}: a scalar needs the dimension from another argument; give a (d, d) matrix")
        arr = float(arr) * np.eye(d)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or (d is not None and arr.shape[0] != d):
        want = f"({d}, {d})" if d is not None else "(d, d)"
        raise InputError(f"{name}: expected a {want} matrix or a scalar, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: expected finite entries, got NaN or inf")
    if (symmetric or spd) and not np.allclose(arr, arr.T, rtol=1e-10, atol=1e-12):
        raise InputError(f"{name}: expected a symmetric matrix, got {arr.tolist()}")
    if spd:
        arr = 0.5 * (arr + arr.T)
        if np.linalg.eigvalsh(arr).min() <= 0:
            raise InputError(f"{name}: expected a symmetric positive-definite matrix, "
                             f"got eigenvalues {np.linalg.eigvalsh(arr).tolist()}")
    return arr
