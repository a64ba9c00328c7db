"""Conversion between stored images (uint8 in [0, 255]) and model inputs (float32 in [-1, 1]).

This is the only place the two ranges meet, so the mapping is defined once and inverts exactly:
to_uint8(to_model_range(x)) == x for every uint8 value.
"""

from __future__ import annotations

import torch


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """images: uint8 tensor (any shape, usually (B, C, H, W)) in [0, 255] -> float32 of the same shape in [-1, 1]."""
    if images.dtype != torch.uint8:
        # A float tensor here is almost always an already-scaled batch; rescaling it again would silently
        # squash the data, so refuse instead of guessing.
        raise TypeError(f"to_model_range expects uint8 images in [0, 255], got dtype {images.dtype}")
    return images.to(torch.float32).div_(127.5).sub_(1.0)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """x: float tensor (any shape) in [-1, 1] -> uint8 of the same shape in [0, 255]; out-of-range values are clamped."""
    if not x.is_floating_point():
        raise TypeError(f"to_uint8 expects a floating point tensor in [-1, 1], got dtype {x.dtype}")
    return x.detach().to(torch.float32).clamp(-1.0, 1.0).add(1.0).mul_(127.5).round_().to(torch.uint8)
