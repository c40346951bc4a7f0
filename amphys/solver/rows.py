"""Snapshots read on demand, for sample sets larger than memory (docs/theory.md#data-schema, docs/scaling.md).

Instead of one (n_k, d) array per observed time, the solver accepts one :class:`Rows` per time: a view of rows of
a *reader*, an object with

- ``n_rows``, ``dim``, ``chunk_rows`` (rows per block of a streaming pass),
- ``read(idx) -> ndarray (len(idx), d)`` for sorted unique row numbers,
- ``read_range(start, stop) -> ndarray (stop - start, d)``

(:class:`amphys.data.lazy.RowReader` reads a dask-backed Snapshots file this way). A ``Rows`` has ``len()``,
``shape`` and indexing by an integer array (a new view: nothing is read), so the held-out split works as for arrays.
:func:`moments` makes one streaming pass (block by block) for the normalisation, and :class:`LazySnapshotData` is
the sampler's data: each draw reads only the rows it picked (sorted, once each). It consumes the random generator
exactly like :class:`~amphys.solver.quadrature.SnapshotData`, so a fit on lazily read data draws the same rows as
the same fit on the data in memory.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["Rows", "is_rows", "moments", "LazySnapshotData"]


def _compact(index: np.ndarray) -> np.ndarray:
    index = np.asarray(index, dtype=np.int64)
    if index.size and index.max() < 2 ** 31:
        return index.astype(np.int32)
    return index


class Rows:
    """Rows ``start..stop-1`` of ``reader`` (``index`` None), or the rows ``index`` (sorted global numbers)."""

    ndim = 2

    def __init__(self, reader, start: int, stop: int, index=None):
        self.reader, self.start, self.stop = reader, int(start), int(stop)
        self.index = None if index is None else _compact(index)

    def __len__(self) -> int:
        return self.stop - self.start if self.index is None else int(self.index.size)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self), int(self.reader.dim)

    def global_rows(self, local) -> np.ndarray:
        """Row numbers of the reader for local row numbers ``local``."""
        local = np.asarray(local, dtype=np.int64)
        return self.start + local if self.index is None else self.index[local].astype(np.int64)

    def __getitem__(self, sel) -> Rows:
        sel = np.asarray(sel)
        if sel.dtype == bool:
            sel = np.flatnonzero(sel)
        if sel.ndim != 1 or not np.issubdtype(sel.dtype, np.integer):
            raise TypeError("Rows can be indexed by a 1-D integer or boolean array only")
        glob = self.global_rows(sel)
        if glob.size > 1 and np.any(np.diff(glob) <= 0):
            glob = np.unique(glob)
        return Rows(self.reader, self.start, self.stop, index=glob)

    def blocks(self):
        """The rows, block by block (at most ``reader.chunk_rows`` rows each)."""
        step = max(1, int(self.reader.chunk_rows))
        if self.index is None:
            for a in range(self.start, self.stop, step):
                yield self.reader.read_range(a, min(a + step, self.stop))
        else:
            for a in range(0, self.index.size, step):
                yield self.reader.read(self.index[a:a + step].astype(np.int64))


def is_rows(xs) -> bool:
    return any(isinstance(x, Rows) for x in xs)


def moments(xs) -> tuple[int, np.ndarray, np.ndarray]:
    """(d, mean, std) over all rows of ``xs`` (arrays, or :class:`Rows` read in one streaming pass).

    For arrays this is ``np.concatenate(xs).mean(0)``/``.std(0)``; for Rows the same quantities by Chan's pairwise
    update over blocks (float64), with one block in memory at a time.
    """
    if not is_rows(xs):
        allx = np.concatenate(xs)
        return allx.shape[1], allx.mean(axis=0), allx.std(axis=0)
    d = int(xs[0].shape[1])
    n, mean, m2 = 0, np.zeros(d), np.zeros(d)
    for x in xs:
        for block in x.blocks():
            nb = block.shape[0]
            if nb == 0:
                continue
            bm = block.mean(axis=0)
            bm2 = ((block - bm) ** 2).sum(axis=0)
            total = n + nb
            delta = bm - mean
            mean = mean + delta * (nb / total)
            m2 = m2 + bm2 + delta ** 2 * (n * nb / total)
            n = total
    return d, mean, np.sqrt(m2 / max(n, 1))


class LazySnapshotData:
    """The sampler's data when snapshots are :class:`Rows`: same interface as
    :class:`~amphys.solver.quadrature.SnapshotData` (``tau``, ``counts``, ``offsets``, ``w``, ``draw``), rows read
    on demand and normalised as ``(x - mean) / length``. ``y`` is an empty (0, d) tensor that only carries the
    dtype and device (no rows are held)."""

    def __init__(self, tau, xs, w, *, mean, length, dtype, device):
        readers = {id(x.reader) for x in xs}
        if len(readers) != 1:
            raise ValueError("LazySnapshotData: every snapshot must read from the same reader")
        self.tau = tau
        self.views = list(xs)
        self.reader = xs[0].reader
        counts = np.array([len(x) for x in xs])
        self.counts = torch.as_tensor(counts)
        self.offsets = torch.as_tensor(np.concatenate([[0], np.cumsum(counts)[:-1]]))
        self.w = w
        self.mean, self.length = np.asarray(mean, dtype=np.float64), float(length)
        self.y = torch.zeros((0, int(self.reader.dim)), dtype=dtype, device=device)

    def draw(self, k: torch.Tensor, gen: torch.Generator):
        """One random sample of snapshot k[i] per row: (y, data weight or None)."""
        u = torch.rand(k.shape[0], generator=gen, dtype=torch.float64)
        local = torch.minimum((u * self.counts[k]).long(), self.counts[k] - 1)
        kn, ln = k.numpy(), local.numpy()
        rows = np.empty(kn.size, dtype=np.int64)
        for j in np.unique(kn):
            sel = kn == j
            rows[sel] = self.views[j].global_rows(ln[sel])
        uniq, inv = np.unique(rows, return_inverse=True)
        x = self.reader.read(uniq)[inv]
        y = torch.as_tensor((x - self.mean) / self.length, dtype=self.y.dtype).to(self.y.device)
        if self.w is None:
            return y, None
        idx = (self.offsets[k] + local).to(self.w.device)
        return y, self.w[idx]
