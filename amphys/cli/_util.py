"""Option parsing shared by commands: time lists, ``--set key=value`` pairs."""

from __future__ import annotations

import json

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
