"""Named potentials V(x) for the grid systems, and the check of user callables.

All act on points ``(n, d)`` and return ``(n,)``; units are those of the system using them.

- ``free``: V = 0.
- ``harmonic``: V = ½|x|² (unit frequency for unit mass; other stiffness via a callable).
- ``double-well``: V = (x₁² − 1)² + ½ Σ_{i≥2} x_i² (barrier of height 1 at x₁ = 0, minima at x₁ = ±1;
  docs/theory.md#fokker-planck).
- ``softened-coulomb``: V = −1/√(|x|² + a²) with a = 1 (soft-core Coulomb; bound states without the
  singularity).
"""

from __future__ import annotations

import numpy as np

from amphys.errors import InputError, describe, unknown_name

__all__ = ["POTENTIALS", "resolve_potential", "potential_on", "SOFTENING"]

SOFTENING = 1.0


def free(x: np.ndarray) -> np.ndarray:
    return np.zeros(x.shape[0])


def harmonic(x: np.ndarray) -> np.ndarray:
    return 0.5 * np.sum(x * x, axis=1)


def double_well(x: np.ndarray) -> np.ndarray:
    return (x[:, 0] ** 2 - 1.0) ** 2 + 0.5 * np.sum(x[:, 1:] ** 2, axis=1)


def softened_coulomb(x: np.ndarray) -> np.ndarray:
    return -1.0 / np.sqrt(np.sum(x * x, axis=1) + SOFTENING**2)


POTENTIALS = {
    "free": free,
    "harmonic": harmonic,
    "double-well": double_well,
    "softened-coulomb": softened_coulomb,
}


def resolve_potential(potential, valid):
    """``(name, V)`` for a name in ``valid`` or a callable ``V(x (n, d)) -> (n,)``."""
    if callable(potential):
        return getattr(potential, "__name__", "callable"), potential
    if not isinstance(potential, str) or potential not in valid:
        raise unknown_name("potential", potential, valid)
    return potential, POTENTIALS[potential]


def potential_on(V, points: np.ndarray, shape) -> np.ndarray:
    """``V`` at grid points as an array of ``shape``; checks what a user callable returns."""
    try:
        values = np.asarray(V(points), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"potential: calling it on points of shape {points.shape} failed: {exc}") from exc
    if values.shape != (points.shape[0],):
        raise InputError(f"potential: expected V(x) of shape ({points.shape[0]},) for x of shape {points.shape}, "
                         f"got {describe(values, 40)} of shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise InputError("potential: expected finite values on the grid, got NaN or inf; move the grid off "
                         "singular points or soften the potential")
    return values.reshape(shape)
