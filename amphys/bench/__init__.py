"""Reproduction benchmarks (docs/benchmarks.md): ``amphys bench NAME [--quick|--full]`` and ``benchmarks/NAME.py``.

Names: ``hydrogen`` (the Action Matching paper's Schrödinger experiment, and the 1s+2pz state), the physics
suite ``barenblatt``, ``ou``, ``fp-double-well``, ``pme-merge``, ``schrodinger-grid``, ``sweeps`` (velocity
error vs samples per snapshot, number of snapshots and time-integral mode), and ``schrodinger`` (the field error on
seven quantum states, with the error anatomy) and ``hydrogen-protocol`` (the paper's hydrogen protocol with 5000
samples per time, a sharper kernel and the field error along training). Each run writes ``NAME.h5`` (an
``xarray.Dataset``), ``NAME.md`` (markdown tables with command, machine and date) and ``NAME.json`` (flat
headline figures, also the last line printed by the scripts).

This package sits at the top of the layering, next to :mod:`amphys.workflows.pipeline`: it may import everything but
:mod:`amphys.cli`. Importing it imports neither torch nor matplotlib.

>>> from amphys import bench                                   # doctest: +SKIP
>>> out = bench.run("barenblatt", "quick", "out/")             # doctest: +SKIP
>>> out.headline["d2_m2_am_mc_verr"]                           # doctest: +SKIP
"""

from __future__ import annotations

from amphys.errors import unknown_name

__all__ = ["NAMES", "SCALE_NAMES", "run", "describe"]

NAMES = ("hydrogen", "barenblatt", "ou", "fp-double-well", "pme-merge", "schrodinger-grid", "sweeps", "snapshots",
         "schrodinger", "hydrogen-protocol")
SCALE_NAMES = ("tiny", "quick", "full", "defaults")


def describe(name: str) -> str:
    """One line on what benchmark ``name`` runs."""
    if name == "hydrogen":
        return "the AM paper's hydrogen experiment (paper protocol and field metrics) and the 1s+2pz state"
    if name == "sweeps":
        return "velocity error vs samples per snapshot, number of snapshots and time-integral mode"
    if name == "snapshots":
        return "learning from finite snapshots: the default vs the mixture path, CFM, torchcfm and parametric floors"
    if name == "schrodinger":
        return "field error against the AM target on seven quantum states, with the error anatomy"
    if name == "hydrogen-protocol":
        return "the AM paper's hydrogen protocol with 5000 samples per time: paper and sharp MMD, field error"
    from amphys.bench.physics import DESCRIPTIONS

    return DESCRIPTIONS[name]


def check_name(name: str) -> str:
    if name not in NAMES:
        raise unknown_name("benchmark", name, NAMES)
    return name


def run(name: str, scale: str = "quick", output=None, *, seed: int = 0, command: str | None = None, cases=None,
        ks=None, rows=None):
    """Run benchmark ``name`` at ``scale`` ("tiny" for tests, "quick", "full"); write its files into ``output``
    (default ``./amphys-bench-NAME``) and return a :class:`~amphys.bench._common.BenchOutput`. ``cases``, ``ks``
    and ``rows`` (snapshots only) select cases, numbers of snapshots and rows of the plan; ``cases`` also
    selects the states of ``schrodinger`` (its case keys)."""
    from amphys.bench._common import get_scale, limit_threads, write_outputs

    check_name(name)
    if scale == "defaults":  # the snapshots benchmark's main table at amphys's default network and steps
        import dataclasses

        if name != "snapshots":
            from amphys.errors import InputError

            raise InputError(f"--defaults: only the snapshots benchmark has it, got {name!r}")
        sc = dataclasses.replace(get_scale("quick"), name="defaults")
    else:
        sc = get_scale(scale)
    if cases is not None and name != "schrodinger":   # schrodinger checks its own case keys
        from amphys.bench.snapshots import CASES
        from amphys.bench.snapshots_small import SMALL_CASES
        from amphys.errors import unknown_name

        if name != "snapshots":
            from amphys.errors import InputError

            raise InputError(f"--cases: only the snapshots and schrodinger benchmarks have cases to select, "
                             f"got {name!r}")
        for c in cases:
            if c not in CASES and c not in SMALL_CASES:
                raise unknown_name("snapshots case", c, [*CASES, *SMALL_CASES])
    if (ks is not None or rows is not None) and name != "snapshots":
        from amphys.errors import InputError

        raise InputError(f"--ks/--rows: only the snapshots benchmark has them, got {name!r}")
    limit_threads(sc)
    folder = output or f"amphys-bench-{name}"
    command = command or f"amphys bench {name} --{scale}"
    if name == "hydrogen":
        from amphys.bench.hydrogen import run_hydrogen

        out = run_hydrogen(sc, folder, seed=seed, command=command)
    elif name == "sweeps":
        from amphys.bench.sweeps import run_sweeps

        out = run_sweeps(sc, folder, seed=seed, command=command)
    elif name == "snapshots":
        from amphys.bench.snapshots import run_snapshots

        out = run_snapshots(sc, folder, seed=seed, command=command, cases=cases, ks=ks, rows=rows)
    elif name == "schrodinger":
        from amphys.bench.schrodinger import run_schrodinger

        out = run_schrodinger(sc, folder, seed=seed, command=command, cases=cases)
    elif name == "hydrogen-protocol":
        from amphys.bench.protocol import run_protocol

        out = run_protocol(sc, folder, seed=seed, command=command)
    else:
        from amphys.bench._runner import run_physics

        out = run_physics(name, sc, seed=seed, command=command)
    return write_outputs(out, folder)
