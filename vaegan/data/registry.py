"""The dataset registry and `load_dataset`, the one way to get any dataset by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from vaegan.data.celeba import load_celeba
from vaegan.data.cifar import load_cifar10
from vaegan.data.image_dataset import SPLITS, ImageDataset
from vaegan.data.image_folder import load_image_folder
from vaegan.data.mnist import load_idx_dataset
from vaegan.data.resize import resize_images

# A loader takes (split, root, download, image_size, limit, channels). Loaders that decode files one by one use
# image_size and limit to avoid wasted work, and convert to `channels`; load_dataset enforces size and limit
# afterwards for every loader, and checks the channels.
Loader = Callable[[str, str | None, bool, int | None, int | None, int | None], ImageDataset]
CHANNELS = (1, 3)

DATASETS: dict[str, Loader] = {
    "fashion_mnist": partial(load_idx_dataset, "fashion_mnist"),
    "mnist": partial(load_idx_dataset, "mnist"),
    "cifar10": load_cifar10,
    "celeba": load_celeba,
    "folder": load_image_folder,
}


def load_dataset(
    name: str,
    split: str = "train",
    root: str | None = None,
    download: bool = False,
    image_size: int | None = None,
    limit: int | None = None,
    channels: int | None = None,
) -> ImageDataset:
    """Load one split of a registered dataset into memory.

    name: a key of DATASETS. split: "train" or "test". root: the only folder searched when given (an error if the
    files are not there); None: the dataset's standard places (see each loader).
    download: fetch with torchvision when the files are not found (where supported).
    image_size: resize to image_size x image_size (antialiased, centre crop to square first); None keeps the
        native size, except 'celeba' and 'folder' which default to 64.
    limit: keep only the first `limit` images (quick runs and tests).
    channels: convert every image to 1 (grayscale) or 3 (RGB) channels; 'folder' and 'celeba' only, as the others
        come in one channel count. None: 'folder' picks one for the whole folder, the others keep theirs.
    Returns ImageDataset with images uint8 (N, C, image_size, image_size).
    Raises ValueError on bad arguments, DatasetNotFoundError / DatasetFormatError on missing / bad files.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if image_size is not None and image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive integer, got {limit}")
    if channels is not None and channels not in CHANNELS:
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels}")
    dataset = DATASETS[name](split, root, download, image_size, limit, channels)
    if channels is not None and dataset.channels != channels:
        raise ValueError(f"{name} images have {dataset.channels} channel(s) and cannot be converted to {channels}; "
                         "leave out --channels (channels=None in Python)")
    images, labels = dataset.images, dataset.labels
    if limit is not None and len(dataset) > limit:
        # clone: a slice would keep the full split's storage alive
        images = images[:limit].clone()
        labels = None if labels is None else labels[:limit].clone()
    if image_size is not None and images.shape[2] != image_size:
        images = resize_images(images, image_size)
    if images is dataset.images:
        return dataset
    return ImageDataset(images=images, labels=labels, name=dataset.name, split=dataset.split, sources=dataset.sources)
