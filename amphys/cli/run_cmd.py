"""``amphys run``: the whole pipeline on a built-in or chosen system."""

from __future__ import annotations

import sys

NAME = "run"
HELP = "generate → fit → evaluate → plot into one folder, with a summary table"
DESCRIPTION = """Generate exact samples of a physical system, fit an Action Matching flow, score it against the
true AM target (field and sample metrics with 95% noise thresholds, the continuity test's p-values and its
verdict in words), and draw the figures, all into one folder.

The fit sees the generated snapshots alone (the user's case); --exact-between also gives it exact samples between
snapshots (the upper reference). The default system is rotational Ornstein-Uhlenbeck (2D): its physical
probability-flow velocity is not a gradient, and the run scores the learned field against the gradient (Action
Matching) target.

examples:
  amphys run                       # default system, a few minutes on 2 CPU cores
  amphys run barenblatt -o out/    # 2D porous medium (Barenblatt)
  amphys run ou --steps 500        # a quicker, rougher fit
"""


def add_arguments(p):
    from amphys.cli._util import add_n_per_time
    from amphys.workflows.pipeline import DEFAULT_SYSTEM, PRESETS

    p.add_argument("system", nargs="?", default=None,
                   help=f"system (default {DEFAULT_SYSTEM}; presets: {', '.join(PRESETS)}; or any registered name)")
    p.add_argument("-o", "--output", default=None, help="output folder (default ./amphys-run-SYSTEM)")
    p.add_argument("--set", dest="params", action="append", metavar="KEY=VALUE", default=[],
                   help="system parameter, value parsed as JSON (repeatable)")
    add_n_per_time(p, None, "samples per snapshot")
    p.add_argument("--n-times", type=int, default=None, help="number of snapshots")
    p.add_argument("--steps", type=int, default=None, help="training steps")
    p.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--exact-between", action="store_true",
                   help="also draw exact samples between snapshots (the reference; default: snapshots only)")
    p.add_argument("--data-only", action="store_true",
                   help="accepted for compatibility: fitting from the snapshots alone is now the default")
    p.add_argument("--ensemble", type=int, default=None, metavar="M",
                   help="train M members on resampled snapshots: an error bar from the data (M times the cost)")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.add_argument("--quiet", action="store_true", help="print only the summary")


def run(args) -> int:
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
    from amphys.cli._util import parse_sets
    from amphys.workflows.pipeline import run as run_pipeline
    from amphys.workflows.pipeline import summary_table

    if args.data_only:
        print("amphys: note: --data-only is now the default (use --exact-between for the reference fit)",
              file=sys.stderr)
    overrides = {k: v for k, v in {"steps": args.steps, "device": args.device, "ensemble": args.ensemble}.items()
                 if v is not None}
    out = run_pipeline(args.system, args.output, params=parse_sets(args.params), n_per_time=args.n_per_time,
                       n_times=args.n_times, seed=args.seed, quiet=args.quiet, plots=not args.no_plots,
                       exact_between=args.exact_between, **overrides)
    print()
    print(summary_table(out.report))
    print(f"\nwrote {out.folder}/ (data.h5, model.pt, report.h5, pushed.h5, figures/) in "
          f"{sum(out.timings.values()):.0f} s")
    return 0
