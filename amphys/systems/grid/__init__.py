"""Grids for the numerical systems: one concept per module.

- :mod:`~amphys.systems.grid.mesh`: :class:`Grid` (a regular cell-centred grid on a box) and :func:`make_grid`;
- :mod:`~amphys.systems.grid.interpolate`: multilinear interpolation in space, bracketing of frames in time;
- :mod:`~amphys.systems.grid.density`: :class:`GridDensity`, a density given by grid values, and its samplers;
- :mod:`~amphys.systems.grid.initial`: the parser of the ``initial`` parameter of every grid system;
- :mod:`~amphys.systems.grid.potentials`: the named potentials V(x) and the check of a user's callable;
- :mod:`~amphys.systems.grid.system`: :class:`GridSystem`, the abstract base of the grid systems (lazy solve,
  checkpoints, density and velocity from grid fields);
- :mod:`~amphys.systems.grid.unresolved`: :class:`UnresolvedWarning`, raised when a grid does not resolve the
  solution.
"""

from amphys.systems.grid.density import GridDensity, sample_mixture
from amphys.systems.grid.interpolate import interpolate, time_bracket
from amphys.systems.grid.mesh import Grid, make_grid
from amphys.systems.grid.unresolved import UnresolvedWarning

__all__ = ["Grid", "GridDensity", "UnresolvedWarning", "interpolate", "make_grid", "sample_mixture", "time_bracket"]
