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
from typing import Any, ClassVar

import numpy as np

# input checks live in one home, amphys._checks; re-exported here for the systems
from amphys._checks import as_matrix, as_rng, as_vector, check_count, check_points, check_t_span, check_time, positive

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


