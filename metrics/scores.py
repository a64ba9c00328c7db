"""One entry point that scores generated images against real ones: FID, KID, sharpness ratios."""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import torch

from metrics.extractors import FeatureExtractor
from metrics.frechet import RunningMoments, check_features, frechet_distance
from metrics.checks import check_images
from metrics.kid import kernel_inception_distance
from metrics.precision_recall import prdc
from metrics.sharpness import sharpness_ratios
from metrics.stats import FeatureStats, StaleStatisticsError


def score_samples(
    fake: torch.Tensor,
    real: torch.Tensor | FeatureStats,
    extractor: FeatureExtractor,
    *,
    kid: bool = True,
    real_images_for_sharpness: torch.Tensor | None = None,
    batch_size: int | None = None,
    nearest_neighbours: bool = False,
) -> dict:
    """Score generated images against real images or precomputed real statistics.

    fake: uint8 (N, C, H, W) generated images. real: uint8 (M, C, H, W) real images, or FeatureStats made by
    the same extractor (else StaleStatisticsError).
    kid: also compute KID (only possible with real images; None otherwise). Sharpness ratios are added
    when real images are at hand: real_images_for_sharpness, or real itself when it is images.
    batch_size: images per extractor forward pass (None: the extractor's own).
    nearest_neighbours: also precision and recall (k = 3) and density and coverage (k = 5) of the features
    (metrics.precision_recall; only possible with real images: None otherwise).
    Returns {"fid", "kid", "kid_std", "n_fake", "n_real", "extractor", "extractor_sha256"} plus
    {"laplacian_ratio", "high_freq_ratio"} when sharpness was measured.
    """
    check_images(fake, "generated images")
    fake_features = check_features(extractor.features(fake, batch_size=batch_size), "generated-image features")
    fake_stats = FeatureStats.from_features(fake_features, extractor.id, dataset_id="generated")
    real_features = None
    if isinstance(real, FeatureStats):
        real.check_matches(extractor.id, source=f"reference statistics of {real.dataset_id!r}")
        real_stats = real
    else:
        check_images(real, "real images")
        real_features = check_features(extractor.features(real, batch_size=batch_size), "real-image features")
        real_stats = FeatureStats.from_features(real_features, extractor.id, dataset_id="real")
    result = {
        "fid": fid_between(real_stats, fake_stats),
        "kid": None,
        "kid_std": None,
        "n_fake": fake_stats.n,
        "n_real": real_stats.n,
        "extractor": extractor.id,
        "extractor_sha256": extractor.weights_sha256,
    }
    if kid and real_features is not None:
        result["kid"], result["kid_std"] = kernel_inception_distance(real_features, fake_features)
    if nearest_neighbours:
        result.update(prdc(real_features, fake_features) if real_features is not None else
                      dict.fromkeys(("precision", "recall", "density", "coverage")))
    if real_images_for_sharpness is not None:
        sharp_reference = real_images_for_sharpness
    elif real_features is not None:
        sharp_reference = real
    else:
        sharp_reference = None
    if sharp_reference is not None:
        result.update(sharpness_ratios(fake, sharp_reference))
    return result


def fid_between(a: FeatureStats, b: FeatureStats) -> float:
    """FID between two sets of statistics, which must come from the same extractor."""
    if a.extractor_id != b.extractor_id:
        raise StaleStatisticsError(
            f"statistics of {a.dataset_id!r} come from {a.extractor_id!r} but those of {b.dataset_id!r} from "
            f"{b.extractor_id!r}; FID is only defined between features of one extractor"
        )
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)


def score_streamed(
    batches: Iterable[torch.Tensor],
    real_stats: FeatureStats,
    extractor: FeatureExtractor,
    *,
    real_features: np.ndarray | None = None,
    batch_size: int | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> dict:
    """FID (and with real_features, precision/recall and density/coverage) of generated images that arrive in
    batches, e.g. decoded chunk by chunk: only one batch of images is held at a time, and the features (N x D
    float64, 160 MB for 10,000 x 2048, kept only when real_features is given) instead of the images.

    batches: uint8 (B_i, C, H, W). real_stats: made by the same extractor (else StaleStatisticsError).
    on_batch(n): called after each batch with the number of images extracted so far (for progress lines).
    Returns {"fid", "n_fake", "n_real", "extractor", "extractor_sha256"}, plus {"precision", "recall", "density",
    "coverage"} with real_features. Equal to score_samples of all batches at once (up to float64 rounding of the
    running moments, see RunningMoments)."""
    real_stats.check_matches(extractor.id, source=f"reference statistics of {real_stats.dataset_id!r}")
    moments, kept, done = RunningMoments(), [], 0
    for images in batches:
        check_images(images, "generated images")
        features = check_features(extractor.features(images, batch_size=batch_size), "generated-image features")
        moments.update(features, "generated-image features")
        if real_features is not None:
            kept.append(features)
        done += len(images)
        if on_batch is not None:
            on_batch(done)
    mu, sigma = moments.statistics()
    fake_stats = FeatureStats(mu=mu, sigma=sigma, n=moments.n, extractor_id=extractor.id, dataset_id="generated")
    result = {"fid": fid_between(real_stats, fake_stats), "n_fake": fake_stats.n, "n_real": real_stats.n,
              "extractor": extractor.id, "extractor_sha256": extractor.weights_sha256}
    if real_features is not None:
        result.update(prdc(real_features, np.concatenate(kept)))
    return result
