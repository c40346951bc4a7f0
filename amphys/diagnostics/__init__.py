"""Diagnostics: compare a learned flow with the truth, or with the data alone (SPEC §5).

- :func:`evaluate` — one report (``xarray.Dataset`` over ``time``, SPEC §4.3) for a model seen as a velocity
  callable, against a System (field + sample metrics with noise floors) or Snapshots (sample metrics, weak
  residual);
- field metrics (:func:`field_metrics`, :func:`action_gap`) against the AM target, which is the closed-form
  ``am_velocity`` or the q-weighted gradient projection of the physical velocity (:func:`project_gradient`,
  :func:`am_target`), never silently a non-gradient physical field;
- sample metrics (:func:`mmd2`, :func:`energy_distance`, :func:`sliced_w2`, :func:`w2`), memory-bounded;
- :func:`continuity_residual` (weak form, from samples alone) and :func:`held_out` (leave one snapshot out).

numpy, scipy and POT only; torch is imported only by ``amphys.fit`` when :func:`held_out` fits.
"""

from amphys.diagnostics.evaluate import METRICS, evaluate
from amphys.diagnostics.fields import action_gap, field_metrics, rk4_push
from amphys.diagnostics.held_out import held_out
from amphys.diagnostics.projection import Projection, am_target, project_gradient
from amphys.diagnostics.samples import energy_distance, median_bandwidth, mmd2, sliced_w2, w2
from amphys.diagnostics.weak import continuity_residual

__all__ = [
    "evaluate", "METRICS", "project_gradient", "Projection", "am_target", "mmd2", "energy_distance",
    "sliced_w2", "w2", "median_bandwidth", "field_metrics", "action_gap", "rk4_push", "continuity_residual",
    "held_out",
]
