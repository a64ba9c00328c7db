"""A fake FeatureExtractor for tests of the metrics plumbing: fast, deterministic, and it counts its calls."""

import numpy as np


class ProjectionExtractor:
    """Fixed random projection of flattened 28x28 pixels; counts its calls."""

    name = "projection"
    feature_dim = 32

    def __init__(self, seed=0, poison=False):
        self.id = f"projection@{seed:08d}"
        self.weights_sha256 = f"{seed:064d}"
        self.matrix = np.random.default_rng(seed).normal(size=(28 * 28, self.feature_dim)) / 28
        self.poison = poison
        self.calls = 0

    def features(self, images, batch_size=200):
        self.calls += 1
        features = images.flatten(1).double().numpy() / 255 @ self.matrix
        if self.poison:
            features[0, 0] = np.nan
        return features
