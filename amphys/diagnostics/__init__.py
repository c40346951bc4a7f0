"""Diagnostics: pure metrics of a learned flow against the truth, or against the data alone
(docs/theory.md#field-and-sample-metrics).

- field metrics (:func:`field_metrics`, :func:`action_gap`) against the AM target, which is the closed-form
  ``am_velocity`` or the q-weighted gradient projection of the physical velocity (:func:`project_gradient`,
  :func:`am_target`), never silently a non-gradient physical field;
- sample metrics (:func:`mmd2`, :func:`energy_distance`, :func:`sliced_w2`, :func:`w2`), memory-bounded, and
  :class:`SampleMetrics` (their settings; each metric beside its noise floor);
- :func:`continuity_residual` (weak form, from samples alone) and :func:`continuity_test` (the calibrated test of
  the continuity equation: p-values, transport ratio);
- :func:`metric_floor`: the noise threshold of any two-sample metric (19 null replicates, exact 5% decision);
- :func:`error_anatomy` (where the field error lives: by time, radius, density level and distance to a node,
  with the error on the region holding 99% of the mass).

numpy, scipy and POT only. The workflows that use them (``amphys.evaluate``, the held-out-time protocol,
``validate``) live in :mod:`amphys.workflows`.
"""

from amphys.diagnostics.anatomy import anatomy_of_samples, error_anatomy
from amphys.diagnostics.continuity import ContinuityResult, continuity_test
from amphys.diagnostics.fields import action_gap, field_metrics, push_samples, rk4_push
from amphys.diagnostics.floors import MetricFloor, metric_floor
from amphys.diagnostics.projection import Projection, project_gradient
from amphys.diagnostics.samples import energy_distance, median_bandwidth, mmd2, sliced_w2, w2
from amphys.diagnostics.scoring import METRICS, SampleMetrics
from amphys.diagnostics.target import am_target
from amphys.diagnostics.weak import continuity_residual

__all__ = [
    "METRICS", "SampleMetrics", "project_gradient", "Projection", "am_target", "mmd2", "energy_distance",
    "sliced_w2", "w2", "median_bandwidth", "field_metrics", "action_gap", "rk4_push", "push_samples",
    "continuity_residual", "continuity_test", "ContinuityResult", "metric_floor", "MetricFloor",
    "error_anatomy", "anatomy_of_samples",
]

# Deprecated names: the workflows moved to amphys.workflows. Resolved on access only (PEP 562), with a warning;
# nothing in amphys uses them, and diagnostics imports nothing from the workflows.
_MOVED = {"evaluate": ("amphys.workflows.evaluation", "evaluate", "amphys.evaluate"),
          "held_out": ("amphys.workflows.held_out_times", "held_out", "amphys.workflows.held_out_times.held_out")}


def __getattr__(name):
    if name in _MOVED:
        import importlib

        from amphys._deprecation import deprecated

        module, attr, new = _MOVED[name]
        deprecated(f"amphys.diagnostics.{name} is deprecated; use {new} (same arguments)")
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'amphys.diagnostics' has no attribute {name!r}")
