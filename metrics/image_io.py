"""Images in and out of the metrics package: folders of PNG/JPEG files, .npy/.npz arrays, statistics files.

Everything becomes the project's at-rest format, a torch uint8 (N, C, H, W) tensor with C in {1, 3}.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from metrics.checks import InputError
from metrics.stats import FeatureStats

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_GRAY_MODES = {"1", "L", "LA"}
_COLOR_MODES = {"RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV"}


def load_images(path: str | os.PathLike) -> torch.Tensor:
    """Images from a folder of .png/.jpg files, a .npy array or an .npz -> uint8 (N, C, H, W).

    Arrays may be (N, C, H, W), (N, H, W, C) or (N, H, W); uint8 or integers in [0, 255], or floats in [0, 1].
    An .npz must hold its images under "images" or as its only array.
    """
    loaded = load_images_or_stats(path)
    if isinstance(loaded, FeatureStats):
        raise InputError(f"{path} holds feature statistics (mu, sigma), not images")
    return loaded


def load_images_or_stats(path: str | os.PathLike) -> torch.Tensor | FeatureStats:
    """Like load_images, but a statistics .npz (keys mu, sigma, ...) gives its FeatureStats."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist; give an image folder, a .npy/.npz of images or a statistics .npz")
    if path.is_dir():
        return _load_folder(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise InputError(f"cannot read {path} as a .npy array ({error})") from error
        return array_to_images(array, str(path))
    if suffix == ".npz":
        return _load_npz(path)
    raise InputError(f"{path}: unsupported input; give an image folder, a .npy or an .npz file")


def array_to_images(array: np.ndarray, source: str = "array") -> torch.Tensor:
    """A numpy image array (layouts and dtypes as in load_images) -> uint8 (N, C, H, W) torch tensor."""
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[1] not in (1, 3):
        if array.shape[3] not in (1, 3):
            raise InputError(f"{source}: cannot find a channel axis of size 1 or 3 in shape {array.shape}")
        array = array.transpose(0, 3, 1, 2)
    elif array.ndim != 4:
        raise InputError(f"{source}: images must be (N, C, H, W), (N, H, W, C) or (N, H, W), got shape {array.shape}")
    if array.shape[0] == 0:
        raise InputError(f"{source} holds no images (shape {array.shape})")
    if array.dtype == np.uint8:
        return torch.from_numpy(np.ascontiguousarray(array))
    if np.issubdtype(array.dtype, np.integer) and array.dtype != np.bool_:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise InputError(f"{source}: integer images must be in [0, 255], found values in [{low}, {high}]")
        return torch.from_numpy(np.ascontiguousarray(array.astype(np.uint8)))
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)):
            raise InputError(f"{source}: float images contain NaN/inf")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            raise InputError(
                f"{source}: float images must be in [0, 1], found values in [{low:.3g}, {high:.3g}]; "
                "map model outputs in [-1, 1] with (x + 1) / 2, or save uint8"
            )
        return torch.from_numpy(np.ascontiguousarray(np.rint(array * 255.0).astype(np.uint8)))
    raise InputError(f"{source}: unsupported dtype {array.dtype}; use uint8 in [0, 255] or float in [0, 1]")


def _load_npz(path: Path) -> torch.Tensor | FeatureStats:
    try:
        with np.load(path, allow_pickle=False) as data:
            names = list(data.files)
            is_stats = "mu" in names and "sigma" in names
            key = "images" if "images" in names else names[0] if len(names) == 1 else None
            array = data[key] if key is not None and not is_stats else None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise InputError(f"cannot read {path} as an .npz archive ({error})") from error
    if is_stats:
        return FeatureStats.load(path)
    if array is None:
        raise InputError(f"{path} has arrays {names}; store the images under the key 'images'")
    return array_to_images(array, f"{path}[{key!r}]")


def _load_folder(folder: Path) -> torch.Tensor:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{folder} contains no {'/'.join(IMAGE_SUFFIXES)} images")
    arrays = [_read_image(file) for file in files]
    sizes = {array.shape[:2]: file for array, file in zip(arrays, files)}
    if len(sizes) > 1:
        examples = ", ".join(f"{name.name} is {h}x{w}" for (h, w), name in list(sizes.items())[:3])
        raise InputError(f"{folder} mixes image sizes ({examples}); resize them to one size first")
    # A folder of mixed grayscale and colour images is scored as colour: grayscale promotes losslessly.
    channels = max(array.shape[2] for array in arrays)
    stacked = np.stack([np.repeat(a, channels // a.shape[2], axis=2) for a in arrays])
    return torch.from_numpy(np.ascontiguousarray(stacked.transpose(0, 3, 1, 2)))


def _read_image(file: Path) -> np.ndarray:
    """One image file -> uint8 (H, W, C) with C in {1, 3}."""
    try:
        with Image.open(file) as image:
            if image.mode in _GRAY_MODES:
                return np.asarray(image.convert("L"))[:, :, None]
            if image.mode in _COLOR_MODES:
                return np.asarray(image.convert("RGB"))
            raise InputError(f"{file}: unsupported image mode {image.mode!r}; save as 8-bit grayscale or RGB")
    except (UnidentifiedImageError, OSError) as error:
        raise InputError(f"cannot read image {file} ({error})") from error
