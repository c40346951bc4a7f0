"""Larger-than-memory Snapshots (docs/theory.md#data-schema, docs/scaling.md): a fit on dask-backed positions
never holds more than a bounded number of rows, reads each batch's rows only, checks the values in one streaming
pass, and gives the same fit as the data in memory.

The memory budget is simulated: the positions come from an array that records every request made of it, so the
test sees exactly how many rows were ever materialised at once.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

import amphys
from amphys.cli.main import main
from amphys.data.lazy import RowReader
from amphys.errors import InputError
from amphys.solver.status import FitStatus

N_TIMES, N_PER = 5, 6000
CHUNK = 1000  # rows per dask chunk: the streaming pass holds one chunk
FIT = dict(steps=40, hidden=16, depth=2, batch_size=256, warmup=5, holdout_every=10, holdout_rows=256,
           progress=False)
BUDGET = CHUNK  # no single read may exceed this many rows (batches and validation rows are smaller)


class CountingArray:
    """A read-only (N, d) array that records how many rows each request returns."""

    def __init__(self, values):
        self.values = values
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, values.ndim
        self.requests: list[int] = []

    def __getitem__(self, key):
        out = self.values[key]
        self.requests.append(int(np.shape(out)[0]) if np.ndim(out) else 1)
        return out


@pytest.fixture(scope="module")
def data():
    return amphys.generate(amphys.systems.get("barenblatt", dim=2), np.linspace(1.0, 2.0, N_TIMES), N_PER, seed=0)


def _lazy(ds, values=None, transform=None):
    src = CountingArray(np.array(ds["x"].values if values is None else values))
    arr = da.from_array(src, chunks=(CHUNK, src.shape[1]))
    if transform is not None:
        arr = transform(arr)
    lazy = xr.Dataset({"x": (("sample", "dim"), arr)}, coords={"time": ds["time"], "dim": ds["dim"]},
                      attrs=ds.attrs)
    return lazy, src


def test_fit_reads_bounded_rows_and_matches_in_memory(data):
    lazy, src = _lazy(data)
    n_rows = data.sizes["sample"]
    assert n_rows > 20 * BUDGET  # the data are far larger than the budget
    result = amphys.fit(lazy, **FIT)
    assert "data read on demand" in result.message and "direct reads" in result.message
    assert max(src.requests) <= BUDGET, max(src.requests)
    # one streaming pass (every row once) plus the batches: 3 reads per step (interior, two boundaries), the
    # held-out rows, and after training the held-out transport distance (at most 5 snapshots of 400 rows)
    batch_rows = sum(r for r in src.requests if r < CHUNK)
    assert sum(src.requests) - batch_rows >= n_rows
    assert batch_rows <= FIT["steps"] * FIT["batch_size"] + 4096 + 5 * 400
    reference = amphys.fit(data, **FIT)
    # same rows drawn; the normalisation differs by the summation order of the streaming mean/std (~1e-16
    # relative), which can flip the float32 rounding of a few inputs: far below 1e-6 after 40 steps
    np.testing.assert_allclose(result.history["loss"].values, reference.history["loss"].values, rtol=1e-6,
                               atol=1e-9)
    x = data["x"].values[:50]
    np.testing.assert_allclose(result.velocity(1.5, x), reference.velocity(1.5, x), rtol=1e-5, atol=1e-8)


def test_transformed_arrays_are_read_chunk_by_chunk(data):
    lazy, src = _lazy(data, transform=lambda a: a * 1.0)
    reader = RowReader(lazy)
    assert reader.mode == "chunked"
    result = amphys.fit(lazy, **{**FIT, "steps": 5})
    assert "chunked reads" in result.message and result.status == FitStatus.CONVERGED
    assert max(src.requests) <= CHUNK  # whole chunks, one at a time


def test_nan_is_found_in_the_streaming_pass(data):
    values = np.array(data["x"].values)
    values[12345, 1] = np.nan
    lazy, _ = _lazy(data, values=values)
    steps = []
    with pytest.raises(InputError, match=r"NaN or inf \(sample 12345, time 1.5\)"):
        amphys.fit(lazy, callback=lambda s, r: steps.append(s), **FIT)
    assert steps == []  # before training


def test_hdf5_file_opened_with_chunks(data, tmp_path, capsys):
    path = amphys.io.write(data, tmp_path / "big.h5")
    lazy = amphys.io.read(path, chunks={"sample": CHUNK})
    reader = RowReader(lazy)
    assert reader.mode == "direct" and reader.chunk_rows == CHUNK
    idx = np.array([3, 17, 4000, 29999])
    np.testing.assert_array_equal(reader.read(idx), data["x"].values[idx])
    assert reader.rows_read == 4 and reader.max_rows == 4
    out = tmp_path / "m.pt"
    assert main(["fit", str(path), "-o", str(out), "--chunks", str(CHUNK), "--steps", "5", "--hidden", "8",
                 "--depth", "1", "--batch-size", "64", "--no-progress"]) == 0
    assert "data read on demand" in capsys.readouterr().out
    assert amphys.load_model(out).dim == 2
    assert main(["fit", str(tmp_path / "x.csv"), "-o", str(out), "--chunks", "10"]) == 2
    assert "--chunks: applies to .h5/.nc" in capsys.readouterr().err
