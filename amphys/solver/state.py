"""The training state: everything a fit changes while it runs, as one dataclass that is also the checkpoint schema.

Each field names its codec (how it is written to a checkpoint and read back into the live object), so
:meth:`TrainState.encode` and :meth:`TrainState.decode` are generated from the fields: adding a piece of state is
adding one field. A checkpoint holds one entry per field (plus a header, :mod:`amphys.solver.checkpoint`);
fields marked ``per_rank`` (the random streams, which differ between the processes of a data-parallel fit) hold
a list with one entry per rank. Everything stored is a tensor, a string, a number or a list/dict of them, so a
checkpoint loads with ``torch.load(weights_only=True)``.

The random streams are the method's: ``gen`` (a ``torch.Generator``) and ``rng`` (a ``numpy.random.Generator``)
are what its step function draws batches from, so continuing from a checkpoint draws the same batches as an
uninterrupted run.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field, fields

import numpy as np
import torch

from amphys.solver.optim import Adam

__all__ = ["TrainState", "GUARD_WINDOW"]

#: Length of the window of recent gradient norms kept for the divergence guard.
GUARD_WINDOW = 100


class _Codec:
    """How one field is stored: ``encode(value) -> stored``; ``decode(state, value, stored) -> new value`` (may
    update ``value`` in place and return it)."""

    def encode(self, value):
        return value

    def decode(self, state, value, stored):
        return type(value)(stored)


class _Module(_Codec):
    def encode(self, value):
        return {k: v.detach().cpu().clone() for k, v in value.state_dict().items()}

    def decode(self, state, value, stored):
        value.load_state_dict(stored)
        return value


class _Stateful(_Codec):
    def encode(self, value):
        return value.state_dict()

    def decode(self, state, value, stored):
        value.load_state_dict(stored)
        return value


class _Tensors(_Codec):
    """A list of tensors shaped like the parameters (loaded onto the parameters' device and dtype)."""

    def encode(self, value):
        return [t.detach().cpu().clone() for t in value]

    def decode(self, state, value, stored):
        like = state.optimizer.params
        if stored and len(stored) != len(like):
            raise ValueError(f"{len(stored)} stored tensors for {len(like)} parameters")
        out = []
        for p, s in zip(like, stored):
            if tuple(s.shape) != tuple(p.shape):
                raise ValueError(f"stored shape {tuple(s.shape)} != parameter shape {tuple(p.shape)}")
            out.append(s.to(device=p.device, dtype=p.dtype).clone())
        return out


class _TorchRandom(_Codec):
    def encode(self, value):
        return value.get_state()

    def decode(self, state, value, stored):
        value.set_state(stored)
        return value


class _NumpyRandom(_Codec):
    def encode(self, value):
        return json.dumps(value.bit_generator.state)

    def decode(self, state, value, stored):
        value.bit_generator.state = json.loads(stored)
        return value


class _Floats(_Codec):
    def encode(self, value):
        return torch.tensor(list(value), dtype=torch.float64)

    def decode(self, state, value, stored):
        return deque(stored.tolist(), maxlen=value.maxlen)


class _History(_Codec):
    def encode(self, value):
        return {k: torch.tensor(v, dtype=torch.float64) for k, v in value.items()}

    def decode(self, state, value, stored):
        out = {k: stored[k].tolist() for k in value}
        out["step"] = [int(v) for v in out["step"]]
        return out


def _field(codec: _Codec, per_rank: bool = False, **kwargs):
    return field(metadata={"codec": codec, "per_rank": per_rank}, **kwargs)


@dataclass(eq=False)
class TrainState:
    """Model, optimiser, EMA weights, random streams, guard window, held-out selection and history of one fit.

    ``step`` counts applied optimiser steps; ``elapsed`` is the training wall time so far (s); ``n_ema`` counts
    EMA updates; ``recent_norms`` is the guard's window of gradient norms; ``best_*`` and ``since_best`` belong
    to held-out model selection (``best_ema`` empty until the first evaluation); ``history`` maps each recorded
    quantity to its list of values.
    """

    model: torch.nn.Module = _field(_Module())
    optimizer: Adam = _field(_Stateful())
    ema: list = _field(_Tensors())
    gen: torch.Generator = _field(_TorchRandom(), per_rank=True)
    rng: np.random.Generator = _field(_NumpyRandom(), per_rank=True)
    history: dict = _field(_History())
    step: int = _field(_Codec(), default=0)
    n_ema: int = _field(_Codec(), default=0)
    elapsed: float = _field(_Codec(), default=0.0)
    recent_norms: deque = _field(_Floats(), default_factory=lambda: deque(maxlen=GUARD_WINDOW))
    best_ema: list = _field(_Tensors(), default_factory=list)
    best_score: float = _field(_Codec(), default=math.inf)
    best_step: int = _field(_Codec(), default=0)
    since_best: int = _field(_Codec(), default=0)

    @classmethod
    def start(cls, model: torch.nn.Module, *, gen: torch.Generator, rng: np.random.Generator, history_keys,
              lr: float) -> TrainState:
        """The state before the first step: Adam on the model's parameters, EMA = the initial weights."""
        params = list(model.parameters())
        return cls(model=model, optimizer=Adam(params, lr=lr), ema=[p.detach().clone() for p in params],
                   gen=gen, rng=rng, history={k: [] for k in history_keys})

    @property
    def params(self) -> list[torch.Tensor]:
        return self.optimizer.params

    def encode(self, gather=None) -> dict:
        """One stored entry per field. ``gather(obj) -> [obj of every rank]`` (data parallel; a collective that
        every rank calls) collects the per-rank fields; alone, they are lists of one entry."""
        out, mine = {}, {}
        for f in fields(self):
            value = f.metadata["codec"].encode(getattr(self, f.name))
            (mine if f.metadata["per_rank"] else out)[f.name] = value
        ranks = gather(mine) if gather is not None else [mine]
        for name in mine:
            out[name] = [r[name] for r in ranks]
        return out

    def decode(self, stored: dict, rank: int = 0) -> None:
        """Load a checkpoint's entries into this state (``rank``: which entry of the per-rank fields is ours).
        A missing entry raises ``KeyError``, a mismatched one ``ValueError``/``RuntimeError``."""
        for f in fields(self):
            value = stored[f.name][rank] if f.metadata["per_rank"] else stored[f.name]
            setattr(self, f.name, f.metadata["codec"].decode(self, getattr(self, f.name), value))
