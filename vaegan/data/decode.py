"""Decode image files with PIL into one uint8 tensor: crop, antialiased resize, shared channel count."""

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


def _decode_one(path: Path, size: int, crop: CropBox) -> tuple[np.ndarray, bool]:
    """-> (uint8 (size, size) if grayscale else (size, size, 3), is_grayscale)."""
    with Image.open(path) as img:
        gray = img.mode in _GRAY_MODES
        img = img.convert("L" if gray else "RGB")
        # crop first, then resize: resize(box=...) would let the filter reach outside the crop at its edges
        img = img.crop(crop(img.width, img.height))
        img = img.resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(img), gray


def _format_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def decode_images(paths: Sequence[Path], size: int, crop: CropBox = centre_square) -> torch.Tensor:
    """Decode, crop and resize every file -> uint8 (N, C, size, size), C = 1 if every image is grayscale else 3.

    Resizing is PIL's antialiased bilinear filter. Alpha is dropped. Prints a progress line with rate and ETA to
    stderr for more than a few thousand files. Raises DatasetFormatError naming the first unreadable file.
    """
    out = np.empty((len(paths), 3, size, size), dtype=np.uint8)
    all_gray = True
    start = last_report = time.monotonic()
    for i, path in enumerate(paths):
        try:
            pixels, gray = _decode_one(path, size, crop)
        except (OSError, ValueError, Image.DecompressionBombError) as err:
            raise DatasetFormatError(f"{path}: cannot decode image ({err}); remove or replace the file") from err
        out[i] = pixels if gray else pixels.transpose(2, 0, 1)  # grayscale broadcasts into all 3 channels
        all_gray &= gray
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
    if all_gray:
        out = np.ascontiguousarray(out[:, :1])
    return torch.from_numpy(out)
