"""Action Matching solver in torch (docs/theory.md#the-action-matching-loss, docs/architecture.md): takes arrays
(times, positions, optional weights), knows no physics and no xarray. ``amphys.fit`` adapts Snapshots to it.

Modules: :mod:`~amphys.solver.config` (``FitConfig``) and :mod:`~amphys.solver.fields` (field constraints), no
torch; :mod:`~amphys.solver.model` (network and normalisation), :mod:`~amphys.solver.losses` (pure loss
functions), :mod:`~amphys.solver.quadrature` (time integral estimators), :mod:`~amphys.solver.action` (the AM
objective: batch -> loss), :mod:`~amphys.solver.loop` (the training loop, shared with the baselines),
:mod:`~amphys.solver.state` (training state = checkpoint schema), :mod:`~amphys.solver.checkpoint` (files),
:mod:`~amphys.solver.train` (``train``, the entry point), :mod:`~amphys.solver.transport` (ODE/SDE).
Importing this package does not import torch; the submodules do.
"""

from amphys.solver.config import FitConfig

__all__ = ["FitConfig"]
