"""The feature-extractor interface: the protocol every extractor follows and the registry that builds them by name.

An extractor maps uint8 images to float64 feature vectors and carries an `id` that names both the
network and the exact weights file (short sha256), so cached statistics can never be mixed up
across extractors or weight versions.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np
import torch


class FeatureExtractor(Protocol):
    name: str  # "inception" or "domain"
    id: str  # unique: network, precision unless fp32, short weights hash, e.g. "inception-pool3-2048-bf16@6726825d"
    weights_sha256: str  # full sha256 hex of the weights file that was loaded
    precision: str  # "fp32" or "bf16" (autocast), the arithmetic of its features
    feature_dim: int
    # (C, H, W) of the only images it takes, or None: any size, 1 or 3 channels. Callers check their data against
    # it before they pay for real-data statistics.
    input_shape: tuple[int, int, int] | None

    def features(self, images: torch.Tensor, batch_size: int | None = None) -> np.ndarray:
        """images: uint8 (N, C, H, W) in [0, 255] -> float64 (N, feature_dim); batch_size: images per forward
        pass, None for the extractor's own choice (what its network and device run fastest at)."""
        ...


# Factories import their module on first use: building the Inception graph pulls in torchvision,
# which callers that only need the small domain extractor should not pay for.
def _inception(**options) -> FeatureExtractor:
    from metrics.inception import InceptionExtractor
    return InceptionExtractor(**options)


def _domain(**options) -> FeatureExtractor:
    from metrics.domain import DomainExtractor
    return DomainExtractor(**options)


EXTRACTORS: dict[str, Callable[..., FeatureExtractor]] = {
    "inception": _inception,
    "domain": _domain,
}


def get_extractor(name: str, **options) -> FeatureExtractor:
    """Build the extractor registered under `name`.

    "inception": weights_path: str | None (None -> TF's file from `python -m metrics fetch-inception`, else
                 pytorch-fid's in the torch hub cache), dims: int = 2048, device: str = "cpu",
                 allow_download: bool = False, precision: str = "fp32", resize: "tf" | "pytorch-fid" | None
    "domain":    weights_path: str | None (None -> bundled Fashion-MNIST weights), device: str = "cpu",
                 precision: str = "fp32"
    precision: "fp32" or "bf16" (autocast; faster only with bf16 hardware, see metrics/batching.py). A bf16
    extractor's id says so (e.g. "inception-pool3-2048-bf16@6726825d"), so its statistics never mix with fp32 ones.
    """
    if name not in EXTRACTORS:
        raise ValueError(f"unknown feature extractor {name!r}; known: {', '.join(sorted(EXTRACTORS))}")
    return EXTRACTORS[name](**options)
