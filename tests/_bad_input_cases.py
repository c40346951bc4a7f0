"""The cases of the bad-input suite (tests/test_bad_input.py) and the table of docs/reliability.md.

:data:`CASES` lists every bad input with what it must raise; :func:`make_files` writes the good and broken input
files they use; :func:`markdown_table` runs them all and returns the table ``docs/gen_reliability.py`` puts into
``docs/reliability.md`` (``python tests/_bad_input_cases.py`` prints it).
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import amphys
from amphys.errors import CheckpointError, FileFormatError, InputError, UnknownNameError

TINY = dict(steps=2, hidden=8, depth=1, batch_size=32, warmup=1, holdout_every=1, holdout_rows=16,
            progress=False)


# -- the fixture folder: good files and broken ones ---------------------------------------------------------------
class _Payload:
    """Unpickling this object would create the directory ``marker`` (an arbitrary-code-execution stand-in)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def make_files(folder: Path) -> dict:
    """Write the input files of the cases into ``folder``; returns name -> path (and a few objects)."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    f = {}
    ds = amphys.generate(amphys.systems.get("barenblatt", dim=2), [1.0, 1.5, 2.0], 40, seed=0)
    f["ds"] = ds
    f["good.h5"] = amphys.io.write(ds, folder / "good.h5")
    t, x = ds["time"].values, ds["x"].values
    rows = "\n".join(f"{ti},{a},{b}" for ti, (a, b) in zip(t, x))
    (folder / "good.csv").write_text("time,x,y\n" + rows + "\n")
    f["good.csv"] = folder / "good.csv"
    lines = rows.splitlines()
    lines[5] = lines[5].split(",")[0] + ",inf," + lines[5].split(",")[2]
    (folder / "inf.csv").write_text("time,x,y\n" + "\n".join(lines) + "\n")
    f["inf.csv"] = folder / "inf.csv"
    lines = rows.splitlines()
    lines[7] = lines[7].split(",")[0] + ",nan," + lines[7].split(",")[2]
    (folder / "nan.csv").write_text("time,x,y\n" + "\n".join(lines) + "\n")
    f["nan.csv"] = folder / "nan.csv"
    (folder / "labels.csv").write_text("time,label\n" + "\n".join(f"{ti},cell{i}" for i, ti in enumerate(t)) + "\n")
    f["labels.csv"] = folder / "labels.csv"
    (folder / "onetime.csv").write_text("time,x\n" + "\n".join(f"1.0,{a}" for a in x[:20, 0]) + "\n")
    f["onetime.csv"] = folder / "onetime.csv"
    (folder / "onesample.csv").write_text("time,x\n1.0,0.1\n1.0,0.2\n2.0,0.3\n")
    f["onesample.csv"] = folder / "onesample.csv"
    (folder / "empty.csv").write_text("")
    f["empty.csv"] = folder / "empty.csv"
    np.savez(folder / "badshape.npz", time=np.repeat([0.0, 1.0], 5), x=np.zeros((8, 2)))
    f["badshape.npz"] = folder / "badshape.npz"
    raw = f["good.h5"].read_bytes()
    (folder / "truncated.h5").write_bytes(raw[: len(raw) // 2])
    f["truncated.h5"] = folder / "truncated.h5"
    (folder / "notes.h5").write_text("these are my notes, not HDF5\n")
    f["notes.h5"] = folder / "notes.h5"
    (folder / "data.xlsx").write_bytes(b"PK\x03\x04not really a workbook")
    f["data.xlsx"] = folder / "data.xlsx"
    (folder / "a_file").write_text("a file, not a folder\n")
    f["a_file"] = folder / "a_file"
    model = amphys.fit(ds, checkpoint=folder / "run.ckpt", **TINY)
    f["model"] = model
    f["model.pt"] = model.save(folder / "model.pt")
    f["run.ckpt"] = folder / "run.ckpt"
    raw = f["run.ckpt"].read_bytes()
    (folder / "truncated.ckpt").write_bytes(raw[: len(raw) // 3])
    f["truncated.ckpt"] = folder / "truncated.ckpt"
    (folder / "truncated.pt").write_bytes(f["model.pt"].read_bytes()[:200])
    f["truncated.pt"] = folder / "truncated.pt"
    torch.save({"weights": torch.zeros(3)}, folder / "foreign.pt")
    f["foreign.pt"] = folder / "foreign.pt"
    torch.save({"format": "amphys-model/1", "model": _Payload(folder / "PWNED")}, folder / "payload.pt")
    f["payload.pt"] = folder / "payload.pt"
    f["marker"] = folder / "PWNED"
    (folder / "raw.pkl").write_bytes(pickle.dumps(_Payload(folder / "PWNED"), protocol=4))
    f["raw.pkl"] = folder / "raw.pkl"
    (folder / "bad.toml").write_text("steps = [unclosed\n")
    f["bad.toml"] = folder / "bad.toml"
    (folder / "unknown.toml").write_text("stpes = 100\n")
    f["unknown.toml"] = folder / "unknown.toml"
    (folder / "code.toml").write_text("steps = \"__import__('os').mkdir('PWNED')\"\n")
    f["code.toml"] = folder / "code.toml"
    return f


# -- cases ----------------------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One bad input. ``call(f)`` does the API call; for CLI cases ``argv(f)`` gives the arguments of ``amphys``.

    ``error``: the amphys error type the API raises (for the CLI: the message must match too). ``expect``: regular
    expressions that must all occur in the message (the argument or file, what was expected, what came).
    """

    id: str
    where: str  # "api" or "cli"
    what: str
    expect: tuple[str, ...]
    error: type = InputError
    call: object = None
    argv: object = None
    tags: tuple[str, ...] = field(default_factory=tuple)


