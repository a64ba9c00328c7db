"""A fake FeatureExtractor for tests of the metrics plumbing: fast, deterministic, and it counts its calls."""

import numpy as np
import torch.nn.functional as F


class ProjectionExtractor:
    """Fixed random projection of the pixels; counts its calls.

    input_shape: the (C, H, W) it takes, or None to take any size, as the Inception extractor does (images are then
    averaged to gray and resized to 28x28 first)."""

    name = "projection"
    feature_dim = 32
    precision = "fp32"

    def __init__(self, seed=0, poison=False, input_shape=(1, 28, 28)):
        self.id = f"projection@{seed:08d}"
        self.weights_sha256 = f"{seed:064d}"
        self.input_shape = input_shape
        pixels = 28 * 28 if input_shape is None else int(np.prod(input_shape))
        self.matrix = np.random.default_rng(seed).normal(size=(pixels, self.feature_dim)) / 28
        self.poison = poison
        self.calls = 0

    def features(self, images, batch_size=None):
        self.calls += 1
        if self.input_shape is None:
            images = F.interpolate(images.float().mean(1, keepdim=True), size=(28, 28), mode="bilinear")
        features = images.flatten(1).double().numpy() / 255 @ self.matrix
        if self.poison:
            features[0, 0] = np.nan
        return features
