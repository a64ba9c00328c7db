"""FID Inception: features and FID equal to pytorch-fid's on the same weights file; weight resolution and errors.

Both networks load one seeded random weights file from a temporary torch hub cache, exactly as
pytorch-fid finds the official file: nothing is downloaded, and the comparison covers every layer.
"""

import hashlib
import warnings

import numpy as np
import pytest
import torch

from metrics.frechet import feature_statistics, frechet_distance
from metrics.image_io import InputError
from metrics.stats import FeatureStats, StaleStatisticsError, cached_statistics
from metrics.inception import (FID_WEIGHTS_FILENAME, FID_WEIGHTS_URL, InceptionExtractor, InceptionWeightsError,
                               InceptionWeightsNotFound, random_fid_state_dict)
from vaegan.data import load_dataset

pytest.importorskip("pytorch_fid", reason="pytorch-fid (a dev dependency) is the reference implementation")
from pytorch_fid.fid_score import calculate_frechet_distance  # noqa: E402
from pytorch_fid.inception import InceptionV3  # noqa: E402


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
        # An empty cache of TF's weights, which would otherwise come first (see metrics.inception.resolve_weights).
        mp.setenv("VAEGAN_CACHE_DIR", str(torch_home / "vaegan"))
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
    monkeypatch.setenv("VAEGAN_CACHE_DIR", str(tmp_path / "vaegan"))
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


def relative_errors(features: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per image: ||features - reference|| / ||reference||, (N,)."""
    return np.linalg.norm(features - reference, axis=1) / np.linalg.norm(reference, axis=1)


def test_bf16_features_are_close_to_fp32_but_not_equal(hub_weights, gray28):
    """Measured at pool3 on random weights: 0.4-0.5% per image here; over 1000 test images 0.47% on average and
    1.7% at worst (3% for blurred ones), while fp32 rounding alone moves features by ~1e-6. The lower bound shows
    that autocast did act."""
    batch = gray28[:3]
    errors = relative_errors(ours(2048, precision="bf16").features(batch), ours(2048).features(batch))
    assert np.all(errors > 1e-4) and np.all(errors < 5e-2)


def test_precision_is_named_in_the_id_and_stops_statistics_from_mixing(hub_weights, tmp_path):
    sha8 = hashlib.sha256(hub_weights.read_bytes()).hexdigest()[:8]
    fp32, bf16 = ours(2048), ours(2048, precision="bf16")
    assert (fp32.id, bf16.id) == (f"inception-pool3-2048@{sha8}", f"inception-pool3-2048-bf16@{sha8}")
    cache = tmp_path / "reference.npz"
    FeatureStats(np.zeros(2048), np.eye(2048), 10, fp32.id, "fmnist").save(cache)
    with pytest.raises(StaleStatisticsError, match="-bf16@"):
        cached_statistics(cache, bf16, "fmnist", lambda: pytest.fail("a mismatched cache must not be recomputed"))
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):
        ours(2048, precision="fp16")
