"""Figure functions. Inputs are numpy arrays or xarray Datasets in amphys's schemas; outputs are files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from amphys.data.io import atomic_path

LEARNED = "#d1495b"
TRUE = "#00798c"
STYLE = {
    "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8,
    "ytick.labelsize": 8, "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 120,
    "savefig.dpi": 150, "savefig.bbox": "tight",
}


def _figure(ncols: int, nrows: int = 1, width: float = 2.6, height: float = 2.5) -> Figure:
    import matplotlib as mpl

    mpl.rcParams.update(STYLE)
    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    return fig


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png")
    return path


def _pick(times, k: int = 4) -> list[int]:
    n = len(times)
    return sorted(set(np.linspace(0, n - 1, min(k, n)).round().astype(int).tolist()))


def _labels(dim_names, units_x):
    names = list(dim_names) if dim_names is not None else ["x", "y"]
    suffix = f" [{units_x}]" if units_x and units_x != "1" else ""
    return [f"{n}{suffix}" for n in names]


def plot_densities(times, true, learned, path, *, dim_names=None, units_x="1", units_t="1", title=None) -> Path:
    """Histograms (d = 1) or 2-D scatter projections on the first two coordinates (d ≥ 2).

    ``true`` and ``learned`` are sequences (one per time) of ``(n, d)`` arrays; ``learned`` may be None (plot
    the data alone).
    """
    idx = _pick(times)
    d = np.asarray(true[0]).shape[1]
    fig = _figure(len(idx))
    axes = np.atleast_1d(fig.subplots(1, len(idx), sharex=True, sharey=True))
    labels = _labels(dim_names, units_x)
    allx = np.concatenate([np.asarray(true[i]) for i in idx])
    lo, hi = np.quantile(allx, [0.005, 0.995], axis=0)
    pad = 0.05 * (hi - lo)
    for ax, i in zip(axes, idx):
        xt = np.asarray(true[i])
        xl = None if learned is None else np.asarray(learned[i])
        true_label = "true" if learned is not None else "samples"
        if d == 1:
            bins = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 60)
            ax.hist(xt[:, 0], bins, density=True, color=TRUE, alpha=0.45, label=true_label)
            if xl is not None:
                ax.hist(xl[:, 0], bins, density=True, histtype="step", color=LEARNED, lw=1.4, label="learned")
            ax.set_xlabel(labels[0])
        else:
            m = min(len(xt), 3000 if xl is None else len(xl), 3000)
            ax.scatter(xt[:m, 0], xt[:m, 1], s=1.5, c=TRUE, alpha=0.35, lw=0, label=true_label,
                       rasterized=True)
            if xl is not None:
                ax.scatter(xl[:m, 0], xl[:m, 1], s=1.5, c=LEARNED, alpha=0.35, lw=0, label="learned",
                           rasterized=True)
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
            ax.set_xlabel(labels[0])
            ax.set_aspect("equal", adjustable="box")
        ax.set_title(f"t = {times[i]:.3g}" + (f" {units_t}" if units_t not in ("1", "") else ""))
    axes[0].set_ylabel("density" if d == 1 else labels[1])
    leg = axes[-1].legend(loc="upper right", frameon=False, markerscale=6)
    for h in leg.legend_handles:
        h.set_alpha(1)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_velocity_fields(fields, path, *, title=None) -> Path:
    """Learned vs target velocity on a 2-D grid over the density, one column per time.

    ``fields``: Dataset with coords ``time``, ``gx(time, i)``, ``gy(time, j)`` (one grid per time, following the
    density) and variables ``v_model(time, j, i, comp)``, ``v_target(time, j, i, comp)``, ``density(time, j, i)``
    (as written by :func:`amphys.workflows.pipeline.velocity_fields`). Arrows share one scale across panels.
    """
    times = fields["time"].values
    idx = _pick(times)
    fig = _figure(len(idx), 2, height=2.6)
    axes = np.asarray(fig.subplots(2, len(idx))).reshape(2, len(idx))
    dens_all = fields["density"].values
    masks = dens_all > 2e-3 * dens_all.max(axis=(1, 2), keepdims=True)
    speed = np.linalg.norm(fields["v_target"].values, axis=-1)
    vmax = float(np.nanmax(np.where(masks, speed, np.nan)))
    n_grid = fields.sizes[fields["density"].dims[-1]]
    scale = vmax * n_grid / 1.2 if vmax > 0 else None
    target_name = fields.attrs.get("target", "target")
    for col, i in enumerate(idx):
        gx, gy = fields["gx"].values[i], fields["gy"].values[i]
        dens, mask = dens_all[i], masks[i]
        for row, (var, color, name) in enumerate([("v_model", LEARNED, "learned"),
                                                   ("v_target", TRUE, target_name)]):
            ax = axes[row, col]
            ax.contourf(gx, gy, dens, levels=12, cmap="Greys", alpha=0.55)
            v = fields[var].values[i]
            u, w = np.where(mask, v[..., 0], np.nan), np.where(mask, v[..., 1], np.nan)
            ax.quiver(gx, gy, u, w, color=color, scale=scale, scale_units="width", width=0.007,
                      headwidth=3.5)
            ax.set_aspect("equal", adjustable="datalim")
            if row == 0:
                ax.set_title(f"t = {times[i]:.3g}")
            if col == 0:
                ax.set_ylabel(f"{name}\n{fields.attrs.get('dim_y', 'y')}")
            if row == 1:
                ax.set_xlabel(fields.attrs.get("dim_x", "x"))
    if title:
        fig.suptitle(title)
    return _save(fig, path)


_METRIC_PANELS = [
    ("velocity_error_root", "relative velocity error ‖v−v*‖/‖v*‖"),
    ("mmd2", "MMD²"),
    ("energy_distance", "energy distance"),
    ("w2", "W₂"),
    ("sliced_w2", "sliced W₂"),
    ("continuity_residual", "continuity residual"),
]


def plot_metrics(report, path, *, title=None) -> Path:
    """Each available metric of a diagnostics report (docs/theory.md#field-and-sample-metrics) vs time, with the
    noise band [0, ``<metric>_threshold``] shaded (95% of the values between independent sample sets of the same
    sizes fall in it); a report with only a ``<metric>_floor`` shows that floor dashed."""
    panels = [p for p in _METRIC_PANELS if p[0] in report.data_vars and report[p[0]].dims == ("time",)]
    if not panels:
        raise ValueError("report has no per-time metric to plot")
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig = _figure(ncols, nrows, width=2.9, height=2.3)
    grid = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax in grid[len(panels):]:
        ax.set_visible(False)
    axes = grid[:len(panels)]
    t = report["time"].values
    for ax, (var, label) in zip(axes, panels):
        ax.plot(t, report[var].values, "o-", color=LEARNED, ms=3, lw=1.2, label="model", zorder=3)
        if var == "velocity_error_root" and "velocity_spread_relative" in report.data_vars:
            ax.plot(t, report["velocity_spread_relative"].values, ":", color=LEARNED, lw=1.2,
                    label="error estimated from the data (ensemble spread)")
        values = np.asarray(report[var].values, dtype=float)
        if var + "_threshold" in report.data_vars:
            thr = np.asarray(report[var + "_threshold"].values, dtype=float)
            ax.fill_between(t, 0.0, thr, color="0.85", lw=0, label="noise (95%)", zorder=1)
            ax.set_ylim(bottom=min(0.0, float(np.nanmin(values, initial=0.0))))
        elif var + "_floor" in report.data_vars:
            floor = np.asarray(report[var + "_floor"].values, dtype=float)
            ax.plot(t, floor, "--", color="0.4", lw=1, label="noise floor")
            values = np.concatenate([values, floor])
            if np.all(values[np.isfinite(values)] > 0):
                ax.set_yscale("log")
        elif np.all(values[np.isfinite(values)] > 0):
            ax.set_yscale("log")
        if ax.get_yscale() == "linear":
            ax.axhline(0.0, color="0.8", lw=0.8, zorder=0)
        ax.set_title(label)
        ax.set_xlabel(f"t [{report.attrs['units_t']}]" if report.attrs.get("units_t", "1") != "1" else "t")
    handles, labels = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        h, lab = ax.get_legend_handles_labels()
        if len(h) > len(handles):
            handles, labels = h, lab
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_training(history, path, *, title=None) -> Path:
    """Training loss (and gradient norm, when recorded) vs step from a fit history Dataset over ``step``."""
    steps = history["step"].values
    has_grad = "grad_norm" in history.data_vars
    fig = _figure(2 if has_grad else 1, width=3.4)
    axes = np.atleast_1d(fig.subplots(1, 2 if has_grad else 1))
    loss = history["loss"].values
    axes[0].plot(steps, loss, color="0.75", lw=0.6, label="loss")
    if loss.size >= 20:
        k = max(loss.size // 50, 5)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        axes[0].plot(steps[k - 1:], smooth, color=LEARNED, lw=1.4, label=f"running mean ({k})")
    axes[0].set_xlabel("step")
    axes[0].set_title("AM loss (no zero floor; a negative plateau is expected)")
    axes[0].legend(frameon=False)
    if has_grad:
        axes[1].semilogy(steps, history["grad_norm"].values, color=TRUE, lw=0.8)
        axes[1].set_xlabel("step")
        axes[1].set_title("gradient norm")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def animate_samples(times, true, learned, path, *, fps: int = 6, max_points: int = 2000) -> Path:
    """GIF of learned (pushed) samples over true samples, first two coordinates (or a histogram in 1-D)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    d = np.asarray(true[0]).shape[1]
    allx = np.concatenate([np.asarray(x) for x in true])
    lo, hi = np.quantile(allx, [0.005, 0.995], axis=0)
    pad = 0.05 * (hi - lo)
    fig = _figure(1, width=3.6, height=3.4)
    canvas = FigureCanvasAgg(fig)
    ax = fig.subplots()

    def draw(i):
        ax.clear()
        xt, xl = np.asarray(true[i])[:max_points], np.asarray(learned[i])[:max_points]
        if d == 1:
            bins = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 50)
            ax.hist(xt[:, 0], bins, density=True, color=TRUE, alpha=0.45, label="true")
            ax.hist(xl[:, 0], bins, density=True, histtype="step", color=LEARNED, lw=1.4, label="learned")
        else:
            ax.scatter(xt[:, 0], xt[:, 1], s=2, c=TRUE, alpha=0.35, lw=0, label="true")
            ax.scatter(xl[:, 0], xl[:, 1], s=2, c=LEARNED, alpha=0.5, lw=0, label="learned")
            ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
            ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
        ax.set_title(f"t = {times[i]:.3g}")
        ax.legend(loc="upper right", frameon=False, markerscale=4)
        canvas.draw()
        return Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")

    frames = [draw(i) for i in range(len(times))]
    path = Path(path)
    with atomic_path(path) as tmp:
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:], duration=int(1000 / fps),
                       loop=0)
    return path
