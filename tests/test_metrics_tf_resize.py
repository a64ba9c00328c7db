"""TF 1's resize_bilinear(align_corners=False) against a plain loop written from TF's kernel description."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from metrics.tf_resize import legacy_bilinear_matrix, tf_legacy_resize


def reference_legacy_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """image: (H, W) float64 -> (height, width), pixel by pixel as TF 1's kernel: src = dst * in / out, the two
    neighbours floor(src) and min(floor(src) + 1, in - 1), top and bottom lerped across, then between."""
    h_in, w_in = image.shape
    out = np.empty((height, width))
    for i in range(height):
        y = i * h_in / height
        y0, y1 = math.floor(y), min(math.floor(y) + 1, h_in - 1)
        for j in range(width):
            x = j * w_in / width
            x0, x1 = math.floor(x), min(math.floor(x) + 1, w_in - 1)
            top = image[y0, x0] + (image[y0, x1] - image[y0, x0]) * (x - x0)
            bottom = image[y1, x0] + (image[y1, x1] - image[y1, x0]) * (x - x0)
            out[i, j] = top + (bottom - top) * (y - y0)
    return out


@pytest.mark.parametrize("shape_in, shape_out", [((5, 7), (13, 11)), ((28, 28), (299, 299)), ((9, 6), (4, 3))])
def test_matches_the_loop_reference(shape_in, shape_out):
    image = np.random.default_rng(0).uniform(0, 255, size=shape_in)
    ours = tf_legacy_resize(torch.from_numpy(image)[None, None], shape_out)[0, 0].numpy()
    np.testing.assert_allclose(ours, reference_legacy_resize(image, *shape_out), rtol=0, atol=1e-10)


def test_known_values_and_shapes():
    # 2 -> 4 samples at 0, 0.5, 1, 1.5: the last clamps to the last pixel (half-pixel centres would give 2.5 there).
    row = tf_legacy_resize(torch.tensor([[[[0.0, 10.0]]]]), (1, 4))
    assert row.flatten().tolist() == [0.0, 5.0, 10.0, 10.0]
    assert torch.allclose(legacy_bilinear_matrix(28, 299).sum(1), torch.ones(299, dtype=torch.float64))
    batch = torch.rand(2, 3, 8, 8)
    assert tf_legacy_resize(batch, (8, 8)).equal(batch)  # same size: the identity, exactly
    assert tf_legacy_resize(batch, (5, 6)).shape == (2, 3, 5, 6)


def test_differs_from_pytorch_fid_resize():
    """The point of the option: F.interpolate's half-pixel grid is another resize (here by several grey levels)."""
    image = torch.from_numpy(np.random.default_rng(1).uniform(0, 255, size=(1, 1, 28, 28)))
    gap = (tf_legacy_resize(image, (299, 299)) - F.interpolate(image, size=299, mode="bilinear")).abs().max()
    assert gap > 1


def test_stays_exact_under_bf16_autocast():
    image = torch.rand(1, 1, 28, 28) * 255
    plain = tf_legacy_resize(image, (299, 299))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        autocast = tf_legacy_resize(image, (299, 299))
    assert autocast.dtype == torch.float32 and autocast.equal(plain)