def _snapshots(time, x, **kw):
    import xarray as xr

    return xr.Dataset({"x": (("sample", "dim"), np.asarray(x, dtype=float))},
                      coords={"time": ("sample", np.asarray(time, dtype=float))},
                      attrs={"amphys_schema": "snapshots/1", **kw})


def _nan_ds(f):
    ds = f["ds"].copy(deep=True)
    ds["x"].values[3, 1] = np.nan
    return ds


def _inf_ds(f):
    ds = f["ds"].copy(deep=True)
    ds["x"].values[50, 0] = -np.inf
    return ds


def _P(f, name):
    return str(f[name])


def _read(id_: str, what: str, expect: tuple, name: str) -> Case:
    """A case of the Python API: ``amphys.io.read`` of the fixture file ``name`` raises FileFormatError."""
    return Case(id_, "api", what, expect, error=FileFormatError, call=lambda f: amphys.io.read(f[name]))


def _load(id_: str, what: str, expect: tuple, name: str, **kw) -> Case:
    """A case of the Python API: ``amphys.load_model`` of the fixture file ``name`` raises CheckpointError."""
    return Case(id_, "api", what, expect, error=CheckpointError, call=lambda f: amphys.load_model(f[name]), **kw)


def _fit_argv(f, data: str, *extra: str) -> list[str]:
    """``amphys fit DATA -o m.pt EXTRA...`` with the model written next to the fixture folder (never into it)."""
    return ["fit", data, "-o", str(Path(_P(f, "a_file")).with_name("m.pt")), *extra]


