"""Action Matching solver in torch (SPEC §2, §10): takes arrays (times, positions, optional weights), knows no
physics and no xarray. ``amphys.fit`` adapts Snapshots to it.

Modules: :mod:`~amphys.solver.config` (``FitConfig``, no torch), :mod:`~amphys.solver.model` (network and
normalisation), :mod:`~amphys.solver.losses` (pure loss functions), :mod:`~amphys.solver.quadrature` (time
integral estimators), :mod:`~amphys.solver.train` (training loop), :mod:`~amphys.solver.transport` (ODE/SDE).
Importing this package does not import torch; the submodules do.
"""

from amphys.solver.config import FitConfig

__all__ = ["FitConfig"]
