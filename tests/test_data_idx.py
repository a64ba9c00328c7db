"""MNIST / Fashion-MNIST: IDX files raw and gzipped, both layouts, download, errors, the real data."""

import dataclasses
import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets
from PIL import Image

from vaegan.data import DATASETS, DatasetFormatError, DatasetNotFoundError, load_dataset
from vaegan.data import mnist
from vaegan.data.resize import resize_images

REAL_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No real system folder or earlier download may satisfy a lookup meant to use the test's files."""
    monkeypatch.setenv("VAEGAN_DATA_ROOT", str(tmp_path / "downloads"))
    monkeypatch.setenv("VAEGAN_CACHE_DIR", str(tmp_path / "cache"))  # nor the cached MNIST subset (mnist_subset.py)
    for name, spec in mnist.SPECS.items():
        monkeypatch.setitem(mnist.SPECS, name, dataclasses.replace(spec, system_dirs=(tmp_path / "no-system",)))


def write_idx(path: Path, array: np.ndarray, gz: bool) -> Path:
    data = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    if gz:
        path, data = path.with_name(path.name + ".gz"), gzip.compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_split(folder: Path, split: str, n: int, gz: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    prefix = "train" if split == "train" else "t10k"
    write_idx(folder / f"{prefix}-images-idx3-ubyte", images, gz)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, gz)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("layout", ["", "FashionMNIST/raw"])
def test_reads_idx_files_raw_or_gzipped_in_either_layout(tmp_path, gz, layout):
    images, labels = make_split(tmp_path / "data" / layout, "test", 12, gz)
    ds = load_dataset("fashion_mnist", "test", root=str(tmp_path / "data"))
    assert ds.images.shape == (12, 1, 28, 28) and ds.images.dtype == torch.uint8
    assert torch.equal(ds.images[:, 0], torch.from_numpy(images))
    assert ds.labels.dtype == torch.int64 and ds.labels.tolist() == labels.tolist()
    assert (ds.name, ds.split, ds.channels, ds.image_size, len(ds)) == ("fashion_mnist", "test", 1, 28, 12)


def test_mnist_uses_its_own_torchvision_layout(tmp_path):
    images, _ = make_split(tmp_path / "MNIST" / "raw", "train", 5, gz=True)
    ds = load_dataset("mnist", "train", root=str(tmp_path))
    assert ds.name == "mnist" and torch.equal(ds.images[:, 0], torch.from_numpy(images))


def test_system_folder_is_searched_only_without_an_explicit_root(tmp_path, monkeypatch):
    make_split(tmp_path / "system", "train", 4, gz=True)
    spec = dataclasses.replace(mnist.SPECS["fashion_mnist"], system_dirs=(tmp_path / "system",))
    monkeypatch.setitem(mnist.SPECS, "fashion_mnist", spec)
    found = load_dataset("fashion_mnist", "train")
    read = tuple(str(tmp_path / "system" / f"{name}.gz") for name in mnist._FILES["train"])
    assert len(found) == 4 and found.sources == read
    with pytest.raises(DatasetNotFoundError) as err:  # an explicit root that lacks the files is never skipped
        load_dataset("fashion_mnist", "train", root=str(tmp_path / "nonexistent"))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"fashion_mnist (train) not found in --data-root {tmp_path / 'nonexistent'}")
    assert "train-images-idx3-ubyte" in message and "--download" in message and "leave out --data-root" in message


def test_limit_and_resize(tmp_path):
    images, labels = make_split(tmp_path, "train", 20, gz=False)
    ds = load_dataset("fashion_mnist", root=str(tmp_path), limit=6, image_size=14)
    assert ds.images.shape == (6, 1, 14, 14) and ds.images.is_contiguous()
    assert ds.labels.tolist() == labels[:6].tolist()
    # antialiased bilinear is meant to match PIL's BILINEAR filter
    reference = np.stack([np.asarray(Image.fromarray(im).resize((14, 14), Image.Resampling.BILINEAR)) for im in images[:6]])
    assert np.abs(ds.images[:, 0].numpy().astype(int) - reference).max() <= 1


def test_resize_centre_crops_non_square_images():
    images = torch.zeros(1, 1, 4, 8, dtype=torch.uint8)
    images[..., 2:6] = 200  # the centre square
    assert torch.equal(resize_images(images, 4), torch.full((1, 1, 4, 4), 200, dtype=torch.uint8))


