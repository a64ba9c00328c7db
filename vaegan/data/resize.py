"""Antialiased resizing of whole uint8 image tensors."""

from __future__ import annotations

import torch
import torch.nn.functional as F

_CHUNK = 4096  # images per interpolate call: bounds the float32 working memory on large datasets


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """images: uint8 (N, C, H, W) -> uint8 (N, C, size, size), bilinear with antialiasing (matches PIL's BILINEAR).

    Non-square inputs are centre-cropped to a square first so nothing is stretched.
    """
    n, c, h, w = images.shape
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    images = images[:, :, top : top + side, left : left + side]
    if side == size:
        return images.contiguous()
    out = torch.empty((n, c, size, size), dtype=torch.uint8)
    for start in range(0, n, _CHUNK):
        chunk = images[start : start + _CHUNK].to(torch.float32)
        resized = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start : start + _CHUNK] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out
