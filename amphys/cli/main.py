"""``amphys`` command: one subcommand per module ``amphys.cli.<name>_cmd`` (docs/cli.md).

Each command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; modules must
not import torch or matplotlib at import time. Errors raised by amphys (or file-system errors) print one line
``amphys: error: ...`` and exit with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from amphys._version import __version__
from amphys.errors import AmphysError

COMMANDS = ["generate", "fit", "evaluate", "predict", "validate", "plot", "run", "bench"]


def _command_modules():
    for name in COMMANDS:
        module = f"amphys.cli.{name}_cmd"
        if importlib.util.find_spec(module) is not None:
            yield importlib.import_module(module)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="amphys",
        description="Learn how a probability density moves in time from snapshot samples (Action Matching).",
    )
    parser.add_argument("--version", action="version", version=f"amphys {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show full tracebacks on errors")
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    debug = getattr(args, "debug", False)
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("amphys: interrupted", file=sys.stderr)
        return 130
    except (AmphysError, OSError) as exc:
        if debug:
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"amphys: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
