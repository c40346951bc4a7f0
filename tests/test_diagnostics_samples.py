"""Sample-level metrics (docs/theory.md#field-and-sample-metrics) against closed forms, unbiasedness, blockwise =
dense, bounded memory."""

import tracemalloc

import numpy as np
import pytest
from scipy.stats import norm

from amphys.diagnostics import energy_distance, median_bandwidth, mmd2, sliced_w2, w2
from amphys.diagnostics._blocks import pair_sums
from amphys.errors import InputError, UnknownNameError


def _moment_matched(z, mean, cov):
    """Samples whitened to exact empirical mean and covariance ``mean``, ``cov``."""
    z = z - z.mean(axis=0)
    L = np.linalg.cholesky(np.cov(z.T, bias=True))
    return z @ np.linalg.inv(L).T @ np.linalg.cholesky(cov).T + np.asarray(mean)


def _dense_mmd2(x, y, alphas):
    def k(a, b):
        r2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return sum(np.exp(-al * r2) for al in alphas)

    n, m = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * k(x, y).mean())


def test_w2_between_gaussians_matches_closed_form():
    # N(0, I) vs N((3, 0), diag(4, 1)): W2² = |Δμ|² + tr(Σ1 + Σ2 − 2(Σ2^½ Σ1 Σ2^½)^½) = 9 + (1 + 4 − 4) = 10.
    # With samples whitened to the exact moments, Gelbrich's bound makes W2² >= 10 exact for the empirical laws;
    # the excess is the finite-sample bias (measured 0.045 ± 0.005 at n = 1000 over 8 seeds, 0.026 at 2000).
    rng = np.random.default_rng(0)
    excess = []
    for n in (500, 1000):
        x = _moment_matched(rng.standard_normal((n, 2)), [0, 0], np.eye(2))
        y = _moment_matched(rng.standard_normal((n, 2)), [3, 0], np.diag([4.0, 1.0]))
        excess.append(w2(x, y) ** 2 - 10.0)
    assert min(excess) >= -1e-9
    assert excess[1] < 0.1
    assert excess[1] < excess[0]  # the bias shrinks with n


def test_w2_equal_sets_is_zero_and_refuses_large_n():
    x = np.random.default_rng(1).standard_normal((50, 3))
    np.testing.assert_allclose(w2(x, x[::-1]), 0.0, atol=1e-7)
    with pytest.raises(InputError, match="max_n"):
        w2(x, x, max_n=10)


def test_mmd2_unbiased_under_the_null_and_positive_under_a_shift():
    # 40 repeats of two independent N(0, I) sets of 200: the mean of the unbiased MMD² must be 0 within 4
    # standard errors of that mean; a unit shift must stand above the null spread (std ≈ 8e-3) in every repeat.
    rng = np.random.default_rng(2)
    null, alt = [], []
    for _ in range(40):
        a, b = rng.standard_normal((200, 2)), rng.standard_normal((200, 2))
        null.append(mmd2(a, b, bandwidth=1.0))
        alt.append(mmd2(a, b + [1.0, 0.0], bandwidth=1.0))
    null = np.array(null)
    se = null.std(ddof=1) / np.sqrt(null.size)
    assert abs(null.mean()) < 4 * se
    assert np.min(alt) > 4 * null.std(ddof=1)
    assert np.mean(alt) > 15 * null.std(ddof=1)


def test_mmd2_of_a_distribution_with_itself_is_within_its_floor():
    # metric (x vs y) and floor (y' vs y) are draws of the same null law: both within a few null stds of 0
    rng = np.random.default_rng(3)
    y, x, y2 = (rng.standard_normal((800, 3)) for _ in range(3))
    h = median_bandwidth(y)
    spread = np.std([mmd2(rng.standard_normal((800, 3)), y, bandwidth=h) for _ in range(10)], ddof=1)
    assert abs(mmd2(x, y, bandwidth=h)) < 4 * spread
    assert abs(mmd2(y2, y, bandwidth=h)) < 4 * spread
    assert mmd2(x + 0.5, y, bandwidth=h) > 10 * spread


