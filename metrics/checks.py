"""The images every metric takes, and the error for inputs it cannot use.

The at-rest format of the package: a torch uint8 (N, C, H, W) tensor in [0, 255] with C in {1, 3}.
"""

from __future__ import annotations

import torch


class InputError(ValueError):
    """Images (or a path to them) that the metrics cannot use."""


def check_images(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """Validate the at-rest format: uint8 (N, C, H, W), N >= 1, C in {1, 3}. Returns images unchanged."""
    if not isinstance(images, torch.Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(images).__name__}")
    if images.dtype != torch.uint8:
        raise InputError(
            f"{name} must be uint8 in [0, 255], got {images.dtype}; convert with ((x + 1) * 127.5).round()"
        )
    if images.ndim != 4 or images.shape[1] not in (1, 3) or images.shape[0] < 1:
        raise InputError(f"{name} must have shape (N >= 1, C in {{1, 3}}, H, W), got {tuple(images.shape)}")
    return images


def to_unit_float(images: torch.Tensor, name: str = "images") -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 (N, C, H, W) in [0, 1]."""
    return check_images(images, name).float() / 255.0
