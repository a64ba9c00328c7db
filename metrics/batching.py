"""Feature extraction over many images in batches: inference mode, the arithmetic precision, a progress line.

Precision is part of what a feature means: "fp32" is the reference arithmetic, "bf16" runs the network under
bfloat16 autocast (its matrix products in bf16, about 3 significant digits). bf16 pays where the chip has bf16
matrix units (CUDA, CPUs with AMX or AVX512-BF16); elsewhere it is emulated and slower than fp32. Features of the two
differ slightly, so an extractor names its precision in its id and statistics of the two never mix.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

import numpy as np
import torch

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str) -> str:
    """precision if it is one of PRECISIONS, else ValueError."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def precision_tag(precision: str) -> str:
    """The extractor-id part that names a precision: "" for fp32 (ids of fp32 statistics files predate the option)."""
    return "" if check_precision(precision) == "fp32" else f"-{precision}"


def run_batched(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch_size: int,
                label: str, device: torch.device = torch.device("cpu"), precision: str = "fp32",
                report_every_s: float = 10.0) -> np.ndarray:
    """Apply `fn` (uint8 batch -> (B, D) float tensor on `device`) over `images` in batches -> float64 (N, D).

    fn runs in inference mode, under bf16 autocast on `device` when precision is "bf16". Runs that outlast
    `report_every_s` print a progress line (rate, ETA) to stderr every `report_every_s` seconds; short runs stay
    silent.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    bf16 = check_precision(precision) == "bf16"
    n = images.shape[0]
    out: list[np.ndarray] = []
    start = last_report = time.monotonic()
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for lo in range(0, n, batch_size):
            out.append(fn(images[lo:lo + batch_size]).to("cpu", torch.float64).numpy())
            done, now = min(lo + batch_size, n), time.monotonic()
            if now - last_report >= report_every_s and done < n:
                rate = done / (now - start)
                print(f"[{label}] {done}/{n} images, {rate:.1f} img/s, ETA {(n - done) / rate:.0f} s",
                      file=sys.stderr, flush=True)
                last_report = now
    return np.concatenate(out, axis=0)
