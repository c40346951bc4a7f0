"""Device and precision names of the configs (``device="auto"|"cpu"|"cuda"``, ``dtype="float32"|"float64"``) as
torch objects, for the solver and the baselines alike."""

from __future__ import annotations

import torch

from amphys.errors import InputError

__all__ = ["resolve_device", "resolve_dtype"]


def resolve_device(name: str) -> torch.device:
    """"auto": CUDA when torch sees a GPU, else the CPU; "cuda" without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device: 'cuda' was asked for but torch sees no CUDA device; use device='cpu' or 'auto'")
    return torch.device(name)


def resolve_dtype(name: str) -> torch.dtype:
    return torch.float64 if name == "float64" else torch.float32
