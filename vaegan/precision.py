"""Numeric precision and memory layout of training: bf16 autocast and channels_last, decided by the config alone.

Weights, optimizer state and every loss reduction stay in fp32; only the forward passes of the networks run in
bfloat16 under autocast (its backward follows the forward's dtypes). bf16 pays where the chip has bf16 matrix units:
CUDA, or a CPU with AMX or AVX512-BF16. On a CPU without them bf16 is emulated and measured slower than fp32
(`scripts/dev/benchmark.py` prints both). "auto", the default, picks bf16 where `bf16_is_native` and fp32 elsewhere; a run
resolves it when it starts and keeps the choice in its config.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

PRECISIONS = ("auto", "fp32", "bf16")


def resolve_precision(precision: str, device: str) -> tuple[str, str]:
    """(the precision a run on `device` trains in, why): "auto" becomes bf16 where the chip has bf16 units, else fp32;
    "fp32" and "bf16" stay as they are."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision, "set in the config"
    kind = torch.device(device).type
    if kind == "cuda":
        return ("bf16", "auto: this GPU has bf16") if torch.cuda.is_bf16_supported() else \
            ("fp32", "auto: this GPU has no bf16")
    if kind == "cpu" and bf16_is_native(device):
        units = "AMX" if torch.cpu._is_amx_tile_supported() else "AVX512-BF16"
        return "bf16", f"auto: this CPU has {units} (bf16 matrix units)"
    return "fp32", f"auto: no bf16 units on this {kind.upper() if kind == 'cpu' else kind} (bf16 would be emulated)"


def bf16_is_native(device: str) -> bool:
    """Whether bf16 matrix products run on dedicated units here (else they are emulated in fp32 arithmetic)."""
    if torch.device(device).type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def autocast(device: str, precision: str) -> contextlib.AbstractContextManager:
    """The context the networks' forward passes run in: bf16 autocast, or nothing for fp32."""
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision {precision!r} is not resolved; pass 'fp32' or 'bf16' (resolve_precision)")
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
