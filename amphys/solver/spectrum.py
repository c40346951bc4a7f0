"""Frequencies of oscillation in snapshot data, for the time features of the network
(docs/theory.md#normalisation-and-network, ``FitConfig.time_frequencies``).

A flow that oscillates in time (a wave packet in a trap, a superposition of two eigenstates beating at ΔE/ħ, a
rotating density) is far easier to fit when the network gets sin(ωt) and cos(ωt) of the right ω next to t: any
periodic function of the phase ωt is then a function of two inputs, instead of a wiggle the network must build out
of t. Fixed features sin/cos(kπτ) do not do this (their frequencies are the window's, not the flow's) and were
measured to hurt non-periodic flows (docs/benchmarks.md). So the frequencies come from the data:

1. Moment series: for every snapshot, the mean (d values) and the covariance (d(d+1)/2 values), each divided by
   its standard error (from the snapshot's own samples), so every series has unit noise.
2. Least-squares spectrum: for each trial ω, the reduction ΔRSS(ω) of the residual sum of squares when
   sin, cos of ωt and 2ωt are added to a linear trend in t, summed over the series (a Lomb–Scargle periodogram
   with a trend and the first harmonic, on irregular times: the covariance of a flow oscillating at ω oscillates
   at 2ω). With the harmonic in the model ω/2 fits whatever ω fits, so the valley of the highest trial ω whose
   residual is within noise (and 20%) of the smallest is taken, and its bottom refined by golden-section search.
3. Acceptance: ΔRSS must explain at least half of the residual of the trend (``min_explained``) and exceed pure
   noise by far (``min_snr`` times its expectation 4m for m series); ω must complete at least ``min_cycles``
   periods in the window and not be the slowest trial frequency (a slower variation is a trend, which τ already
   carries), and lie below
   ``max_nyquist`` times the Nyquist frequency π/Δt of the snapshot spacing (no frequency from sampling noise).
   Last, a trend as flexible as the oscillation (four more polynomial terms, up to τ⁵) must fit worse by more than
   ``min_trend_excess`` standard deviations of the noise: over one or two periods a smooth relaxation or drift can
   look like a sinusoid, and only what no smooth trend explains is taken for an oscillation.
4. A second frequency is searched with the first and its harmonics 2ω, 3ω in the base model, and kept only when
   it passes the same test and is not within one spectral resolution (2π/T) of a harmonic of the first.

The result is a tuple of angular frequencies in the data's time unit, possibly empty.
"""

from __future__ import annotations

import numpy as np

__all__ = ["detect_frequencies", "moment_series", "resolve_representation"]


