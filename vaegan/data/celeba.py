"""CelebA, aligned version, at the 64x64 framing of Larsen et al. (2016).

Expected layout (also torchvision's, under <root>/celeba/):
    <root>/img_align_celeba/000001.jpg ...   the 178x218 aligned images
    <root>/list_eval_partition.txt            lines "000001.jpg 0"; 0 = train, 1 = valid, 2 = test
train = partition 0, test = partition 2 (the validation partition is not used).
Optional: <root>/list_attr_celeba.txt, the 40 binary attributes of every image (celeba_attributes reads it; the
images load without it).
Framing: the centre 108x108 pixels of each 178x218 image (left 35, top 55), resized to image_size (default 64)
with an antialiased bilinear filter. This keeps the face from brow to chin, as in the paper's samples.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vaegan.data.cache import cached_decode
from vaegan.data.decode import decode_images
from vaegan.data.download import find_or_download
from vaegan.data.errors import DatasetFormatError, DatasetNotFoundError
from vaegan.data.image_dataset import ImageDataset

DEFAULT_IMAGE_SIZE = 64
CROP = 108
_PARTITION = {"train": 0, "test": 2}
_IMAGES, _LIST = "img_align_celeba", "list_eval_partition.txt"
ATTRIBUTES = "list_attr_celeba.txt"


def larsen_crop(width: int, height: int) -> tuple[int, int, int, int]:
    """Centre CROP x CROP box of an aligned CelebA image (178x218 -> (35, 55, 143, 163))."""
    if width < CROP or height < CROP:
        raise ValueError(f"image is {width}x{height}, smaller than the {CROP}x{CROP} centre crop")
    left, top = (width - CROP) // 2, (height - CROP) // 2
    return left, top, left + CROP, top + CROP


def _read_partition(path: Path, split: str) -> list[str]:
    """File names of one split, in file order."""
    wanted, names = _PARTITION[split], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in {"0", "1", "2"}:
            raise DatasetFormatError(f"{path}, line {number}: expected '<file name> <0|1|2>', found {line!r}")
        if int(fields[1]) == wanted:
            names.append(fields[0])
    return names


def _search(place: Path) -> Path | None:
    """The folder holding img_align_celeba/ and the partition list: place or torchvision's place/celeba/, or None."""
    for folder in (place, place / "celeba"):
        if (folder / _IMAGES).is_dir() and (folder / _LIST).is_file():
            return folder
    return None


def _fetch(target: Path) -> None:
    import torchvision.datasets  # imported here: only the download path needs it

    torchvision.datasets.CelebA(str(target), split="all", download=True)


def load_celeba(
    split: str, root: str | None, download: bool, image_size: int | None, limit: int | None, channels: int | None
) -> ImageDataset:
    """-> ImageDataset with images uint8 (N, channels or 3, image_size, image_size) and no labels."""
    folder = find_or_download(
        "celeba", root, _search, f"{_IMAGES}/000001.jpg... and {_LIST}, directly or under celeba/", _fetch, download,
        other_ways=[f"download img_align_celeba.zip and {_LIST} from the CelebA site (torchvision's Google Drive "
                    "host often refuses) and unzip them into one folder"],
    )
    names = _read_partition(folder / _LIST, split)[:limit]
    if not names:
        raise DatasetFormatError(f"{folder / _LIST}: no images in partition {_PARTITION[split]} ({split})")
    size = image_size or DEFAULT_IMAGE_SIZE
    channels = channels or 3
    image_dir = folder / _IMAGES
    paths = [image_dir / name for name in names]
    settings = {"split": split, "image_size": size, "crop": f"larsen_centre_{CROP}"}
    images = cached_decode(
        "celeba", settings, channels, image_dir, paths, lambda: decode_images(paths, size, channels, larsen_crop)
    )
    sources = (str(image_dir), str(folder / _LIST))
    return ImageDataset(images=images, labels=None, name="celeba", split=split, sources=sources)


def read_attribute_list(path: Path) -> tuple[tuple[str, ...], dict[str, list[bool]]]:
    """list_attr_celeba.txt -> (the K attribute names, {file name: K booleans}), True where the file says 1 and
    False where it says -1. Layout: a line with the image count, a line with the K names, then one line per image,
    "000001.jpg -1  1 ... -1". DatasetFormatError (file and line) for anything else."""
    lines = path.read_text().splitlines()
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise DatasetFormatError(f"{path}, line 1: expected the number of images, found {lines[0] if lines else ''!r}")
    names = tuple(lines[1].split())
    if not names or len(set(names)) != len(names):
        raise DatasetFormatError(f"{path}, line 2: expected distinct attribute names, found {lines[1]!r}")
    rows: dict[str, list[bool]] = {}
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(names) + 1 or any(v not in ("1", "-1") for v in fields[1:]):
            raise DatasetFormatError(f"{path}, line {number}: expected '<file name>' and {len(names)} values of 1 or "
                                     f"-1, found {line!r}")
        rows[fields[0]] = [v == "1" for v in fields[1:]]
    if len(rows) != int(lines[0]):
        raise DatasetFormatError(f"{path}: line 1 says {int(lines[0])} images, the file lists {len(rows)}")
    return names, rows


def celeba_attributes(dataset: ImageDataset) -> tuple[tuple[str, ...], torch.Tensor]:
    """The attributes of a dataset load_dataset("celeba", ...) returned -> (K names, bool (N, K) per image), read
    from list_attr_celeba.txt beside its partition list. DatasetNotFoundError when that file is missing."""
    folder = Path(dataset.sources[1]).parent  # the partition list's folder, as load_celeba found it
    path = folder / ATTRIBUTES
    if not path.is_file():
        raise DatasetNotFoundError(f"CelebA attributes need {path} (list_attr_celeba.txt from the CelebA site, beside "
                                   f"{_LIST}); without it CelebA has no labels")
    names, rows = read_attribute_list(path)
    files = _read_partition(folder / _LIST, dataset.split)[: len(dataset)]  # load_celeba's images, in its order
    missing = [f for f in files if f not in rows]
    if missing:
        raise DatasetFormatError(f"{path} has no line for {len(missing)} image(s) of the {dataset.split} split, e.g. "
                                 f"{missing[0]}")
    return names, torch.tensor([rows[f] for f in files], dtype=torch.bool).reshape(len(files), len(names))
