"""The metrics on real Fashion-MNIST with the bundled domain extractor: FID, KID and sharpness rank
held-out data, another class and increasingly blurred data the way they should."""

import kornia
import numpy as np
import pytest
import torch

from metrics.domain import DomainExtractor
from metrics.frechet import feature_statistics, frechet_distance
from metrics.kid import kernel_inception_distance
from metrics.sharpness import sharpness_ratios
from vaegan.data import load_dataset

N = 2000
SIGMAS = (0.5, 1.0, 1.5)


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> the same, Gaussian-blurred (kernel 9x9 covers +-2.7 sigma at sigma 1.5)."""
    blurred = kornia.filters.gaussian_blur2d(images.float(), (9, 9), (sigma, sigma), border_type="reflect")
    return blurred.round().clamp(0, 255).to(torch.uint8)


@pytest.fixture(scope="module")
def data():
    train = load_dataset("fashion_mnist", split="train")
    return {
        "reference": train.images[:N],  # a train subset: all classes
        "test": load_dataset("fashion_mnist", split="test", limit=N).images,
        "one_class": train.images[train.labels == 0][:N // 2],  # T-shirts only
    }


@pytest.fixture(scope="module")
def scores(data):
    """FID and KID of each image set against the reference train subset, domain features."""
    extractor = DomainExtractor()
    reference = extractor.features(data["reference"])
    reference_stats = feature_statistics(reference)
    sets = {"test": data["test"], "one_class": data["one_class"]}
    sets.update({f"blur{s}": blur(data["test"], s) for s in SIGMAS})
    out = {}
    for name, images in sets.items():
        features = extractor.features(images)
        kid, _ = kernel_inception_distance(features, reference, num_subsets=20, subset_size=500)
        out[name] = {"fid": frechet_distance(*feature_statistics(features), *reference_stats), "kid": kid}
    return out


def test_held_out_data_is_close_and_a_single_class_is_far(scores):
    assert scores["one_class"]["fid"] > 20 * scores["test"]["fid"]
    assert scores["one_class"]["kid"] > 20 * abs(scores["test"]["kid"])  # unbiased KID can dip below 0


def test_fid_and_kid_grow_with_blur(scores):
    fids = [scores[name]["fid"] for name in ["test"] + [f"blur{s}" for s in SIGMAS]]
    kids = [scores[name]["kid"] for name in ["test"] + [f"blur{s}" for s in SIGMAS]]
    assert all(a < b for a, b in zip(fids, fids[1:])), fids
    # KID ranks the sets the same way FID does.
    assert np.argsort(kids).tolist() == np.argsort(fids).tolist(), (kids, fids)


def test_sharpness_ratios_fall_with_blur(data):
    ratios = [sharpness_ratios(data["test"], data["reference"])]
    ratios += [sharpness_ratios(blur(data["test"], s), data["reference"]) for s in SIGMAS]
    for key in ("laplacian_ratio", "high_freq_ratio"):
        values = [r[key] for r in ratios]
        assert abs(values[0] - 1) < 0.1, values  # held-out real data is as sharp as the reference
        assert all(a > b for a, b in zip(values, values[1:])), (key, values)
