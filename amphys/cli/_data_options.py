"""Command-line options for reading measured data, shared by every command that takes a data file.

``add_data_arguments(parser)`` adds the flags; ``read_data(path, args)`` reads the file with them through
:func:`amphys.io.read` and prints what was chosen (which column is time, which are coordinates, units).
Only the flags a user sets are passed on, and a flag that does not apply to the file's format is an error.
"""

from __future__ import annotations

from pathlib import Path

from amphys.errors import InputError

#: flag destination -> (reader option, suffixes it applies to; None = all)
_FLAGS = {
    "time_column": ("time", None),
    "columns": ("columns", (".csv", ".txt", ".tsv")),
    "weight_column": ("weight", None),
    "units_x": ("units_x", None),
    "units_t": ("units_t", None),
    "delimiter": ("delimiter", (".csv", ".txt", ".tsv")),
    "decimal": ("decimal", (".csv", ".txt", ".tsv")),
    "variable": ("variable", (".nc", ".h5", ".hdf5", ".nc4")),
    "obsm_key": ("key", (".h5ad",)),
    "dropna": ("dropna", None),
}


def add_data_arguments(parser) -> None:
    """Add the flags that control how a data file is read (docs/guide-measured-data.md)."""
    g = parser.add_argument_group("reading the data file (.csv, .npz, .nc/.h5, .h5ad)")
    g.add_argument("--time-column", metavar="NAME", default=None,
                   help="column (CSV), array (.npz), coordinate (.nc/.h5) or obs column (.h5ad) holding the time "
                        "of each sample; default: the one named 'time' or 't'")
    g.add_argument("--columns", metavar="A,B,...", default=None,
                   help="CSV coordinate columns, comma-separated; default: every other numeric column")
    g.add_argument("--weight-column", metavar="NAME", default=None,
                   help="column/array/variable with sample weights; default: a CSV column named 'weight'")
    g.add_argument("--units-x", metavar="UNIT", default=None,
                   help="units of the positions (e.g. um); default: from the header 'x [um]' or the file")
    g.add_argument("--units-t", metavar="UNIT", default=None,
                   help="units of time (e.g. s); default: from the header 'time [s]' or the file")
    g.add_argument("--delimiter", metavar="CHAR", default=None,
                   help="CSV field separator (',', ';', '\\t', '|' or 'whitespace'); default: guessed")
    g.add_argument("--decimal", choices=[".", ","], default=None, help="CSV decimal mark (default '.')")
    g.add_argument("--variable", metavar="NAME", default=None,
                   help=".nc/.h5 not in the amphys schema: the variable holding the positions")
    g.add_argument("--obsm-key", metavar="KEY", default=None,
                   help=".h5ad: the obsm entry holding the positions ('X' for the matrix X); default: the only "
                        "one, or X_pca")
    g.add_argument("--dropna", action="store_true", default=None,
                   help="drop samples with a missing coordinate instead of refusing the file")


def data_options(path, args) -> dict:
    """The reader options the user set on the command line, checked against the file's format."""
    suffix = Path(path).suffix.lower()
    options = {}
    for dest, (option, suffixes) in _FLAGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        flag = "--" + dest.replace("_", "-")
        if suffixes is not None and suffix not in suffixes:
            raise InputError(f"{flag} does not apply to {suffix or 'this'} files (it is for "
                             f"{', '.join(suffixes)}); remove it")
        if dest == "columns":
            value = [c.strip() for c in value.split(",") if c.strip()]
        if dest == "delimiter" and value in ("\\t", "tab"):
            value = "\t"
        options[option] = value
    return options


def read_data(path, args, *, announce: bool = True, remembered: dict | None = None):
    """Read ``path`` with the options set on the command line; print what the reader chose.

    ``remembered``: the reading options a model was fitted with (``FitResult.read_options``); those that apply
    to this file's format and were not set on the command line are used too (and said), so a CSV's
    ``--time-column`` need not be repeated for every command."""
    from amphys import io

    options = data_options(path, args)
    suffix = Path(path).suffix.lower()
    reused = {}
    for option, suffixes in _FLAGS.values():
        if remembered and option in remembered and option not in options \
                and (suffixes is None or suffix in suffixes):
            reused[option] = options[option] = remembered[option]
    if reused and announce:
        print("using the model's reading options: " + ", ".join(f"{k}={v!r}" for k, v in reused.items()))
    ds = io.read(path, **options)
    if announce and ds.attrs.get("import_message"):
        print(f"read {ds.attrs['import_message']}")
    return ds
