"""Images from trained networks: decoded codes, reconstructions, latent interpolations, and grids of them.

Samples are decode(decoder, z) with z from vaegan.latent_sampler (N(0, I), or a mixture fitted to the encoder means).

All functions take and return uint8 (N, C, H, W) images in [0, 255]; networks run in eval mode (BatchNorm
uses its running statistics) and are put back in the mode they were in.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path

import torch
from PIL import Image
from torch import nn
from torchvision.utils import make_grid

from vaegan.atomic import atomic_write
from vaegan.data import to_model_range, to_uint8


@contextmanager
def eval_mode(*nets: nn.Module):
    modes = [n.training for n in nets]
    for n in nets:
        n.eval()
    try:
        yield
    finally:
        for n, mode in zip(nets, modes):
            n.train(mode)


def _device(net: nn.Module) -> torch.device:
    return next(net.parameters()).device


@torch.no_grad()
def decode(decoder: nn.Module, z: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """z: (N, latent_dim) on any device -> uint8 images (N, C, H, W) on the CPU."""
    with eval_mode(decoder):
        out = [to_uint8(decoder(chunk.to(_device(decoder))).cpu()) for chunk in z.split(batch_size)]
    return torch.cat(out)


@torch.no_grad()
def encode_mean(encoder: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """uint8 (N, C, H, W) -> mu (N, latent_dim), the posterior mean."""
    with eval_mode(encoder):
        return torch.cat([encoder(to_model_range(c).to(_device(encoder)))[0].cpu() for c in images.split(batch_size)])


def reconstructions(encoder: nn.Module, decoder: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Dec(mu(x)) for uint8 images x: (N, C, H, W) -> (N, C, H, W) uint8."""
    return decode(decoder, encode_mean(encoder, images))


def interpolations(encoder: nn.Module, decoder: nn.Module, a: torch.Tensor, b: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """Decoded straight lines between mu(a_i) and mu(b_i): uint8 (P * steps, C, H, W), one row of `steps` per pair."""
    mu_a, mu_b = encode_mean(encoder, a), encode_mean(encoder, b)
    t = torch.linspace(0, 1, steps).view(1, steps, 1)
    z = (mu_a.unsqueeze(1) * (1 - t) + mu_b.unsqueeze(1) * t).flatten(0, 1)
    return decode(decoder, z)


def interpolation_ends(images: torch.Tensor, pairs: int, skip: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Ends (a, b) of up to `pairs` interpolation strips, each uint8 (P, C, H, W), from images (N, C, H, W), N >= 1.

    With skip + 2 * pairs images or more: a = images[skip : skip + pairs] and b = the `pairs` after them. With fewer
    (a small test split), image i of the first min(pairs, N) runs to image i + 1, wrapping around, so that a single
    image still gives one strip.
    """
    if len(images) == 0:
        raise ValueError("no images to interpolate between")
    if len(images) >= skip + 2 * pairs:
        return images[skip : skip + pairs], images[skip + pairs : skip + 2 * pairs]
    first = torch.arange(min(pairs, len(images)))
    return images[first], images[(first + 1) % len(images)]


def image_grid(images: torch.Tensor, nrow: int = 8, padding: int = 2) -> torch.Tensor:
    """uint8 (N, C, H, W) -> one uint8 (C, H', W') grid image."""
    return make_grid(images, nrow=nrow, padding=padding, pad_value=255)


def save_png(image: torch.Tensor, path: str | Path) -> None:
    """Write uint8 (C, H, W) as a PNG, atomically."""
    array = image.permute(1, 2, 0).squeeze(-1).numpy() if image.shape[0] == 1 else image.permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    atomic_write(path, lambda f: f.write(buf.getvalue()))
