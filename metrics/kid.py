"""Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with a cubic polynomial kernel.

Unlike FID it has an unbiased estimator, so it is comparable across sample sizes and ~0 for two samples of
one distribution; averaging over random subsets bounds the O(n^2) cost and gives a spread.
"""

from __future__ import annotations

import warnings

import numpy as np

from metrics.frechet import FeatureError, check_features

SUBSET_SIZE = 1000  # rows per subset by default (Binkowski et al.'s choice)


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x . y / d + 1)^3. x: (n, d), y: (m, d) float64 -> (n, m) float64."""
    base = x @ y.T / x.shape[1] + 1.0
    return base * base * base  # much faster than base ** 3, which numpy evaluates with pow()


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between samples x: (m, d) and y: (m, d) under polynomial_kernel (may be slightly < 0)."""
    m = x.shape[0]
    k_xx = polynomial_kernel(x, x)
    k_yy = polynomial_kernel(y, y)
    k_xy = polynomial_kernel(x, y)
    # Dropping the diagonals (k(x_i, x_i)) is what makes the within-sample terms unbiased.
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(within - 2.0 * k_xy.mean())


def kernel_inception_distance(
    feats_a: np.ndarray,
    feats_b: np.ndarray,
    num_subsets: int = 100,
    subset_size: int = SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float]:
    """KID between two feature sets: mean and standard deviation of mmd2_unbiased over random subsets.

    feats_a: (Na, D), feats_b: (Nb, D) finite floats. Each subset draws min(subset_size, Na, Nb) rows of
    each set without replacement, with a generator seeded by seed (reproducible). Warns when a set is smaller
    than subset_size: the subsets then overlap heavily and the standard deviation understates the uncertainty.

    Units: the MMD^2 itself, in the squared units of the kernel on these features, multiplied by nothing (papers
    often print KID x 1e3); its size therefore depends on the extractor's feature scale.
    """
    a = check_features(feats_a, "first feature set")
    b = check_features(feats_b, "second feature set")
    if a.shape[1] != b.shape[1]:
        raise FeatureError(
            f"feature sets have different dimensions ({a.shape[1]} vs {b.shape[1]}); use one extractor for both"
        )
    if num_subsets < 1:
        raise FeatureError(f"num_subsets must be >= 1, got {num_subsets}")
    m = min(subset_size, a.shape[0], b.shape[0])
    if m < 2:
        raise FeatureError(f"KID needs at least 2 samples per set and subset_size >= 2, got subsets of {m}")
    if m < subset_size:
        warnings.warn(
            f"KID subsets of {m} instead of {subset_size}: only {min(a.shape[0], b.shape[0])} samples in the smaller "
            "set, so subsets overlap and the reported std understates the uncertainty; use more samples",
            stacklevel=2,
        )
    if m == a.shape[0] == b.shape[0]:
        warnings.warn(
            f"KID of two sets of {m}: every subset holds all of both, so the {num_subsets} subsets give one value "
            f"and its std is 0, which says nothing about the uncertainty; use more than {m} samples per set",
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            mmd2_unbiased(a[rng.choice(a.shape[0], m, replace=False)], b[rng.choice(b.shape[0], m, replace=False)])
            for _ in range(num_subsets)
        ]
    )
    return float(values.mean()), float(values.std())
