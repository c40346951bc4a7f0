"""Benchmark ``snapshots`` (learning from finite snapshots), the same as ``amphys bench snapshots``.

    python benchmarks/snapshots.py [--quick | --defaults | --full | --tiny] [--cases rot,sym] [-o DIR] [--seed N]
"""

import sys

from _bench_script import run

if __name__ == "__main__":
    sys.exit(run("snapshots"))
