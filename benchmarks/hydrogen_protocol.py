"""Benchmark ``hydrogen-protocol`` (issue 14), the same as ``amphys bench hydrogen-protocol``: the AM paper's
hydrogen protocol with 5000 samples per time, the paper's and a sharper MMD kernel and the field error against the
converged projection along training.

    python benchmarks/hydrogen_protocol.py [--quick | --full | --tiny] [-o DIR] [--seed N]
"""

import sys

from _bench_script import run

if __name__ == "__main__":
    sys.exit(run("hydrogen-protocol"))
