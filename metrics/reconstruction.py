"""How faithfully a model reproduces its input: MSE, PSNR and SSIM on images scaled to [0, 1]."""

from __future__ import annotations

import kornia
import torch

from metrics.checks import InputError, to_unit_float

SSIM_WINDOW = 11  # the Gaussian window of Wang et al. 2004; fits 28x28 images


def reconstruction_metrics(x_uint8: torch.Tensor, x_rec_uint8: torch.Tensor) -> dict[str, float]:
    """Compare originals with reconstructions, both uint8 (N, C, H, W) of one shape.

    Returns {"mse": mean squared error in [0, 1] units, "psnr": 10 log10(1 / mse) in dB over the whole set
    (inf when identical), "ssim": mean SSIM in [-1, 1] (1 when identical)}.
    """
    x = to_unit_float(x_uint8, "original images")
    x_rec = to_unit_float(x_rec_uint8, "reconstructed images")
    if x.shape != x_rec.shape:
        raise InputError(f"originals {tuple(x.shape)} and reconstructions {tuple(x_rec.shape)} differ in shape")
    if min(x.shape[-2:]) < SSIM_WINDOW:
        raise InputError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {tuple(x.shape[-2:])}")
    return {
        "mse": float(torch.mean((x - x_rec) ** 2)),
        "psnr": float(kornia.metrics.psnr(x_rec, x, max_val=1.0)),
        "ssim": float(kornia.metrics.ssim(x_rec, x, window_size=SSIM_WINDOW, max_val=1.0).mean()),
    }
