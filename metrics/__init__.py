"""Image-generation metrics, independent of any model code: FID (Inception or a domain network), KID,
sharpness measured on pixels, and reconstruction quality. Command line: `python -m metrics --help`."""

from metrics.extractors import EXTRACTORS, FeatureExtractor, get_extractor
from metrics.frechet import FeatureError, feature_statistics, frechet_distance
from metrics.checks import InputError
from metrics.image_io import load_images, load_images_or_stats
from metrics.kid import kernel_inception_distance
from metrics.reconstruction import reconstruction_metrics
from metrics.scores import fid_between, score_samples
from metrics.sharpness import high_frequency_energy, laplacian_variance, radial_power_spectrum, sharpness_ratios
from metrics.stats import FeatureStats, StaleStatisticsError, StatisticsFileError, cached_statistics

__all__ = [
    "EXTRACTORS",
    "FeatureError",
    "FeatureExtractor",
    "FeatureStats",
    "InputError",
    "StaleStatisticsError",
    "StatisticsFileError",
    "cached_statistics",
    "feature_statistics",
    "fid_between",
    "frechet_distance",
    "get_extractor",
    "high_frequency_energy",
    "kernel_inception_distance",
    "laplacian_variance",
    "load_images",
    "load_images_or_stats",
    "radial_power_spectrum",
    "reconstruction_metrics",
    "score_samples",
    "sharpness_ratios",
]
