"""Benchmark ``schrodinger-grid`` (docs/benchmarks.md), the same as ``amphys bench schrodinger-grid``.

    python benchmarks/schrodinger_grid.py [--quick | --full | --tiny] [-o DIR] [--seed N]
"""

import sys

from _bench_script import run

if __name__ == "__main__":
    sys.exit(run("schrodinger-grid"))
