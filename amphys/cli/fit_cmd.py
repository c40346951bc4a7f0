"""``amphys fit``: fit an Action Matching model to snapshot data and save it (SPEC §7.2).

Every :class:`~amphys.solver.config.FitConfig` field is also a flag (generated from the dataclass): precedence is
defaults < ``--config FILE`` < flags.
"""

from __future__ import annotations

import argparse
import dataclasses

NAME = "fit"
HELP = "fit an Action Matching model to snapshots (any format amphys reads) and save it"
DESCRIPTION = """Fit an Action Matching model to snapshot data and save it (a torch file loadable with
amphys.load_model). A training checkpoint is written to OUTPUT.ckpt every --checkpoint-every steps;
--resume continues from it.

examples:
  amphys generate barenblatt --set dim=2 --times 1:2:11 --n 2000 -o data.h5
  amphys fit data.h5 -o model.pt --steps 2000 --hidden 128
  amphys fit cells.csv -o model.pt --config fit.toml --device cuda
"""

# fields whose flag takes a different type than the default's
_FLOAT_OR_NONE = {"sigma", "max_time"}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(p):
    from amphys.solver.config import CHOICES, FitConfig

    p.add_argument("data", help="snapshot file: .h5/.nc (Snapshots), .csv, .npz, .h5ad")
    p.add_argument("-o", "--output", required=True, help="model file to write (e.g. model.pt)")
    p.add_argument("--config", default=None, metavar="TOML", help="FitConfig fields in a TOML file")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint (same settings)")
    p.add_argument("--checkpoint", default=None, help="training checkpoint path (default: OUTPUT.ckpt)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    group = p.add_argument_group("FitConfig fields (see amphys.FitConfig)")
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
        else:  # pragma: no cover - every field has one of the types above
            kwargs.update(help=f"default {default!r}")
        group.add_argument(_flag(f.name), **kwargs)


def config_from_args(args):
    """The FitConfig of defaults < --config < flags."""
    from amphys.solver.config import FitConfig

    overrides = {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg_") and v is not None}
    if args.config:
        return FitConfig.from_toml(args.config, **overrides)
    return FitConfig.from_dict(overrides)


def run(args) -> int:
    import amphys

    config = config_from_args(args)
    data = amphys.io.read(args.data)
    checkpoint = args.checkpoint or f"{args.output}.ckpt"
    result = amphys.fit(data, config, checkpoint=checkpoint, resume=args.resume, progress=not args.no_progress)
    if result.status == "diverged":
        print(f"amphys fit: diverged: {result.message}")
    result.save(args.output)
    cfg = result.config
    print(f"{result.status}: {result.message}")
    print(f"loss {cfg.loss}, time integral {result.integral}; final loss {result.final_loss:.6g} "
          f"({result.units_x}^2/{result.units_t}); wall time {result.wall_time:.1f} s on {cfg.device}")
    print(f"wrote {args.output}")
    return 0 if result.status != "diverged" else 1
