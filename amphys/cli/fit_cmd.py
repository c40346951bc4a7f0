"""``amphys fit``: fit an Action Matching model to snapshot data and save it (docs/cli.md).

Every :class:`~amphys.solver.config.FitConfig` field is also a flag (generated from the dataclass): precedence is
defaults < ``--config FILE`` < flags.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from amphys._checks import check_count
from amphys.errors import InputError

NAME = "fit"
HELP = "fit an Action Matching model to snapshots (any format amphys reads) and save it"
DESCRIPTION = """Fit an Action Matching model to snapshot data and save it (a torch file loadable with
amphys.load_model). A training checkpoint is written to OUTPUT.ckpt every --checkpoint-every steps;
--resume continues from it.

examples:
  amphys generate barenblatt --set dim=2 --times 1:2:11 --n-per-time 2000 -o data.h5
  amphys fit data.h5 -o model.pt --steps 2000 --hidden 128
  amphys fit cells.csv -o model.pt --config fit.toml --device cuda
  amphys fit huge.h5 -o model.pt --chunks 1000000                  # data larger than memory
  torchrun --standalone --nproc_per_node 2 -m amphys fit data.h5 -o model.pt   # data parallel (docs/scaling.md)
"""

# fields whose flag takes a different type than the default's
_FLOAT_OR_NONE = {"sigma", "max_time"}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(p):
    from amphys.solver.config import CHOICES, RENAMED, FitConfig

    p.add_argument("data", help="snapshot file: .h5/.nc (Snapshots), .csv, .npz, .h5ad")
    p.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.pt)")
    p.add_argument("--config", default=None, metavar="TOML", help="FitConfig fields in a TOML file")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint (same settings)")
    p.add_argument("--checkpoint", default=None, help="training checkpoint path (default: OUTPUT.ckpt)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--distributed", action=argparse.BooleanOptionalAction, default=None,
                   help="data-parallel training over the processes of a torchrun launch (default: on when "
                        "started by torchrun); rank 0 writes the checkpoint and the model (docs/scaling.md)")
    p.add_argument("--chunks", type=int, default=None, metavar="N",
                   help=".h5/.nc data: open lazily, N samples per chunk, and read only the rows each batch needs "
                        "(for data larger than memory)")
    from amphys.cli._data_options import add_data_arguments

    add_data_arguments(p)
    group = p.add_argument_group("FitConfig fields (see amphys.FitConfig)")
    old_names = {new: old for old, new in RENAMED.items()}
    for f in dataclasses.fields(FitConfig):
        default = f.default
        kwargs = {"dest": f"cfg_{f.name}", "default": None}
        if f.name in CHOICES:
            kwargs.update(choices=CHOICES[f.name], help=f"default {default!r}")
        elif isinstance(default, bool):
            kwargs.update(action=argparse.BooleanOptionalAction, help=f"default {default}")
        elif isinstance(default, int):
            kwargs.update(type=int, metavar="N", help=f"default {default}")
        elif isinstance(default, float) or f.name in _FLOAT_OR_NONE:
            kwargs.update(type=float, metavar="X", help=f"default {default}")
        elif f.name in _AUTO_INT:
            kwargs.update(type=_or_auto(int), metavar="N|auto", help=f"default {default!r}")
        elif default == "auto":
            kwargs.update(type=_or_auto(float), metavar="X|auto", help=f"default {default!r}")
        elif f.name == "time_frequencies":
            kwargs.update(metavar="auto|none|W1,W2", help="angular frequencies of the time features, 'auto' "
                          "(detected in the snapshots) or 'none' (default)")
        else:  # pragma: no cover - every field has one of the types above
            kwargs.update(help=f"default {default!r}")
        flags = [_flag(f.name)]
        if f.name in old_names:  # the field's former name still works, with a note (kept out of --help)
            flags.append(_flag(old_names[f.name]))
            kwargs.setdefault("action", _RenamedFlag)
        group.add_argument(*flags, **kwargs)


_AUTO_INT = ("time_features",)


def _or_auto(kind):
    def parse(text: str):
        return "auto" if text == "auto" else kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


class _RenamedFlag(argparse.Action):
    """A FitConfig flag whose second spelling is the field's former name: it works and prints a one-line note."""

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string != self.option_strings[0]:
            print(f"amphys: note: {option_string} is deprecated; use {self.option_strings[0]} (same meaning)",
                  file=sys.stderr)
        setattr(namespace, self.dest, values)


def config_from_args(args):
    """The FitConfig of defaults < --config < flags."""
    from amphys.solver.config import FitConfig

    overrides = {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg_") and v is not None}
    if args.config:
        return FitConfig.from_toml(args.config, **overrides)
    return FitConfig.from_dict(overrides)


def run(args) -> int:
    from amphys import io
    from amphys.solver.status import FitStatus
    from amphys.workflows.fitting import fit

    config = config_from_args(args)
    checkpoint = args.checkpoint or f"{args.output}.ckpt"
    for flag, path in (("-o/--output", args.output), ("--checkpoint", checkpoint)):
        _check_output_dir(flag, path)  # before training, not after it
    from amphys.cli._data_options import data_options

    options = data_options(args.data, args)
    if args.chunks is not None:
        if Path(args.data).suffix.lower() not in (".h5", ".hdf5", ".nc", ".nc4"):
            raise InputError(f"--chunks: applies to .h5/.nc files (read lazily), got {args.data!r}; remove it")
        options["chunks"] = {"sample": check_count(args.chunks, "--chunks", low=1)}
    data = io.read(args.data, **options)
    if data.attrs.get("import_message"):
        print(f"read {data.attrs['import_message']}")
    result = fit(data, config, checkpoint=checkpoint, resume=args.resume, progress=not args.no_progress,
                        distributed=args.distributed)
    from amphys.solver.distributed import current

    ctx = current()  # data parallel: every rank holds the same model; rank 0 writes it, the others wait
    if ctx.is_main:
        if result.status != FitStatus.CONVERGED:
            print(f"amphys fit: {result.status}: {result.message}")
        result.read_options = {k: v for k, v in options.items() if k != "chunks"}  # later commands reuse them
        result.save(args.output)
        cfg = result.config
        units = "" if result.units_x == result.units_t == "1" else f" {result.units_x}²/{result.units_t}"
        print(f"{result.status}: {result.message}")
        print(f"loss {cfg.loss}, path {result.integral}; final loss {result.final_loss:.6g}{units}; wall time "
              f"{result.wall_time:.1f} s on {cfg.device}")
        print(f"wrote {args.output}")
    ctx.barrier()
    return 0 if result.status in (FitStatus.CONVERGED, FitStatus.STOPPED) else 1


def _check_output_dir(flag: str, path) -> None:
    directory = Path(path).parent
    if not directory.exists():
        raise InputError(f"{flag} {str(path)!r}: directory {str(directory)!r} does not exist; create it first")
    if not directory.is_dir():
        raise InputError(f"{flag} {str(path)!r}: {str(directory)!r} is not a directory")
