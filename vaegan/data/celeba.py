"""CelebA, aligned version, at the 64x64 framing of Larsen et al. (2016).

Expected layout (also torchvision's, under <root>/celeba/):
    <root>/img_align_celeba/000001.jpg ...   the 178x218 aligned images
    <root>/list_eval_partition.txt            lines "000001.jpg 0"; 0 = train, 1 = valid, 2 = test
train = partition 0, test = partition 2 (the validation partition is not used).
Framing: the centre 108x108 pixels of each 178x218 image (left 35, top 55), resized to image_size (default 64)
with an antialiased bilinear filter. This keeps the face from brow to chin, as in the paper's samples.
"""

from __future__ import annotations

from pathlib import Path

from vaegan.data.cache import cached_decode
from vaegan.data.decode import decode_images
from vaegan.data.download import find_or_download
from vaegan.data.errors import DatasetFormatError
from vaegan.data.image_dataset import ImageDataset

DEFAULT_IMAGE_SIZE = 64
CROP = 108
_PARTITION = {"train": 0, "test": 2}
_IMAGES, _LIST = "img_align_celeba", "list_eval_partition.txt"


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
