"""``amphys run`` end to end on a tiny configuration (generate → fit → evaluate → plot)."""

import numpy as np
import pytest

import amphys
from amphys.cli.main import main


@pytest.mark.slow
def test_run_tiny_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "barenblatt", "-o", str(out), "--n-per-time", "300", "--n-times", "4", "--steps", "60",
                 "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "rel.v.err" in text and "action gap" in text
    for name in ("data.h5", "model.pt", "history.h5", "report.h5", "pushed.h5", "fields.h5", "run.json"):
        assert (out / name).is_file(), name
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert {"data_densities.png", "pushed_densities.png", "pushed.gif", "report_metrics.png",
            "history_training.png", "fields_velocity.png"} <= set(figures)
    report = amphys.io.open_dataset(out / "report.h5")
    assert report.attrs["target"] == "am_velocity"
    assert report.sizes["time"] == 4
    assert np.all(np.isfinite(report["velocity_error"].values))
    pushed = amphys.io.read(out / "pushed.h5")
    assert pushed.attrs["source"] == "pushed" and pushed.sizes["sample"] == 4 * 300
    model = amphys.load_model(out / "model.pt")
    assert model.dim == 2 and model.config.steps == 60


def test_run_rejects_unknown_system(tmp_path, capsys):
    assert main(["run", "nosuch", "-o", str(tmp_path / "x")]) != 0
    assert "unknown system 'nosuch'" in capsys.readouterr().err
