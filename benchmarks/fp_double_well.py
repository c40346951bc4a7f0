"""Benchmark ``fp-double-well`` (docs/benchmarks.md), the same as ``amphys bench fp-double-well``.

    python benchmarks/fp_double_well.py [--quick | --full | --tiny] [-o DIR] [--seed N]
"""

import sys

from _bench_script import run

if __name__ == "__main__":
    sys.exit(run("fp-double-well"))
