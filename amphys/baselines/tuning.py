"""Tune the Langevin step of the score-matching baseline with a *true* score, as the AM paper did.

The official code swept ε over a grid, ran its Langevin sampler with the exact score ∇log|ψ_t|² of the
hydrogen state, and kept the ε with the smallest MMD to the reference samples (see the docstring of
:mod:`amphys.baselines.score_matching`). :func:`tune_langevin_step` does the same for either sampler of
:class:`~amphys.baselines.score_matching.SMConfig`, scoring each ε by the energy distance (whitened units)
between the Langevin samples and the snapshots, averaged over the evaluation times. Every ε uses the same
random numbers (common random numbers), so differences between grid points are not noise in the chains.

The annealed sampler needs the score of the *perturbed* law q_t ∗ N(0, σ²) at every level: give a callable
``score(t, x, sigma)`` with ``perturbed=True`` (``sigma`` is the (d,) noise standard deviation in the user's
units, per coordinate). A score of q_t alone (``score(t, x)``, e.g. finite differences of a system's
``log_density``) only serves the tracking sampler, or a single noise level.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from amphys._checks import check_count, check_times
from amphys.baselines import _langevin
from amphys.baselines._common import Normaliser, check_snapshots, draw_rows, energy_distance
from amphys.baselines.score_matching import SAMPLER_FIELDS, SMConfig, langevin_samples
from amphys.errors import InputError, describe

__all__ = ["StepTuning", "tune_langevin_step"]

#: Default grid, as multiples of the default step (:func:`amphys.baselines._langevin.default_eps`).
GRID_FACTORS = (0.01, 0.03, 0.1, 0.3, 1.0, 2.0, 3.0, 5.0, 10.0)


@dataclasses.dataclass(frozen=True)
class StepTuning:
    """Outcome of :func:`tune_langevin_step`: ``best`` ε, the ``grid``, the mean energy ``distance`` per grid
    point (``inf`` where a chain diverged), ``per_time`` (grid, eval times), and ``options``: the sampler
    settings it was tuned for, ε included, ready for ``result.generate(times, n, **tuning.options)``."""

    best: float
    grid: np.ndarray
    distance: np.ndarray
    per_time: np.ndarray
    eval_times: np.ndarray
    options: dict


def tune_langevin_step(score, times, xs, config: SMConfig | None = None, *, grid=None,
                       perturbed: bool = False, n: int = 1000, seed: int = 0, eval_times=None,
                       **overrides) -> StepTuning:
    """Pick the Langevin step ε that minimises the energy distance to the snapshots, driving the sampler of
    ``config`` with a true score.

    Parameters
    ----------
    score : callable ``score(t, x) -> (n, d)`` (∇log q_t in the user's units), or with ``perturbed=True``
        ``score(t, x, sigma) -> (n, d)``, the score of q_t ∗ N(0, diag σ²) with σ of shape (d,).
    times, xs : the snapshots (as for :func:`~amphys.baselines.fit_score_matching`), the reference samples.
    config, overrides : the :class:`SMConfig` whose sampler is tuned (levels, steps, sampler).
    grid : candidate ε (whitened units²); default ``GRID_FACTORS`` × the config's default step.
    n : chains per evaluation time; seed : their random numbers (shared by every ε).
    eval_times : observed times to score at (default: all for "annealed", all but the first for "tracking").

    Returns a :class:`StepTuning`; sample with ``result.generate(times, n, **tuning.options)`` (or pass
    ``langevin_eps=tuning.best`` to the fit).
    """
    cfg = SMConfig.resolve(config, overrides)
    times, xs = check_snapshots(times, xs)
    n = check_count(n, low=1)
    if not callable(score):
        raise InputError(f"score: expected a callable score(t, x), got {describe(score)}")
    norm = Normaliser.from_data(times, xs)
    ys = [norm.y(x) for x in xs]
    sigmas = _langevin.sigma_ladder(cfg, ys)
    if cfg.sampler == "annealed" and sigmas.size > 1 and not perturbed:
        raise InputError("score: the annealed sampler needs the score of the noise-perturbed law at each "
                         f"of its {sigmas.size} levels; pass score(t, x, sigma) with perturbed=True, or tune "
                         "the tracking sampler (sampler='tracking', as the AM paper did) or a single level "
                         "(n_levels=1)")
    if grid is None:
        grid = np.asarray(GRID_FACTORS) * _langevin.default_eps(cfg.replace(langevin_eps=None), sigmas)
    grid = np.asarray(grid, dtype=np.float64).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise InputError(f"grid: expected positive finite step sizes, got {describe(grid)}")
    idx = _eval_indices(times, eval_times, cfg.sampler)
    rng = np.random.default_rng(seed + 1)
    refs = [norm.y(draw_rows(xs[k], min(n, xs[k].shape[0]), rng)) for k in idx]

    def score_fn(tau, y, level):
        t = norm.t0 + tau * norm.t_scale
        x = norm.x(y.cpu().numpy())
        s = score(t, x, sigmas[level] * norm.std) if perturbed else score(t, x)
        s = np.asarray(s, dtype=np.float64)
        if s.shape != x.shape:
            raise InputError(f"score: expected an array of shape {x.shape} from score(t, x), got {s.shape}")
        return torch.as_tensor(s * norm.std, dtype=y.dtype)

    per_time = np.full((grid.size, idx.size), np.inf)
    for g, eps in enumerate(grid):
        with np.errstate(all="ignore"):
            samples = langevin_samples(score_fn, cfg.replace(langevin_eps=float(eps)), norm, sigmas, times,
                                       xs[0], times[idx], n, seed)
        for j in range(idx.size):
            per_time[g, j] = energy_distance(norm.y(samples[j]), refs[j])
    distance = per_time.mean(axis=1)
    if not np.any(np.isfinite(distance)):
        raise InputError(f"grid: the sampler diverged at every step size in {grid.tolist()}; "
                         "try smaller steps")
    best = float(grid[int(np.argmin(distance))])
    options = {name: getattr(cfg, name) for name in SAMPLER_FIELDS}
    options["langevin_eps"] = best
    return StepTuning(best, grid, distance, per_time, times[idx], options)


def _eval_indices(times: np.ndarray, eval_times, sampler: str) -> np.ndarray:
    if eval_times is None:
        return np.arange(1 if sampler == "tracking" else 0, times.size)
    wanted = check_times(eval_times, "eval_times", increasing=False)
    idx = []
    for t in wanted:
        hit = np.flatnonzero(np.isclose(times, t, rtol=1e-12, atol=0.0))
        if hit.size == 0:
            raise InputError(f"eval_times: {t} is not an observed time; choose among {times.tolist()}")
        idx.append(int(hit[0]))
    return np.asarray(idx)
