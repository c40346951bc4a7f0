"""Figures (matplotlib with the Agg canvas; no pyplot state). The only amphys module importing matplotlib.

Every function takes datasets (or arrays) and an output path, writes one file and returns its path:

- :func:`plot_densities` — learned (pushed) vs true samples at several times (2-D projections for d ≥ 3);
- :func:`plot_velocity_fields` — learned vs target velocity on a grid (quiver over the density);
- :func:`plot_metrics` — diagnostics vs time, each noise band shaded (docs/theory.md#field-and-sample-metrics);
- :func:`plot_training` — loss and gradient norm vs step;
- :func:`animate_samples` — GIF of pushed samples;
- :func:`plot_error_anatomy` — where the field error lives (``amphys.diagnostics.error_anatomy``);
- :func:`plot_file` — pick the right figures for a file written by amphys (``amphys plot``).
"""

from amphys.plotting.anatomy import plot_error_anatomy
from amphys.plotting.figures import (
    animate_samples,
    plot_densities,
    plot_metrics,
    plot_training,
    plot_velocity_fields,
)
from amphys.plotting.files import plot_file

__all__ = ["plot_densities", "plot_velocity_fields", "plot_metrics", "plot_training", "animate_samples",
           "plot_file", "plot_error_anatomy"]
