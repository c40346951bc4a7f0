"""Shared body of the per-benchmark scripts: ``python benchmarks/NAME.py ARGS`` is ``amphys bench NAME ARGS``.

Without ``--full``, BLAS/OpenMP thread pools are limited to one thread before numpy is imported (a shared 2-core
machine stalls on oversubscribed threads). Each benchmark writes NAME.h5 (xarray Dataset), NAME.md (markdown
table with command, machine, date) and NAME.json into its output folder (default ./amphys-bench-NAME), prints the
table and, as the last stdout line, a flat JSON object of headline figures.
"""

from __future__ import annotations

import os
import sys


def run(name: str) -> int:
    if "--full" not in sys.argv:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
    from amphys.cli.main import main

    return main(["bench", name, *sys.argv[1:]])
