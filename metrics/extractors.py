"""The feature-extractor interface: protocol, registry and the plumbing every extractor shares.

An extractor maps uint8 images to float64 feature vectors and carries an `id` that names both the
network and the exact weights file (short sha256), so cached statistics can never be mixed up
across extractors or weight versions.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path
from typing import Callable, Protocol

import numpy as np
import torch


class FeatureExtractor(Protocol):
    name: str  # "inception" or "domain"
    id: str  # unique, includes a short weights hash, e.g. "inception-pool3-2048@6726825d"
    weights_sha256: str  # full sha256 hex of the weights file that was loaded
    feature_dim: int

    def features(self, images: torch.Tensor, batch_size: int = 200) -> np.ndarray:
        """images: uint8 (N, C, H, W) in [0, 255] -> float64 (N, feature_dim)."""
        ...


class WeightsHashMismatch(RuntimeError):
    """A weights file does not have the sha256 it is supposed to have."""


def file_sha256(path: str | Path) -> str:
    """Full sha256 hex digest of a file, read in chunks so large weights files stay out of memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_batched(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch_size: int,
                label: str, report_every_s: float = 10.0) -> np.ndarray:
    """Apply `fn` (uint8 batch -> (B, D) float tensor) over `images` in batches -> float64 (N, D).

    Runs that outlast `report_every_s` print a progress line (rate, ETA) to stderr every
    `report_every_s` seconds; short runs stay silent.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = images.shape[0]
    out: list[np.ndarray] = []
    start = last_report = time.monotonic()
    with torch.inference_mode():
        for lo in range(0, n, batch_size):
            out.append(fn(images[lo:lo + batch_size]).to("cpu", torch.float64).numpy())
            done, now = min(lo + batch_size, n), time.monotonic()
            if now - last_report >= report_every_s and done < n:
                rate = done / (now - start)
                print(f"[{label}] {done}/{n} images, {rate:.1f} img/s, ETA {(n - done) / rate:.0f} s",
                      file=sys.stderr, flush=True)
                last_report = now
    return np.concatenate(out, axis=0)


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

    "inception": weights_path: str | None, dims: int = 2048, device: str = "cpu", allow_download: bool = False
    "domain":    weights_path: str | None (None -> bundled Fashion-MNIST weights), device: str = "cpu"
    """
    if name not in EXTRACTORS:
        raise ValueError(f"unknown feature extractor {name!r}; known: {', '.join(sorted(EXTRACTORS))}")
    return EXTRACTORS[name](**options)
