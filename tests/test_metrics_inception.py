"""FID Inception: features and FID equal to pytorch-fid's on the same weights file; weight resolution and errors.

Both networks load one seeded random weights file from a temporary torch hub cache, exactly as
pytorch-fid finds the official file: nothing is downloaded, and the comparison covers every layer.
"""

import hashlib
import warnings

import numpy as np
import pytest
import torch
import torchvision

from metrics.frechet import feature_statistics, frechet_distance
from metrics.image_io import InputError
from metrics.inception import (FID_WEIGHTS_FILENAME, FID_WEIGHTS_URL, InceptionExtractor, InceptionWeightsError,
                               InceptionWeightsNotFound)
from vaegan.data import load_dataset

pytest.importorskip("pytorch_fid", reason="pytorch-fid (a dev dependency) is the reference implementation")
from pytorch_fid.fid_score import calculate_frechet_distance  # noqa: E402
from pytorch_fid.inception import InceptionV3  # noqa: E402


def random_fid_state_dict(seed: int, calibration: torch.Tensor) -> dict:
    """A state dict with the FID Inception's keys and shapes (torchvision's Inception3 with 1008 classes and
    no aux head has the same ones), filled so activations stay O(1) through all layers.

    calibration: (B, 3, 299, 299) float32 in [-1, 1]. The BatchNorm statistics of the three stem layers are
    measured on it: with made-up statistics some stem units are negative on every image (dead), which
    would leave the covariance of the 64-d block-0 features singular and its FID ill-defined."""
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    g = torch.Generator().manual_seed(seed)
    for key, value in net.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        if key.endswith("conv.weight") or key == "fc.weight":
            value.copy_(torch.randn(value.shape, generator=g) * (2 / value[0].numel()) ** 0.5)
        elif key.endswith(("running_var", "bn.weight")):
            value.copy_(0.5 + torch.rand(value.shape, generator=g))
        else:  # BN bias and running mean, fc bias
            value.copy_(0.1 * torch.randn(value.shape, generator=g))
    stem = torch.nn.Sequential(net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3)
    for layer in stem:
        layer.bn.reset_running_stats()
        layer.bn.momentum = None  # cumulative average: the statistics of exactly this batch
    with torch.no_grad():
        stem.train()(calibration)
    return net.state_dict()


N_FID = 72  # images per side of the FID comparison: above the 64 feature dims, so covariances are full rank


@pytest.fixture(scope="module")
def gray28():
    """Real Fashion-MNIST test images, uint8 (N_FID + 4, 1, 28, 28); the last 4 calibrate the weights."""
    return load_dataset("fashion_mnist", split="test", limit=N_FID + 4).images


@pytest.fixture(scope="module")
def rgb32():
    """Smooth colour blobs plus noise, uint8 (N_FID + 4, 3, 32, 32): structure at several scales."""
    g = torch.Generator().manual_seed(1)
    n = N_FID + 4
    smooth = torch.nn.functional.interpolate(torch.rand(n, 3, 4, 4, generator=g), size=32, mode="bicubic")
    return ((smooth + 0.15 * torch.randn(n, 3, 32, 32, generator=g)).clamp(0, 1) * 255).round().to(torch.uint8)


@pytest.fixture(scope="module")
def hub_weights(tmp_path_factory, gray28, rgb32):
    """Random FID Inception weights in a temporary TORCH_HOME's hub cache, under the official file name."""
    calibration = torch.cat([torch.nn.functional.interpolate(x[-4:].float().expand(-1, 3, -1, -1), size=299,
                                                             mode="bilinear") for x in (gray28, rgb32)]) / 127.5 - 1
    torch_home = tmp_path_factory.mktemp("torch_home")
    path = torch_home / "hub" / "checkpoints" / FID_WEIGHTS_FILENAME
    path.parent.mkdir(parents=True)
    torch.save(random_fid_state_dict(0, calibration), path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(torch_home))
        yield path


def ours(dims: int, **options) -> InceptionExtractor:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not the official.*")
        return InceptionExtractor(dims=dims, **options)


