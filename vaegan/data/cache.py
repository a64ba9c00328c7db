"""Cache decoded image tensors as .npy files, keyed by the exact files decoded and how.

Decoding a large JPEG folder takes minutes; loading the .npy takes a second. The key covers every file's
relative path, size and modification time plus the decode settings, so an added, removed or edited file
gives a new key and the stale cache for the same request is replaced.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from vaegan.atomic import atomic_write
from vaegan.data.errors import DatasetFormatError
from vaegan.data.locations import decode_cache_dir

_FORMAT_VERSION = 2  # bump when the decoding changes, so old caches are not reused


def _digest(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _file_stats(root: Path, paths: Sequence[Path]) -> list[tuple[str, int, int]]:
    stats = []
    for path in paths:
        try:
            st = path.stat()
        except FileNotFoundError as err:
            raise DatasetFormatError(f"{path}: image file is missing") from err
        stats.append((path.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return stats


def cached_decode(
    kind: str, settings: dict, channels: int, root: Path, paths: Sequence[Path], decode: Callable[[], torch.Tensor]
) -> torch.Tensor:
    """Return decode() (uint8 (N, channels, H, W), N = len(paths)), from the cache when the files are unchanged.

    kind: dataset kind for the file name. settings: everything else that changes the result
    (split, image size, crop, ...). channels: the channel count every image was converted to; part of the key, so
    a grayscale and a colour decoding of the same files never stand in for each other. root: the dataset folder;
    the paths are keyed relative to it.
    """
    settings = {**settings, "channels": channels}
    request = _digest({"kind": kind, "root": str(root.resolve()), "settings": settings})
    content = _digest({"version": _FORMAT_VERSION, "settings": settings, "files": _file_stats(root, paths)})
    folder = decode_cache_dir()
    path = folder / f"{kind}-{request}-{content}.npy"
    if path.is_file():
        try:
            array = np.load(path)
            if array.dtype == np.uint8 and array.ndim == 4 and array.shape[:2] == (len(paths), channels):
                return torch.from_numpy(array)
        except (OSError, ValueError):
            pass  # unreadable cache: fall through and rebuild it
    images = decode()
    try:
        atomic_write(path, lambda f: np.save(f, images.numpy()))
        for stale in folder.glob(f"{kind}-{request}-*.npy"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError as err:
        warnings.warn(f"could not write decode cache {path} ({err}); the images will be decoded again next time")
    return images
