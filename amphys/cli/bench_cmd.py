"""``amphys bench``: the reproduction benchmarks of docs/benchmarks.md (implemented in :mod:`amphys.bench`)."""

from __future__ import annotations

NAME = "bench"
HELP = "run a reproduction benchmark (hydrogen, the physics suite, sweeps)"
DESCRIPTION = """Run benchmark NAME: Action Matching (default config and each time-integral mode), the baselines
(score matching + annealed Langevin, minibatch-OT flow matching) and the oracle (the true AM target) on the same
data, scored by the same metrics with their noise floors.

Writes NAME.h5 (xarray Dataset), NAME.md (markdown table with command, machine and date) and NAME.json (flat
headline figures) into the output folder; prints the table and, as the last line, the JSON object.

--quick (default): minutes on 2 CPU cores (one torch thread). --full: paper scale, meant for a GPU.

examples:
  amphys bench barenblatt --quick -o out/
  amphys bench hydrogen --full -o out/
"""


def add_arguments(p):
    from amphys.bench import NAMES

    p.add_argument("name", metavar="NAME", help=f"benchmark: {', '.join(NAMES)}")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--quick", dest="scale", action="store_const", const="quick",
                       help="small networks and budgets: minutes on 2 CPU cores (default)")
    group.add_argument("--full", dest="scale", action="store_const", const="full", help="paper scale (GPU)")
    group.add_argument("--tiny", dest="scale", action="store_const", const="tiny",
                       help="seconds, meaningless numbers: a smoke test of the whole pipeline")
    group.add_argument("--defaults", dest="scale", action="store_const", const="defaults",
                       help="snapshots only: the main table with amphys's default network and steps")
    p.set_defaults(scale="quick")
    p.add_argument("-o", "--output", default=None, help="output folder (default ./amphys-bench-NAME)")
    p.add_argument("--seed", type=int, default=0, help="seed of the data, the fits and the evaluation")
    p.add_argument("--cases", default=None, metavar="A,B",
                   help="snapshots and schrodinger: run these cases (comma-separated keys), e.g. rot,sym; "
                        "schrodinger: paper, s2pz, coherent, squeezed, vortex, packet, sgrid")
    p.add_argument("--ks", default=None, metavar="K,K",
                   help="snapshots only: these numbers of snapshots instead of the plan's (no sweeps), e.g. 11,21")
    p.add_argument("--rows", default=None, metavar="A,B",
                   help="snapshots only: these rows (default, mixture, exact, cfm, torchcfm, ensemble, "
                        "gaussian path, OU family, self-similar)")


def run(args) -> int:
    import json
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
    from amphys import bench

    bench.check_name(args.name)
    def split(text):
        return None if text is None else [c.strip() for c in text.split(",") if c.strip()]

    cases, rows = split(args.cases), split(args.rows)
    try:
        ks = None if args.ks is None else [int(k) for k in split(args.ks)]
    except ValueError:
        from amphys.errors import InputError

        raise InputError(f"--ks: expected comma-separated integers, got {args.ks!r}") from None
    extra = "".join(f" --{flag} {text}" for flag, text in (("cases", args.cases), ("ks", args.ks),
                                                            ("rows", args.rows)) if text)
    out = bench.run(args.name, args.scale, args.output, seed=args.seed, cases=cases, ks=ks, rows=rows,
                    command=f"amphys bench {args.name} --{args.scale}{extra}")
    print(out.markdown)
    print()
    for path in out.files:
        print(f"wrote {path}")
    print(json.dumps(out.headline, sort_keys=True))
    return 0
