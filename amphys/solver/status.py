"""How a fit ended: one ``str``-valued enum, compared against everywhere instead of spelled-out strings."""

from __future__ import annotations

import enum

__all__ = ["FitStatus"]


class FitStatus(str, enum.Enum):
    """Status of a finished fit. A ``str`` subclass: ``FitStatus.CONVERGED == "converged"`` and it is stored in
    files as its value.

    - ``CONVERGED``: training ran its course (all steps, or stopped early because the held-out score stopped
      improving) without a problem.
    - ``STOPPED``: stopped from outside (time limit, callback, interrupt) before it ran its course.
    - ``DIVERGED``: the divergence guard stopped training (non-finite loss or exploding gradient); the result
      holds the last good weights.
    - ``RUNAWAY``: training was stopped because the fit ran away from anything the data support (a loss far below
      the least action the snapshots allow, or held-out samples pushed far outside the data); the result holds
      the best weights seen before (the message says which step and why).
    """

    CONVERGED = "converged"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    RUNAWAY = "runaway"

    def __str__(self) -> str:
        return self.value
