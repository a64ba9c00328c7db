"""Blur measured directly on pixels, independently of any feature extractor.

Two measures, both larger for sharper images and both compared with real images as a ratio (1.0 = as sharp
as the real data): the variance of the Laplacian (edge strength) and the share of spectral energy above a
radial frequency cut-off. Images are converted to grayscale in [0, 1] first; frequencies are in cycles per
pixel (Nyquist = 0.5).
"""

from __future__ import annotations

from typing import Iterator

import kornia
import torch

from metrics.checks import InputError, check_images, to_unit_float

DEFAULT_CUTOFF = 0.25  # half the Nyquist frequency: above it lie edges and texture, below it shapes
_CHUNK = 512  # images per step, bounds memory on large sets


def laplacian_variance(images: torch.Tensor) -> float:
    """Mean over images of the per-image variance of the 3x3 Laplacian. images: uint8 (N, C, H, W) -> float >= 0."""
    total = 0.0
    for gray in _grayscale_chunks(images):
        response = kornia.filters.laplacian(gray, kernel_size=3, border_type="reflect", normalized=False)
        total += float(response.var(dim=(1, 2, 3), unbiased=False).sum())
    return total / images.shape[0]


def high_frequency_energy(images: torch.Tensor, cutoff: float = DEFAULT_CUTOFF) -> float:
    """Share in [0, 1] of the spectral energy (image mean removed) above cutoff cycles/pixel, pooled over the set.

    images: uint8 (N, C, H, W); cutoff in (0, 0.5). A set of constant images has no energy and gives 0.
    """
    if not 0.0 < cutoff < 0.5:
        raise InputError(f"cutoff must lie in (0, 0.5) cycles per pixel, got {cutoff}")
    high = total = 0.0
    for gray in _grayscale_chunks(images):
        power = _power_spectrum(gray)
        above = _radial_frequency(*gray.shape[-2:]) > cutoff
        high += float(power[:, above].sum())
        total += float(power.sum())
    return high / total if total > 0 else 0.0


def radial_power_spectrum(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean power per radial frequency band, for plots (DC excluded).

    images: uint8 (N, C, H, W) -> freqs (K,) float64 in cycles/pixel, k / min(H, W) for k = 1..K, up to
    Nyquist; power (K,) float64, mean |FFT|^2 / (H W) of the grayscale [0, 1] images in each band.
    """
    check_images(images)
    h, w = images.shape[-2:]
    n = min(h, w)
    bands = torch.round(_radial_frequency(h, w) * n).long().flatten()
    keep = (bands >= 1) & (bands <= n // 2)
    sums = torch.zeros(n // 2 + 1, dtype=torch.float64)
    for gray in _grayscale_chunks(images):
        power = _power_spectrum(gray).sum(dim=0).flatten()
        sums.index_add_(0, bands[keep], power[keep])
    counts = torch.bincount(bands[keep], minlength=n // 2 + 1).double()
    freqs = torch.arange(1, n // 2 + 1, dtype=torch.float64) / n
    return freqs, sums[1:] / counts[1:] / images.shape[0]


def sharpness_ratios(
    fake_uint8: torch.Tensor, real_uint8: torch.Tensor, cutoff: float = DEFAULT_CUTOFF
) -> dict[str, float]:
    """Sharpness of fake images relative to real ones: 1.0 = as sharp as real, below 1 = blurrier.

    fake_uint8, real_uint8: uint8 (N, C, H, W) (N and size may differ) -> {"laplacian_ratio", "high_freq_ratio"}.
    """
    check_images(fake_uint8, "generated images")
    check_images(real_uint8, "real images")
    real_laplacian = laplacian_variance(real_uint8)
    real_high = high_frequency_energy(real_uint8, cutoff)
    if real_laplacian == 0.0 or real_high == 0.0:
        raise InputError("the real images have no detail (constant images?); sharpness ratios need real texture")
    return {
        "laplacian_ratio": laplacian_variance(fake_uint8) / real_laplacian,
        "high_freq_ratio": high_frequency_energy(fake_uint8, cutoff) / real_high,
    }


def _grayscale_chunks(images: torch.Tensor) -> Iterator[torch.Tensor]:
    """uint8 (N, C, H, W) -> chunks of float32 (B, 1, H, W) in [0, 1], luminance for colour images."""
    check_images(images)
    for start in range(0, images.shape[0], _CHUNK):
        chunk = to_unit_float(images[start : start + _CHUNK])
        yield kornia.color.rgb_to_grayscale(chunk) if chunk.shape[1] == 3 else chunk


def _power_spectrum(gray: torch.Tensor) -> torch.Tensor:
    """gray: (B, 1, H, W) float -> (B, H, W) float64 |FFT|^2 / (H W) of each mean-removed image."""
    centred = gray[:, 0].double() - gray[:, 0].double().mean(dim=(1, 2), keepdim=True)
    h, w = centred.shape[-2:]
    return torch.fft.fft2(centred).abs().square() / (h * w)


def _radial_frequency(h: int, w: int) -> torch.Tensor:
    """(H, W) float64: distance of each FFT bin from DC in cycles per pixel (unshifted FFT layout)."""
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    return torch.sqrt(fy.square() + fx.square())
