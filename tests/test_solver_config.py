"""FitConfig: validation, TOML/JSON round trips, overrides, and the CLI flags generated from it."""

import argparse
import json

import pytest

from amphys.errors import FileFormatError, InputError, UnknownNameError
from amphys.solver.config import CHOICES, RENAMED, FitConfig

STABLE = ["steps", "batch_size", "lr", "seed", "device", "loss", "sigma", "time_integral", "checkpoint_every",
          "hidden", "depth"]


def test_stable_field_names_exist():
    names = FitConfig.field_names()
    for name in STABLE:
        assert name in names
    assert CHOICES["loss"] == ("auto", "am", "entropic", "unbalanced")
    assert set(CHOICES["time_integral"]) == {"mc", "quadrature", "snapshots"}
    assert set(CHOICES["device"]) == {"auto", "cpu", "cuda"}


def test_frozen_and_replace():
    cfg = FitConfig(steps=10)
    with pytest.raises(AttributeError):
        cfg.steps = 20
    new = cfg.replace(steps=20, lr=3e-4)
    assert (new.steps, new.lr, cfg.steps) == (20, 3e-4, 10)
    with pytest.raises(UnknownNameError, match="stpes.*did you mean 'steps'"):
        cfg.replace(stpes=3)


@pytest.mark.parametrize("field, value, pattern", [
    ("steps", 0, "steps: expected an integer >= 1"),
    ("steps", 2.5, "steps: expected an integer"),
    ("batch_size", True, "batch_size: expected an integer"),
    ("lr", -1.0, "lr: expected 'auto' or a number > 0"),
    ("lr", float("nan"), "lr: expected 'auto' or a finite number"),
    ("ema_decay", 1.0, "ema_decay: expected a number >= 0 and < 1"),
    ("sigma", -0.1, "sigma: expected a finite number >= 0"),
    ("centre", "yes", "centre: expected true or false"),
    ("holdout_fraction", 0.7, "holdout_fraction: expected a number >= 0 and < 0.5"),
    ("max_time", 0.0, "max_time: expected a number > 0"),
])
def test_bad_values_name_the_field(field, value, pattern):
    with pytest.raises(InputError, match=pattern):
        FitConfig(**{field: value})


@pytest.mark.parametrize("field", sorted(CHOICES))
def test_bad_choice_lists_valid_values(field):
    with pytest.raises(UnknownNameError) as info:
        FitConfig(**{field: "nonsense"})
    msg = str(info.value)
    assert f"FitConfig.{field}" in msg
    for choice in CHOICES[field]:
        assert choice in msg


def test_inconsistent_combinations():
    with pytest.raises(InputError, match="sigma"):
        FitConfig(loss="entropic")
    with pytest.raises(InputError, match="centre"):
        FitConfig(loss="unbalanced", centre=True)
    with pytest.raises(InputError, match="Gauss-Legendre"):
        FitConfig(time_integral="snapshots", quadrature_rule="gauss-legendre")
    with pytest.raises(InputError, match="sampler"):
        FitConfig(time_integral="snapshots", interpolant="sampler")
    assert FitConfig(loss="entropic", sigma=0.5).sigma == 0.5


def test_json_round_trip():
    cfg = FitConfig(steps=123, loss="entropic", sigma=0.3, centre=True, time_integral="quadrature", max_time=5.0)
    text = cfg.to_json()
    assert json.loads(text)["steps"] == 123
    assert FitConfig.from_json(text) == cfg
    assert FitConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(UnknownNameError, match="FitConfig field 'bogus'"):
        FitConfig.from_dict({"bogus": 1})


