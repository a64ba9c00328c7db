"""ImageDataset: a whole split held in memory as one uint8 tensor."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import torch

SPLITS = ("train", "test")


@dataclass(frozen=True, eq=False)  # eq=False: comparing tensors field-wise has no single truth value
class ImageDataset:
    """One split of a dataset, fully in memory.

    images: uint8 (N, C, H, W) in [0, 255], contiguous, on the CPU, square (H == W).
    labels: int64 (N,) class indices, or None when the dataset has no labels.
    name:   registry name, e.g. "fashion_mnist".
    split:  "train" or "test".
    sources: the files (or, for decoded image folders, the folder) the pixels were read from, for the record.
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    split: str
    sources: tuple[str, ...]

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} of shape {tuple(images.shape)}")
        if images.shape[2] != images.shape[3]:
            raise ValueError(f"images must be square, got H x W = {images.shape[2]} x {images.shape[3]}")
        if not images.is_contiguous() or images.device.type != "cpu":
            raise ValueError("images must be a contiguous CPU tensor")
        if labels is not None and (labels.dtype != torch.int64 or labels.shape != (images.shape[0],)):
            raise ValueError(
                f"labels must be int64 of shape ({images.shape[0]},), got {labels.dtype} of shape {tuple(labels.shape)}"
            )
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {self.split!r}")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        return self.images.shape[2]

    @cached_property
    def identity(self) -> str:
        """Stable id of the exact pixels, e.g. "fashion_mnist/test/28x28x1/n=10000/3f2a9c0b1d4e".

        Metric caches are keyed by it, so two loads of the same data share statistics and any change
        in the pixels (resize, limit, different files) gets a fresh key. Hashed once per object.
        """
        digest = hashlib.sha256(self.images.numpy()).hexdigest()[:12]
        size = self.image_size
        return f"{self.name}/{self.split}/{size}x{size}x{self.channels}/n={len(self)}/{digest}"
