"""Blockwise pairwise sums: Σ_ij f(‖x_i − y_j‖²) without materialising an n×m matrix.

Every pairwise statistic of :mod:`amphys.diagnostics.samples` (MMD², energy distance) is a sum of a function of
squared distances over all pairs of two sets, or over the distinct pairs of one set. The sums are taken over tiles
of at most ``block × block`` pairs (default 1024², 8 MiB in float64), so memory stays bounded for any n;
within-set sums visit only the upper-triangular tiles and double the off-diagonal ones.
"""

from __future__ import annotations

import numpy as np

from amphys._checks import check_int, check_points
from amphys.errors import InputError

__all__ = ["as_samples", "pair_sums", "DEFAULT_BLOCK"]

DEFAULT_BLOCK = 1024
_DIRECT_D = 8


def as_samples(x, name: str, d: int | None = None) -> np.ndarray:
    """Samples as a finite float64 ``(n, d)`` array with at least 2 rows (:func:`amphys._checks.check_points`;
    a 1-D array is ``(n, 1)`` when ``d`` is 1 or None). A non-finite sample is most often a pushed sample that
    left to infinity because the flow diverged; the message says so."""
    try:
        return check_points(x, d, name, min_rows=2)
    except InputError as exc:
        if _has_nonfinite(x):
            raise InputError(f"{exc}; a pushed sample that left to infinity means the flow diverged") from None
        raise


def _has_nonfinite(x) -> bool:
    try:
        return not np.all(np.isfinite(np.asarray(x, dtype=np.float64)))
    except (TypeError, ValueError):
        return False


def _sq_dists(a: np.ndarray, b: np.ndarray, na: np.ndarray, nb: np.ndarray) -> np.ndarray:
    if a.shape[1] <= _DIRECT_D:
        # Few coordinates: explicit differences (exact, and no multi-threaded BLAS call on a tiny inner
        # dimension, which is slow on a loaded machine).
        r2 = np.subtract.outer(a[:, 0], b[:, 0])
        r2 *= r2
        tmp = np.empty_like(r2)
        for k in range(1, a.shape[1]):
            np.subtract.outer(a[:, k], b[:, k], out=tmp)
            tmp *= tmp
            r2 += tmp
        return r2
    r2 = a @ b.T
    r2 *= -2.0
    r2 += na[:, None]
    r2 += nb[None, :]
    np.maximum(r2, 0.0, out=r2)
    return r2


def pair_sums(funcs, x: np.ndarray, y: np.ndarray | None = None, *, block: int = DEFAULT_BLOCK):
    """Sums over pairs of ``f(r²)`` for each ``f`` in ``funcs`` (each maps an array of squared distances to an
    array of the same shape).

    With ``y`` None: Σ_{i≠j} f(‖x_i − x_j‖²) over ordered distinct pairs (the diagonal is excluded).
    Otherwise: Σ_{i,j} f(‖x_i − y_j‖²). Returns a float64 array of one sum per function.
    """
    block = check_int(block, "block", low=1)
    funcs = list(funcs)
    total = np.zeros(len(funcs))
    # Centre for round-off: |x|² + |y|² − 2x·y loses digits when the data sit far from the origin.
    centre = x.mean(axis=0) if y is None else 0.5 * (x.mean(axis=0) + y.mean(axis=0))
    xc = x - centre
    nx = np.einsum("ij,ij->i", xc, xc)
    if y is None:
        n = xc.shape[0]
        for i in range(0, n, block):
            a, na = xc[i:i + block], nx[i:i + block]
            for j in range(i, n, block):
                r2 = _sq_dists(a, xc[j:j + block], na, nx[j:j + block])
                if i == j:
                    np.fill_diagonal(r2, np.nan)  # excluded below
                for k, f in enumerate(funcs):
                    s = np.nansum(f(r2)) if i == j else f(r2).sum()
                    total[k] += s if i == j else 2.0 * s
        return total
    yc = y - centre
    ny = np.einsum("ij,ij->i", yc, yc)
    for i in range(0, xc.shape[0], block):
        a, na = xc[i:i + block], nx[i:i + block]
        for j in range(0, yc.shape[0], block):
            r2 = _sq_dists(a, yc[j:j + block], na, ny[j:j + block])
            for k, f in enumerate(funcs):
                total[k] += f(r2).sum()
    return total