@pytest.mark.parametrize("old, new", sorted(RENAMED.items()))
def test_old_field_names_still_read_with_a_warning(old, new, tmp_path):
    value = {"holdout_fraction": 0.25, "interpolant": "mixture"}.get(new) or FitConfig().to_dict()[new] + 1
    with pytest.warns(DeprecationWarning, match=f"'{old}' is now '{new}'"):
        assert getattr(FitConfig.from_dict({old: value}), new) == value
    with pytest.warns(DeprecationWarning, match=old):
        assert getattr(FitConfig.from_json(json.dumps({old: value})), new) == value
    with pytest.warns(DeprecationWarning, match=old):
        assert getattr(FitConfig(steps=3).replace(**{old: value}), new) == value
    path = tmp_path / "old.toml"
    path.write_text(f"{old} = {json.dumps(value)}\n")
    with pytest.warns(DeprecationWarning, match=old):
        assert getattr(FitConfig.from_toml(path), new) == value
    # files written by earlier versions load silently; both names at once is an error
    assert getattr(FitConfig.from_json(json.dumps({old: value}), warn_renamed=False), new) == value
    with pytest.raises(InputError, match=f"both '{old}' and its new name '{new}'"):
        FitConfig.from_dict({old: value, new: value}, warn_renamed=False)


def test_training_fields_have_one_rule_for_every_config():
    """FitConfig and the baselines' configs check their shared fields with the same table (one message)."""
    from amphys.baselines import CFMConfig, SMConfig
    from amphys.solver.fields import TRAINING

    for cls in (FitConfig, SMConfig, CFMConfig):
        for field, value in (("lr", 0.0), ("ema_decay", 1.0), ("warmup", -1), ("schedule", "linear")):
            with pytest.raises(InputError) as info:
                cls(**{field: value})
            with pytest.raises(InputError) as ref:
                TRAINING[field](value, f"{cls.__name__}.{field}")
            # FitConfig names 'auto' among the expected values where it is allowed; otherwise the same message
            assert str(info.value) == str(ref.value).replace("expected ", "expected 'auto' or ", 1) or \
                str(info.value) == str(ref.value)


def test_callable_sigma_is_kept_but_serialised_as_a_marker():
    def sig(t):
        return 0.1 + t

    cfg = FitConfig(loss="entropic", sigma=sig)
    assert cfg.sigma is sig
    assert cfg.to_dict()["sigma"] == "<callable sig>"


def test_from_toml(tmp_path):
    path = tmp_path / "fit.toml"
    path.write_text('steps = 300\ntime_integral = "quadrature"\n[fit]\nhidden = 32\ncentre = true\n')
    cfg = FitConfig.from_toml(path, depth=2)
    assert (cfg.steps, cfg.time_integral, cfg.hidden, cfg.centre, cfg.depth) == (300, "quadrature", 32, True, 2)
    bad = tmp_path / "bad.toml"
    bad.write_text("stepz = 3\n")
    with pytest.raises(UnknownNameError, match="bad.toml.*stepz"):
        FitConfig.from_toml(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("steps = = 3\n")
    with pytest.raises(FileFormatError, match="not valid TOML"):
        FitConfig.from_toml(broken)
    with pytest.raises(FileFormatError, match="not found"):
        FitConfig.from_toml(tmp_path / "missing.toml")
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('loss = "magic"\n')
    with pytest.raises(UnknownNameError, match="wrong.toml.*magic"):
        FitConfig.from_toml(wrong)


def test_cli_flags_cover_every_field(tmp_path):
    from amphys.cli import fit_cmd

    parser = argparse.ArgumentParser()
    fit_cmd.add_arguments(parser)
    flags = {a for action in parser._actions for a in action.option_strings}
    for name in FitConfig.field_names():
        assert "--" + name.replace("_", "-") in flags
    path = tmp_path / "c.toml"
    path.write_text("steps = 50\nhidden = 16\n")
    args = parser.parse_args(["d.h5", "-o", "m.pt", "--config", str(path), "--steps", "7", "--batch-size", "64",
                              "--time-integral", "quadrature", "--centre", "--sigma", "0.2"])
    cfg = fit_cmd.config_from_args(args)
    assert (cfg.steps, cfg.hidden, cfg.batch_size, cfg.time_integral, cfg.centre, cfg.sigma) == \
        (7, 16, 64, "quadrature", True, 0.2)
    with pytest.raises(SystemExit):
        parser.parse_args(["d.h5", "-o", "m.pt", "--loss", "magic"])
