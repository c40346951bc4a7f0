"""The physics suite (docs/benchmarks.md): barenblatt, ou, fp-double-well, pme-merge, schrodinger-grid.

Each case runs every method of :data:`amphys.bench._suite.PHYSICS_METHODS` on the same snapshots: AM with the
default config and each time-integral mode (the best one marked), AM with the exact sampler, score matching +
annealed Langevin, minibatch-OT CFM, and the oracle. ``--quick`` runs the cases marked ``quick``; the others are
listed as cut in the table.
"""

from __future__ import annotations

import numpy as np

from amphys.bench._suite import Case

__all__ = ["CASES", "DESCRIPTIONS", "ou_highdim"]


def ou_highdim(d: int) -> dict:
    """A d-dimensional OU with an anisotropic symmetric drift, displaced mean and tight start (t ∈ [0, 1])."""
    return {"drift": np.diag(np.linspace(0.5, 2.0, d)).tolist(), "diffusion": 0.5, "mean0": [1.0] * d,
            "cov0": 0.25, "t_span": [0.0, 1.0]}


#: OU-G (docs/benchmarks.md): rotational drift, anisotropic noise; the probability-flow velocity is not a gradient.
OU_ROTATIONAL = {"drift": [[0.5, -2.0], [2.0, 0.5]], "diffusion": [[0.5, 0.0], [0.0, 0.05]], "mean0": [3.0, 0.0],
                 "cov0": 0.1, "t_span": [0.0, 2.0]}

#: The grid samplers draw one batch at a time t from a density interpolated between frames: ~10 ms per call for
#: fp-grid (1D), ~80 ms for pme-grid (256²) and ~180 ms for schrodinger-grid, against thousands of calls in a
#: fit with the sampler (fp-grid: 104 s of training in --quick; the 2D ones would take about an hour).
_GRID_SAMPLER_SLOW = {"am-sampler": "the 2D grid sampler costs ~0.1 s per draw at a new time: ~1 h of training"}

CASES: dict[str, list[Case]] = {
    "barenblatt": [Case(f"d={d}, m={m}", "barenblatt", {"dim": d, "m": float(m)}, key=f"d{d}_m{m}",
                        quick=(d, m) in ((2, 2), (1, 3))) for m in (2, 3) for d in (1, 2, 3)],
    "ou": [
        Case("rotational 2D (OU-G)", "ou", OU_ROTATIONAL, key="rot"),
        Case("mixture 2D (OU-M)", "ou-mixture", {}, key="mix"),
        Case("Gaussian d=10", "ou", ou_highdim(10), key="d10"),
        Case("Gaussian d=50", "ou", ou_highdim(50), key="d50", quick=False),
    ],
    "fp-double-well": [Case("fp-grid defaults (1D double well)", "fp-grid", {}, key="fp")],
    "pme-merge": [Case("pme-grid defaults (2D, 3 bumps merge)", "pme-grid", {}, key="pme",
                       full_only=_GRID_SAMPLER_SLOW)],
    "schrodinger-grid": [Case("schrodinger-grid defaults (2D packet, double well)", "schrodinger-grid", {},
                              key="sg", full_only=_GRID_SAMPLER_SLOW)],
}

DESCRIPTIONS = {
    "barenblatt": "porous medium, Barenblatt solution, d in {1,2,3}, m in {2,3}, t in [1,2]",
    "ou": "Ornstein-Uhlenbeck: 2D rotational (non-gradient physical field), 2D mixture, Gaussian d=10 and d=50",
    "fp-double-well": "Fokker-Planck in a 1D double well (Scharfetter-Gummel grid solution)",
    "pme-merge": "porous medium, three merging bumps in 2D (finite volumes)",
    "schrodinger-grid": "2D split-step Schrodinger: a packet in a double well",
}
