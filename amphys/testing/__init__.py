"""Assertions for users' own test suites, in the spirit of ``numpy.testing`` (docs/testing.md).

- :func:`assert_continuity`: a velocity field transports a system's (or a dataset's) densities, by the calibrated
  continuity test (:func:`amphys.diagnostics.continuity_test`); raises an ``AssertionError`` that lists the
  failing times, their p-values and residuals;
- :mod:`amphys.testing.strategies`: hypothesis strategies of valid system parameters, systems and snapshot
  datasets (imports hypothesis, an optional dependency, only when used).

numpy and scipy only: ``import amphys.testing`` imports neither torch nor hypothesis.
"""

from __future__ import annotations

import numpy as np

from amphys._checks import check_count, check_float, check_int, check_times
from amphys.diagnostics.continuity import continuity_test
from amphys.diagnostics.weak import as_snapshot_list
from amphys.errors import InputError, describe
from amphys.systems import System

__all__ = ["assert_continuity", "snapshot_pairs"]


def snapshot_pairs(system: System, times=None, n: int = 2000, seed: int = 0) -> list[tuple[float, np.ndarray]]:
    """Independent exact samples ``[(t, x (n, d)), ...]`` of ``system`` at ``times`` (default 21 evenly spaced
    times over its ``t_span``), each time from its own child stream of ``seed``."""
    if not isinstance(system, System):
        raise InputError(f"system: expected an amphys System, got {describe(system)}")
    n = check_count(n, "n", low=2)
    times = np.linspace(*system.t_span, 21) if times is None else check_times(times, "times", min_count=4)
    streams = np.random.SeedSequence(check_int(seed, "seed", low=0)).spawn(times.size)
    return [(float(t), system.sample(float(t), n, np.random.default_rng(s))) for t, s in zip(times, streams)]


def assert_continuity(data_or_system, velocity, *, times=None, n: int = 2000, alpha: float = 1e-3, seed: int = 0,
                      **options) -> None:
    """Assert that ``velocity`` transports the densities of ``data_or_system`` (∂_t q = −∇·(q v)).

    Parameters
    ----------
    data_or_system : a System (exact samples are drawn: ``n`` per time at ``times``, default 21 evenly spaced
        over its ``t_span``), Snapshots, or a sequence of ``(t, x)`` pairs (``times`` then selects snapshot
        times; default all). At least 4 times.
    velocity : a callable v(t, x) -> (n, d), a FitResult, or the name of a method of the system
        (``"velocity"``, ``"am_velocity"``).
    alpha : the test's level: it raises when the overall p-value is below ``alpha``, so a correct field fails
        with probability about ``alpha`` (1e-3 by default, for test suites that run often).
    seed : seed of the samples and of the test.
    **options : of :func:`~amphys.diagnostics.continuity_test` (``order``, ``floor``, ``n_fourier``, ...).

    Raises
    ------
    AssertionError listing the overall p-value, the transport ratio and the failing times (Holm-adjusted
    p < ``alpha``, else the three smallest p-values) with their residuals. A field that differs from a correct
    one by w with ∇·(q w) = 0 passes: such an error moves no density (docs/theory.md#calibrated-continuity-test).
    """
    alpha = check_float(alpha, "alpha", low=0.0, high=1.0, low_open=True, high_open=True)
    if isinstance(data_or_system, System):
        snaps = snapshot_pairs(data_or_system, times, n, seed)
    else:
        snaps = as_snapshot_list(data_or_system, "data_or_system")
        if times is not None:
            req = check_times(times, "times", min_count=4)
            keep = [p for p in snaps if np.any(np.isclose(req, p[0], rtol=1e-12, atol=1e-12))]
            if len(keep) != req.size:
                raise InputError(f"times: some of {req.tolist()} are not snapshot times; available: "
                                 f"{[p[0] for p in snaps]}")
            snaps = keep
    if isinstance(velocity, str):
        method = getattr(data_or_system, velocity, None) if isinstance(data_or_system, System) else None
        if not callable(method):
            raise InputError(f"velocity: a method name needs a System that has it, got {velocity!r} for "
                             f"{describe(data_or_system)}")
        velocity = method
    res = continuity_test(snaps, velocity, seed=seed, **options)
    if res.p_value_all >= alpha:
        return
    bad = np.flatnonzero(res.p_value_holm < alpha)
    if bad.size == 0:
        bad = np.argsort(res.p_value)[:3]
    rows = "\n".join(f"  t = {res.times[i]:.6g}: p = {res.p_value[i]:.3g} (Holm {res.p_value_holm[i]:.3g}), "
                     f"residual {res.residual[i]:.3g} (noise <= {res.residual_threshold[i]:.3g})" for i in bad)
    raise AssertionError(
        f"continuity rejected at alpha = {alpha:g}: overall p = {res.p_value_all:.3g}; the observed means move "
        f"{res.transport_ratio:.4g} ± {res.transport_ratio_se:.2g} times as far as the field predicts (1 when "
        f"consistent). Failing times:\n{rows}")
