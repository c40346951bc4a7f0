"""Benchmark ``hydrogen`` (docs/benchmarks.md), the same as ``amphys bench hydrogen``.

    python benchmarks/hydrogen.py [--quick | --full | --tiny] [-o DIR] [--seed N]
"""

import sys

from _bench_script import run

if __name__ == "__main__":
    sys.exit(run("hydrogen"))
