"""Layer shapes shared by encoder, decoder and discriminator."""

from __future__ import annotations

from torch import nn


def conv_down(c_in: int, c_out: int, kernel_size: int, stride: int = 2) -> nn.Conv2d:
    """A conv that maps size s to ceil(s / stride) for odd kernels (28 -> 14 -> 7 -> 4)."""
    return nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2)


def conv_up(c_in: int, c_out: int, kernel_size: int) -> nn.ConvTranspose2d:
    """A transposed conv that exactly doubles the spatial size."""
    return nn.ConvTranspose2d(c_in, c_out, kernel_size, stride=2, padding=kernel_size // 2, output_padding=1)


def downsampled_size(size: int, n_layers: int) -> int:
    for _ in range(n_layers):
        size = (size + 1) // 2
    return size