def test_identity_is_stable_and_tracks_the_pixels(tmp_path):
    make_split(tmp_path, "test", 10, gz=True)
    a = load_dataset("fashion_mnist", "test", root=str(tmp_path))
    b = load_dataset("fashion_mnist", "test", root=str(tmp_path))
    c = load_dataset("fashion_mnist", "test", root=str(tmp_path), limit=9)
    assert a.identity == b.identity and a.identity.startswith("fashion_mnist/test/28x28x1/n=10/")
    assert c.identity.startswith("fashion_mnist/test/28x28x1/n=9/") and c.identity.split("/")[-1] != a.identity.split("/")[-1]


def test_missing_dataset_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("fashion_mnist", "train", root=str(tmp_path / "nowhere"))
    message = str(err.value)
    for expected in ("--download", "train-images-idx3-ubyte", str(tmp_path / "nowhere")):
        assert expected in message
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("fashion_mnist", "train")
    for expected in ("sudo apt-get install dataset-fashion-mnist", "--download", str(tmp_path / "no-system")):
        assert expected in str(err.value)
    with pytest.raises(DatasetNotFoundError, match="--download") as err:
        load_dataset("mnist", "test")
    assert "apt-get" not in str(err.value) and "t10k-labels-idx1-ubyte" in str(err.value)


def test_download_goes_through_torchvision_then_our_reader(tmp_path, monkeypatch):
    calls = []

    def fake_fashion(root, train, download):
        calls.append((root, train, download))
        make_split(Path(root) / "FashionMNIST" / "raw", "test", 3, gz=True)

    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", fake_fashion)
    ds = load_dataset("fashion_mnist", "test", download=True)
    assert calls == [(str(tmp_path / "downloads"), False, True)] and len(ds) == 3
    load_dataset("fashion_mnist", "test")  # now found in the default download folder without downloading
    assert len(calls) == 1


def test_failed_download_is_a_not_found_error(monkeypatch):
    def offline(root, train, download):
        raise OSError("network unreachable")

    monkeypatch.setattr(torchvision.datasets, "MNIST", offline)
    with pytest.raises(DatasetNotFoundError, match="network unreachable"):
        load_dataset("mnist", download=True)


def _expect_format_error(root: Path, *fragments: str):
    with pytest.raises(DatasetFormatError) as err:
        load_dataset("fashion_mnist", "test", root=str(root))
    for fragment in fragments:
        assert fragment in str(err.value)


def test_bad_magic_names_the_file(tmp_path):
    make_split(tmp_path, "test", 4, gz=False)
    bad = tmp_path / "t10k-images-idx3-ubyte"
    bad.write_bytes(b"\x50\x4b\x03\x04" + bad.read_bytes()[4:])
    _expect_format_error(tmp_path, str(bad), "magic")


def test_truncated_file_names_the_file(tmp_path):
    make_split(tmp_path, "test", 4, gz=False)
    bad = tmp_path / "t10k-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:-100])
    _expect_format_error(tmp_path, str(bad), "truncated")


def test_truncated_gzip_names_the_file(tmp_path):
    make_split(tmp_path, "test", 4, gz=True)
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-10])
    _expect_format_error(tmp_path, str(bad), "gzip")


def test_label_count_mismatch_names_both_files(tmp_path):
    make_split(tmp_path, "test", 4, gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, np.uint8), gz=False)
    _expect_format_error(tmp_path, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "4 images", "5 labels")


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="cifar10.*fashion_mnist"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="split"):
        load_dataset("fashion_mnist", split="valid")
    with pytest.raises(ValueError, match="limit"):
        load_dataset("fashion_mnist", limit=0)
    assert set(DATASETS) == {"fashion_mnist", "mnist", "cifar10", "celeba", "folder"}


@pytest.mark.skipif(not REAL_FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_real_fashion_mnist(monkeypatch):
    spec = dataclasses.replace(mnist.SPECS["fashion_mnist"], system_dirs=(REAL_FASHION,))
    monkeypatch.setitem(mnist.SPECS, "fashion_mnist", spec)
    train = load_dataset("fashion_mnist", "train")
    test = load_dataset("fashion_mnist", "test")
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    for ds in (train, test):
        assert torch.equal(torch.bincount(ds.labels), torch.full((10,), len(ds) // 10))  # balanced classes 0..9
        assert ds.images.float().std() > 50  # real pictures, not a blank array
