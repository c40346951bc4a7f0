"""``amphys validate``: check a flow fitted to measured data without ground truth (held-out times, continuity)."""

from __future__ import annotations

NAME = "validate"
HELP = "check that a flow fits measured data, without ground truth: held-out snapshots and continuity residual"
DESCRIPTION = """Validate Action Matching on measured snapshots, without ground truth.

1. Held-out times: for every interior snapshot, fit on all the other snapshots, push the previous snapshot's
   samples to the held-out time and compare them with the held-out samples (MMD², energy distance, sliced
   W2, each beside its split-half noise floor).
   A permutation test of the pushed against the held-out samples gives each time's distance / noise ratio
   (at most 1: indistinguishable at the 5% level) and p-value.
2. Calibrated continuity test of the flow fitted to all snapshots (or of --model): the residual next to its noise
   threshold, and p-values (a small p-value: residuals this large are unlikely from sampling noise alone).

Prints a plain-language verdict and writes DIR/validation.h5 (the report, one value per snapshot time) and
figures in DIR/figures. Costs one fit per interior snapshot plus one: use --steps to trade accuracy for time.

examples:
  amphys validate data/measured_example.csv --steps 1000 -o validation
  amphys validate cells.h5ad --obsm-key X_pca --time-column day --model model.pt -o validation
"""


def add_arguments(p):
    from amphys.cli._data_options import add_data_arguments

    p.add_argument("data", help="measured snapshots (.csv, .npz, .nc/.h5, .h5ad), at least 3 distinct times")
    p.add_argument("-o", "--output", default="validation", help="output folder (default ./validation)")
    p.add_argument("--model", default=None,
                   help="a model fitted to all snapshots (.pt) for the residual (default: fit one here)")
    p.add_argument("--config", default=None, help="fit settings (TOML file with FitConfig fields)")
    p.add_argument("--steps", type=int, default=None, help="training steps of every fit")
    p.add_argument("--batch-size", type=int, default=None, help="batch size of every fit")
    p.add_argument("--hidden", type=int, default=None, help="network width")
    p.add_argument("--depth", type=int, default=None, help="network depth (hidden layers)")
    p.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"], help="training device")
    p.add_argument("--seed", type=int, default=0, help="seed of the fits and of the permutation tests")
    p.add_argument("--permutations", type=int, default=100,
                   help="permutations for each noise floor (default 100)")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    add_data_arguments(p)


def run(args) -> int:
    import os
    from pathlib import Path

    from amphys import io
    from amphys.cli._data_options import read_data
    from amphys.solver.config import FitConfig
    from amphys.workflows.result import load_model
    from amphys.workflows.validation import validate

    model = load_model(args.model) if args.model else None
    data = read_data(args.data, args, remembered=model.read_options if model is not None else None)
    overrides = {k: getattr(args, k) for k in ("steps", "batch_size", "hidden", "depth", "device")
                 if getattr(args, k) is not None}
    overrides["seed"] = args.seed
    config = FitConfig.from_toml(args.config, **overrides) if args.config else FitConfig(**overrides)
    result = validate(data, config, model=model, n_permutations=args.permutations, seed=args.seed)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    report = result.report
    path = io.write(report, out / "validation.h5")
    u = report.attrs["units_t"]
    u = "" if u == "1" else f" {u}"
    print(f"{'time':>10s}  {'held out':>8s}  {'distance / noise':>16s}  {'p-value':>7s}  "
          f"{'continuity residual':>26s}  {'cont. p':>7s}")
    for i, t in enumerate(report["time"].values):
        held = bool(report["held_out"].values[i])
        ratio = f"{report['noise_ratio'].values[i]:.2f}" if held else "-"
        pval = f"{report['permutation_pvalue'].values[i]:.2f}" if held else "-"
        r, rf = report["continuity_residual"].values[i], report["continuity_residual_threshold"].values[i]
        cell = f"{r:.3g} (noise ≤ {rf:.2g})"
        print(f"{t:>10g}  {'yes' if held else 'no':>8s}  {ratio:>16s}  {pval:>7s}  {cell:>26s}  "
              f"{report['continuity_p_value'].values[i]:>7.2g}")
    print(f"wrote {path}")
    if not args.no_plots:
        os.environ.setdefault("MPLBACKEND", "Agg")
        from amphys.plotting import plot_densities, plot_metrics

        (out / "figures").mkdir(exist_ok=True)
        times = sorted(result.pushed)
        dims = [str(v) for v in data["dim"].values]
        figs = [plot_densities(times, [result.observed[t] for t in times], [result.pushed[t] for t in times],
                               out / "figures" / "held_out.png", dim_names=dims,
                               units_x=report.attrs["units_x"], units_t=report.attrs["units_t"],
                               title="held-out snapshots (true) vs pushed from the previous one (learned)"),
                plot_metrics(result.summary(), out / "figures" / "metrics.png",
                             title="held-out energy distance vs sampling noise (95% permutation level)")]
        for f in figs:
            print(f"wrote {f}")
    print(f"verdict: {report.attrs['verdict']}")
    return 0
