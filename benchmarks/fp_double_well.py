"""Benchmark ``fp-double-well`` (SPEC §8): a thin script over :mod:`amphys.bench`, the same as
``amphys bench fp-double-well``.

    python benchmarks/fp_double_well.py [--quick | --full | --tiny] [-o DIR] [--seed N]

Writes fp-double-well.h5 (xarray Dataset), fp-double-well.md (markdown table with command, machine, date) and
fp-double-well.json into DIR (default
./amphys-bench-fp-double-well); prints the table and, as the last stdout line, a flat
JSON object of headline figures. Without --full, BLAS thread pools are limited to one thread before numpy is
imported (a shared 2-core machine stalls on oversubscribed threads).
"""

from __future__ import annotations

import os
import sys

if "--full" not in sys.argv:
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

from amphys.cli.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", "fp-double-well", *sys.argv[1:]]))