CASES: list[Case] = [
    # --- data values and shapes (Python API) ---
    Case("nan-values", "api", "fit snapshots with a NaN position", ("'x'", "NaN", r"sample 3"),
         call=lambda f: amphys.fit(_nan_ds(f), **TINY)),
    Case("inf-values", "api", "fit snapshots with an infinite position", ("'x'", "inf", r"sample 50"),
         call=lambda f: amphys.fit(_inf_ds(f), **TINY)),
    Case("wrong-shape", "api", "make_snapshots with x of 9 rows for 10 times", (r"x must have shape \(N, d\)",
         r"N = len\(time\) = 10", r"\(9, 2\)"),
         call=lambda f: amphys.make_snapshots(np.zeros(10), np.zeros((9, 2)))),
    Case("single-time", "api", "fit snapshots observed at one time", ("at least 2 distinct times", "got 1"),
         call=lambda f: amphys.fit(f["ds"].isel(sample=slice(0, 40)), **TINY)),
    Case("duplicate-times", "api", "generate at times [1, 1.5, 1.5]", ("times", "duplicate time 1.5"),
         call=lambda f: amphys.generate("barenblatt", [1.0, 1.5, 1.5], 10)),
    Case("unsorted-times", "api", "generate at times [1, 2, 1.5]", ("times", "increasing", "2.0 then 1.5"),
         call=lambda f: amphys.generate("barenblatt", [1.0, 2.0, 1.5], 10)),
    Case("unsorted-dataset", "api", "fit a dataset whose time coordinate decreases", ("'time'", "sorted",
         r"sample 4", "sortby"),
         call=lambda f: amphys.fit(_snapshots([0, 0, 1, 1, 0], np.zeros((5, 1))), **TINY)),
    Case("empty-snapshots", "api", "make_snapshots with no samples", ("no samples", "'sample' is empty"),
         call=lambda f: amphys.make_snapshots(np.zeros(0), np.zeros((0, 2)))),
    Case("one-sample-snapshot", "api", "a snapshot with a single sample", ("at least 2 samples", "time 2",
         "has 1"),
         call=lambda f: amphys.make_snapshots([1.0, 1.0, 2.0], [[0.0], [1.0], [2.0]])),
    Case("not-a-dataset", "api", "fit a numpy array instead of Snapshots", ("snapshots", "xarray.Dataset",
         "ndarray"),
         call=lambda f: amphys.fit(np.zeros((10, 2)), **TINY)),
    Case("non-numeric-x", "api", "fit a dataset whose positions are strings", ("'x'", "numeric", "dtype"),
         call=lambda f: amphys.fit(_snapshots([0, 0, 1, 1], np.zeros((4, 1))).assign(
             x=(("sample", "dim"), np.array([["a"], ["b"], ["c"], ["d"]]))), **TINY)),
    Case("model-dim-mismatch", "api", "velocity of a 2-D model at 3-D points", (r"x: expected shape \(n, 2\)",
         r"\(4, 3\)"),
         call=lambda f: f["model"].velocity(1.5, np.zeros((4, 3)))),
    # --- systems and parameters ---
    Case("unknown-system", "api", "systems.get('barenblat')", ("unknown system 'barenblat'", "did you mean",
         "'barenblatt'"), error=UnknownNameError,
         call=lambda f: amphys.systems.get("barenblat")),
    Case("unknown-parameter", "api", "barenblatt with parameter 'mas'", ("parameter of system 'barenblatt'",
         "'mas'", "mass"), error=UnknownNameError,
         call=lambda f: amphys.systems.get("barenblatt", mas=1.0)),
    Case("negative-mass", "api", "barenblatt with mass=-1", ("mass", r"-1"),
         call=lambda f: amphys.systems.get("barenblatt", mass=-1.0)),
    Case("m-not-above-1", "api", "barenblatt with m=1 (needs m > 1)", (r"\bm\b", "> 1", r"\b1(\.0)?\b"),
         call=lambda f: amphys.systems.get("barenblatt", m=1.0)),
    Case("dt-out-of-range", "api", "schrodinger-grid with dt longer than t_span", ("dt", "t_span"),
         call=lambda f: amphys.systems.get("schrodinger-grid", dim=1, n_grid=32, dt=5.0, t_span=(0.0, 1.0))),
    Case("grid-too-coarse", "api", "pme-grid with n_grid=2", ("n_grid", "at least", "cells per axis"),
         call=lambda f: amphys.systems.get("pme-grid", dim=1, n_grid=2)),
    Case("config-out-of-range", "api", "FitConfig(batch_size=2)", (r"FitConfig\.batch_size", ">= 4", "got 2"),
         call=lambda f: amphys.FitConfig(batch_size=2)),
    Case("config-unknown-field", "api", "fit(..., stpes=10)", ("FitConfig field 'stpes'", "did you mean",
         "'steps'"), error=UnknownNameError,
         call=lambda f: amphys.fit(f["ds"], stpes=10)),
    Case("config-bad-choice", "api", "fit(..., loss='action')", (r"FitConfig\.loss", "'action'", "known: am, auto"),
         error=UnknownNameError,
         call=lambda f: amphys.fit(f["ds"], loss="action")),
    # --- files (Python API) ---
    Case("missing-file", "api", "io.read of a file that does not exist", ("nothere.h5", "not found"),
         error=FileFormatError,
         call=lambda f: amphys.io.read(Path(_P(f, "good.h5")).with_name("nothere.h5"))),
    _read("wrong-file-type", "io.read of an .xlsx workbook",
          ("data.xlsx", "unknown file type", "'.xlsx'", "amphys reads"), "data.xlsx"),
    _read("text-as-hdf5", "io.read of a text file named .h5", ("notes.h5", "not a readable HDF5"), "notes.h5"),
    _read("truncated-hdf5", "io.read of an HDF5 file cut in half", ("truncated.h5", "not a readable HDF5"),
          "truncated.h5"),
    _read("csv-nan", "CSV with a 'nan' coordinate", ("nan.csv", "'x'", "missing|NaN"), "nan.csv"),
    _read("csv-inf", "CSV with an 'inf' coordinate", ("inf.csv", "'x'", "inf"), "inf.csv"),
    _read("csv-non-numeric", "CSV whose only coordinate column is text", ("labels.csv", "numeric|coordinate"),
          "labels.csv"),
    _read("csv-one-time", "CSV with a single time", ("onetime.csv", "same time 1", "2 or more distinct times"),
          "onetime.csv"),
    _read("csv-one-sample", "CSV whose last snapshot has one sample", ("onesample.csv", "2", "1 sample"),
          "onesample.csv"),
    _read("csv-empty", "an empty CSV file", ("empty.csv", "empty"), "empty.csv"),
    _read("npz-mismatched", ".npz with 10 times and 8 positions", ("badshape.npz", "mismatched dimensions", "10", "8"),
          "badshape.npz"),
    Case("unwritable-output", "api", "io.write below a path that is a file", ("a_file", "does not exist|not a "
         "directory"), error=FileFormatError,
         call=lambda f: amphys.io.write(f["ds"], Path(_P(f, "a_file")) / "out.h5")),
    Case("model-save-unwritable", "api", "FitResult.save below a path that is a file", ("a_file",
         "does not exist|not a directory"),
         call=lambda f: f["model"].save(Path(_P(f, "a_file")) / "m.pt")),
    _load("foreign-model", "load_model of a torch file that is not ours", ("foreign.pt", "format"), "foreign.pt"),
    _load("pickle-payload", "load_model of a pickle that would run code", ("payload.pt", "refused", "pickled"),
          "payload.pt", tags=("safety",)),
    _load("raw-pickle", "load_model of a plain pickle file (protocol 4) that would run code",
          ("raw.pkl", "not a readable"), "raw.pkl", tags=("safety",)),
    _load("truncated-model", "load_model of a truncated model file", ("truncated.pt", "not a readable"),
          "truncated.pt"),
    Case("checkpoint-other-config", "api", "resume from a checkpoint written with hidden=8 with hidden=16",
         ("run.ckpt", "different settings", "hidden"), error=CheckpointError,
         call=lambda f: amphys.fit(f["ds"], checkpoint=f["run.ckpt"], resume=True, **{**TINY, "hidden": 16})),
    Case("config-toml-invalid", "api", "fit(config='bad.toml') with a TOML syntax error", ("bad.toml",
         "not valid TOML"), error=FileFormatError,
         call=lambda f: amphys.fit(f["ds"], config=f["bad.toml"])),
    Case("config-no-expansion", "api", "config path '~/fit.toml' is taken literally (no ~ or $VAR expansion)",
         (r"'~/fit\.toml'", "not found"), error=FileFormatError, tags=("safety",),
         call=lambda f: amphys.fit(f["ds"], config="~/fit.toml")),
    Case("config-no-env-expansion", "api", "config path '$HOME/fit.toml' is taken literally",
         (r"'\$HOME/fit\.toml'", "not found"), error=FileFormatError, tags=("safety",),
         call=lambda f: amphys.fit(f["ds"], config="$HOME/fit.toml")),
    Case("config-value-not-code", "api", "a TOML value holding Python code is a value, never run",
         (r"FitConfig\.steps", "integer", "__import__"), tags=("safety",),
         call=lambda f: amphys.FitConfig.from_toml(f["code.toml"])),
    # --- command line ---
    Case("cli-missing-file", "cli", "amphys fit nothere.h5", ("nothere.h5", "not found"), error=FileFormatError,
         argv=lambda f: _fit_argv(f, str(Path(_P(f, "good.h5")).with_name("nothere.h5")))),
    Case("cli-wrong-file-type", "cli", "amphys fit data.xlsx", ("data.xlsx", "unknown file type"),
         error=FileFormatError,
         argv=lambda f: _fit_argv(f, _P(f, "data.xlsx"))),
    Case("cli-truncated-data", "cli", "amphys fit truncated.h5", ("truncated.h5", "not a readable HDF5"),
         error=FileFormatError,
         argv=lambda f: _fit_argv(f, _P(f, "truncated.h5"))),
    Case("cli-steps-zero", "cli", "amphys fit --steps 0", (r"FitConfig\.steps", ">= 1", "got 0"),
         argv=lambda f: _fit_argv(f, _P(f, "good.h5"), "--steps", "0")),
    Case("cli-bad-choice", "cli", "amphys fit --time-integral magic (argparse)", ("--time-integral",
         "invalid choice", "'magic'"), error=SystemExit,
         argv=lambda f: ["fit", _P(f, "good.h5"), "-o", "m.pt", "--time-integral", "magic"]),
    Case("cli-unwritable-output", "cli", "amphys fit -o a_file/m.pt (refused before training)", ("a_file",
         "does not exist|not a directory"),
         argv=lambda f: ["fit", _P(f, "good.h5"), "-o", str(Path(_P(f, "a_file")) / "m.pt"), "--steps", "2",
                         "--no-progress"]),
    Case("cli-output-tilde", "cli", "amphys fit -o '~/m.pt' (quoted: no shell expansion; amphys adds none)",
         ("'~/m.pt'", "directory '~' does not exist"),
         argv=lambda f: ["fit", _P(f, "good.h5"), "-o", "~/m.pt", "--steps", "2", "--no-progress"]),
    Case("cli-distributed-alone", "cli", "amphys fit --distributed outside torchrun", ("distributed",
         "torchrun", "RANK"),
         argv=lambda f: _fit_argv(f, _P(f, "good.h5"), "--distributed", "--steps", "2", "--no-progress")),
    Case("cli-truncated-checkpoint", "cli", "amphys fit --resume with a truncated checkpoint",
         ("truncated.ckpt", "not a readable"), error=CheckpointError,
         argv=lambda f: _fit_argv(f, _P(f, "good.h5"), "--checkpoint", _P(f, "truncated.ckpt"), "--resume",
                                  "--steps", "2", "--no-progress")),
    Case("cli-config-unknown-field", "cli", "amphys fit --config with a misspelt field", ("unknown.toml",
         "'stpes'", "did you mean"), error=UnknownNameError,
         argv=lambda f: ["fit", _P(f, "good.h5"), "-o", "m.pt", "--config", _P(f, "unknown.toml")]),
    Case("cli-unknown-system", "cli", "amphys generate barenblat", ("unknown system 'barenblat'", "barenblatt"),
         error=UnknownNameError,
         argv=lambda f: ["generate", "barenblat", "--times", "1:2:3", "-o", "x.h5"]),
    Case("cli-m-not-above-1", "cli", "amphys generate barenblatt --set m=0.5", (r"\bm\b", "> 1", "0.5"),
         argv=lambda f: ["generate", "barenblatt", "--set", "m=0.5", "--times", "1:2:3", "-o", "x.h5"]),
    Case("cli-single-time", "cli", "amphys generate --times 1", ("times", "at least 2", "got 1"),
         argv=lambda f: ["generate", "barenblatt", "--times", "1", "-o", "x.h5"]),
    Case("cli-bad-times", "cli", "amphys generate --times 1:2", ("--times", "T0:T1:N", "'1:2'"),
         argv=lambda f: ["generate", "barenblatt", "--times", "1:2", "-o", "x.h5"]),
    Case("cli-foreign-model", "cli", "amphys predict foreign.pt", ("foreign.pt", "format"), error=CheckpointError,
         argv=lambda f: ["predict", _P(f, "foreign.pt"), "--from", _P(f, "good.h5"), "--times", "1.2", "-o",
                         "p.h5"]),
    Case("cli-evaluate-text-model", "cli", "amphys evaluate with a text file as the model", ("notes.h5",
         "not a readable"), error=CheckpointError,
         argv=lambda f: ["evaluate", _P(f, "notes.h5"), _P(f, "good.h5"), "-o", "r.h5"]),
]


