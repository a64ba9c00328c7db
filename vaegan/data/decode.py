"""Decode image files with PIL into one uint8 tensor: crop, antialiased resize, one channel count for all."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vaegan.data.errors import DatasetFormatError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}
_PROGRESS_ABOVE = 2000  # fewer images decode in a second or two; no progress line needed
_PROGRESS_EVERY_S = 2.0

# (width, height) of the full image -> crop box (left, top, right, bottom) in its pixels
CropBox = Callable[[int, int], tuple[int, int, int, int]]


def centre_square(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest centred square, so resizing never stretches the image (odd margins: one pixel more on the right)."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


_UNREADABLE = (OSError, ValueError, Image.DecompressionBombError)


def _unreadable(path: Path, err: Exception) -> DatasetFormatError:
    return DatasetFormatError(f"{path}: cannot decode image ({err}); remove or replace the file")


def is_colour(path: Path) -> bool:
    """Whether the file's pixels are stored in colour; reads the header only."""
    try:
        with Image.open(path) as img:
            return img.mode not in _GRAY_MODES
    except _UNREADABLE as err:
        raise _unreadable(path, err) from err


def _decode_one(path: Path, size: int, crop: CropBox, mode: str) -> np.ndarray:
    """-> uint8 (size, size) for mode "L", (size, size, 3) for "RGB"."""
    with Image.open(path) as img:
        img = img.convert(mode)
        # crop first, then resize: resize(box=...) would let the filter reach outside the crop at its edges
        img = img.crop(crop(img.width, img.height))
        img = img.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(img)


def _format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def decode_images(paths: Sequence[Path], size: int, channels: int, crop: CropBox = centre_square) -> torch.Tensor:
    """Decode, crop and resize every file -> uint8 (N, channels, size, size); channels 1 or 3.

    Every image is converted to that channel count: grayscale files repeat their value in R, G and B; colour files
    become PIL's luma (ITU-R 601-2) for channels=1. Resizing is PIL's antialiased bilinear filter. Alpha is dropped.
    Prints a progress line with rate and ETA to stderr for more than a few thousand files. Raises DatasetFormatError
    naming the first unreadable file.
    """
    mode = {1: "L", 3: "RGB"}[channels]
    out = np.empty((len(paths), channels, size, size), dtype=np.uint8)
    start = last_report = time.monotonic()
    for i, path in enumerate(paths):
        try:
            pixels = _decode_one(path, size, crop, mode)
        except _UNREADABLE as err:
            raise _unreadable(path, err) from err
        out[i] = pixels if channels == 1 else pixels.transpose(2, 0, 1)
        now = time.monotonic()
        if len(paths) > _PROGRESS_ABOVE and (now - last_report >= _PROGRESS_EVERY_S or i + 1 == len(paths)):
            last_report = now
            rate = (i + 1) / max(now - start, 1e-9)
            eta = (len(paths) - i - 1) / rate
            print(
                f"decoding images: {i + 1}/{len(paths)} ({rate:.0f} img/s, ETA {_format_seconds(eta)})",
                file=sys.stderr,
                flush=True,
            )
    return torch.from_numpy(out)
