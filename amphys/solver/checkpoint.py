"""Atomic torch files and safe loading (``weights_only=True``) for checkpoints and saved models."""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import torch

from amphys._atomic import atomic_path
from amphys.errors import CheckpointError

__all__ = ["CHECKPOINT_FORMAT", "atomic_torch_save", "load_checkpoint"]

CHECKPOINT_FORMAT = "amphys-checkpoint/1"


def atomic_torch_save(obj, path) -> Path:
    """``torch.save`` to a temporary file next to ``path``, then rename (never a half-written file)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def load_checkpoint(path) -> dict:
    """``torch.load(weights_only=True)`` of an amphys file; :class:`CheckpointError` if it is missing, corrupt or
    foreign (no ``format`` entry)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{str(path)!r}: file not found")
    try:
        with warnings.catch_warnings():  # torch warns about odd pickle protocols of foreign files: the error says it
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or foreign files
        refused = re.search(r"GLOBAL ([\w.]+)", str(exc)) if isinstance(exc, pickle.UnpicklingError) else None
        if refused:  # the weights-only unpickler met a reference to Python code
            raise CheckpointError(f"{str(path)!r}: refused: the file holds a pickled Python object "
                                  f"({refused.group(1)}), which amphys never loads (unpickling can run code); "
                                  "amphys models and checkpoints hold tensors, strings and numbers only") from None
        first = str(exc).splitlines()[0].split(". ")[0] if str(exc) else ""
        raise CheckpointError(f"{str(path)!r}: not a readable amphys model or checkpoint, truncated or corrupt "
                              f"({type(exc).__name__}: {first})") from None
    if not isinstance(state, dict) or "format" not in state:
        raise CheckpointError(f"{str(path)!r}: not an amphys model or checkpoint (no 'format' entry)")
    return state
