"""The 'folder' dataset: any directory of images (png, jpg, jpeg, bmp, webp), decoded once and cached.

Splits: if root has both train/ and test/ subfolders, each split is its subfolder. Otherwise the image files
are sorted by relative path and every 10th one (positions 9, 19, 29, ...) is the test split, the rest train:
a deterministic 90/10 split that does not depend on a random seed.
Labels: if every image sits in a subfolder (of the split folder), the first subfolder name is its class and
labels index the sorted class names across both splits; otherwise labels are None.
Images are centre-cropped to a square and resized to image_size (default 64); all of them are kept
grayscale (1 channel) only if every file is grayscale, else all become RGB.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vaegan.data.cache import cached_decode
from vaegan.data.dataset import ImageDataset
from vaegan.data.decode import IMAGE_EXTENSIONS, centre_square, decode_images
from vaegan.data.errors import DatasetNotFoundError

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


def load_image_folder(
    split: str, root: str | None, download: bool, image_size: int | None, limit: int | None
) -> ImageDataset:
    """-> ImageDataset with images uint8 (N, 1 or 3, image_size, image_size)."""
    if root is None:
        raise ValueError("dataset 'folder' needs root=<directory of images> (--data-root on the command line)")
    if download:
        raise ValueError("dataset 'folder' reads local images only; download is not possible")
    base = Path(root).expanduser()
    if not base.is_dir():
        raise DatasetNotFoundError(f"image folder {base} does not exist; pass an existing directory of images as root")
    size = image_size or DEFAULT_IMAGE_SIZE
    if (base / "train").is_dir() and (base / "test").is_dir():
        listings = {name: _list_images(base / name) for name in ("train", "test")}
        classes = _class_names(listings["train"], listings["test"])
        folder, relative = base / split, listings[split]
        how = f"the {split}/ subfolder"
    else:
        every = _list_images(base)
        classes = _class_names(every)
        is_test = split == "test"
        folder = base
        relative = [p for i, p in enumerate(every) if (i % _TEST_EVERY == _TEST_EVERY - 1) == is_test]
        how = "the 90/10 split of its files"
    if not relative:
        kinds = ", ".join(IMAGE_EXTENSIONS)
        raise DatasetNotFoundError(
            f"no images for split {split!r} in {base} ({how}); expected files ending in {kinds}, "
            "either directly, in class subfolders, or under train/ and test/"
        )
    relative = relative[:limit]
    paths = [folder / p for p in relative]
    settings = {"split": split, "image_size": size, "crop": "centre_square"}
    images = cached_decode("folder", settings, folder, paths, lambda: decode_images(paths, size, centre_square))
    return ImageDataset(images=images, labels=_labels(relative, classes), name="folder", split=split)
