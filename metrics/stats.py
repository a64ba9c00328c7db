"""Gaussian feature statistics of a reference set, stored as .npz and tied to the extractor that made them.

A statistics file is only meaningful with the extractor (weights included) and the dataset it was computed
from, so both are stored next to mu and sigma and checked on every reuse: a mismatch is an error, never a
silent reuse.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch

from metrics.extractors import FeatureExtractor
from metrics.files import write_atomically
from metrics.frechet import RunningMoments, check_features, feature_statistics

STATS_KEYS = ("mu", "sigma", "n", "extractor_id", "dataset_id")


class StatisticsFileError(ValueError):
    """A statistics .npz that cannot be read or lacks the expected fields."""


class StaleStatisticsError(ValueError):
    """Statistics computed with another extractor or on another dataset than the one requested."""


@dataclass(frozen=True)
class FeatureStats:
    """mu: (D,) float64; sigma: (D, D) float64; n: number of images; ids name the extractor and the images."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int
    extractor_id: str
    dataset_id: str

    @classmethod
    def from_features(cls, features: np.ndarray, extractor_id: str, dataset_id: str) -> FeatureStats:
        """features: (N, D) float, finite -> statistics of those N samples."""
        features = check_features(features)
        mu, sigma = feature_statistics(features)
        return cls(mu=mu, sigma=sigma, n=features.shape[0], extractor_id=extractor_id, dataset_id=dataset_id)

    def check_matches(self, extractor_id: str, dataset_id: str | None = None, source: str = "statistics") -> None:
        """Raise StaleStatisticsError unless these statistics come from extractor_id (and dataset_id if given)."""
        problems = []
        if self.extractor_id != extractor_id:
            problems.append(f"extractor {self.extractor_id!r} (requested {extractor_id!r})")
        if dataset_id is not None and self.dataset_id != dataset_id:
            problems.append(f"dataset {self.dataset_id!r} (requested {dataset_id!r})")
        if problems:
            raise StaleStatisticsError(
                f"{source} were computed with {' and '.join(problems)}; scores against them would be "
                "meaningless - recompute them (python -m metrics stats) or point to the matching file"
            )

    def save(self, path: str | os.PathLike) -> None:
        """Write an .npz atomically (a reader never sees a half-written file)."""
        arrays = {
            "mu": np.asarray(self.mu, dtype=np.float64),
            "sigma": np.asarray(self.sigma, dtype=np.float64),
            "n": np.int64(self.n),
            "extractor_id": np.str_(self.extractor_id),
            "dataset_id": np.str_(self.dataset_id),
        }
        write_atomically(path, lambda handle: np.savez(handle, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike) -> FeatureStats:
        """Read statistics written by save(); unreadable or incomplete files raise StatisticsFileError."""
        path = Path(path)
        if not path.is_file():
            raise StatisticsFileError(f"statistics file {path} does not exist")
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise StatisticsFileError(
                f"cannot read statistics file {path} ({error}); delete it and recompute"
            ) from error
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise StatisticsFileError(
                f"{path} holds a single array, not statistics (.npz with {', '.join(STATS_KEYS)})"
            )
        with data:
            missing = [key for key in STATS_KEYS if key not in data.files]
            if missing:
                raise StatisticsFileError(
                    f"{path} lacks {', '.join(missing)} (has {', '.join(data.files) or 'nothing'}); it is not a "
                    "statistics file written by this package - recompute it with python -m metrics stats"
                )
            try:
                stats = cls(
                    mu=data["mu"].astype(np.float64),
                    sigma=data["sigma"].astype(np.float64),
                    n=int(data["n"]),
                    extractor_id=str(data["extractor_id"]),
                    dataset_id=str(data["dataset_id"]),
                )
            except (OSError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as error:
                raise StatisticsFileError(
                    f"corrupt statistics file {path} ({error}); delete it and recompute"
                ) from error
        d = stats.mu.shape[0] if stats.mu.ndim == 1 else -1
        if d < 1 or stats.sigma.shape != (d, d) or stats.n < 2:
            raise StatisticsFileError(
                f"{path} holds inconsistent statistics (mu {stats.mu.shape}, sigma {stats.sigma.shape}, n {stats.n}); "
                "delete it and recompute"
            )
        return stats


def feature_statistics_streamed(
    extractor: FeatureExtractor,
    batches: Iterable[torch.Tensor],
    dataset_id: str = "generated",
    batch_size: int | None = None,
) -> FeatureStats:
    """Statistics of every image in `batches` under extractor, holding one batch of images at a time.

    batches: uint8 (B_i, C, H, W) tensors, e.g. generated on the fly; each is passed to extractor.features in
    forward passes of batch_size. Equal to FeatureStats.from_features of all features at once up to float64
    rounding (see RunningMoments).
    """
    moments = RunningMoments()
    for images in batches:
        moments.update(extractor.features(images, batch_size=batch_size), f"features of {dataset_id!r}")
    mu, sigma = moments.statistics()
    return FeatureStats(mu=mu, sigma=sigma, n=moments.n, extractor_id=extractor.id, dataset_id=dataset_id)


def cached_statistics(
    cache_path: str | os.PathLike,
    extractor: FeatureExtractor,
    dataset_id: str,
    images_fn: Callable[[], torch.Tensor] | None,
    batch_size: int | None = None,
    features_fn: Callable[[], np.ndarray] | None = None,
) -> FeatureStats:
    """Statistics of images_fn() under extractor, computed once and stored at cache_path.

    images_fn: () -> uint8 (N, C, H, W), only called on a miss.
    features_fn: () -> (N, D) features of those images under extractor, called on a miss instead of extracting
    images_fn() (for a caller that has the features at hand, e.g. from cached_features).
    A cache written with another extractor id or dataset id raises StaleStatisticsError.
    """
    cache_path = Path(cache_path)
    if cache_path.exists():
        stats = FeatureStats.load(cache_path)
        stats.check_matches(extractor.id, dataset_id, source=f"cached statistics {cache_path}")
        return stats
    features = features_fn() if features_fn is not None else extractor.features(images_fn(), batch_size=batch_size)
    stats = FeatureStats.from_features(features, extractor_id=extractor.id, dataset_id=dataset_id)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    stats.save(cache_path)
    return stats


def cached_features(
    cache_path: str | os.PathLike,
    extractor: FeatureExtractor,
    dataset_id: str,
    features_fn: Callable[[], np.ndarray],
) -> np.ndarray:
    """Features (N, D) of a reference set under extractor, computed once by features_fn() and stored at cache_path
    as .npz (float32, with the extractor and dataset ids; checked on reuse like cached_statistics: a mismatch raises
    StaleStatisticsError). For the nearest-neighbour scores (precision/recall, density/coverage), which need the
    features themselves, not only their mean and covariance. Network outputs are float32, so storing them as float32
    loses nothing; they come back as float64 (features of
    other precision are rounded to float32, on the first call too)."""
    cache_path = Path(cache_path)
    source = f"cached features {cache_path}"
    if cache_path.exists():
        try:
            with np.load(cache_path, allow_pickle=False) as data:
                features = data["features"].astype(np.float64)
                extractor_id, cached_dataset = str(data["extractor_id"]), str(data["dataset_id"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise StatisticsFileError(f"cannot read {source} ({error}); delete it and recompute") from error
        problems = [f"{what} {got!r} (requested {want!r})" for what, got, want in
                    (("extractor", extractor_id, extractor.id), ("dataset", cached_dataset, dataset_id)) if got != want]
        if problems:
            raise StaleStatisticsError(f"{source} were computed with {' and '.join(problems)}; delete the file to "
                                       "recompute it")
        return check_features(features, source)
    # What a later load returns, so the first report scores against the same numbers as every later one.
    features = check_features(features_fn(), f"features of {dataset_id!r}").astype(np.float32).astype(np.float64)
    arrays = {"features": features.astype(np.float32), "extractor_id": np.str_(extractor.id),
              "dataset_id": np.str_(dataset_id)}
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(cache_path, lambda handle: np.savez(handle, **arrays))
    return features
