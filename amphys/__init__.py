"""amphys: learn how a probability density moves in time from samples, by Action Matching.

Public namespace (docs/api.md). ``import amphys`` imports neither torch nor matplotlib: the workflows, the
diagnostics and the plotting are loaded on first use.
"""

from __future__ import annotations

from amphys import errors, io, systems
from amphys._version import __version__
from amphys.data import check_snapshots, generate, make_snapshots, validate_snapshots  # noqa: F401  (deprecated)

__all__ = [
    "__version__", "errors", "io", "systems", "generate", "make_snapshots", "check_snapshots", "fit", "FitConfig",
    "FitResult", "load_model", "evaluate", "diagnostics", "workflows", "testing",
]

# name -> (module, attribute); resolved on first access (PEP 562) to keep torch and matplotlib out of import.
_LAZY = {
    "fit": ("amphys.workflows.fitting", "fit"),
    "FitConfig": ("amphys.solver.config", "FitConfig"),
    "FitResult": ("amphys.workflows.result", "FitResult"),
    "load_model": ("amphys.workflows.result", "load_model"),
    "evaluate": ("amphys.workflows.evaluation", "evaluate"),
    "diagnostics": ("amphys.diagnostics", None),
    "plotting": ("amphys.plotting", None),
    "workflows": ("amphys.workflows", None),
    "testing": ("amphys.testing", None),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        mod = importlib.import_module(module)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'amphys' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
