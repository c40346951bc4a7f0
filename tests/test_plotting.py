"""Each plot function renders with the Agg backend to a non-empty, valid image file."""

import numpy as np
import pytest
import xarray as xr

from amphys import plotting
from amphys.data.snapshots import make_snapshots
from amphys.errors import FileFormatError

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def samples():
    rng = np.random.default_rng(0)
    times = [0.0, 0.5, 1.0]
    true = [rng.normal(loc=t, size=(300, 2)) for t in times]
    learned = [x + 0.05 * rng.normal(size=x.shape) for x in true]
    return times, true, learned


def _is_png(path):
    data = path.read_bytes()
    return data[:8] == PNG and len(data) > 2000


@pytest.mark.parametrize("d", [1, 2, 3])
def test_plot_densities(tmp_path, samples, d):
    times, true, learned = samples
    true = [np.tile(x, 2)[:, :d] for x in true]
    learned = [np.tile(x, 2)[:, :d] for x in learned]
    out = plotting.plot_densities(times, true, learned, tmp_path / "dens.png", units_x="m", units_t="s")
    assert _is_png(out)
    out = plotting.plot_densities(times, true, None, tmp_path / "data.png")
    assert _is_png(out)


def test_plot_velocity_fields(tmp_path):
    g = np.linspace(-2, 2, 15)
    X, Y = np.meshgrid(g, g)
    v = np.stack([-Y, X], axis=-1)
    fields = xr.Dataset(
        {"v_model": (("time", "j", "i", "comp"), np.stack([v, 1.1 * v])),
         "v_target": (("time", "j", "i", "comp"), np.stack([v, v])),
         "density": (("time", "j", "i"), np.stack([np.exp(-X**2 - Y**2)] * 2))},
        coords={"time": [0.0, 1.0], "gx": (("time", "i"), np.stack([g, g + 1])),
                "gy": (("time", "j"), np.stack([g, g]))}, attrs={"target": "am_velocity"})
    assert _is_png(plotting.plot_velocity_fields(fields, tmp_path / "v.png"))


def test_plot_metrics_and_training(tmp_path):
    t = np.linspace(0, 1, 5)
    report = xr.Dataset({"velocity_error_root": ("time", 0.1 + 0 * t), "mmd2": ("time", 1e-3 + 0 * t),
                         "mmd2_floor": ("time", 5e-4 + 0 * t), "action_gap": 0.01},
                        coords={"time": t})
    assert _is_png(plotting.plot_metrics(report, tmp_path / "m.png"))
    # the noise band [0, threshold] shaded (reports of amphys.evaluate), negative unbiased values included
    banded = report.assign(mmd2=("time", np.array([-1e-4, 2e-4, 1e-3, 3e-3, 1e-2])),
                           mmd2_threshold=("time", 8e-4 + 0 * t),
                           continuity_residual=("time", 0.05 + 0 * t),
                           continuity_residual_threshold=("time", 0.1 + 0 * t)).drop_vars("mmd2_floor")
    assert _is_png(plotting.plot_metrics(banded, tmp_path / "band.png"))
    steps = np.arange(200)
    history = xr.Dataset({"loss": ("step", -np.log1p(steps)), "grad_norm": ("step", 1 / (1 + steps))},
                         coords={"step": steps})
    assert _is_png(plotting.plot_training(history, tmp_path / "h.png"))
    with pytest.raises(ValueError):
        plotting.plot_metrics(xr.Dataset({"action_gap": 0.1}), tmp_path / "none.png")


def test_animation_gif(tmp_path, samples):
    times, true, learned = samples
    out = plotting.animate_samples(times, true, learned, tmp_path / "a.gif")
    assert out.read_bytes()[:6] in (b"GIF89a", b"GIF87a")


def test_plot_file_on_snapshots_and_errors(tmp_path, samples):
    import amphys

    times, true, _ = samples
    ds = make_snapshots(np.repeat(times, 300), np.concatenate(true))
    amphys.io.write(ds, tmp_path / "data.h5")
    paths = plotting.plot_file(tmp_path / "data.h5", tmp_path / "fig")
    assert len(paths) == 1 and _is_png(paths[0])
    with pytest.raises(FileFormatError):
        plotting.plot_file(tmp_path / "missing.h5", tmp_path / "fig")
