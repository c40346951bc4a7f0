"""An ensemble of independently trained potentials: their mean as the model, their spread as an error bar.

Members are trained on bootstrap resamples of every snapshot (each resampled with replacement to its own size),
with their own seeds, so their disagreement reflects how much the fitted field moves when the data are drawn
again: the sampling part of the error. ``velocity`` and ``potential`` are the members' means;
:meth:`EnsembleModel.spread` is, per point, sqrt(Σ_i Var_m v_i) over members (unbiased variance), in the data's
units, and :data:`SPREAD_CALIBRATION` scales it into an estimate of ‖v − v*‖ (docs/theory.md#learning-from-snapshots
and the calibration table in docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["EnsembleModel", "bootstrap", "SPREAD_CALIBRATION"]

#: Factor from the members' spread to the estimated size of ‖v − v*‖ (measured: docs/benchmarks.md).
SPREAD_CALIBRATION = 1.0


class EnsembleModel(nn.Module):
    """Members (``ActionModel`` of equal normalisation) seen as one model: mean potential and velocity."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)
        first = self.members[0]
        self.dim, self.quadratic_head = first.dim, first.quadratic_head

    # buffers of the first member (every member shares the normalisation of the full data)
    @property
    def t0(self):
        return self.members[0].t0

    @property
    def t_scale(self):
        return self.members[0].t_scale

    @property
    def is_centred(self) -> bool:
        return self.members[0].is_centred

    def forward(self, tau, y):
        return torch.stack([m(tau, y) for m in self.members]).mean(dim=0)

    def potential(self, t, x):
        return torch.stack([m.potential(t, x) for m in self.members]).mean(dim=0)

    def velocity(self, t, x, *, create_graph: bool = False):
        return torch.stack([m.velocity(t, x, create_graph=create_graph) for m in self.members]).mean(dim=0)

    def spread(self, t, x) -> torch.Tensor:
        """sqrt(Σ_i Var_m v_i(t, x)) over the members, shape (n,)."""
        v = torch.stack([m.velocity(t, x) for m in self.members])
        return torch.sqrt(torch.sum(torch.var(v, dim=0, unbiased=True), dim=-1))


def bootstrap(xs, weights, seed: int):
    """Every snapshot resampled with replacement to its own size (weights follow their samples)."""
    rng = np.random.default_rng([seed, 0xB007])
    out_x, out_w = [], None if weights is None else []
    for k, x in enumerate(xs):
        idx = np.sort(rng.integers(0, len(x), len(x)))
        out_x.append(np.asarray(x)[idx])
        if weights is not None:
            out_w.append(np.asarray(weights[k])[idx])
    return out_x, out_w
