"""CIFAR-10 from pickle batches written the way the official "python version" archive stores them."""

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets

from vaegan.data import DatasetFormatError, DatasetNotFoundError, load_dataset


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("VAEGAN_DATA_ROOT", str(tmp_path / "downloads"))


def write_batch(path: Path, n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    """One batch as the archive has it: a protocol-2 pickle of a dict with bytes keys, data uint8 (n, 3072)."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, n).tolist()
    batch = {b"batch_label": b"batch", b"labels": labels, b"data": data, b"filenames": [b"x.png"] * n}
    path.parent.mkdir(parents=True, exist_ok=True)
    # the archive was pickled by Python 2 with NumPy 1, whose arrays name numpy.core, not numpy._core
    path.write_bytes(pickle.dumps(batch, protocol=2).replace(b"numpy._core.", b"numpy.core."))
    return data, labels


def write_cifar(root: Path, n: int = 4) -> dict:
    folder = root / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {name: write_batch(folder / name, n, seed) for seed, name in enumerate(names)}


@pytest.mark.parametrize("point_at", ["parent", "batches_folder"])
def test_reads_train_and_test_batches(tmp_path, point_at):
    written = write_cifar(tmp_path)
    root = tmp_path if point_at == "parent" else tmp_path / "cifar-10-batches-py"
    train = load_dataset("cifar10", "train", root=str(root))
    test = load_dataset("cifar10", "test", root=str(root))
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (4, 3, 32, 32)
    expected = np.concatenate([written[f"data_batch_{i}"][0] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    assert torch.equal(train.images, torch.from_numpy(expected))
    assert test.labels.tolist() == written["test_batch"][1] and test.labels.dtype == torch.int64
    # channel-major rows: the first 1024 bytes of a row are the red plane
    assert torch.equal(test.images[0, 0].flatten(), torch.from_numpy(written["test_batch"][0][0, :1024]))


def test_resize_and_limit(tmp_path):
    write_cifar(tmp_path)
    ds = load_dataset("cifar10", "train", root=str(tmp_path), image_size=16, limit=3)
    assert ds.images.shape == (3, 3, 16, 16) and ds.labels.shape == (3,)


def test_missing_cifar_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("cifar10", root=str(tmp_path / "none"))
    assert "--download" in str(err.value) and "data_batch_1" in str(err.value) and str(tmp_path / "none") in str(err.value)


def test_missing_batch_is_named(tmp_path):
    write_cifar(tmp_path)
    os.remove(tmp_path / "cifar-10-batches-py" / "data_batch_3")
    with pytest.raises(DatasetNotFoundError, match="data_batch_3"):
        load_dataset("cifar10", root=str(tmp_path))


def test_corrupt_batch_is_named(tmp_path):
    write_cifar(tmp_path)
    bad = tmp_path / "cifar-10-batches-py" / "test_batch"
    bad.write_bytes(bad.read_bytes()[:500])
    with pytest.raises(DatasetFormatError, match="test_batch"):
        load_dataset("cifar10", "test", root=str(tmp_path))


def test_batch_with_code_in_it_is_refused_not_run(tmp_path):
    write_cifar(tmp_path)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps({b"data": Payload()}, protocol=2))
    with pytest.raises(DatasetFormatError, match="test_batch"):
        load_dataset("cifar10", "test", root=str(tmp_path))
    assert not marker.exists()


def test_download_goes_through_torchvision(tmp_path, monkeypatch):
    calls = []

    def fake_cifar(root, train, download):
        calls.append((root, train))
        write_cifar(Path(root), n=2)

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", fake_cifar)
    ds = load_dataset("cifar10", "train", root=str(tmp_path / "dl"), download=True)
    assert calls == [(str(tmp_path / "dl"), True)] and ds.images.shape == (10, 3, 32, 32)


def test_an_explicit_root_without_the_batches_is_an_error_even_when_a_download_exists(tmp_path):
    write_cifar(tmp_path / "downloads")
    found = load_dataset("cifar10", "test")
    assert found.sources == (str(tmp_path / "downloads" / "cifar-10-batches-py" / "test_batch"),)
    with pytest.raises(DatasetNotFoundError, match=f"not found in --data-root {tmp_path / 'empty'}"):
        load_dataset("cifar10", "test", root=str(tmp_path / "empty"))
