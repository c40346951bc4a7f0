"""Figures of the sweeps benchmark (matplotlib Agg canvas, no pyplot state; imported only when drawing).

:mod:`amphys.plotting` draws single-fit figures (densities, fields, metrics vs time); the sweep figure (error vs
data size and time-integral mode, one row per system) is specific to the benchmarks and lives here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_sweeps"]

COLORS = {"mc": "#d1495b", "quadrature": "#00798c", "snapshots": "#edae49"}


def plot_sweeps(ds, path) -> Path:
    """Rows: systems; columns: error vs n per snapshot, vs number of snapshots K, by time-integral mode."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    from amphys.data.io import atomic_path

    systems = list(ds["system"].values)
    fig = Figure(figsize=(11.0, 3.1 * len(systems)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(systems), 3))
    for i, name in enumerate(systems):
        for col, (var, dim, xlabel) in enumerate((("verr_vs_n", "n", "samples per snapshot n"),
                                                   ("verr_vs_n_times", "n_times", "number of snapshots K"))):
            ax = axes[i, col]
            x = ds[dim].values
            for m, mode in enumerate(ds["mode"].values):
                y, e = ds[var].values[i, m], ds[f"{var}_std"].values[i, m]
                ax.plot(x, y, "o-", color=COLORS.get(str(mode)), label=str(mode), ms=4)
                if np.any(np.isfinite(e)):
                    ax.fill_between(x, y - e, y + e, color=COLORS.get(str(mode)), alpha=0.2, lw=0)
            v = list(ds["variant"].values).index("mc + sampler")
            ax.axhline(ds["verr_mode"].values[i, v], color="k", ls="--", lw=1, label="mc + exact sampler")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(x, [str(int(v)) for v in x])
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel(xlabel)
            ax.set_ylabel("‖v − v*‖ / ‖v*‖")
            fixed = (f"K = {ds.attrs['base_n_times']}" if dim == "n" else f"n = {ds.attrs['base_n']}")
            ax.set_title(f"{name}: {fixed}", fontsize=9)
            ax.grid(True, which="both", alpha=0.3)
            if i == 0 and col == 0:
                ax.legend(fontsize=7)
        ax = axes[i, 2]
        variants = list(ds["variant"].values)
        vals = ds["verr_mode"].values[i]
        err = ds["verr_mode_std"].values[i]
        colors = [COLORS.get(v.split(" + ")[0], "grey") for v in variants]
        hatches = ["//" if v.endswith("sampler") else "" for v in variants]
        yerr = err if np.any(np.isfinite(err)) else None
        bars = ax.bar(range(len(variants)), vals, color=colors, yerr=yerr, capsize=3)
        for b, h in zip(bars, hatches):
            b.set_hatch(h)
        ax.set_xticks(range(len(variants)), [v.replace(" + sampler", "\n+ exact\nsampler") for v in variants],
                      fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("‖v − v*‖ / ‖v*‖")
        ax.set_title(f"{name}: n = {ds.attrs['base_n']}, K = {ds.attrs['base_n_times']}", fontsize=9)
        ax.grid(True, axis="y", which="both", alpha=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=130)
    return path
