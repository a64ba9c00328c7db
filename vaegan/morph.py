"""A closed walk through latent codes, and the animated GIF of its decoded frames (scripts/morph.py).

The walk visits key codes k_0 .. k_(n-1) and returns to k_0: segment i runs from k_i to k_((i+1) mod n) in
`frames_per_step` frames, t = 0, 1/f, ..., (f-1)/f, so frame i * f is k_i exactly and the last frame leads back into
the first (a GIF that loops without a repeated frame). An ease maps t before the straight-line interpolation:
"cosine" lingers at the keys, where the images are the ones asked for, and moves fast between them.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Callable

import torch

from vaegan.atomic import atomic_write
from vaegan.sampling import enlarge, to_pil

EASES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": lambda t: t,
    "cosine": lambda t: (1 - torch.cos(math.pi * t)) / 2,  # 0 -> 0, 1 -> 1, zero speed at both ends
}


def walk_codes(keys: torch.Tensor, frames_per_step: int, ease: str = "linear") -> torch.Tensor:
    """keys: (n, latent_dim), n >= 1 -> (n * frames_per_step, latent_dim): the closed walk k_0 -> k_1 -> ... -> k_0,
    with frame i * frames_per_step equal to keys[i] (bit for bit)."""
    if ease not in EASES:
        raise ValueError(f"unknown ease {ease!r}; use one of {', '.join(EASES)}")
    if frames_per_step < 1 or len(keys) < 1:
        raise ValueError(f"a walk needs at least one key and one frame per step, got {len(keys)} and {frames_per_step}")
    t = EASES[ease](torch.arange(frames_per_step, dtype=keys.dtype) / frames_per_step).view(1, -1, 1)
    start, end = keys.unsqueeze(1), keys.roll(-1, dims=0).unsqueeze(1)
    return (start * (1 - t) + end * t).flatten(0, 1)


MIN_GIF_SIZE = 256  # pixels: the default scale enlarges a GIF to at least this (a 28x28 one is a speck on screen)


def gif_scale(size: int) -> int:
    """The least whole enlargement that makes size x size frames MIN_GIF_SIZE pixels or more: 10 for 28, 1 for 256."""
    return max(1, math.ceil(MIN_GIF_SIZE / size))


def save_gif(frames: torch.Tensor, path: str | Path, frame_ms: int, scale: int = 1) -> None:
    """frames: uint8 (N, C, H, W) -> an animated GIF of (scale * H, scale * W) pixels (nearest neighbour) that loops
    forever, `frame_ms` milliseconds per frame, written atomically. PIL merges consecutive identical frames into one
    longer frame, so a walk that stands still (e.g. an untrained decoder) can have fewer GIF frames than N."""
    images = [to_pil(enlarge(f, scale)) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=frame_ms, loop=0)
    atomic_write(path, lambda f: f.write(buf.getvalue()))
