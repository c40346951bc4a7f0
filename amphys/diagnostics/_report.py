"""Attributes of a diagnostics report (docs/theory.md#data-schema): provenance as simple types, nested data as
JSON strings."""

from __future__ import annotations

import dataclasses
import json

REPORT_SCHEMA = "report/1"


def fit_config_json(model) -> str:
    """The model's fit configuration as JSON (``config.to_json()``, a dataclass, or a dict); "{}" if none."""
    config = getattr(model, "config", None)
    if config is None:
        return "{}"
    if callable(getattr(config, "to_json", None)):
        return str(config.to_json())
    if dataclasses.is_dataclass(config):
        config = dataclasses.asdict(config)
    try:
        return json.dumps(config, sort_keys=True, default=str)
    except TypeError:
        return json.dumps({"repr": repr(config)})


def versions_json() -> str:
    import importlib.metadata as md

    from amphys._version import __version__

    out = {"amphys": __version__}
    for dist in ("numpy", "scipy", "xarray", "POT", "h5netcdf"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = "absent"
    return json.dumps(out, sort_keys=True)


def report_attrs(model, reference, settings: dict) -> dict:
    from amphys._version import __version__
    from amphys.systems import System

    attrs = {"amphys_schema": REPORT_SCHEMA, "created_by": f"amphys {__version__}",
             "fit_config": fit_config_json(model), "versions": versions_json(),
             "model": type(model).__name__}
    if isinstance(reference, System):
        attrs["reference_system"] = reference.params_json()
        attrs["units_x"], attrs["units_t"] = str(reference.units_x), str(reference.units_t)
    else:
        attrs["reference_system"] = str(reference.attrs.get("system", "{}"))
        attrs["units_x"] = str(reference.attrs.get("units_x", "1"))
        attrs["units_t"] = str(reference.attrs.get("units_t", "1"))
        attrs["reference_source"] = str(reference.attrs.get("source", ""))
    for key, value in settings.items():
        attrs[key] = value if isinstance(value, (str, int, float)) else json.dumps(value, default=str)
    return attrs
