"""Option parsing shared by commands: time lists, ``--set key=value`` pairs, the per-time sample count."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from amphys.errors import InputError


def parse_times(text: str, option: str = "--times") -> np.ndarray:
    """``"T0:T1:N"`` (N evenly spaced times, both ends included) or a comma-separated list of times."""
    text = text.strip()
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError
            t0, t1, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 1:
                raise ValueError
            return np.linspace(t0, t1, n)
        return np.array([float(p) for p in text.split(",") if p.strip()], dtype=np.float64)
    except ValueError:
        raise InputError(f"{option}: expected T0:T1:N (e.g. 1:2:11) or a comma-separated list "
                         f"(e.g. 0,0.5,1), got {text!r}") from None


def parse_sets(items, option: str = "--set") -> dict:
    """``["key=value", ...]`` with values parsed as JSON (bare words stay strings)."""
    params = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InputError(f"{option}: expected key=value (e.g. --set dim=2), got {item!r}")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


class _PerTimeCount(argparse.Action):
    """``--n-per-time N``; the old spelling ``--n N`` still works and prints a one-line note on stderr."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string == "--n":
            print("amphys: note: --n is deprecated; use --n-per-time (same meaning)", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_n_per_time(parser, default, help: str) -> None:
    """Add ``--n-per-time N`` (samples per time) with ``--n`` as its deprecated spelling."""
    parser.add_argument("--n-per-time", "--n", dest="n_per_time", type=int, default=default, metavar="N",
                        action=_PerTimeCount, help=f"{help} (--n: deprecated spelling)")
