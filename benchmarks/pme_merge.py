"""Benchmark ``pme-merge`` (docs/benchmarks.md), the same as ``amphys bench pme-merge``.

    python benchmarks/pme_merge.py [--quick | --full | --tiny] [-o DIR] [--seed N]
"""

import sys

from _bench_script import run

if __name__ == "__main__":
    sys.exit(run("pme-merge"))
