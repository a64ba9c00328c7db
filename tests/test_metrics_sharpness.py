"""Sharpness measured on pixels: monotone in blur, known answers on constants and sinusoids, ratios."""

import math

import kornia
import pytest
import torch

from metrics.image_io import InputError
from metrics.sharpness import high_frequency_energy, laplacian_variance, radial_power_spectrum, sharpness_ratios
from vaegan.data import load_dataset


@pytest.fixture
def real(fashion_mnist):
    return load_dataset("fashion_mnist", split="test", root=str(fashion_mnist), limit=300).images


def blur(images, sigma):
    blurred = kornia.filters.gaussian_blur2d(images.float(), (7, 7), (sigma, sigma))
    return blurred.round().clamp(0, 255).to(torch.uint8)


def sinusoid(frequency, size=32):
    """uint8 (1, 1, size, size) vertical stripes at `frequency` cycles per pixel."""
    x = torch.arange(size, dtype=torch.float64)
    row = 127.5 + 100 * torch.cos(2 * math.pi * frequency * x)
    return row.expand(size, size).round().to(torch.uint8)[None, None]


def test_blur_lowers_both_measures_monotonically(real):
    sets = [real] + [blur(real, sigma) for sigma in (0.5, 1.0, 1.5)]
    laplacian = [laplacian_variance(images) for images in sets]
    high = [high_frequency_energy(images) for images in sets]
    assert laplacian == sorted(laplacian, reverse=True) and len(set(laplacian)) == 4
    assert high == sorted(high, reverse=True) and len(set(high)) == 4


def test_constant_images_have_no_detail():
    constant = torch.full((4, 1, 28, 28), 173, dtype=torch.uint8)
    assert laplacian_variance(constant) == 0.0
    assert high_frequency_energy(constant) == 0.0


def test_high_frequency_share_of_pure_sinusoids():
    assert high_frequency_energy(sinusoid(12 / 32), cutoff=0.25) > 0.999
    assert high_frequency_energy(sinusoid(4 / 32), cutoff=0.25) < 0.001


def test_radial_spectrum_peaks_at_the_sinusoid_frequency():
    freqs, power = radial_power_spectrum(sinusoid(12 / 32))
    assert freqs.shape == power.shape == (16,)
    assert float(freqs[-1]) == pytest.approx(0.5)
    assert float(freqs[power.argmax()]) == pytest.approx(12 / 32)


def test_radial_spectrum_of_blurred_images_loses_high_frequencies(real):
    freqs, sharp = radial_power_spectrum(real)
    _, blurred = radial_power_spectrum(blur(real, 1.0))
    high = freqs > 0.25
    assert torch.all(blurred[high] < sharp[high])
    assert float(blurred[0]) == pytest.approx(float(sharp[0]), rel=0.2)  # coarse shapes survive a mild blur


def test_ratios(real):
    same = sharpness_ratios(real, real)
    assert same == {"laplacian_ratio": 1.0, "high_freq_ratio": 1.0}
    blurred = sharpness_ratios(blur(real, 1.0), real)
    assert 0 < blurred["laplacian_ratio"] < 1 and 0 < blurred["high_freq_ratio"] < 1


def test_colour_images_use_luminance(real):
    rgb = real.repeat(1, 3, 1, 1)  # gray replicated: luminance weights sum to 1, so the measures match
    assert laplacian_variance(rgb) == pytest.approx(laplacian_variance(real), rel=1e-5)
    assert high_frequency_energy(rgb) == pytest.approx(high_frequency_energy(real), rel=1e-5)


def test_rejects_bad_input(real):
    with pytest.raises(InputError, match="uint8"):
        laplacian_variance(real.float())
    with pytest.raises(InputError, match="cutoff"):
        high_frequency_energy(real, cutoff=0.7)
    with pytest.raises(InputError, match="no detail"):
        sharpness_ratios(real, torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
