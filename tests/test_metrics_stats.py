"""Statistics files, the statistics cache and score_samples (with a small fake extractor)."""

import numpy as np
import pytest

from metrics.frechet import FeatureError, feature_statistics, frechet_distance
from metrics.kid import kernel_inception_distance
from metrics.stats import (FeatureStats, StaleStatisticsError, StatisticsFileError, cached_statistics,
                           feature_statistics_streamed)
from metrics.scores import fid_between, score_samples
from metrics.sharpness import sharpness_ratios
from vaegan.data import load_dataset

from fake_extractor import ProjectionExtractor


@pytest.fixture
def images(fashion_mnist):
    return load_dataset("fashion_mnist", split="test", root=str(fashion_mnist), limit=1200).images


@pytest.fixture
def stats(images):
    return FeatureStats.from_features(ProjectionExtractor().features(images), "projection@00000000", "fmnist-test")


def test_save_load_round_trip(tmp_path, stats):
    path = tmp_path / "ref.npz"
    stats.save(path)
    loaded = FeatureStats.load(path)
    np.testing.assert_array_equal(loaded.mu, stats.mu)
    np.testing.assert_array_equal(loaded.sigma, stats.sigma)
    assert (loaded.n, loaded.extractor_id, loaded.dataset_id) == (1200, "projection@00000000", "fmnist-test")
    assert [p.name for p in tmp_path.iterdir()] == ["ref.npz"]  # the temporary file was renamed away


def test_cache_computes_once_then_reuses(tmp_path, images):
    extractor, loads = ProjectionExtractor(), []

    def images_fn():
        loads.append(1)
        return images

    path = tmp_path / "cache" / "ref.npz"
    first = cached_statistics(path, extractor, "fmnist-test", images_fn)
    second = cached_statistics(path, extractor, "fmnist-test", images_fn)
    assert (extractor.calls, len(loads)) == (1, 1)
    expected_mu, expected_sigma = feature_statistics(extractor.features(images))
    np.testing.assert_allclose(second.mu, expected_mu)
    np.testing.assert_allclose(second.sigma, expected_sigma)
    assert second.n == first.n == 1200


def test_cache_refuses_other_extractor_or_dataset(tmp_path, images):
    path = tmp_path / "ref.npz"
    cached_statistics(path, ProjectionExtractor(seed=0), "fmnist-test", lambda: images)
    with pytest.raises(StaleStatisticsError, match=r"projection@00000000.*requested 'projection@00000001'"):
        cached_statistics(path, ProjectionExtractor(seed=1), "fmnist-test", lambda: images)
    with pytest.raises(StaleStatisticsError, match=r"dataset 'fmnist-test' \(requested 'cifar10'\)"):
        cached_statistics(path, ProjectionExtractor(seed=0), "cifar10", lambda: images)


def test_corrupt_or_foreign_files_name_the_file(tmp_path, stats):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip archive at all")
    with pytest.raises(StatisticsFileError, match="garbage.npz"):
        FeatureStats.load(garbage)
    stats.save(tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes((tmp_path / "good.npz").read_bytes()[:500])
    with pytest.raises(StatisticsFileError, match="truncated.npz"):
        FeatureStats.load(truncated)
    foreign = tmp_path / "pytorch_fid.npz"
    np.savez(foreign, mu=stats.mu, sigma=stats.sigma)
    with pytest.raises(StatisticsFileError, match="pytorch_fid.npz lacks n, extractor_id, dataset_id"):
        FeatureStats.load(foreign)
    with pytest.raises(StatisticsFileError, match="does not exist"):
        FeatureStats.load(tmp_path / "missing.npz")
    with pytest.raises(StatisticsFileError, match="corrupt"):
        cached_statistics(garbage, ProjectionExtractor(), "fmnist-test", lambda: None)


def test_streamed_statistics_equal_all_at_once(images, stats):
    extractor = ProjectionExtractor()
    batches = (images[lo:lo + 250] for lo in range(0, len(images), 250))  # a generator: never all images at once
    streamed = feature_statistics_streamed(extractor, batches, dataset_id="fmnist-test", batch_size=100)
    assert (streamed.n, streamed.extractor_id, streamed.dataset_id) == (1200, stats.extractor_id, "fmnist-test")
    assert extractor.calls == 5
    np.testing.assert_allclose(streamed.mu, stats.mu, rtol=1e-12)
    np.testing.assert_allclose(streamed.sigma, stats.sigma, rtol=1e-10, atol=1e-12 * np.abs(stats.sigma).max())
    assert fid_between(streamed, stats) == pytest.approx(0.0, abs=1e-9)


def test_streamed_statistics_refuse_empty_or_bad_batches(images):
    with pytest.raises(FeatureError, match="at least 2 samples"):
        feature_statistics_streamed(ProjectionExtractor(), iter([]))
    with pytest.raises(FeatureError, match="features of 'generated' contain 1 NaN/inf"):
        feature_statistics_streamed(ProjectionExtractor(poison=True), [images[:10], images[10:20]])


def test_score_against_images(images):
    extractor = ProjectionExtractor()
    real, fake = images[:400], images[400:800]
    with pytest.warns(UserWarning, match="KID subsets of 400 instead of 1000"):
        result = score_samples(fake, real, extractor)
        f_real, f_fake = extractor.features(real), extractor.features(fake)
        assert (result["kid"], result["kid_std"]) == pytest.approx(kernel_inception_distance(f_real, f_fake))
    assert result["fid"] == pytest.approx(frechet_distance(*feature_statistics(f_real), *feature_statistics(f_fake)))
    assert result["laplacian_ratio"] == pytest.approx(sharpness_ratios(fake, real)["laplacian_ratio"])
    assert (result["n_fake"], result["n_real"]) == (400, 400)
    assert (result["extractor"], result["extractor_sha256"]) == (extractor.id, extractor.weights_sha256)
    darker = score_samples((fake // 2), real, extractor, kid=False)
    assert darker["fid"] > 10 * result["fid"] and darker["kid"] is None


def test_score_against_statistics(images, stats):
    extractor = ProjectionExtractor()
    fake = images[:300]
    from_stats = score_samples(fake, stats, extractor)
    assert from_stats["kid"] is None and "laplacian_ratio" not in from_stats
    assert from_stats["fid"] == pytest.approx(score_samples(fake, images, extractor, kid=False)["fid"], rel=1e-12)
    assert from_stats["n_real"] == 1200
    with_sharpness = score_samples(fake, stats, extractor, real_images_for_sharpness=images)
    assert with_sharpness["laplacian_ratio"] == pytest.approx(sharpness_ratios(fake, images)["laplacian_ratio"])
    with pytest.raises(StaleStatisticsError, match="projection@00000001"):
        score_samples(fake, stats, ProjectionExtractor(seed=1))


def test_fid_between_refuses_mixed_extractors(stats):
    other = FeatureStats(stats.mu, stats.sigma, stats.n, "projection@00000009", "other")
    assert fid_between(stats, stats) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(StaleStatisticsError, match="one extractor"):
        fid_between(stats, other)


def test_nan_features_are_an_error(images):
    with pytest.raises(FeatureError, match="generated-image features contain 1 NaN/inf"):
        score_samples(images[:50], images[50:100], ProjectionExtractor(poison=True))
    with pytest.raises(ValueError, match="uint8"):
        score_samples(images[:50].float(), images[50:100], ProjectionExtractor())
