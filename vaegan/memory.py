"""How much a request will hold in memory, checked before the work: an image size or a sample count that cannot fit
is refused in one line saying what does fit, rather than failing in an allocation minutes later (or being killed by
the kernel without a word).

The estimates are of the arrays the scripts hold at once, rounded up; they are meant to tell 10 GB from 10 TB, not
10 GB from 11 GB.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

GIB = 2**30
# Bytes per pixel of one image drawn at a size (vaegan.sampling.render then save_png): the (x, y, r) coordinates
# and the meshgrid they come from (~40), and per channel the float32 output, its clamped copy and the uint8 image
# and PIL's copy of it (~15).
RENDER_BYTES_PER_PIXEL, RENDER_BYTES_PER_PIXEL_CHANNEL = 40, 15
# Per latent code of a sampler (vaegan.latent_sampler): float32 z, and the mixture's float64 noise and codes and
# its int64 component.
CODE_BYTES_PER_DIM, CODE_BYTES = 4 + 8 + 8, 8


def available_bytes() -> int | None:
    """Memory this process can still take without swapping: MemAvailable of /proc/meminfo (Linux), else the free
    physical pages; None when neither can be read (then nothing is refused)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def gib(n_bytes: float) -> str:
    return f"{n_bytes / GIB:.3g} GiB"


def render_bytes(size: int, channels: int) -> int:
    """Memory to draw one size x size image and write it as a PNG."""
    return size * size * (RENDER_BYTES_PER_PIXEL + channels * RENDER_BYTES_PER_PIXEL_CHANNEL)


def check_render_size(size: int, channels: int, flag: str = "--size", available: int | None = None) -> None:
    """ValueError when one size x size image cannot be drawn in the memory available, naming the largest size that
    can."""
    available = available_bytes() if available is None else available
    needed = render_bytes(size, channels)
    if available is None or needed <= available:
        return
    largest = math.isqrt(available // render_bytes(1, channels))
    raise ValueError(f"{flag} {size} needs about {gib(needed)} of memory to draw one {size}x{size} image, more than "
                     f"the {gib(available)} available; pass {flag} {largest} or less")


def sample_bytes(n: int, sets: int, image_values: int, latent_dim: int) -> int:
    """Memory for `sets` sets of n decoded uint8 images of image_values values each, with their latent codes."""
    return sets * n * (image_values + CODE_BYTES + CODE_BYTES_PER_DIM * latent_dim)


def check_sample_count(n: int, sets: int, image_values: int, latent_dim: int, flag: str = "-n",
                       available: int | None = None) -> None:
    """ValueError when `sets` sets of n samples (sample_bytes) do not fit in the memory available, naming the largest
    n that does."""
    available = available_bytes() if available is None else available
    needed = sample_bytes(n, sets, image_values, latent_dim)
    if available is None or needed <= available:
        return
    largest = available // sample_bytes(1, sets, image_values, latent_dim)
    what = f"{sets} sets of {n} samples" if sets > 1 else f"{n} samples"
    raise ValueError(f"{flag} {n} needs about {gib(needed)} of memory for {what}, more than the {gib(available)} "
                     f"available; pass {flag} {largest} or less")


def check_frame_count(frames: int, size: int, channels: int, drawn_at_once: int, available: int | None = None) -> None:
    """ValueError when `frames` uint8 frames of size x size (held for the GIF, and again as its PIL frames), with
    `drawn_at_once` of them being drawn, do not fit in the memory available."""
    available = available_bytes() if available is None else available
    needed = 2 * frames * size * size * channels + drawn_at_once * render_bytes(size, channels)
    if available is None or needed <= available:
        return
    raise ValueError(f"{frames} frames of {size}x{size} need about {gib(needed)} of memory, more than the "
                     f"{gib(available)} available; pass a smaller --size, --n or --frames-per-step")