# -- running a case ------------------------------------------------------------------------------------------------
def run_api(case: Case, f: dict) -> BaseException:
    """The exception the API call raises (an AssertionError if it raises none)."""
    try:
        case.call(f)
    except BaseException as exc:  # noqa: BLE001 - the point is to see what comes
        return exc
    return AssertionError(f"{case.id}: no error raised")


def run_cli(case: Case, f: dict, cwd: Path) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of ``amphys ARGV`` run in-process in ``cwd``."""
    from amphys.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(case.argv(f))
            except SystemExit as exc:  # argparse
                rc = exc.code
    finally:
        os.chdir(old)
    return int(rc or 0), out.getvalue(), err.getvalue()


def outcome(case: Case, f: dict, cwd: Path) -> tuple[str, str]:
    """(error type, message) as a user sees them."""
    if case.where == "api":
        exc = run_api(case, f)
        return type(exc).__name__, str(exc)
    rc, _, err = run_cli(case, f, cwd)
    lines = [line for line in err.splitlines() if line.strip()]
    return f"exit {rc}", lines[-1] if lines else ""




# -- the table of docs/reliability.md -----------------------------------------------------------------------------
def markdown_table(folder: Path) -> str:
    """Run every case and return the Markdown table: case, interface, input, what the user gets."""
    f = make_files(folder)
    cwd = folder / "cwd"
    cwd.mkdir(exist_ok=True)
    rows = ["| case | where | input | what comes back |", "|---|---|---|---|"]
    for case in CASES:
        kind, message = outcome(case, f, cwd)
        message = message.replace(str(folder) + os.sep, "").replace(str(folder), ".")
        message = " ".join(message.split()).replace("|", "\\|")
        rows.append(f"| `{case.id}` | {case.where} | {case.what} | {kind}: {message} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # python tests/_bad_input_cases.py
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sys.stdout.write(markdown_table(Path(tmp)))
