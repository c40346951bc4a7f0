"""Benchmark ``ou`` (docs/benchmarks.md), the same as ``amphys bench ou``.

    python benchmarks/ou.py [--quick | --full | --tiny] [-o DIR] [--seed N]
"""

import sys

from _bench_script import run

if __name__ == "__main__":
    sys.exit(run("ou"))
