"""Data-parallel training with ``torch.distributed``, launched by ``torchrun`` (docs/scaling.md).

Every process (rank) holds the whole model and draws its own share of each global batch from generators seeded
with (seed, rank); gradients (and the loss, for the record) are averaged over ranks with one all-reduce per step,
so clipping, the divergence guard, Adam and the EMA run on identical numbers and every rank keeps identical
weights. Checkpoints are written by rank 0 (with the random states of every rank), the others wait at a barrier.

The process group is the one torchrun describes in the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR``, ``MASTER_PORT``): gloo for CPU training, nccl for CUDA (each rank on GPU ``LOCAL_RANK``). A group
the caller initialised already is used as it is. No home-made cluster code: launching, rendezvous and restarts are
torchrun's.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass

import torch

from amphys.errors import InputError

__all__ = ["Context", "setup", "current", "launched_by_torchrun", "TORCHRUN_VARS", "share"]

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


def launched_by_torchrun() -> bool:
    """True when the torchrun environment variables are set."""
    return all(v in os.environ for v in TORCHRUN_VARS)


def share(n: int, rank: int, world_size: int) -> int:
    """Rank ``rank``'s share of ``n`` rows: n // world, one more for the first n % world ranks."""
    return n // world_size + (1 if rank < n % world_size else 0)


def _dist():
    import torch.distributed as dist

    return dist


@dataclass(frozen=True)
class Context:
    """Where this process stands: ``rank``, ``world_size``, ``local_rank``, ``backend`` (None when alone)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def describe(self) -> str:
        return f"data parallel on {self.world_size} processes ({self.backend})" if self.active else ""

    # -- collectives (no-ops when alone) ---------------------------------------------------------------------------
    def _device(self, like: torch.Tensor | None = None) -> torch.device:
        if like is not None:
            return like.device
        return torch.device("cuda", torch.cuda.current_device()) if self.backend == "nccl" else torch.device("cpu")

    def all_reduce_mean(self, tensors, stats: torch.Tensor | None = None) -> torch.Tensor | None:
        """Average ``tensors`` (in place) and ``stats`` (returned) over ranks with one all-reduce."""
        if not self.active:
            return stats
        tensors = [t for t in tensors if t is not None]
        parts = [t.reshape(-1) for t in tensors]
        if stats is not None:
            like = tensors[0] if tensors else None
            parts.append(stats.detach().reshape(-1).to(device=self._device(like),
                                                        dtype=tensors[0].dtype if tensors else stats.dtype))
        flat = torch.cat(parts)
        _dist().all_reduce(flat)
        flat /= self.world_size
        pos = 0
        for t in tensors:
            t.copy_(flat[pos:pos + t.numel()].view_as(t))
            pos += t.numel()
        if stats is None:
            return None
        return flat[pos:].to(device=stats.device, dtype=torch.float64).view(stats.shape)

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on some rank (stops must be agreed on)."""
        if not self.active:
            return bool(flag)
        t = torch.tensor([1.0 if flag else 0.0], device=self._device())
        _dist().all_reduce(t, op=_dist().ReduceOp.MAX)
        return bool(t.item() > 0)

    def broadcast_float(self, value: float) -> float:
        """Rank 0's ``value`` on every rank."""
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self._device())
        _dist().broadcast(t, src=0)
        return float(t.item())

    def gather(self, obj) -> list:
        """``[obj of rank 0, obj of rank 1, ...]`` on every rank (small picklable objects between our own ranks)."""
        if not self.active:
            return [obj]
        out = [None] * self.world_size
        _dist().all_gather_object(out, obj)
        return out

    def barrier(self):
        if self.active:
            _dist().barrier()


def _destroy():
    dist = _dist()
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def current() -> Context:
    """The :class:`Context` of an initialised process group (after a data-parallel fit), else a lone process."""
    dist = _dist()
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return Context(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)),
                       dist.get_backend())
    return Context()


def setup(distributed: bool | None, device: str = "auto") -> Context:
    """The :class:`Context` of this process, initialising the process group when needed.

    ``distributed``: None = automatic (on when a process group exists or the torchrun variables are set),
    True = required (an error when neither), False = off (single process, even under torchrun).
    ``device``: the FitConfig device; "cuda" (or "auto" with a GPU) uses nccl, else gloo.
    """
    if distributed is False:
        return Context()
    dist = _dist()
    if not dist.is_available():
        if distributed:
            raise InputError("distributed: this torch build has no torch.distributed; train in one process")
        return Context()
    if dist.is_initialized():
        return Context(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)),
                       dist.get_backend())
    if not launched_by_torchrun():
        if distributed:
            missing = [v for v in TORCHRUN_VARS if v not in os.environ]
            raise InputError(f"distributed: expected a launch by torchrun (environment {', '.join(missing)} not "
                             "set), e.g. torchrun --nproc_per_node 2 -m amphys fit data.h5 -o model.pt "
                             "--distributed")
        return Context()
    world = int(os.environ["WORLD_SIZE"])
    rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
    if world == 1:
        return Context(rank, 1, local_rank, None)
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if cuda:
        if not torch.cuda.is_available():
            raise InputError("device: 'cuda' was asked for but torch sees no CUDA device; use device='cpu'")
        torch.cuda.set_device(local_rank)
        try:  # binding the group to this rank's GPU (torch >= 2.3) lets barriers know the device
            dist.init_process_group(backend="nccl", device_id=torch.device("cuda", local_rank))
        except TypeError:
            dist.init_process_group(backend="nccl")
    else:
        dist.init_process_group(backend="gloo")
    atexit.register(_destroy)
    return Context(rank, world, local_rank, dist.get_backend())
