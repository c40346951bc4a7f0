"""The Action Matching target of a system at a time: its closed form, or the gradient projection of its
physical velocity (docs/theory.md#the-am-target, docs/theory.md#gradient-projection), with a rotation shortcut
and a small cache of solves."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from amphys.diagnostics.projection import default_box, project_gradient
from amphys.errors import InputError, describe

__all__ = ["am_target", "rigid_rotation"]


def rigid_rotation(system):
    """Angular velocity Ω about z when the system's density and velocity rotate rigidly
    (q(x, t) = q(R_z(Ωt)ᵀx, 0), v(x, t) = R v(Rᵀx, 0)), read from ``system.angular_velocity``; else None."""
    from amphys.errors import AmphysError

    if int(getattr(system, "dim", 0)) != 3:
        return None
    try:
        omega = getattr(system, "angular_velocity", None)
    except (AmphysError, NotImplementedError):
        return None
    return float(omega) if isinstance(omega, (int, float)) and np.isfinite(omega) else None


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 8


def _freeze(value):
    if isinstance(value, (np.ndarray, list, tuple)):
        return tuple(_freeze(v) for v in np.asarray(value, dtype=object).tolist()) if np.ndim(value) else value
    return value


def _cached_projection(system, t, options):
    key = (type(system).__qualname__, system.params_json(), float(t),
           tuple(sorted((k, _freeze(v)) for k, v in options.items())))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    proj = project_gradient(system, t, **options)
    _CACHE[key] = proj
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return proj


def am_target(system, t, *, rotation="auto", **projection_options):
    """The AM target field at time ``t`` as a callable ``x -> (n, d)`` array.

    ``system.am_velocity`` when the system knows it in closed form (``has_am_velocity``); otherwise the gradient
    projection of its physical velocity (:func:`project_gradient`, options passed through), cached per
    (system parameters, time, options) — at most 8 solves are kept.

    Rotation shortcut: when the system rotates rigidly about z (``rotation="auto"`` reads
    ``system.angular_velocity``, e.g. the paper's hydrogen state; or pass Ω as a float), ∇s* is rotation
    covariant, ∇s*(x, t) = R ∇s*_0(Rᵀx) with R = R_z(Ωt), so a single solve at t = 0 serves every time (its box
    is made symmetric in x and y so that it holds the density at every angle). ``rotation=None`` disables it.
    The returned callable carries ``.kind`` ("am_velocity" or "projection") and, for a projection,
    ``.projection``.
    """
    from amphys._checks import check_time

    t = check_time(t)
    if system.has_am_velocity:
        def field_(x):
            return np.asarray(system.am_velocity(t, x), dtype=np.float64)

        field_.kind = "am_velocity"
        field_.projection = None
        return field_
    omega = rigid_rotation(system) if rotation == "auto" else rotation
    if omega is None:
        proj = _cached_projection(system, t, projection_options)
        field_ = proj.velocity
        wrapped = lambda x: field_(x)  # noqa: E731
        wrapped.kind = "projection"
        wrapped.projection = proj
        return wrapped
    if not isinstance(omega, (int, float)) or not np.isfinite(omega):
        raise InputError(f"rotation: expected 'auto', None or an angular velocity (float), got {describe(omega)}")
    options = dict(projection_options)
    if options.get("box") is None:
        options["box"] = np.stack(default_box(system, 0.0, options.pop("n_box_samples", 20000),
                                               options.get("seed", 0), symmetric_xy=True), axis=1)
    proj = _cached_projection(system, 0.0, options)
    R = _rotation(float(omega) * t)

    def rotated(x):
        x = np.asarray(x, dtype=np.float64)
        return proj.velocity(x @ R) @ R.T  # R ∇s*_0(Rᵀx), row-wise

    rotated.kind = "projection"
    rotated.projection = proj
    return rotated
