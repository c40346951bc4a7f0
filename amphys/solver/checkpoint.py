"""Training checkpoints: atomic torch files, safe loading (``weights_only=True``), the file layout, and the
conversion of checkpoints written by earlier versions.

A checkpoint (format :data:`CHECKPOINT_FORMAT`) is a flat dict: a header (``format``, ``config_json``,
``meta_json`` with at least ``dim`` and ``t_span``, ``world_size``) and one entry per field of
:class:`~amphys.solver.state.TrainState` (per-rank fields as lists over ranks). Format
``"amphys-checkpoint/1"`` (one random state per rank in other keys) is converted on reading by
:func:`upgrade`, so it resumes and loads like the current one.
"""

from __future__ import annotations

import json
import pickle
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch

from amphys._atomic import atomic_path
from amphys.errors import CheckpointError
from amphys.solver.config import FitConfig

__all__ = ["CHECKPOINT_FORMAT", "OLD_FORMATS", "atomic_torch_save", "load_checkpoint", "upgrade",
           "checkpoint_weights", "Weights", "Checkpointing"]

CHECKPOINT_FORMAT = "amphys-checkpoint/2"
OLD_FORMATS = ("amphys-checkpoint/1",)
_V1_RENAMED = {"best_val": "best_score"}


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


def upgrade(stored: dict) -> dict:
    """A checkpoint dict of any known format in the current layout (a new dict; tensors are shared).

    Format 1 kept rank 0's random states in ``gen_state``/``rng_json`` and, data parallel, every rank's in
    ``rank_gen_states``/``rank_rng_json``; the held-out score was ``best_val``.
    """
    fmt = stored.get("format")
    if fmt == CHECKPOINT_FORMAT:
        return stored
    if fmt != "amphys-checkpoint/1":
        raise CheckpointError(f"not an amphys training checkpoint (format {fmt!r}; expected "
                              f"{CHECKPOINT_FORMAT!r})")
    out = {_V1_RENAMED.get(k, k): v for k, v in stored.items()
           if k not in ("gen_state", "rng_json", "rank_gen_states", "rank_rng_json")}
    world = int(stored.get("world_size", 1))
    out.update(format=CHECKPOINT_FORMAT, world_size=world,
               gen=list(stored["rank_gen_states"]) if world > 1 else [stored["gen_state"]],
               rng=list(stored["rank_rng_json"]) if world > 1 else [stored["rng_json"]])
    return out


class Weights(NamedTuple):
    """What a model needs from a checkpoint: the network's state dict (its buffers hold the normalisation), the
    EMA weights (one tensor per parameter, the weights a fit evaluates with) and ``meta``: the header's
    ``meta_json`` decoded, plus ``config_json``, ``step`` and ``history`` (name -> tensor)."""

    model: dict
    ema: list
    meta: dict


def checkpoint_weights(stored: dict) -> Weights:
    """The weights of a training checkpoint of any known format (the dict :func:`load_checkpoint` returns).

    Raises :class:`CheckpointError` for a foreign format and ``KeyError``/``ValueError`` for a damaged one.
    """
    state = upgrade(stored)
    meta = json.loads(state["meta_json"])
    meta.update(config_json=state["config_json"], step=int(state["step"]), history=dict(state.get("history", {})))
    return Weights(state["model"], list(state["ema"]), meta)



@dataclass(frozen=True)
class Checkpointing:
    """Where and how a fit writes its checkpoints: ``path``, the ``config`` (written as ``config_json``; a resumed
    run must have the same, ``RESUME_NEUTRAL`` fields aside) and ``meta`` (written as ``meta_json``: ``dim``,
    ``t_span``, what a model needs besides the weights)."""

    path: Path
    config: FitConfig
    meta: dict

    def save(self, state, context) -> None:
        """Write ``state`` (a :class:`~amphys.solver.state.TrainState`) atomically.

        Data parallel this is a collective (every rank calls it): the per-rank random states are gathered, rank 0
        writes, the others wait at a barrier.
        """
        stored = {"format": CHECKPOINT_FORMAT, "config_json": self.config.to_json(),
                  "meta_json": json.dumps(self.meta), "world_size": context.world_size,
                  **state.encode(context.gather if context.active else None)}
        if context.is_main:
            atomic_torch_save(stored, self.path)
        context.barrier()

    def restore(self, state, context) -> bool:
        """Load the checkpoint into ``state`` when it exists; False when there is none.

        Refuses (:class:`CheckpointError`, naming the file) a checkpoint written with another config or by another
        number of processes, a file that exists for some ranks only, and a damaged or foreign file.
        """
        path = self.path
        exists = Path(path).exists()
        if context.active and context.any(exists) and context.any(not exists):
            raise CheckpointError(f"{str(path)!r}: the checkpoint exists for some ranks only; with several nodes "
                                  "put it on a file system every node sees")
        if not exists:
            return False
        try:
            self._load_into(state, load_checkpoint(path), context)
        except CheckpointError as exc:
            msg = str(exc)
            raise CheckpointError(msg if str(path) in msg else f"{str(path)!r}: {msg}") from None
        return True

    def _load_into(self, state, stored: dict, context) -> None:
        try:
            stored = upgrade(stored)
            diff = FitConfig.from_json(stored["config_json"], warn_renamed=False).differences(self.config)
            if diff:
                raise CheckpointError(f"the checkpoint was written with different settings ({', '.join(diff)}); "
                                      "resume needs the same config, or start afresh without resume")
            world = int(stored["world_size"])
            if world != context.world_size:
                raise CheckpointError(f"the checkpoint was written by {world} process(es), this run has "
                                      f"{context.world_size}; resume with the same number of processes")
            state.decode(stored, rank=context.rank if context.active else 0)
        except CheckpointError:
            raise
        except (KeyError, IndexError, RuntimeError, ValueError, TypeError) as exc:
            raise CheckpointError(f"checkpoint does not match this fit ({type(exc).__name__}: {exc})") from None
