"""Feature extraction over many images in batches, with a progress line for long runs."""

from __future__ import annotations

import sys
import time
from typing import Callable

import numpy as np
import torch


def run_batched(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch_size: int,
                label: str, report_every_s: float = 10.0) -> np.ndarray:
    """Apply `fn` (uint8 batch -> (B, D) float tensor) over `images` in batches -> float64 (N, D).

    Runs that outlast `report_every_s` print a progress line (rate, ETA) to stderr every
    `report_every_s` seconds; short runs stay silent.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = images.shape[0]
    out: list[np.ndarray] = []
    start = last_report = time.monotonic()
    with torch.inference_mode():
        for lo in range(0, n, batch_size):
            out.append(fn(images[lo:lo + batch_size]).to("cpu", torch.float64).numpy())
            done, now = min(lo + batch_size, n), time.monotonic()
            if now - last_report >= report_every_s and done < n:
                rate = done / (now - start)
                print(f"[{label}] {done}/{n} images, {rate:.1f} img/s, ETA {(n - done) / rate:.0f} s",
                      file=sys.stderr, flush=True)
                last_report = now
    return np.concatenate(out, axis=0)