def test_energy_distance_sign_and_scale_against_closed_form():
    # 1-D X ~ N(0,1), Y ~ N(δ,1): D² = 2E|Z| − 4/√π, Z ~ N(δ, 2), E|Z| = 2/√π e^{−δ²/4} + δ(1 − 2Φ(−δ/√2)).
    # n = 2000: the estimator's std was measured at 0.019 over 12 seeds (δ = 1), so 5 std = 0.1.
    def exact(delta):
        ez = 2 / np.sqrt(np.pi) * np.exp(-delta ** 2 / 4) + delta * (1 - 2 * norm.cdf(-delta / np.sqrt(2)))
        return 2 * ez - 4 / np.sqrt(np.pi)

    rng = np.random.default_rng(4)
    x = rng.standard_normal((2000, 1))
    y = rng.standard_normal((2000, 1))
    values = [energy_distance(x, y + delta) for delta in (0.0, 1.0, 2.0)]
    np.testing.assert_allclose(values, [exact(0.0), exact(1.0), exact(2.0)], atol=0.1)
    assert values[0] < values[1] < values[2] and values[1] > 0.3


def test_sliced_w2_on_shifted_gaussians():
    # N(0, I_3) vs N(δ, I_3): every 1-D projection is a shift by θ·δ, E_θ (θ·δ)² = |δ|²/3, so SW2 = |δ|/√3.
    # Sample means fluctuate by √(2/n): relative error of SW2² ≈ 2|δ|·√(2/n)/|δ|² ≈ 3% at n = 2000 (measured
    # 2.9% over 12 seeds); 10% is > 3 std.
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((2000, 3)), rng.standard_normal((2000, 3))
    np.testing.assert_allclose(sliced_w2(x, y + [2.0, 0, 0], n_projections=300), 2.0 / np.sqrt(3), rtol=0.05)
    assert sliced_w2(x, y, n_projections=300) < 0.1
    # sizes may differ; fixed seed = fixed directions
    assert sliced_w2(x[:700], y, seed=3) == sliced_w2(x[:700], y, seed=3)


def test_blockwise_sums_equal_dense_sums():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((130, 2)) * 3 + 100.0, rng.standard_normal((97, 2)) * 3 + 100.0
    for block in (7, 64, 1000):
        np.testing.assert_allclose(mmd2(x, y, bandwidth=2.0, block=block),
                                   _dense_mmd2(x, y, 1 / (2 * (2.0 * np.array([0.5, 1, 2])) ** 2)), rtol=1e-10)
        dxy = np.sqrt(((x[:, None] - y[None]) ** 2).sum(-1)).mean()
        dxx = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1)).sum() / (130 * 129)
        dyy = np.sqrt(((y[:, None] - y[None]) ** 2).sum(-1)).sum() / (97 * 96)
        np.testing.assert_allclose(energy_distance(x, y, block=block), 2 * dxy - dxx - dyy, rtol=1e-10)
    z = rng.standard_normal((60, 12))  # d > 8 takes the BLAS path
    np.testing.assert_allclose(pair_sums([lambda r2: r2], z, block=9)[0],
                               ((z[:, None] - z[None]) ** 2).sum(), rtol=1e-10)


def test_paper_kernel_is_three_equal_rbfs_in_code_units():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((80, 3)) * 5, rng.standard_normal((90, 3)) * 5 + 1
    np.testing.assert_allclose(mmd2(x, y, kernel="paper"), _dense_mmd2(x, y, [1e-4] * 3), rtol=1e-10)
    s = 4 * np.pi  # data in atomic units, kernel in the official code's units
    np.testing.assert_allclose(mmd2(x, y, kernel="paper", paper_scale=s), _dense_mmd2(s * x, s * y, [1e-4] * 3),
                               rtol=1e-10)
    with pytest.raises(UnknownNameError, match="rbf"):
        mmd2(x, y, kernel="gauss")


def test_median_bandwidth_and_memory_stays_bounded():
    x = np.random.default_rng(8).standard_normal((4000, 1))
    # median of |X − X'| for N(0,1) is √2·Φ⁻¹(3/4) = 0.954; 1000 points give ~3% error
    np.testing.assert_allclose(median_bandwidth(x), np.sqrt(2) * norm.ppf(0.75), rtol=0.06)
    big = np.random.default_rng(9).standard_normal((6000, 3))
    tracemalloc.start()
    mmd2(big, big[::-1] + 0.1, bandwidth=1.0, block=256)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20e6  # a dense 6000² kernel matrix alone would be 288 MB


def test_bad_inputs_are_rejected_with_clear_errors():
    x = np.zeros((5, 2))
    with pytest.raises(InputError, match="shape"):
        mmd2(x, np.zeros((5, 3)))
    with pytest.raises(InputError, match="NaN"):
        energy_distance(x, np.full((5, 2), np.nan))
    with pytest.raises(InputError, match="n_projections"):
        sliced_w2(x, x, n_projections=0)
