"""Constraints of configuration fields, declared once as a table and read by every config class.

A constraint is a small callable ``check(value, name) -> value`` built on :mod:`amphys._checks`, so a field is
checked with the same rule and the same message wherever it appears. :data:`TRAINING` holds the fields of the
training loop shared by :class:`~amphys.solver.config.FitConfig` and the baselines' configs; each config adds
its own fields and calls :func:`check_fields` from ``__post_init__``.

>>> Integer(1)(3, "steps")
3
>>> Choice("cosine", "constant").choices
('cosine', 'constant')
"""

from __future__ import annotations

from dataclasses import dataclass

from amphys._checks import check_bool, check_choice, check_float, check_int
from amphys.errors import InputError, describe

__all__ = ["Integer", "Number", "OrAuto", "Choice", "Flag", "Frequencies", "TRAINING", "check_fields", "choices_of"]


@dataclass(frozen=True)
class Integer:
    """An integer (not a bool) in [low, high]."""

    low: int | None = None
    high: int | None = None

    def __call__(self, value, name: str) -> int:
        return check_int(value, name, low=self.low, high=self.high)


@dataclass(frozen=True)
class Number:
    """A finite real number in the interval [low, high] (open ends with ``low_open``/``high_open``); None passes
    when ``optional``."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False

    def __call__(self, value, name: str) -> float | None:
        if value is None and self.optional:
            return None
        return check_float(value, name, low=self.low, high=self.high, low_open=self.low_open,
                           high_open=self.high_open)


@dataclass(frozen=True)
class Choice:
    """One of a few strings; an unknown one raises ``UnknownNameError`` listing them."""

    choices: tuple[str, ...]

    def __init__(self, *choices: str):
        object.__setattr__(self, "choices", tuple(choices))

    def __call__(self, value, name: str) -> str:
        return check_choice(value, name, self.choices)


@dataclass(frozen=True)
class Flag:
    """True or false."""

    def __call__(self, value, name: str) -> bool:
        return check_bool(value, name)


@dataclass(frozen=True)
class Frequencies:
    """One of the strings ``choices`` (e.g. "auto"), or a sequence of at most ``most`` finite positive numbers
    (angular frequencies), returned as a tuple of floats; "none" is the empty tuple."""

    choices: tuple[str, ...] = ("auto", "none")
    most: int = 8

    def __call__(self, value, name: str):
        if isinstance(value, str) and value not in self.choices and any(c.isdigit() for c in value):
            value = [v for v in value.replace(",", " ").split()]  # "0.35, 0.7" (the command line)
            try:
                value = [float(v) for v in value]
            except ValueError:
                raise InputError(f"{name}: expected one of {list(self.choices)} or comma-separated numbers, "
                                 f"got {describe(value)}") from None
        if isinstance(value, str):
            return () if value == "none" else check_choice(value, name, self.choices)
        try:
            items = tuple(value)
        except TypeError:
            items = None
        if items is None or len(items) > self.most:
            raise InputError(f"{name}: expected one of {list(self.choices)} or a list of at most {self.most} "
                             f"positive angular frequencies, got {describe(value)}")
        return tuple(check_float(w, f"{name}[{i}]", low=0.0, low_open=True) for i, w in enumerate(items))


@dataclass(frozen=True)
class OrAuto:
    """The string "auto" (resolved from the data when the fit starts) or a value ``check`` accepts."""

    check: object

    def __call__(self, value, name: str):
        if value == "auto" and isinstance(value, str):
            return value
        try:
            return self.check(value, name)
        except InputError as exc:
            text = str(exc)
            text = text.replace("expected ", "expected 'auto' or ", 1) if "expected " in text else f"{text} (or 'auto')"
            raise InputError(text) from None


#: Fields of the training loop (optimiser, schedule, EMA, guard, network size, device), shared by every method.
TRAINING: dict = {
    "steps": Integer(1),
    "lr": Number(0.0, low_open=True),
    "seed": Integer(0),
    "device": Choice("auto", "cpu", "cuda"),
    "dtype": Choice("float32", "float64"),
    "hidden": Integer(1),
    "depth": Integer(1),
    "time_features": Integer(0),
    "warmup": Integer(0),
    "schedule": Choice("cosine", "constant"),
    "lr_final": Number(0.0, 1.0),
    "grad_clip": Number(0.0),
    "ema_decay": Number(0.0, 1.0, high_open=True),
    "explode_factor": Number(1.0, low_open=True),
}


def check_fields(config, checks: dict) -> None:
    """Check (and normalise: ``int``/``float``) every field of the frozen dataclass ``config`` named in ``checks``;
    messages name the field as ``ClassName.field``."""
    cls = type(config).__name__
    for name, check in checks.items():
        object.__setattr__(config, name, check(getattr(config, name), f"{cls}.{name}"))


def choices_of(checks: dict) -> dict[str, tuple[str, ...]]:
    """The valid values of the string-valued fields of ``checks``."""
    return {name: check.choices for name, check in checks.items() if isinstance(check, Choice)}
