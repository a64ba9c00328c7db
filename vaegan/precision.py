"""Numeric precision and memory layout of training: bf16 autocast and channels_last, decided by the config alone.

Weights, optimizer state and every loss reduction stay in fp32; only the forward passes of the networks run in
bfloat16 under autocast (its backward follows the forward's dtypes). bf16 pays where the chip has bf16 matrix units:
CUDA, or a CPU with AMX or AVX512-BF16. On a CPU without them bf16 is emulated and measured slower than fp32
(`scripts/benchmark.py` prints both), so "fp32" stays the default and `bf16_is_native` tells which case this is.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

PRECISIONS = ("fp32", "bf16")


def bf16_is_native(device: str) -> bool:
    """Whether bf16 matrix products run on dedicated units here (else they are emulated in fp32 arithmetic)."""
    if torch.device(device).type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def autocast(device: str, precision: str) -> contextlib.AbstractContextManager:
    """The context the networks' forward passes run in: bf16 autocast, or nothing for fp32."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def to_layout(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """An image batch (B, C, H, W) in the layout the networks were given (a no-op when it already is)."""
    return x.contiguous(memory_format=torch.channels_last) if channels_last and x.dim() == 4 else x


def set_layout(nets: dict[str, nn.Module], channels_last: bool) -> None:
    """Convolution weights in NHWC when channels_last (values and state_dict keys are unchanged)."""
    if channels_last:
        for net in nets.values():
            net.to(memory_format=torch.channels_last)
