"""Benchmark ``schrodinger`` (issue 14), the same as ``amphys bench schrodinger``: the field error of Action Matching
against the AM target on seven quantum states, with the error anatomy.

    python benchmarks/schrodinger.py [--quick | --full | --tiny] [-o DIR] [--seed N]
"""

import sys

from _bench_script import run

if __name__ == "__main__":
    sys.exit(run("schrodinger"))
