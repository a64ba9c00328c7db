"""Reconstruction metrics: identity, monotone in noise, PSNR consistent with MSE."""

import math

import numpy as np
import pytest
import torch

from metrics.image_io import InputError
from metrics.reconstruction import reconstruction_metrics
from vaegan.data import load_dataset


@pytest.fixture
def images(fashion_mnist):
    return load_dataset("fashion_mnist", split="test", root=str(fashion_mnist), limit=100).images


def add_noise(images, std, seed=0):
    generator = torch.Generator().manual_seed(seed)
    noisy = images.float() + std * torch.randn(images.shape, generator=generator)
    return noisy.round().clamp(0, 255).to(torch.uint8)


def test_identical_images(images):
    result = reconstruction_metrics(images, images.clone())
    assert result["mse"] == 0.0
    # kornia adds eps=1e-12 to the SSIM denominator, which on flat black background (where the denominator is
    # C1 * C2 = 9e-8) costs ~1e-5.
    assert result["ssim"] == pytest.approx(1.0, abs=1e-4)
    assert result["psnr"] == math.inf


def test_noise_lowers_ssim_and_psnr(images):
    results = [reconstruction_metrics(images, add_noise(images, std)) for std in (5, 20, 60)]
    mse, psnr, ssim = ([r[key] for r in results] for key in ("mse", "psnr", "ssim"))
    assert mse[0] < mse[1] < mse[2]
    assert psnr[0] > psnr[1] > psnr[2]
    assert 1 > ssim[0] > ssim[1] > ssim[2]


def test_mse_and_psnr_agree_with_a_direct_computation(images):
    noisy = add_noise(images, 20)
    mse = np.mean((images.numpy().astype(np.float64) / 255 - noisy.numpy().astype(np.float64) / 255) ** 2)
    result = reconstruction_metrics(images, noisy)
    assert result["mse"] == pytest.approx(mse, rel=1e-5)
    assert result["psnr"] == pytest.approx(10 * math.log10(1 / mse), rel=1e-5)


def test_colour_images(images):
    rgb = images[:10].repeat(1, 3, 1, 1)
    gray_result = reconstruction_metrics(images[:10], add_noise(images[:10], 20))
    rgb_result = reconstruction_metrics(rgb, add_noise(images[:10], 20).repeat(1, 3, 1, 1))
    assert rgb_result == pytest.approx(gray_result, rel=1e-5)


def test_rejects_bad_input(images):
    with pytest.raises(InputError, match="differ in shape"):
        reconstruction_metrics(images[:10], images[:9])
    with pytest.raises(InputError, match="uint8"):
        reconstruction_metrics(images, images.float())
    with pytest.raises(InputError, match="at least 11x11"):
        reconstruction_metrics(images[:, :, :8, :8], images[:, :, :8, :8])
