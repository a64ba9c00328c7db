"""TensorFlow 1's bilinear resize, the one inside the FID Inception graph of the TTUR and StyleGAN reference code.

Those graphs resize every image to 299x299 with tf.image.resize_bilinear(align_corners=False) of TF 1.x, before
half_pixel_centers existed: output pixel i samples the input at src = i * in / out (the corner, not the centre, of
each pixel), without antialiasing, clamped to the last row/column. torch's F.interpolate(align_corners=False),
which pytorch-fid uses, samples at (i + 0.5) * in / out - 0.5 instead: for 28 -> 299 the two grids are ~0.45 input
pixels apart, enough to move FIDs.

Written as two interpolation matrices, out = R_h x R_w^T: the weights are exactly TF's lerp fractions, and two
small matrix products are faster on a CPU than TF's gather-and-lerp.
"""

from __future__ import annotations

import torch


def legacy_bilinear_matrix(size_in: int, size_out: int) -> torch.Tensor:
    """(size_out, size_in) float64 matrix of TF 1's align_corners=False bilinear weights along one axis.

    Row i has 1 - f at floor(src) and f at min(floor(src) + 1, size_in - 1), src = i * size_in / size_out,
    f = src - floor(src); so each row sums to 1."""
    src = torch.arange(size_out, dtype=torch.float64) * (size_in / size_out)
    low = src.floor().long().clamp(max=size_in - 1)
    high = (low + 1).clamp(max=size_in - 1)
    frac = src - low
    matrix = torch.zeros(size_out, size_in, dtype=torch.float64)
    rows = torch.arange(size_out)
    matrix.index_put_((rows, low), 1 - frac, accumulate=True)
    matrix.index_put_((rows, high), frac, accumulate=True)
    return matrix


def tf_legacy_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """x: float (B, C, H, W) -> (B, C, size[0], size[1]) of the same dtype and device, TF 1 resize_bilinear.

    Values are interpolated, not rescaled: pass 0-255 floats and the output stays in 0-255."""
    rows = legacy_bilinear_matrix(x.shape[-2], size[0]).to(x.device, x.dtype)
    cols = legacy_bilinear_matrix(x.shape[-1], size[1]).to(x.device, x.dtype)
    # Outside any bf16 autocast of the caller: the network's input stays exact to float32 like TF's.
    with torch.autocast(x.device.type, enabled=False):
        return rows @ x @ cols.T
