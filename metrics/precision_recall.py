"""Precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020) of feature sets.

FID folds fidelity and diversity into one number; these separate them. Each feature set is taken as a manifold:
the union of balls around its points, each ball's radius the distance to its k-th nearest neighbour in the same
set (the point itself not counted).

- precision: fraction of generated features inside the real manifold (fidelity);
- recall: fraction of real features inside the generated manifold (diversity);
- density: mean number of real balls that contain a generated feature, divided by k (fidelity that outliers in
  the real set do not inflate; can exceed 1);
- coverage: fraction of real features whose ball contains at least one generated feature (diversity measured on
  real balls only, so generated outliers cannot inflate it).

All distances are Euclidean, compared squared (no square roots). Distances are computed in blocks of
`chunk` rows against the whole other set, so memory is chunk x N float64 (80 MB for 1000 x 10,000) and two sets
of 10,000 x 2048 fit in a few hundred MB.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from metrics.frechet import FeatureError, check_features

CHUNK = 1000  # rows per block of the distance matrix


def _blocks(x: np.ndarray, y: np.ndarray, chunk: int) -> Iterator[tuple[int, np.ndarray]]:
    """(start row, squared distances (b, M) float64) of each block of rows of x (N, D) to all of y (M, D)."""
    y_sq = np.einsum("ij,ij->i", y, y)
    for lo in range(0, x.shape[0], chunk):
        block = x[lo:lo + chunk]
        d = np.einsum("ij,ij->i", block, block)[:, None] + y_sq[None, :] - 2.0 * (block @ y.T)
        # ||a||^2 + ||b||^2 - 2 a.b rounds to small negatives for (near) equal points; distances are >= 0.
        yield lo, np.maximum(d, 0.0, out=d)


def knn_radii_sq(x: np.ndarray, k: int, chunk: int = CHUNK) -> np.ndarray:
    """x: (N, D) float64 -> (N,) squared distance from each point to its k-th nearest neighbour in x.

    Counting the point itself as the 0-th neighbour (its distance 0 is the smallest), so a duplicate point is a
    neighbour at distance 0, as in the authors' code."""
    radii = np.empty(x.shape[0])
    for lo, d in _blocks(x, x, chunk):
        radii[lo:lo + d.shape[0]] = np.partition(d, k, axis=1)[:, k]
    return radii


def _ball_counts(queries: np.ndarray, centres: np.ndarray, radii_sq: np.ndarray, chunk: int) -> np.ndarray:
    """(Q,) int: for each query point, how many balls (centres (M, D), squared radii (M,)) contain it."""
    counts = np.empty(queries.shape[0], dtype=np.int64)
    for lo, d in _blocks(queries, centres, chunk):
        counts[lo:lo + d.shape[0]] = (d <= radii_sq[None, :]).sum(axis=1)
    return counts


def _check_pair(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    a = check_features(real, "real features")
    b = check_features(fake, "generated features")
    if a.shape[1] != b.shape[1]:
        raise FeatureError(f"feature sets have different dimensions ({a.shape[1]} vs {b.shape[1]}); use one "
                           "extractor for both")
    if not 1 <= k < min(a.shape[0], b.shape[0]):
        raise FeatureError(f"k = {k} nearest neighbours needs 1 <= k < the size of each set, got "
                           f"{a.shape[0]} real and {b.shape[0]} generated samples; use more samples or a smaller k")
    return a, b


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3, chunk: int = CHUNK) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019), k = 3 as in the paper.

    real: (N, D), fake: (M, D) finite floats, k < N, M -> (precision, recall), each in [0, 1]."""
    a, b = _check_pair(real, fake, k)
    precision = float((_ball_counts(b, a, knn_radii_sq(a, k, chunk), chunk) > 0).mean())
    recall = float((_ball_counts(a, b, knn_radii_sq(b, k, chunk), chunk) > 0).mean())
    return precision, recall


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5, chunk: int = CHUNK) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020), k = 5 as the paper recommends.

    real: (N, D), fake: (M, D) finite floats, k < N, M -> (density in [0, N / k], coverage in [0, 1])."""
    a, b = _check_pair(real, fake, k)
    radii = knn_radii_sq(a, k, chunk)
    density = float(_ball_counts(b, a, radii, chunk).sum() / (k * b.shape[0]))
    nearest_fake = np.empty(a.shape[0])
    for lo, d in _blocks(a, b, chunk):
        nearest_fake[lo:lo + d.shape[0]] = d.min(axis=1)
    coverage = float((nearest_fake <= radii).mean())
    return density, coverage


PR_K = 3  # k of precision and recall, as Kynkäänniemi et al. use
DC_K = 5  # k of density and coverage, as Naeem et al. recommend
PRDC_KEYS = ("precision", "recall", "density", "coverage")


def prdc(real: np.ndarray, fake: np.ndarray, pr_k: int = PR_K, dc_k: int = DC_K, chunk: int = CHUNK) -> dict:
    """{"precision", "recall"} (k = pr_k) and {"density", "coverage"} (k = dc_k) of one pair of feature sets."""
    precision, recall = precision_recall(real, fake, k=pr_k, chunk=chunk)
    density, coverage = density_coverage(real, fake, k=dc_k, chunk=chunk)
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}
