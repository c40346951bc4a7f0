"""amphys: learn how a probability density moves in time from samples, by Action Matching.

Public namespace (SPEC §7.1). ``import amphys`` imports neither torch nor matplotlib: the solver, diagnostics and
plotting are loaded on first use.
"""

from __future__ import annotations

from amphys import errors, io, systems
from amphys._version import __version__
from amphys.data import generate, make_snapshots, validate_snapshots

__all__ = [
    "__version__", "errors", "io", "systems", "generate", "make_snapshots", "validate_snapshots",
    "fit", "FitConfig", "FitResult", "load_model", "evaluate", "diagnostics",
]

# name -> (module, attribute); resolved on first access (PEP 562) to keep torch and matplotlib out of import.
_LAZY = {
    "fit": ("amphys.fit", "fit"),
    "FitConfig": ("amphys.solver.config", "FitConfig"),
    "FitResult": ("amphys.fit", "FitResult"),
    "load_model": ("amphys.fit", "load_model"),
    "evaluate": ("amphys.diagnostics", "evaluate"),
    "diagnostics": ("amphys.diagnostics", None),
    "plotting": ("amphys.plotting", None),
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
