"""Per-image min-max stretch, as Dai & Wipf's FID code applies it to generated images before Inception.

Their code (github.com/daib13/TwoStageVAE) rescales each generated image so that its own darkest pixel becomes 0 and
its brightest 1 before feeding it to the TF Inception graph; real test images are left as they are. A sample whose
background is a little grey is thereby made black, which lowers FID. We offer it to reproduce their protocol, off by
default.
"""

from __future__ import annotations

import torch

from metrics.checks import check_images


def min_max_stretch(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, C, H, W): each image (over all its channels and pixels) mapped linearly so
    that its minimum is 0 and its maximum 255, rounded to the nearest integer. A constant image is left as it is
    (it has no range to stretch)."""
    check_images(images, "images to stretch")
    x = images.to(torch.float32)
    flat = x.flatten(1)
    low = flat.min(dim=1).values.view(-1, 1, 1, 1)
    high = flat.max(dim=1).values.view(-1, 1, 1, 1)
    span = high - low
    stretched = torch.where(span > 0, (x - low) * (255.0 / span.clamp(min=1.0)), x)
    return stretched.round().clamp(0, 255).to(torch.uint8)
