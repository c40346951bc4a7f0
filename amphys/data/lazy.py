"""Reading rows of a lazily opened (dask-backed) Snapshots dataset by index, with bounded memory
(docs/theory.md#data-schema, docs/scaling.md).

``amphys.io.read(path, chunks={"sample": N})`` keeps the positions on disk. :class:`RowReader` gives the solver
what it needs from them without loading everything: ``read(idx)`` (the rows ``idx``, sorted and unique) and
``read_range(a, b)`` (a contiguous block, for one streaming pass). It is numpy in, numpy out: the solver never sees
xarray or dask.

Two ways to read, chosen once:

- *direct* (the usual case): the positions are exactly an array opened from a file (the dask graph is the
  ``from_array`` of one indexable array, as ``amphys.io.read(..., chunks=...)`` returns it). A read asks that array
  for the requested rows only (HDF5 hyperslab/point selection): a batch of n rows reads n rows.
- *chunked*: anything else dask-backed (a computed or transformed array). A read goes through dask and touches
  whole chunks: memory stays bounded by one chunk, but a batch spread over every chunk reads them all.

Every row read is checked for NaN/inf (the error names the sample and its time), so the one streaming pass of the
solver (mean and spread of the data) doubles as the validation of the values.
"""

from __future__ import annotations

import numpy as np

from amphys.errors import InputError

__all__ = ["RowReader", "is_lazy"]


def is_lazy(ds) -> bool:
    """True when the positions ``x`` of ``ds`` are dask-backed (not in memory)."""
    return getattr(ds["x"], "chunks", None) is not None


def _direct_source(arr):
    """The indexable array a dask array was made from with ``from_array``, or None (then read through dask)."""
    try:
        layers = arr.dask.layers
        original = layers.get(f"original-{arr.name}")
        if original is None or len(layers) != 2:
            return None
        values = list(dict(original).values())
        if len(values) != 1:
            return None
        src = values[0]
        if tuple(getattr(src, "shape", ())) != tuple(arr.shape) or not hasattr(src, "__getitem__"):
            return None
        return src
    except Exception:  # any unexpected graph layout: fall back to dask
        return None


class RowReader:
    """Rows of the (N, d) positions of a dask-backed Snapshots dataset, read on demand.

    Attributes: ``n_rows``, ``dim``, ``chunk_rows`` (rows per block of a streaming pass: the dask chunk along
    ``sample``), ``mode`` ("direct" or "chunked"), and counters ``rows_read`` (total) and ``max_rows`` (largest
    single read), which bound what was ever in memory at once.
    """

    def __init__(self, ds, *, name: str = "snapshots", time_of=None):
        x = ds["x"]
        if x.dims != ("sample", "dim") or getattr(x, "chunks", None) is None:
            raise InputError(f"{name}: RowReader needs dask-backed positions x(sample, dim); open the file with "
                             "amphys.io.read(path, chunks={'sample': N})")
        if not np.issubdtype(x.dtype, np.number):
            raise InputError(f"{name}: variable 'x' must be numeric, got dtype {x.dtype}")
        self._arr = x.data
        self._src = _direct_source(self._arr)
        self.mode = "direct" if self._src is not None else "chunked"
        self.n_rows, self.dim = (int(s) for s in self._arr.shape)
        self.chunk_rows = int(max(self._arr.chunks[0]))
        self._time_of = time_of  # row number -> its time, for error messages
        self._name = name
        self.rows_read = 0
        self.max_rows = 0

    def _fetch(self, key) -> np.ndarray:
        if self._src is not None:
            out = np.asarray(self._src[key, :])
        else:
            out = np.asarray(self._arr[key].compute(scheduler="synchronous"))
        return np.asarray(out, dtype=np.float64).reshape(-1, self.dim)

    def _check(self, out: np.ndarray, rows):
        bad = ~np.isfinite(out).all(axis=1)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            i = int(rows + j) if isinstance(rows, int) else int(rows[j])
            when = "" if self._time_of is None else f", time {self._time_of(i):g}"
            raise InputError(f"{self._name}: variable 'x' has NaN or inf (sample {i}{when}); drop or fix those "
                             "rows before fitting")

    def _count(self, n: int):
        self.rows_read += n
        self.max_rows = max(self.max_rows, n)

    def read(self, idx) -> np.ndarray:
        """Rows ``idx`` (sorted, unique integers) as a float64 array (len(idx), d)."""
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size == 0:
            return np.zeros((0, self.dim))
        out = self._fetch(idx)
        self._count(idx.size)
        self._check(out, idx)
        return out

    def read_range(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as a float64 array (stop - start, d)."""
        out = self._fetch(slice(int(start), int(stop)))
        self._count(out.shape[0])
        self._check(out, int(start))
        return out
