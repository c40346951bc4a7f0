"""Baselines for the benchmarks (docs/benchmarks.md), trained on the same snapshot arrays and with the same
training loop (:mod:`amphys.solver.loop`) as Action Matching.

- :func:`fit_score_matching` — score matching + Langevin dynamics, the AM paper's baseline (denoising, sliced
  or exact score matching; annealed Langevin over noise levels, or the official code's tracking protocol);
  :func:`tune_langevin_step` picks its Langevin step with a true score, as the paper did.
- :func:`fit_flow_matching` — minibatch-OT conditional flow matching between consecutive snapshots.

Like :mod:`amphys.solver` these take arrays (``times`` (K,), ``xs`` a list of (n_k, d)) and know no physics
and no xarray. torch is imported on first use of a name below, not by ``import amphys.baselines``.
"""

from __future__ import annotations

__all__ = ["fit_score_matching", "SMConfig", "ScoreMatchingResult", "tune_langevin_step", "StepTuning",
           "fit_flow_matching", "CFMConfig", "FlowMatchingResult"]

_LAZY = {
    "fit_score_matching": "amphys.baselines.score_matching",
    "SMConfig": "amphys.baselines.score_matching",
    "ScoreMatchingResult": "amphys.baselines.score_matching",
    "tune_langevin_step": "amphys.baselines.tuning",
    "StepTuning": "amphys.baselines.tuning",
    "fit_flow_matching": "amphys.baselines.flow_matching",
    "CFMConfig": "amphys.baselines.flow_matching",
    "FlowMatchingResult": "amphys.baselines.flow_matching",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'amphys.baselines' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
