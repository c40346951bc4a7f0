"""Validation: assessing a flow fitted to measured data, without ground truth
(docs/theory.md#weak-continuity-residual).

Two independent checks, each set against the sampling noise of the data themselves:

1. **Held-out times** (:func:`~amphys.workflows.held_out_times.held_out`): for every interior snapshot t_k, fit on
   all the other snapshots, push samples of the previous snapshot t_{k−1} along that flow to t_k, and compare them
   with the held-out samples (MMD², energy distance, sliced W2, each beside its split-half floor). On top of that
   report, a **permutation test** of the pushed against all held-out samples (energy distance): its noise level is
   the 95th percentile of the statistic between random splits of the pooled samples (two sets from one law, same
   sizes). ``noise_ratio = permutation_statistic / permutation_noise`` (that percentile; ≤ 1: indistinguishable at
   the 5% level) and ``permutation_pvalue``. For scale, ``energy_distance_no_motion`` is the same statistic between
   the previous and the held-out snapshot: how far the population moved, which the flow has to explain.
2. **Calibrated continuity test** (:func:`amphys.diagnostics.continuity_test`) of the flow fitted to all
   snapshots: the residual R(t) beside its 95% noise threshold, per-time and overall p-values.

Verdict (documented in ``docs/guide-measured-data.md``): a check is "consistent" when its worst held-out noise
ratio is ≤ 2 (resp. its median residual is ≤ 2 noise thresholds), "marginal" up to 5, "inconsistent" beyond.
The continuity p-value is reported beside it in words: with many samples a small, harmless mismatch is detected,
so the verdict level follows the size of the residual, not the p-value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import xarray as xr

from amphys._checks import check_int
from amphys.data.snapshots import check_snapshots, split_snapshots
from amphys.diagnostics import continuity_test, energy_distance
from amphys.workflows.held_out_times import held_out

__all__ = ["validate", "Validation", "permutation_test", "verdict_level", "CONSISTENT", "MARGINAL"]

#: Noise ratios up to which a check counts as consistent, resp. marginal.
CONSISTENT, MARGINAL = 2.0, 5.0
#: Samples per set used in the permutation test (random subsets of larger snapshots).
MAX_SAMPLES = 1500


@dataclass
class Validation:
    """What :func:`validate` found: the ``report`` (an xarray Dataset over ``time``, saved by ``amphys validate``)
    and, per held-out time, the ``pushed`` samples and the ``observed`` held-out samples (for figures)."""

    report: xr.Dataset
    pushed: dict
    observed: dict

    @property
    def verdict(self) -> str:
        return self.report.attrs["verdict"]

    def summary(self) -> xr.Dataset:
        """The held-out times only, with the permutation statistic as ``energy_distance`` beside its noise level
        as ``energy_distance_threshold``, and the ``continuity_residual`` with its threshold (for
        :func:`amphys.plotting.plot_metrics`)."""
        r = self.report
        held = r["held_out"].values == 1
        return xr.Dataset({"energy_distance": ("time", r["permutation_statistic"].values[held]),
                           "energy_distance_threshold": ("time", r["permutation_noise"].values[held]),
                           "continuity_residual": ("time", r["continuity_residual"].values[held]),
                           "continuity_residual_threshold": ("time",
                                                             r["continuity_residual_threshold"].values[held])},
                          coords={"time": r["time"].values[held]}, attrs=dict(r.attrs))


def verdict_level(ratio: float) -> str:
    if not np.isfinite(ratio):
        return "not available"
    return "consistent" if ratio <= CONSISTENT else ("marginal" if ratio <= MARGINAL else "inconsistent")


def permutation_test(x, y, *, n_permutations: int = 100, seed: int = 0) -> dict:
    """Energy-distance permutation test of ``x`` against ``y``.

    Returns ``{"statistic", "noise", "pvalue"}``: the unbiased energy distance
    (:func:`amphys.diagnostics.energy_distance`), the 95th percentile of its permutation null (the statistic
    between random splits of the pooled samples with the same sizes) and the permutation p-value. The pooled
    distance matrix is computed once, so each permutation costs two matrix-vector products; sets larger than
    ``MAX_SAMPLES`` are subsampled.
    """
    check_int(n_permutations, "n_permutations", low=19)  # 19 permutations: the least for a 95% noise level
    rng = np.random.default_rng(seed)
    sets = []
    for arr in (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)):
        if arr.shape[0] > MAX_SAMPLES:
            arr = arr[np.sort(rng.choice(arr.shape[0], MAX_SAMPLES, replace=False))]
        sets.append(arr)
    a, b = sets
    n, m = a.shape[0], b.shape[0]
    pool = np.concatenate([a, b])
    sq = np.sum(pool ** 2, axis=1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * pool @ pool.T, 0.0))
    np.fill_diagonal(dist, 0.0)
    split = np.zeros((n + m, int(n_permutations) + 1))  # column 0: the observed split; then random ones
    split[:n, 0] = 1.0
    for j in range(1, split.shape[1]):
        split[rng.permutation(n + m)[:n], j] = 1.0
    other = 1.0 - split
    ds, do = dist @ split, dist @ other
    within_a = np.sum(split * ds, axis=0) / (n * (n - 1))
    within_b = np.sum(other * do, axis=0) / (m * (m - 1))
    cross = np.sum(split * do, axis=0) / (n * m)
    stat = 2.0 * cross - within_a - within_b  # 2E|X-Y| - E|X-X'| - E|Y-Y'|
    value, null = float(stat[0]), stat[1:]
    return {"statistic": value, "noise": float(np.quantile(null, 0.95)),
            "pvalue": float((1 + np.sum(null >= value)) / (1 + null.size))}


class _Recorder:
    """Wraps a fitted model so that the samples it pushes are recorded (held_out pushes once per fit)."""

    def __init__(self, model, log: list):
        self._model, self._log = model, log

    def push(self, x0, t0, times, **kwargs):
        out = self._model.push(x0, t0, times, **kwargs)
        self._log.append((float(t0), [float(t) for t in times], np.asarray(out)))
        return out

    def __call__(self, t, x):
        return self._model.velocity(t, x)

    def __getattr__(self, name):
        return getattr(self._model, name)


def validate(snapshots, config=None, *, model=None, n_permutations: int = 100, seed: int = 0,
             progress: bool = True, **overrides) -> Validation:
    """Held-out-time protocol and weak continuity residual on measured snapshots (see the module docstring).

    Parameters
    ----------
    snapshots : Snapshots (docs/theory.md#data-schema) with at least 3 distinct times (one interior snapshot to
        hold out).
    config, **overrides : the fit settings (:func:`amphys.fit`), used for every fit (one per interior
        snapshot, plus one on all snapshots unless ``model`` is given).
    model : an already fitted model of all snapshots, used for the residual instead of a new fit.
    n_permutations : permutations of each test (at least 19).
    seed : seed of the subsets, the permutations and the test functions.
    progress : show progress bars (held-out fits, and the fit on all snapshots).

    Returns
    -------
    :class:`Validation`; its ``report`` is an xarray.Dataset over ``time`` (every snapshot time): ``held_out``
    (1 where the time was held out), the variables of :func:`~amphys.workflows.held_out_times.held_out`
    (``mmd2``, ``energy_distance``, ``sliced_w2`` and their ``_floor``, ``n_compared``, ``fit_seconds``; NaN at
    the first and last time), ``permutation_statistic`` (energy distance of the pushed vs all held-out samples),
    ``permutation_noise`` (its 95% null level), ``noise_ratio``, ``permutation_pvalue``,
    ``energy_distance_no_motion``, ``continuity_residual``, ``continuity_residual_threshold``,
    ``continuity_p_value`` and ``continuity_p_value_holm`` (NaN with fewer than 4 snapshot times), and for an
    ensemble model (``ensemble=M``) ``velocity_spread`` and ``velocity_spread_relative`` (its estimated error);
    attrs ``verdict`` (plain language), ``verdict_level``, ``verdict_held_out``, ``verdict_residual``,
    ``continuity_p_value_all``, ``continuity_transport_ratio`` (+ ``_se``), ``continuity_verdict`` and
    ``fit_config``.
    """
    from amphys.workflows.fitting import fit

    ds = check_snapshots(snapshots, min_times=3, name="snapshots")
    parts = split_snapshots(ds)
    times = np.array([p[0] for p in parts])
    ho, pushes, configs = _held_out_fits(fit, ds, config, seed=seed, progress=progress, overrides=overrides)
    data, pushed_by_time, observed_by_time = _held_out_columns(ho, pushes, parts, n_permutations=n_permutations,
                                                               seed=seed)
    if model is None:
        model = fit(ds, config, progress=progress, **overrides)
    cont = _continuity(data, ds, model, times, seed)
    if getattr(getattr(model, "config", None), "ensemble", 1) > 1:  # the data's error bar: ensemble spread
        from amphys.workflows.evaluation import spread_columns

        data.update(spread_columns(model, [(t, x) for t, x, _ in parts]))
    units_t = str(ds.attrs.get("units_t", "1"))
    verdicts = _verdicts(times, data, units_t, cont.get("continuity_verdict", ""))
    report = xr.Dataset({k: ("time", v) for k, v in data.items()}, coords={"time": times}, attrs={
        **verdicts, **cont, "fit_config": configs[0] if configs else model.config.to_json(),
        "units_x": str(ds.attrs.get("units_x", "1")), "units_t": units_t,
        "n_permutations": int(n_permutations), "seed": int(seed),
        "thresholds": json.dumps({"consistent": CONSISTENT, "marginal": MARGINAL}),
        "held_out_protocol": ho.attrs.get("protocol", ""),
    })
    return Validation(report, pushed_by_time, observed_by_time)


def _held_out_fits(fit, ds, config, *, seed: int, progress: bool, overrides: dict):
    """The held-out report, and what each held-out fit pushed (``(t0, times, pushed)``) and its config (JSON)."""
    pushes: list = []
    configs: list = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=np.unique(ds["time"].values).size - 2, desc="held-out fits", unit="fit", leave=False)

    def recording_fit(data, cfg, **kw):
        fitted = fit(data, cfg, **kw)
        configs.append(fitted.config.to_json())
        if bar is not None:
            bar.update()
        return _Recorder(fitted, pushes)

    try:
        ho = held_out(ds, config, fit=recording_fit, seed=seed, progress=False, **overrides)
    finally:
        if bar is not None:
            bar.close()
    return ho, pushes, configs


def _held_out_columns(ho, pushes, parts, *, n_permutations: int, seed: int):
    """Per snapshot time: the held-out metrics (NaN where not held out) and the permutation test of the pushed
    against the held-out samples; with the pushed and observed samples per held-out time (for figures)."""
    times = np.array([p[0] for p in parts])
    n_t = times.size
    index = {float(t): k for k, t in enumerate(times)}
    data = {"held_out": np.zeros(n_t, dtype=np.int8)}
    data.update({name: np.full(n_t, np.nan) for name in ho.data_vars})
    data.update({k: np.full(n_t, np.nan) for k in ("permutation_statistic", "permutation_noise", "noise_ratio",
                                                    "permutation_pvalue", "energy_distance_no_motion")})
    for j, t in enumerate(ho["time"].values):
        k = index[float(t)]
        data["held_out"][k] = 1
        for name in ho.data_vars:
            data[name][k] = float(ho[name].values[j])
    pushed_by_time, observed_by_time = {}, {}
    for _t0, ts, out in pushes:
        k = index[ts[0]]
        pushed, observed = out[0], parts[k][1]
        test = permutation_test(pushed, observed, n_permutations=n_permutations, seed=seed + k)
        data["permutation_statistic"][k] = test["statistic"]
        data["permutation_noise"][k] = test["noise"]
        data["noise_ratio"][k] = max(test["statistic"], 0.0) / test["noise"] if test["noise"] > 0 else np.inf
        data["permutation_pvalue"][k] = test["pvalue"]
        data["energy_distance_no_motion"][k] = energy_distance(parts[k - 1][1], observed)
        pushed_by_time[float(times[k])], observed_by_time[float(times[k])] = pushed, observed
    return data, pushed_by_time, observed_by_time


def _continuity(data: dict, ds, model, times, seed: int) -> dict:
    """Per-time columns of the continuity test into ``data``; its overall results (report attrs)."""
    names = ("continuity_residual", "continuity_residual_threshold", "continuity_p_value", "continuity_p_value_holm")
    if times.size < 4:
        data.update({k: np.full(times.size, np.nan) for k in names})
        return {"continuity_verdict": "the continuity test needs at least 4 snapshot times"}
    res = continuity_test(ds, model, seed=seed)
    for k, v in zip(names, (res.residual, res.residual_threshold, res.p_value, res.p_value_holm)):
        data[k] = np.interp(times, res.times, v)
    return {"continuity_p_value_all": float(res.p_value_all), "continuity_transport_ratio": res.transport_ratio,
            "continuity_transport_ratio_se": res.transport_ratio_se, "continuity_verdict": res.verdict()}


def _verdicts(times, data: dict, units_t: str, continuity: str = "") -> dict:
    """The plain-language verdict and the levels of both checks (report attrs)."""
    u = "" if units_t == "1" else f" {units_t}"
    held = data["held_out"]
    ratios = data["noise_ratio"][held == 1]
    worst = int(np.flatnonzero(held)[np.argmax(ratios)])
    level_h = verdict_level(float(ratios.max()))
    within = int(np.sum(ratios <= 1.0))
    text_h = (f"held-out snapshots: fitted without each interior snapshot, the flow reproduces {within} of "
              f"{ratios.size} within their sampling noise (permutation test, 5% level); worst t = {times[worst]:g}"
              f"{u} at {ratios.max():.2g}× the noise: {level_h}")
    r, rf = data["continuity_residual"], data["continuity_residual_threshold"]
    med_ratio = float(np.nanmedian(r / np.where(rf > 0, rf, np.nan))) if np.any(np.isfinite(r)) else 0.0
    level_r = verdict_level(med_ratio)
    text_r = (f"continuity residual: median {np.nanmedian(r):.2g} against a noise threshold of "
              f"{np.nanmedian(rf):.2g} ({med_ratio:.2g}×): {level_r}. Continuity test: {continuity.rstrip('.')}"
              if np.any(np.isfinite(r)) else f"continuity: {continuity.rstrip('.')}")
    order = ["consistent", "marginal", "inconsistent"]
    overall = order[max(order.index(level_h), order.index(level_r))]
    summary = {"consistent": "the learned flow is consistent with the data",
               "marginal": "the learned flow roughly follows the data, with detectable mismatches",
               "inconsistent": "the learned flow does not reproduce the data (more training steps, more "
                               "samples or more snapshots may help)"}[overall]
    verdict = f"{summary}. {text_h[0].upper() + text_h[1:]}. {text_r[0].upper() + text_r[1:]}."
    return {"verdict": verdict, "verdict_level": overall, "verdict_held_out": level_h, "verdict_residual": level_r}
