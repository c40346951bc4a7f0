"""``plot_file``: the figures that fit a file (or run folder) written by amphys (``amphys plot``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from amphys.errors import FileFormatError

__all__ = ["plot_file"]


def _snapshot_lists(ds):
    from amphys.data.snapshots import split_snapshots

    parts = split_snapshots(ds)
    return [p[0] for p in parts], [p[1] for p in parts]


def _plot_dataset(ds, stem: str, outdir: Path, reference=None) -> list[Path]:
    from amphys.plotting import figures

    out = []
    if "x" in ds.data_vars and ds["x"].dims == ("sample", "dim"):
        times, xs = _snapshot_lists(ds)
        learned = None
        if reference is not None:
            rtimes, rxs = _snapshot_lists(reference)
            lookup = dict(zip(np.round(rtimes, 12), rxs))
            if all(np.round(t, 12) in lookup for t in times):
                learned, xs = xs, [lookup[np.round(t, 12)] for t in times]
        out.append(figures.plot_densities(times, xs, learned, outdir / f"{stem}_densities.png",
                                          dim_names=ds["dim"].values, units_x=ds.attrs.get("units_x", "1"),
                                          units_t=ds.attrs.get("units_t", "1")))
        if learned is not None:
            out.append(figures.animate_samples(times, xs, learned, outdir / f"{stem}.gif"))
    elif "v_model" in ds.data_vars:
        out.append(figures.plot_velocity_fields(ds, outdir / f"{stem}_velocity.png"))
    elif "loss" in ds.data_vars and "step" in ds.dims:
        out.append(figures.plot_training(ds, outdir / f"{stem}_training.png"))
    elif "time" in ds.dims:
        out.append(figures.plot_metrics(ds, outdir / f"{stem}_metrics.png"))
    else:
        raise FileFormatError(f"{stem}: no figure fits this dataset (variables {sorted(map(str, ds.data_vars))})")
    return out


def plot_file(path, outdir) -> list[Path]:
    """Write the figures that fit ``path`` into ``outdir`` and return their paths.

    ``path`` may be Snapshots (density panels), a diagnostics report (metrics vs time), a fit history, a
    velocity-field dataset, or a folder written by ``amphys run`` (all of these; pushed samples are drawn
    against the data). A model file (``.pt``) is read by the workflows, above this layer: ``amphys plot
    model.pt`` draws its training curves, as does ``plot_training(amphys.load_model(path).history, out)``.
    """
    from amphys.data.io import open_dataset

    path, outdir = Path(path), Path(outdir)
    if not path.exists():
        raise FileFormatError(f"{str(path)!r}: file not found")
    outdir.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        out = []
        data = path / "data.h5"
        reference = open_dataset(data) if data.exists() else None
        for name in ("data.h5", "pushed.h5", "report.h5", "history.h5", "fields.h5"):
            if (path / name).exists():
                ref = reference if name == "pushed.h5" else None
                out += _plot_dataset(open_dataset(path / name), Path(name).stem, outdir, ref)
        if not out:
            raise FileFormatError(f"{str(path)!r}: folder holds no amphys output (data.h5, report.h5, ...)")
        return out
    if path.suffix == ".pt":
        raise FileFormatError(f"{str(path)!r}: a model file; draw its training curves with `amphys plot "
                              f"{path.name} -o DIR` or plot_training(amphys.load_model(path).history, 'out.png')")
    return _plot_dataset(open_dataset(path), path.stem, outdir)