def reference_features(net: InceptionV3, images: torch.Tensor) -> list[np.ndarray]:
    """pytorch-fid's features per requested block for uint8 images: floats in [0, 1] with 3 channels (what
    its ToTensor and RGB conversion give), spatial maps averaged as its fid_score does."""
    x = images.float() / 255
    x = x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else x
    with torch.no_grad():
        return [torch.nn.functional.adaptive_avg_pool2d(out, 1).flatten(1).double().numpy() for out in net(x)]


def assert_same_features(features: np.ndarray, reference: np.ndarray) -> None:
    assert features.shape == reference.shape and features.dtype == np.float64
    # A degenerate network (all zeros) would agree trivially; these features vary across images.
    assert features.std(axis=0).mean() > 1e-2
    assert np.abs(features - reference).max() < 1e-4


def test_grayscale_features_match_pytorch_fid_at_every_block(hub_weights, gray28):
    batch = gray28[:2]
    reference = reference_features(InceptionV3([0, 1, 2, 3]).eval(), batch)
    for block, dims in enumerate((64, 192, 768, 2048)):
        assert_same_features(ours(dims).features(batch, batch_size=1), reference[block])


def test_rgb_pool3_features_match_pytorch_fid(hub_weights, rgb32):
    batch = rgb32[:3]
    assert_same_features(ours(2048).features(batch), reference_features(InceptionV3([3]).eval(), batch)[0])


def test_fid_matches_pytorch_fid(hub_weights, gray28, rgb32):
    """pytorch-fid's FID (its features, its sqrtm formula) equals ours (our features, metrics.frechet) between
    N_FID grayscale and N_FID RGB images, at 64 dims, where N_FID > D keeps the covariances full rank.

    A pair with a clear distance on purpose: for two samples of one distribution the FID is ~1e-3 of the traces
    it is the difference of, and pytorch-fid's sqrtm round-off alone then exceeds the 1e-4 tolerance."""
    theirs, ours64 = InceptionV3([0]).eval(), ours(64)
    gray, rgb = gray28[:N_FID], rgb32[:N_FID]
    expected = calculate_frechet_distance(*feature_statistics(reference_features(theirs, gray)[0]),
                                          *feature_statistics(reference_features(theirs, rgb)[0]))
    fid = frechet_distance(*feature_statistics(ours64.features(gray)), *feature_statistics(ours64.features(rgb)))
    assert expected > 1
    assert abs(fid - expected) / expected < 1e-4


def test_id_and_hash_name_the_loaded_file(hub_weights):
    with pytest.warns(UserWarning, match="not the official"):
        extractor = InceptionExtractor()
    sha = hashlib.sha256(hub_weights.read_bytes()).hexdigest()
    assert extractor.weights_sha256 == sha
    assert extractor.id == f"inception-pool3-2048@{sha[:8]}"
    assert extractor.feature_dim == 2048 and extractor.name == "inception"
    assert ours(64, weights_path=hub_weights).id == f"inception-pool1-64@{sha[:8]}"


def test_missing_weights_error_says_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(InceptionWeightsNotFound) as info:
        InceptionExtractor()
    message = str(info.value)
    assert FID_WEIGHTS_URL in message and "--inception-weights" in message
    assert str(tmp_path / "hub" / "checkpoints" / FID_WEIGHTS_FILENAME) in message
    with pytest.raises(FileNotFoundError, match="does not exist"):
        InceptionExtractor(weights_path=tmp_path / "nope.pth")


def test_wrong_state_dict_is_refused(tmp_path):
    state = random_fid_state_dict(1, torch.zeros(2, 3, 299, 299))
    del state["Mixed_7c.branch_pool.conv.weight"]
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.raises(InceptionWeightsError, match="Mixed_7c.branch_pool.conv.weight"):
        ours(2048, weights_path=path)


def test_bad_options_and_images_are_refused(hub_weights):
    with pytest.raises(ValueError, match="dims must be one of"):
        InceptionExtractor(dims=1000)
    extractor = ours(64)
    with pytest.raises(InputError, match="uint8"):
        extractor.features(torch.rand(2, 3, 32, 32))
    with pytest.raises(InputError, match="shape"):
        extractor.features(torch.zeros(2, 2, 32, 32, dtype=torch.uint8))
