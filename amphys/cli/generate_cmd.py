"""``amphys generate``: exact samples of a registered system written as Snapshots."""

from __future__ import annotations

NAME = "generate"
HELP = "draw exact samples of a physical system at given times and write Snapshots (HDF5)"
DESCRIPTION = """Draw exact samples of a physical system at given times and write them as Snapshots (HDF5).

examples:
  amphys generate barenblatt --set dim=2 --set m=2 --times 1:2:11 --n-per-time 2000 -o data.h5
  amphys generate ou --set 'drift=[[0.5,-2],[2,0.5]]' --set diffusion=0.1 --set 'mean0=[3,0]' --times 0:2:21 -o ou.h5
"""


def add_arguments(p):
    from amphys.cli._util import add_n_per_time
    from amphys.systems import names

    p.add_argument("system", help=f"system name: {', '.join(names())}")
    p.add_argument("--set", dest="params", action="append", metavar="KEY=VALUE", default=[],
                   help="system parameter, value parsed as JSON (repeatable), e.g. --set dim=2")
    p.add_argument("--times", default=None,
                   help="T0:T1:N (N evenly spaced, inclusive) or a comma-separated list; default: the "
                        "system's t_span with 11 times")
    add_n_per_time(p, 2000, "samples per time (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--no-velocity", action="store_true", help="do not store v_true")
    p.add_argument("-o", "--output", required=True, help="output file (.h5)")


def run(args) -> int:
    import numpy as np

    from amphys import io, systems
    from amphys.cli._util import parse_sets, parse_times
    from amphys.data.synthetic import generate

    system = systems.get(args.system, **parse_sets(args.params))
    times = parse_times(args.times) if args.times else np.linspace(*system.t_span, 11)
    ds = generate(system, times, args.n_per_time, seed=args.seed, include_velocity=not args.no_velocity,
                  progress=True)
    io.write(ds, args.output)
    t = np.unique(ds["time"].values)
    print(f"wrote {args.output}: system {system.name} (d={ds.sizes['dim']}), {t.size} times in "
          f"[{t[0]:g}, {t[-1]:g}] {ds.attrs['units_t']}, {ds.sizes['sample']} samples"
          + (", with v_true (AM target)" if "v_true" in ds else ""))
    return 0
