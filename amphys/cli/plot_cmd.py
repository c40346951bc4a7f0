"""``amphys plot``: figures for a file or run folder written by amphys."""

from __future__ import annotations

NAME = "plot"
HELP = "draw the figures for a data file, report, model or run folder"
DESCRIPTION = """Draw the figures that fit FILE and write them (PNG, GIF) into DIR.

FILE may be Snapshots (.h5: density panels), a diagnostics report (.h5: metrics vs time, noise bands shaded),
a model (.pt: training curves) or a folder written by `amphys run` (all figures, learned vs true).

example:
  amphys plot amphys-run-ou -o figures/
"""


def add_arguments(p):
    p.add_argument("file", help="file or run folder written by amphys")
    p.add_argument("-o", "--output", required=True, help="output folder for the figures")


def run(args) -> int:
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
    from pathlib import Path

    from amphys.plotting import plot_file, plot_training

    if Path(args.file).suffix == ".pt":  # a model: its file format belongs to the workflows, above plotting
        from amphys.workflows.result import load_model

        model = load_model(args.file)
        Path(args.output).mkdir(parents=True, exist_ok=True)
        paths = [plot_training(model.history, Path(args.output) / f"{Path(args.file).stem}_training.png")]
    else:
        paths = plot_file(args.file, args.output)
    for p in paths:
        print(f"wrote {p}")
    return 0
