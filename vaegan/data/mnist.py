"""MNIST and Fashion-MNIST: locate the four IDX files, read them, check that they agree.

Search order for a split: `root` (files directly in it, or torchvision's layout root/<Folder>/raw/), the
Debian package folder (Fashion-MNIST only; Debian ships no MNIST package), the default download folder, and
finally torchvision's downloader when download=True. Each file may be gzipped (name + ".gz") or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from vaegan.data.dataset import ImageDataset
from vaegan.data.errors import DatasetFormatError, DatasetNotFoundError
from vaegan.data.idx import read_idx
from vaegan.data.locations import download_root

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
    """

    name: str
    torchvision_class: str
    system_dirs: tuple[Path, ...]
    apt_package: str | None


SPECS = {
    "fashion_mnist": MnistSpec(
        "fashion_mnist", "FashionMNIST", (Path("/usr/share/datasets/fashion-mnist"),), "dataset-fashion-mnist"
    ),
    "mnist": MnistSpec("mnist", "MNIST", (), None),
}


def _find_file(folder: Path, base: str) -> Path | None:
    for candidate in (folder / base, folder / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _candidate_dirs(spec: MnistSpec, root: Path | None) -> list[Path]:
    dirs = [] if root is None else [root, root / spec.torchvision_class / "raw"]
    return [*dirs, *spec.system_dirs, download_root() / spec.torchvision_class / "raw"]


def _locate(dirs: list[Path], split: str) -> tuple[Path, Path] | None:
    for folder in dirs:
        found = [_find_file(folder, base) for base in _FILES[split]]
        if all(found):
            return found[0], found[1]
    return None


def _download(spec: MnistSpec, root: Path | None, split: str) -> Path:
    """Fetch with torchvision; return the folder holding the raw IDX files."""
    import torchvision.datasets  # imported here: only the download path needs it

    target = root if root is not None else download_root()
    try:
        getattr(torchvision.datasets, spec.torchvision_class)(str(target), train=split == "train", download=True)
    except Exception as err:  # network and server errors come in many types; all mean "not downloaded"
        raise DatasetNotFoundError(f"downloading {spec.name} into {target} failed: {err}") from err
    return target / spec.torchvision_class / "raw"


def _not_found_message(spec: MnistSpec, split: str, dirs: list[Path]) -> str:
    names = ", ".join(f"{base}[.gz]" for base in _FILES[split])
    ways = []
    if spec.apt_package:
        ways.append(f"install the Debian package: sudo apt-get install {spec.apt_package}")
    ways.append("let torchvision download it: pass --download (download=True in Python)")
    ways.append(f"or put {names} into a folder (or its {spec.torchvision_class}/raw/ subfolder) and pass it as root")
    tried = "\n".join(f"  {d}" for d in dirs)
    how = "\n".join(f"  - {w}" for w in ways)
    return f"{spec.name} ({split}) not found. Searched:\n{tried}\nTo get it:\n{how}"


def load_idx_dataset(
    name: str, split: str, root: str | None, download: bool, image_size: int | None, limit: int | None
) -> ImageDataset:
    """Load one split -> ImageDataset with images uint8 (N, 1, 28, 28) and labels int64 (N,).

    name: a key of SPECS. image_size and limit are left to load_dataset: the whole file is read either way.
    """
    spec = SPECS[name]
    root_path = Path(root).expanduser() if root is not None else None
    dirs = _candidate_dirs(spec, root_path)
    paths = _locate(dirs, split)
    if paths is None and download:
        raw = _download(spec, root_path, split)
        dirs += [] if raw in dirs else [raw]  # for the message, should the download leave no files
        paths = _locate([raw], split)
    if paths is None:
        raise DatasetNotFoundError(_not_found_message(spec, split, dirs))
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
    )
