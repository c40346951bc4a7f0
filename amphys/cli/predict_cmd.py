"""``amphys predict``: push observed samples along a fitted flow to unobserved times, written as Snapshots."""

from __future__ import annotations

NAME = "predict"
HELP = "predict the samples at unobserved times by pushing observed ones along a fitted flow"
DESCRIPTION = """Predict the population at unobserved times: the observed samples nearest in time (or those of
--from-time) are pushed along the fitted flow to each requested time and written as Snapshots (HDF5).
Times outside the span the model was trained on are extrapolations: they are flagged in the output
(variable 'extrapolated', attrs 'prediction') and a warning is printed.

examples:
  amphys predict model.pt --from data/measured_example.csv --times 0.25,0.5,1.7 -o pred.h5
  amphys predict model.pt --from data.h5 --times 0:4:9 --from-time 0 --n-per-time 500 -o pred.h5
"""


def add_arguments(p):
    from amphys.cli._data_options import add_data_arguments
    from amphys.cli._util import add_n_per_time

    p.add_argument("model", help="fitted model (.pt, from amphys fit)")
    p.add_argument("--from", dest="data", required=True, metavar="DATA",
                   help="observed samples to push (.csv, .npz, .nc/.h5, .h5ad), in the units of the training data")
    p.add_argument("--times", required=True,
                   help="times to predict: T0:T1:N (N evenly spaced, inclusive) or a comma-separated list")
    p.add_argument("--from-time", type=float, default=None, metavar="T",
                   help="push the samples of this observed time (default: the nearest observed time to each "
                        "requested time)")
    add_n_per_time(p, None, "push at most N samples per source time (default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of the subset drawn with --n-per-time (default 0)")
    p.add_argument("-o", "--output", required=True, help="output file (.h5)")
    add_data_arguments(p)


def run(args) -> int:
    import json
    import sys
    import warnings

    from amphys import io
    from amphys.cli._data_options import read_data
    from amphys.cli._util import parse_times
    from amphys.workflows.prediction import ExtrapolationWarning, predict
    from amphys.workflows.result import load_model

    times = parse_times(args.times)
    model = load_model(args.model)
    data = read_data(args.data, args, remembered=model.read_options)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExtrapolationWarning)
        pred = predict(model, data, times, from_time=args.from_time, n_per_time=args.n_per_time, seed=args.seed,
                       progress=True)
    io.write(pred, args.output)
    info = json.loads(pred.attrs["prediction"])
    u = pred.attrs.get("units_t", "1")
    u = "" if u == "1" else f" {u}"
    print(f"wrote {args.output}: {len(info['times'])} predicted times, {pred.sizes['sample']} samples "
          f"(model trained on [{info['trained_span'][0]:g}, {info['trained_span'][1]:g}]{u})")
    for t, regime, src, count in zip(info["times"], info["regime"], info["source_time"], info["n_per_time"]):
        print(f"  t = {t:<10g} {regime:<14s} pushed from t = {src:g} ({count} samples)")
    for w in caught:
        if issubclass(w.category, ExtrapolationWarning):
            print(f"warning: {w.message}", file=sys.stderr)
        else:  # pragma: no cover  (keep other warnings visible)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return 0
