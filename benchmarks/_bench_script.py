"""What the scripts of ``benchmarks/`` share.

:func:`run` is the body of the per-benchmark scripts: ``python benchmarks/NAME.py ARGS`` is
``amphys bench NAME ARGS``. Without ``--full``, BLAS/OpenMP thread pools are limited to one thread before numpy is
imported (a shared 2-core machine stalls on oversubscribed threads). Each benchmark writes NAME.h5 (xarray
Dataset), NAME.md (markdown table with command, machine, date) and NAME.json into its output folder (default
./amphys-bench-NAME), prints the table and, as the last stdout line, a flat JSON object of headline figures.

:func:`network_parser` is the command line of the training-speed scripts (``throughput.py``, ``scaling.py``).
"""

from __future__ import annotations

import argparse
import os
import sys


def run(name: str) -> int:
    if "--full" not in sys.argv:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
    from amphys.cli.main import main

    return main(["bench", name, *sys.argv[1:]])


def network_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the script's docstring ``doc``, with the network of the training-speed benchmarks:
    ``--hidden`` (default 256), ``--depth`` (4) and ``--batch-size`` (1024), the defaults of docs/benchmarks.md."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hidden", type=int, default=256, help="network width (default 256)")
    p.add_argument("--depth", type=int, default=4, help="hidden layers (default 4)")
    p.add_argument("--batch-size", type=int, default=1024, help="rows per step (default 1024)")
    return p
