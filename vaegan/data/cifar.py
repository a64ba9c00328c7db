"""CIFAR-10 from its "python version" pickle batches (https://www.cs.toronto.edu/~kriz/cifar.html).

root may be the folder holding cifar-10-batches-py/ or that folder itself; without a root the default download
folder is searched; torchvision downloads it when download=True (vaegan/data/download.py).
train = data_batch_1..5, test = test_batch.
"""

from __future__ import annotations

import pickle
from functools import partial
from pathlib import Path

import numpy as np
import torch

from vaegan.data.download import find_or_download
from vaegan.data.errors import DatasetFormatError, DatasetNotFoundError
from vaegan.data.image_dataset import ImageDataset

_FOLDER = "cifar-10-batches-py"
_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")  # label order


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and builtins only: a batch file cannot run arbitrary code when loaded."""

    def find_class(self, module: str, name: str):
        numpy_part = module.split(".")[0] == "numpy" and name in {"_reconstruct", "ndarray", "dtype", "scalar"}
        # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1")
        if numpy_part or (module, name) == ("_codecs", "encode"):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a CIFAR batch")


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """-> (uint8 (n, 3, 32, 32), int64 (n,)) from one pickled batch (Python 2 pickle: bytes keys)."""
    try:
        with path.open("rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DatasetFormatError(f"{path}: not a readable CIFAR-10 pickle batch ({err})") from err
    if not isinstance(batch, dict):
        raise DatasetFormatError(f"{path}: expected a pickled dict, found {type(batch).__name__}")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or labels is None:
        raise DatasetFormatError(f"{path}: missing 'data' array or 'labels' list")
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetFormatError(f"{path}: 'data' must be uint8 (n, 3072), found {data.dtype} {data.shape}")
    if len(labels) != len(data):
        raise DatasetFormatError(f"{path}: {len(data)} images but {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)


def _search(place: Path) -> Path | None:
    """The batches folder: place/cifar-10-batches-py/ or place itself, or None."""
    for folder in (place / _FOLDER, place):
        if (folder / "data_batch_1").is_file() or (folder / "test_batch").is_file():
            return folder
    return None


def _fetch(split: str, target: Path) -> None:
    import torchvision.datasets  # imported here: only the download path needs it

    torchvision.datasets.CIFAR10(str(target), train=split == "train", download=True)


def load_cifar10(
    split: str, root: str | None, download: bool, image_size: int | None, limit: int | None, channels: int | None
) -> ImageDataset:
    """-> ImageDataset with images uint8 (N, 3, 32, 32) and labels int64 (N,) in 0..9."""
    folder = find_or_download(
        "cifar10", root, _search, f"{_FOLDER}/data_batch_1..5 and test_batch, from cifar-10-python.tar.gz",
        partial(_fetch, split), download,
    )
    parts = []
    for name in _BATCHES[split]:
        path = folder / name
        if not path.is_file():
            raise DatasetNotFoundError(f"{path} is missing; the CIFAR-10 folder {folder} is incomplete, extract it again")
        parts.append(_read_batch(path))
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    sources = tuple(str(folder / name) for name in _BATCHES[split])
    return ImageDataset(torch.from_numpy(images), torch.from_numpy(labels), "cifar10", split, sources)
