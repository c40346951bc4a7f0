"""Synthetic data: exact samples of a system at given times, as Snapshots (docs/theory.md#data-schema)."""

from __future__ import annotations

import numbers

import numpy as np

from amphys._checks import check_times
from amphys.data.snapshots import make_snapshots
from amphys.errors import InputError, describe
from amphys.systems import System, get

__all__ = ["generate"]


def generate(system, times, n_per_time, *, seed: int | None = 0, include_velocity: bool = True,
             progress: bool = False):
    """Draw independent exact samples of ``system`` at each of ``times``, as Snapshots.

    Parameters
    ----------
    system : a :class:`amphys.systems.System` or a registered name (built with default parameters).
    times : increasing times (at least 2) in the system's time units.
    n_per_time : samples per time: one integer, or one integer per time.
    seed : seed of the random stream; each time draws from its own child stream (``SeedSequence.spawn``), so
        snapshots are independent and the result is reproducible.
    include_velocity : also store ``v_true`` = the AM target velocity ``am_velocity`` at each sample, when the
        system knows it in closed form (attr ``v_true_target = "am_velocity"``).
    progress : show a progress bar over times.

    Returns
    -------
    xarray.Dataset in the Snapshots schema.
    """
    system = get(system) if isinstance(system, str) else system
    if not isinstance(system, System):
        raise InputError(f"system: expected a System or a registered name, got {describe(system)}")
    t = check_times(times, "times", min_count=2)
    if isinstance(n_per_time, numbers.Integral) and not isinstance(n_per_time, bool):
        counts = np.full(t.size, int(n_per_time))
    else:
        counts = np.asarray(n_per_time)
        if counts.shape != t.shape or not np.issubdtype(counts.dtype, np.integer):
            raise InputError(f"n_per_time: expected an integer or {t.size} integers (one per time), "
                             f"got {describe(n_per_time)}")
    if np.any(counts < 2):
        raise InputError(f"n_per_time: expected at least 2 samples per time, got {counts.min()}")
    children = np.random.SeedSequence(seed).spawn(t.size)
    with_v = include_velocity and system.has_am_velocity
    xs, vs = [], []
    iterator = zip(t, counts, children)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, total=t.size, desc=f"generate {system.name}", unit="time", leave=False)
    for ti, ni, ss in iterator:
        x = system.sample(float(ti), int(ni), np.random.default_rng(ss))
        xs.append(x)
        if with_v:
            vs.append(system.am_velocity(float(ti), x))
    attrs = {"seed": -1 if seed is None else int(seed)}
    if with_v:
        attrs["v_true_target"] = "am_velocity"
    return make_snapshots(
        np.repeat(t, counts), np.concatenate(xs), v_true=np.concatenate(vs) if with_v else None,
        units_x=system.units_x, units_t=system.units_t, source=system.name, system=system.params_json(),
        attrs=attrs,
    )