def moment_series(xs, max_rows: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """Per snapshot: means and covariances (upper triangle) and their standard errors, (K, m) each. At most
    ``max_rows`` rows of each snapshot are read (evenly spaced)."""
    values, errors = [], []
    for x in xs:
        x = _rows(x, max_rows)
        n, d = x.shape
        mu = x.mean(axis=0)
        dx = x - mu
        iu = np.triu_indices(d)
        prods = dx[:, iu[0]] * dx[:, iu[1]]
        values.append(np.concatenate([mu, prods.mean(axis=0)]))
        errors.append(np.concatenate([dx.std(axis=0), prods.std(axis=0)]) / np.sqrt(max(n - 1, 1)))
    return np.array(values), np.array(errors)


def _rows(x, max_rows: int) -> np.ndarray:
    """At most ``max_rows`` evenly spaced rows of an array or a :class:`~amphys.solver.rows.Rows` (read now)."""
    from amphys.solver.rows import Rows

    idx = np.arange(0, len(x), max(1, -(-len(x) // max_rows)))
    if isinstance(x, Rows):
        return np.asarray(x.reader.read(x.global_rows(idx)), dtype=np.float64)
    return np.asarray(x, dtype=np.float64)[idx]


def _rss(design: np.ndarray, y: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    r = y - design @ coef
    return float(np.sum(r * r))


def _reduction(base: np.ndarray, t: np.ndarray, y: np.ndarray, omega: float, rss_base: float) -> float:
    """ΔRSS of adding sin/cos of ω and 2ω (a second-order moment of a flow oscillating at ω oscillates at 2ω)."""
    design = np.column_stack([base] + [f(k * omega * t) for k in (1, 2) for f in (np.sin, np.cos)])
    return rss_base - _rss(design, y)


def _best(base, t, y, rss_base, lo, hi, resolution):
    """(ω, ΔRSS(ω)): the highest trial ω whose residual is within noise (and 20%) of the smallest on the grid picks
    the valley (with the harmonic in the model, ω/2 fits whatever ω fits; the highest frequency that fits as well
    as the best is the fundamental); then the bottom of that valley, refined by golden-section search."""
    grid = np.arange(lo, hi + resolution / 16, resolution / 16)
    rss = rss_base - np.array([_reduction(base, t, y, w, rss_base) for w in grid])
    free = max(t.size - base.shape[1] - 4, 1) * y.shape[1]
    tol = max(0.2 * rss.min(), 3.0 * np.sqrt(2.0 * free))
    i = int(np.flatnonzero(rss <= rss.min() + tol)[-1])
    while i > 0 and rss[i - 1] < rss[i]:   # down to the bottom of that valley
        i -= 1
    while i < grid.size - 1 and rss[i + 1] < rss[i]:
        i += 1
    if i <= 1:  # fits best at the slow end of the range: a trend, not an oscillation
        return lo, 0.0
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = _reduction(base, t, y, c, rss_base), _reduction(base, t, y, d, rss_base)
    for _ in range(30):
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = _reduction(base, t, y, c, rss_base)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = _reduction(base, t, y, d, rss_base)
    w = (a + b) / 2
    return w, _reduction(base, t, y, w, rss_base)


def detect_frequencies(times, xs, *, most: int = 2, min_cycles: float = 0.75, max_nyquist: float = 0.5,
                       min_explained: float = 0.5, min_snr: float = 10.0,
                       min_trend_excess: float = 1.5) -> tuple[float, ...]:
    """Angular frequencies of oscillation of the snapshots' moments (module docstring); ``()`` when none passes.

    ``times`` (K,) increasing, ``xs`` one (n_k, d) array (or row source supporting slicing) per time. Needs at
    least 8 snapshots.
    """
    t = np.asarray(times, dtype=np.float64)
    K = t.size
    if K < 8:
        return ()
    values, errors = moment_series(xs)
    scale = np.median(errors, axis=0)
    keep = scale > 0
    if not keep.any():
        return ()
    y = values[:, keep] / scale[keep]
    m = y.shape[1]
    span = t[-1] - t[0]
    tau = (t - t[0]) / span
    resolution = 2 * np.pi / span
    lo = 2 * np.pi * min_cycles / span
    hi = max_nyquist * np.pi / float(np.median(np.diff(t)))
    if hi <= lo:
        return ()
    base = np.column_stack([np.ones(K), tau])
    found: list[float] = []
    for _ in range(most):
        rss_base = _rss(base, y)
        if rss_base <= 0:
            break
        w, red = _best(base, t, y, rss_base, lo, hi, resolution)
        if red < min_explained * rss_base or red < min_snr * 4 * m:
            break  # too little explained, or noise
        # a trend as flexible as the oscillation (4 more polynomial terms) must fit significantly worse: its excess
        # residual over the oscillation's beyond ``min_trend_excess`` noise standard deviations (χ², unit noise)
        poly = np.column_stack([base] + [tau ** k for k in range(2, 6)])
        excess = _rss(poly, y) - (rss_base - red)
        if excess < min_trend_excess * np.sqrt(2.0 * max(K - poly.shape[1], 1) * m):
            break
        if any(min(abs(w - k * f) for k in (1, 2, 3, 4)) < resolution for f in found):
            break
        found.append(float(w))
        base = np.column_stack([base] + [f(k * w * t) for k in (1, 2, 3) for f in (np.sin, np.cos)])
    return tuple(found)


def resolve_representation(config, times, xs):
    """``config`` with ``time_frequencies="auto"`` replaced by the frequencies detected in the snapshots
    (:func:`detect_frequencies`, possibly none), so the resolved config a fit returns says exactly which features
    its network has."""
    if config.time_frequencies == "auto":
        return config.replace(time_frequencies=detect_frequencies(times, xs))
    return config
