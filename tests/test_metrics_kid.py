"""KID: agreement with a plain O(n^2) loop, ~0 on one distribution, growing with a shift."""

import numpy as np
import pytest

from metrics.frechet import FeatureError
from metrics.kid import kernel_inception_distance, mmd2_unbiased


def reference_mmd2(x, y):
    """Unbiased MMD^2 (Gretton et al. 2012, eq. 3) with k(u, v) = (u.v / d + 1)^3, written as plain loops."""
    m, d = x.shape

    def k(u, v):
        return (np.dot(u, v) / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_matches_plain_loop_reference():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(15, 6)), rng.normal(loc=0.3, size=(15, 6))
    expected = reference_mmd2(x, y)
    assert mmd2_unbiased(x, y) == pytest.approx(expected, rel=1e-10)
    # A subset as large as the sets is a permutation of all rows: every subset gives the same value.
    mean, std = kernel_inception_distance(x, y, num_subsets=5, subset_size=15)
    assert mean == pytest.approx(expected, rel=1e-10)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_near_zero_for_one_distribution():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    mean, std = kernel_inception_distance(a, b, num_subsets=20, subset_size=200)
    assert std > 0
    assert abs(mean) < std


def test_positive_and_growing_with_a_shift():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    results = [kernel_inception_distance(a, b + shift, num_subsets=20, subset_size=200) for shift in (0.25, 0.5, 1.0)]
    means = [mean for mean, _ in results]
    assert all(mean > 3 * std for mean, std in results)
    assert means[0] < means[1] < means[2]


def test_reproducible_with_a_seed_and_varies_without():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    first = kernel_inception_distance(a, b, num_subsets=5, subset_size=50, seed=7)
    assert first == kernel_inception_distance(a, b, num_subsets=5, subset_size=50, seed=7)
    assert first != kernel_inception_distance(a, b, num_subsets=5, subset_size=50, seed=8)


def test_rejects_bad_input():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(20, 4))
    with pytest.raises(FeatureError, match="different dimensions"):
        kernel_inception_distance(a, rng.normal(size=(20, 5)))
    bad = a.copy()
    bad[3, 1] = np.nan
    with pytest.raises(FeatureError, match="NaN"):
        kernel_inception_distance(a, bad)
    with pytest.raises(FeatureError, match="at least 2 samples"):
        kernel_inception_distance(a, a[:1], subset_size=1)


def test_warns_when_sets_are_smaller_than_the_subsets():
    rng = np.random.default_rng(5)
    with pytest.warns(UserWarning, match="subsets of 40 instead of 1000.*understates"):
        kernel_inception_distance(rng.normal(size=(40, 4)), rng.normal(size=(50, 4)), num_subsets=3)
