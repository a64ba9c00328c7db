"""Fréchet distance: agreement with scipy's sqrtm, known answers, singular covariances, input validation."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from metrics.frechet import FeatureError, RunningMoments, feature_statistics, frechet_distance
from vaegan.data import load_dataset


def scipy_fid(mu1, sigma1, mu2, sigma2):
    """The textbook formula with a general matrix square root (what pytorch-fid computes)."""
    root = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(root))


@pytest.fixture
def conv_features(fashion_mnist):
    """Features of a fixed random conv net on 3000 real Fashion-MNIST images: realistic, decaying spectra."""
    images = load_dataset("fashion_mnist", split="test", root=str(fashion_mnist), limit=3000).images
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, stride=2), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, stride=2), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(32 * 6 * 6, 96),
    )
    with torch.no_grad():
        return net(images.float() / 127.5 - 1).double().numpy()


def test_agrees_with_scipy_sqrtm_on_conv_net_features(conv_features):
    first, second = conv_features[:1500], conv_features[1500:]
    for a, b in [(first, second), (first, second * 1.1 + 0.05)]:
        stats = (*feature_statistics(a), *feature_statistics(b))
        ours, reference = frechet_distance(*stats), scipy_fid(*stats)
        assert ours > 0
        assert abs(ours - reference) / reference < 1e-6


def test_agrees_with_scipy_sqrtm_on_random_projection_of_pixels(fashion_mnist):
    images = load_dataset("fashion_mnist", split="test", root=str(fashion_mnist), limit=2000).images
    pixels = images.flatten(1).double().numpy() / 255
    projection = np.random.default_rng(1).normal(size=(pixels.shape[1], 128)) / np.sqrt(pixels.shape[1])
    features = pixels @ projection
    stats = (*feature_statistics(features[:1000]), *feature_statistics(features[1000:]))
    assert abs(frechet_distance(*stats) - scipy_fid(*stats)) / scipy_fid(*stats) < 1e-6


@pytest.mark.parametrize("rank1, rank2", [(150, 150), (40, 150), (150, 30), (40, 60)])
def test_agrees_with_scipy_on_random_covariances(rank1, rank2):
    """Well-conditioned (full rank 150 of 150) and rank-deficient covariances."""
    rng = np.random.default_rng(rank1 * 1000 + rank2)
    d = 150
    a, b = rng.normal(size=(d, rank1)), rng.normal(size=(d, rank2))
    sigma1, sigma2 = a @ a.T / rank1, b @ b.T / rank2
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    ours = frechet_distance(mu1, sigma1, mu2, sigma2)
    assert abs(ours - scipy_fid(mu1, sigma1, mu2, sigma2)) / ours < 1e-6
    # Independent exact route: with S = F F^T for the lower-rank side, eig(S1 S2) = eig(F^T S_other F), an r x r
    # symmetric problem with no null directions.
    factor, other = (a / np.sqrt(rank1), sigma2) if rank1 <= rank2 else (b / np.sqrt(rank2), sigma1)
    small = np.linalg.eigvalsh(factor.T @ other @ factor)
    exact = np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.sqrt(np.clip(small, 0, None)).sum()
    assert abs(ours - exact) / exact < 1e-9


def test_agrees_with_scipy_on_ill_conditioned_covariances():
    """Decaying spectra (condition number ~1e11): the product S1 S2 has real eigenvalues far below round-off of
    its largest, and each contributes its square root, so none may be dropped as noise."""
    rng = np.random.default_rng(5)
    d = 200
    basis = rng.normal(size=(d, d)) / np.arange(1, d + 1)
    s1 = np.cov(rng.normal(size=(1000, d)) @ basis, rowvar=False)
    s2 = np.cov(rng.normal(size=(1000, d)) @ basis * 1.05, rowvar=False)
    mu = np.zeros(d)
    ours = frechet_distance(mu, s1, mu, s2)
    assert abs(ours - scipy_fid(mu, s1, mu, s2)) / ours < 1e-6
    # tr sqrt(S1 S2) is also the nuclear norm of L1^T L2 for Cholesky factors: an SVD, no eigenvalue square roots.
    nuclear = np.linalg.svd(np.linalg.cholesky(s1).T @ np.linalg.cholesky(s2), compute_uv=False).sum()
    assert ours == pytest.approx(np.trace(s1) + np.trace(s2) - 2 * nuclear, rel=1e-9)


def test_equal_covariances_give_squared_mean_difference():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(30, 30))
    sigma = a @ a.T
    mu1, mu2 = rng.normal(size=30), rng.normal(size=30)
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(np.sum((mu1 - mu2) ** 2), rel=1e-9)


def test_identical_statistics_give_zero(conv_features):
    mu, sigma = feature_statistics(conv_features)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9 * np.trace(sigma))


def test_diagonal_covariances_closed_form():
    rng = np.random.default_rng(3)
    var1, var2 = rng.uniform(0.1, 4, size=20), rng.uniform(0.1, 4, size=20)
    mu1, mu2 = rng.normal(size=20), rng.normal(size=20)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2)
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(expected, rel=1e-10)


def test_point_masses():
    """A zero covariance (all samples equal): tr sqrt(0 S) = 0, so FID = ||mu1 - mu2||^2 + tr S."""
    sigma = np.diag([1.0, 4.0, 9.0])
    mu1, mu2 = np.array([1.0, 0.0, 0.0]), np.zeros(3)
    assert frechet_distance(mu1, np.zeros((3, 3)), mu2, sigma) == pytest.approx(1.0 + 14.0)
    assert frechet_distance(mu1, np.zeros((3, 3)), mu2, np.zeros((3, 3))) == pytest.approx(1.0)


def test_symmetric_in_its_arguments(conv_features):
    s1, s2 = feature_statistics(conv_features[:1000]), feature_statistics(conv_features[1000:] * 0.9)
    assert frechet_distance(*s1, *s2) == pytest.approx(frechet_distance(*s2, *s1), rel=1e-10)


def test_feature_statistics_match_numpy(conv_features):
    mu, sigma = feature_statistics(conv_features)
    assert mu.dtype == sigma.dtype == np.float64
    np.testing.assert_allclose(mu, conv_features.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(conv_features, rowvar=False), rtol=1e-10, atol=1e-14)


def test_running_moments_over_uneven_batches_equal_all_at_once(conv_features):
    moments = RunningMoments()
    for lo, hi in [(0, 1), (1, 700), (700, 700), (700, 701), (701, 2999), (2999, 3000)]:  # one empty
        moments.update(conv_features[lo:hi])
    mu, sigma = moments.statistics()
    expected_mu, expected_sigma = feature_statistics(conv_features)
    assert moments.n == 3000
    np.testing.assert_allclose(mu, expected_mu, rtol=1e-12, atol=1e-14 * np.abs(expected_mu).max())
    np.testing.assert_allclose(sigma, expected_sigma, rtol=1e-10, atol=1e-12 * np.abs(expected_sigma).max())


def test_running_moments_stay_exact_when_the_mean_dwarfs_the_spread():
    """Features ~1e6 +- 1: sums of raw squares (1e12) would cancel to ~1e-4 absolute error in a variance of ~1."""
    rng = np.random.default_rng(6)
    features = 1e6 + rng.normal(size=(4000, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.2], [0.0, 0.0, 0.3]])
    moments = RunningMoments()
    for batch in np.array_split(features, 40):
        moments.update(batch)
    sigma = moments.statistics()[1]
    np.testing.assert_allclose(sigma, np.cov(features - 1e6, rowvar=False), rtol=1e-9, atol=1e-10)


def test_running_moments_refuse_mismatched_or_too_few_samples():
    moments = RunningMoments()
    with pytest.raises(FeatureError, match="at least 2 samples.*got 0"):
        moments.statistics()
    moments.update(np.zeros((1, 4)))
    with pytest.raises(FeatureError, match="at least 2 samples.*got 1"):
        moments.statistics()
    with pytest.raises(FeatureError, match="5 dimensions, earlier batches 4"):
        moments.update(np.zeros((3, 5)))


def test_fewer_samples_than_dimensions_warns_and_stays_exact(conv_features):
    with pytest.warns(UserWarning, match=r"N=50 samples <= D=96.*biased"):
        mu1, sigma1 = feature_statistics(conv_features[:50])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # enough samples: no warning
        mu2, sigma2 = feature_statistics(conv_features[1000:2000])
    ours = frechet_distance(mu1, sigma1, mu2, sigma2)
    assert np.isfinite(ours)
    assert abs(ours - scipy_fid(mu1, sigma1, mu2, sigma2)) / ours < 1e-6


def test_rejects_mismatched_dimensions():
    with pytest.raises(FeatureError, match="different dimensions"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(FeatureError, match=r"must be \(D, D\)"):
        frechet_distance(np.zeros(3), np.eye(4), np.zeros(3), np.eye(3))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_rejects_non_finite_features_and_statistics(bad):
    features = np.random.default_rng(4).normal(size=(20, 5))
    features[7, 2] = bad
    with pytest.raises(FeatureError, match="NaN/inf.*first bad row 7"):
        feature_statistics(features)
    sigma = np.eye(3)
    sigma[1, 1] = bad
    with pytest.raises(FeatureError, match="NaN/inf"):
        frechet_distance(np.zeros(3), sigma, np.zeros(3), np.eye(3))


def test_rejects_matrices_that_are_not_covariances():
    with pytest.raises(FeatureError, match="not positive semi-definite"):
        frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))
    with pytest.raises(FeatureError, match="not symmetric"):
        frechet_distance(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2))
    with pytest.raises(FeatureError, match="2-D array"):
        feature_statistics(np.zeros(10))
    with pytest.raises(FeatureError, match="at least 2 samples"):
        feature_statistics(np.zeros((1, 4)))
