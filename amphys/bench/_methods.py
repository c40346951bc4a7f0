"""The rows of a benchmark table: Action Matching fits, the two baselines, and the oracle.

Every method trains on the same snapshot arrays with the same network size, batch and number of steps (from the
:class:`~amphys.bench._common.Scale`) and is scored by :func:`amphys.evaluate` against the same reference sets
(same seed), so the noise floors are shared by the rows of one case.

- AM: :func:`amphys.fit` with the default :class:`~amphys.FitConfig` apart from the scale's network/budget and
  ``time_integral``; optionally with the exact sampler (``x_source="sampler"``: fresh samples between and at
  the snapshots, which no baseline gets — the row separates finite-data error from estimator error).
- score matching + annealed Langevin (:func:`amphys.baselines.fit_score_matching`, NCSN denoising objective):
  it has no velocity, so its field metrics and weak residual are NaN and its "pushed" samples are Langevin
  samples at each time. Its step ε is tuned by :func:`amphys.baselines.tune_langevin_step` driven by the
  *learned* perturbed score against the training snapshots (the annealed sampler needs the score of q_t ∗
  N(0, σ²) at every level, which has no closed form for these systems). For hydrogen the paper's protocol is
  used instead (:func:`fit_sm_paper`): noise-free sliced score matching, the tracking sampler, ε tuned with the
  *true* score ∇log q_t (central differences of the exact log-density), as the official code did.
- minibatch-OT conditional flow matching (:func:`amphys.baselines.fit_flow_matching`).
- oracle: the true AM target (:func:`amphys.diagnostics.am_target`: closed form, or the gradient projection)
  pushed with numpy RK4 — the floor that pushing through any learned field can reach at this sample size.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np

from amphys.solver.status import FitStatus

__all__ = ["Trained", "SampleOnly", "fit_am", "fit_sm", "fit_sm_paper", "sm_paper_options", "tune_sm_paper",
           "fit_cfm", "oracle", "fd_score", "score_model", "snapshot_arrays"]


@dataclasses.dataclass
class Trained:
    """A trained row: ``model`` (velocity callable with ``push``), training seconds, extra seconds (Langevin
    tuning), status, a note, and for AM fits with a curve the (step, train seconds, value) checkpoints."""

    model: object
    train_s: float
    extra_s: float = 0.0
    status: FitStatus | str = FitStatus.CONVERGED
    note: str = ""
    curve: list = dataclasses.field(default_factory=list)


class SampleOnly:
    """A generative baseline without a velocity field, seen by :func:`amphys.evaluate` as a model: the velocity
    is NaN (field metrics are not requested for it) and ``push`` returns fresh Langevin samples at each time
    (the annealed sampler ignores ``x0``; the tracking sampler starts from it)."""

    def __init__(self, result, options: dict, seed: int):
        self.result, self.options, self.seed = result, dict(options), int(seed)
        self.config = result.config

    def __call__(self, t, x):
        return np.full(np.shape(x), np.nan)

    def push(self, x0, t0, times):
        x0 = np.asarray(x0, dtype=np.float64)
        return self.result.generate(times, x0.shape[0], seed=self.seed, x0=x0, **self.options)


def snapshot_arrays(data):
    """(times (K,), [x_k (n_k, d)]) of a Snapshots dataset."""
    from amphys.data.snapshots import split_snapshots

    parts = split_snapshots(data)
    return np.array([p[0] for p in parts]), [p[1] for p in parts]


def fit_am(data, scale, *, time_integral: str = "mc", sampler=None, seed: int = 0, curve=None,
           curve_every: int = 0, **overrides) -> Trained:
    """Action Matching with the default config (the scale's net and budget, ``time_integral``).

    ``curve(model) -> float`` is evaluated on the EMA weights every ``curve_every`` steps (read back from the
    training checkpoint inside the fit's callback) and on the returned model; the time it takes is excluded
    from the reported training seconds.
    """
    from amphys.workflows.fitting import fit
    from amphys.workflows.result import load_model

    cfg = {**scale.net, "time_integral": time_integral, "seed": seed, **overrides}
    points, spent = [], [0.0]
    with tempfile.TemporaryDirectory() as tmp:
        ck = Path(tmp) / "checkpoint.pt" if curve is not None and curve_every > 0 else None
        callback = None
        if ck is not None:
            steps = cfg["steps"]

            def callback(step, record):
                if step % curve_every == 0 and step < steps:
                    start = time.perf_counter()
                    points.append((step, record["wall_time"] - spent[0], float(curve(load_model(ck)))))
                    spent[0] += time.perf_counter() - start
                return False

            cfg["checkpoint_every"] = curve_every
        model = fit(data, sampler=sampler, checkpoint=ck, callback=callback, progress=False, **cfg)
    train_s = model.wall_time - spent[0]
    if curve is not None:
        steps_done = int(np.max(model.history["step"].values)) if model.history["step"].size else 0
        points.append((steps_done, train_s, float(curve(model))))
    return Trained(model, train_s, status=model.status, note=model.message, curve=points)


def _sm_common(scale, seed):
    return {**scale.net, "seed": seed, "progress": False}


def _learned_perturbed_score(result):
    """score(t, x, sigma) of a trained NCSN model, sigma the (d,) noise in user units of one of its levels."""
    levels = np.asarray(result.sigmas) * float(result.normaliser.std[0])

    def score(t, x, sigma):
        # chains that blew up are NaN rows (the sampler marks them); the model refuses NaN input, so score the
        # finite rows only and leave NaN elsewhere (tune_langevin_step then scores that step size as diverged)
        level = int(np.argmin(np.abs(levels - float(np.atleast_1d(sigma)[0]))))
        ok = np.all(np.isfinite(x), axis=1)
        out = np.full(np.shape(x), np.nan)
        if ok.any():
            out[ok] = result.score(t, x[ok], level)
        return out

    return score


def _tune_times(times: np.ndarray, k: int = 4, first_fraction: float = 1.0) -> np.ndarray:
    last = max(1, int(np.ceil(first_fraction * (times.size - 1))))
    idx = np.unique(np.linspace(1, last, min(k, last)).round().astype(int))
    return times[idx]


def fit_sm(times, xs, scale, *, seed: int = 0) -> Trained:
    """NCSN denoising score matching + annealed Langevin; ε tuned with the learned score (module docstring)."""
    from amphys.baselines import fit_score_matching, tune_langevin_step

    start = time.perf_counter()
    res = fit_score_matching(times, xs, objective="dsm", n_levels=scale.sm_levels,
                             langevin_steps=scale.langevin_steps, **_sm_common(scale, seed))
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    tuning = tune_langevin_step(_learned_perturbed_score(res), times, xs, res.config, perturbed=True,
                                n=scale.tune_n, seed=seed, eval_times=_tune_times(times))
    extra = time.perf_counter() - start
    note = f"annealed Langevin, eps={tuning.best:.3g} (whitened units, tuned with the learned score)"
    return Trained(SampleOnly(res, tuning.options, seed), train_s, extra, res.status, note)


def sm_paper_options(tracking_steps: int) -> dict:
    """The official hydrogen baseline's score-matching fields: noise-free sliced score matching and the tracking
    sampler (5 Langevin steps after each of ``tracking_steps`` time steps)."""
    return dict(objective="ssm", n_levels=1, sigma_min=0.0, sampler="tracking", tracking_steps=int(tracking_steps),
                tracking_langevin_steps=5)


def tune_sm_paper(system, times, xs, config, *, n: int, seed: int):
    """The paper's choice of the Langevin step ε for ``config``'s sampler: swept over 1e-3..1e-1 driving it with the
    true score (central differences of the exact log-density, step 1e-4 of the data's scale) over the first quarter
    of the path, scored by the energy distance. Returns the :class:`~amphys.baselines.StepTuning`."""
    from amphys.baselines import tune_langevin_step

    h = 1e-4 * float(np.mean(np.std(np.concatenate(xs), axis=0)))
    return tune_langevin_step(fd_score(system, h), times, xs, config, grid=np.geomspace(1e-3, 1e-1, 9), n=n,
                              seed=seed, eval_times=_tune_times(times, 4, 0.25))


def fit_sm_paper(times, xs, scale, system, *, seed: int = 0) -> Trained:
    """The official hydrogen baseline (:func:`sm_paper_options`), ε tuned by :func:`tune_sm_paper` (the paper's
    protocol, scored here by the energy distance)."""
    from amphys.baselines import fit_score_matching

    start = time.perf_counter()
    res = fit_score_matching(times, xs, **sm_paper_options(scale.tracking_steps), **_sm_common(scale, seed))
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    tuning = tune_sm_paper(system, times, xs, res.config, n=scale.tune_n, seed=seed)
    extra = time.perf_counter() - start
    note = f"tracking sampler, eps={tuning.best:.3g} (whitened units, tuned with the true score)"
    return Trained(SampleOnly(res, tuning.options, seed), train_s, extra, res.status, note)


def fit_cfm(times, xs, scale, *, seed: int = 0) -> Trained:
    from amphys.baselines import fit_flow_matching

    start = time.perf_counter()
    res = fit_flow_matching(times, xs, **_sm_common(scale, seed))
    return Trained(res, time.perf_counter() - start, status=res.status)


def oracle(system):
    """The true AM target as a velocity callable v(t, x) (closed form, or the cached gradient projection)."""
    from amphys.diagnostics import am_target

    def velocity(t, x):
        return am_target(system, float(t))(np.asarray(x, dtype=np.float64))

    velocity.config = {"model": "oracle: the true AM target", "system": system.params_json()}
    return velocity


def fd_score(system, h: float):
    """∇log q_t by central differences of ``system.log_density`` with step ``h`` (user units)."""
    def score(t, x):
        x = np.asarray(x, dtype=np.float64)
        ok = np.all(np.isfinite(x), axis=1)  # NaN rows: chains the sampler marked as blown up
        xo = x[ok]
        out = np.full_like(x, np.nan)
        for a in range(x.shape[1]):
            e = np.zeros(x.shape[1])
            e[a] = h
            with np.errstate(all="ignore"):
                g = (system.log_density(t, xo + e) - system.log_density(t, xo - e)) / (2 * h)
            out[ok, a] = np.where(np.isfinite(g), g, 0.0)
        return out

    return score


def score_model(model, system, times, scale, *, seed: int, sample_only: bool = False, n_eval: int | None = None,
                kernel: str = "rbf", paper_scale: float = 1.0, metrics=None, target: str = "auto"):
    """:func:`amphys.evaluate` with the scale's sizes; ``sample_only`` for models without a velocity."""
    from amphys.diagnostics.scoring import METRICS, SAMPLE_METRICS
    from amphys.workflows.evaluation import evaluate

    n = int(n_eval or scale.n_eval)
    if metrics is None:  # the benchmarks report the exact W2 too (evaluate leaves it out by default for its cost)
        metrics = list(SAMPLE_METRICS) if sample_only else list(METRICS)
    return evaluate(model, system, times=times, metrics=metrics, n_per_time=n, seed=seed, kernel=kernel,
                    paper_scale=paper_scale, n_projections=scale.n_projections,
                    w2_max_n=min(scale.w2_max_n, n), push_steps=scale.push_steps, target=target)
