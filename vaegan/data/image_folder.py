"""The 'folder' dataset: any directory of images (png, jpg, jpeg, bmp, webp), decoded once and cached.

Splits: if root has both train/ and test/ subfolders, each split is its subfolder. Otherwise the image files
are sorted by relative path and every 10th one (positions 9, 19, 29, ...) is the test split, the rest train:
a deterministic 90/10 split that does not depend on a random seed.
Labels: if every image sits in a subfolder (of the split folder), the first subfolder name is its class and
labels index the sorted class names across both splits; otherwise labels are None.
Images are centre-cropped to a square and resized to image_size (default 64). Both splits get one channel count:
the one asked for, else grayscale (1 channel) only if every file of the folder is grayscale, else RGB.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vaegan.data.cache import cached_decode
from vaegan.data.decode import IMAGE_EXTENSIONS, centre_square, decode_images, is_colour
from vaegan.data.errors import DatasetNotFoundError
from vaegan.data.image_dataset import SPLITS, ImageDataset

DEFAULT_IMAGE_SIZE = 64
_TEST_EVERY = 10


def _list_images(folder: Path) -> list[Path]:
    """Image files under folder, recursively, as paths relative to it, sorted; hidden entries skipped."""
    found = [
        path.relative_to(folder)
        for path in folder.rglob("*")
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file()
    ]
    return sorted(p for p in found if not any(part.startswith(".") for part in p.parts))


def _labels(relative: list[Path], classes: list[str] | None) -> torch.Tensor | None:
    if classes is None:
        return None
    index = {name: i for i, name in enumerate(classes)}
    return torch.tensor([index[p.parts[0]] for p in relative], dtype=torch.int64)


def _class_names(*listings: list[Path]) -> list[str] | None:
    """Sorted class folder names, or None unless every image is inside a subfolder."""
    every = [p for listing in listings for p in listing]
    if not every or any(len(p.parts) < 2 for p in every):
        return None
    return sorted({p.parts[0] for p in every})


def folder_class_names(root: str | Path) -> list[str] | None:
    """The class names that load_image_folder's labels index (sorted subfolder names, over both splits of a
    train/ + test/ layout), or None when the folder's images are not all in class subfolders."""
    base = Path(root).expanduser()
    if (base / "train").is_dir() and (base / "test").is_dir():
        return _class_names(*(_list_images(base / name) for name in SPLITS))
    return _class_names(_list_images(base))


def load_image_folder(
    split: str, root: str | None, download: bool, image_size: int | None, limit: int | None, channels: int | None
) -> ImageDataset:
    """-> ImageDataset with images uint8 (N, channels, image_size, image_size).

    channels: 1 or 3; None decides once for the whole folder, so that both splits agree: 3 if any file of either
    split is colour, else 1. That look reads file headers only and stops at the first colour file.
    """
    if root is None:
        raise ValueError("dataset 'folder' needs root=<directory of images> (--data-root on the command line)")
    if download:
        raise ValueError("dataset 'folder' reads local images only; download is not possible")
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DatasetNotFoundError(f"image folder {base} does not exist; pass an existing directory of images as root")
    size = image_size or DEFAULT_IMAGE_SIZE
    kinds = ", ".join(IMAGE_EXTENSIONS)
    if (base / "train").is_dir() and (base / "test").is_dir():
        listings = {name: _list_images(base / name) for name in SPLITS}
        classes = _class_names(*listings.values())
        folder, relative = base / split, listings[split]
        counts = ", ".join(f"{name}/ {len(listing)}" for name, listing in listings.items())
        if not relative:
            raise DatasetNotFoundError(
                f"image folder {base}: {split}/ holds no images ({counts}); put files ending in {kinds} into {folder}"
            )
        # this split's files first: in a colour folder the look for colour ends at the first file
        every = [folder / p for p in relative] + [base / n / p for n in SPLITS if n != split for p in listings[n]]
    else:
        listing = _list_images(base)
        if not listing:
            raise DatasetNotFoundError(
                f"image folder {base} holds no images; expected files ending in {kinds}, "
                "either directly, in class subfolders, or under train/ and test/"
            )
        classes = _class_names(listing)
        is_test = split == "test"
        folder = base
        relative = [p for i, p in enumerate(listing) if (i % _TEST_EVERY == _TEST_EVERY - 1) == is_test]
        if not relative:
            raise DatasetNotFoundError(
                f"image folder {base} has {len(listing)} images, too few to hold out a test split (every "
                f"{_TEST_EVERY}th file in sorted order); add images to reach {_TEST_EVERY} or more, or make train/ "
                "and test/ subfolders"
            )
        every = [base / p for p in listing]
    relative = relative[:limit]
    paths = [folder / p for p in relative]
    channels = channels or (3 if any(is_colour(p) for p in every) else 1)
    settings = {"split": split, "image_size": size, "crop": "centre_square"}
    images = cached_decode(
        "folder", settings, channels, folder, paths, lambda: decode_images(paths, size, channels, centre_square)
    )
    return ImageDataset(
        images=images, labels=_labels(relative, classes), name="folder", split=split, sources=(str(folder),)
    )
