"""Images from trained networks: decoded codes, reconstructions, latent interpolations, and grids of them.

Samples are decode(decoder, z) with z from vaegan.latent_sampler (N(0, I), or a mixture fitted to the encoder means).

All functions take and return uint8 (N, C, H, W) images in [0, 255]; networks run in eval mode (BatchNorm
uses its running statistics) and are put back in the mode they were in. `render` draws at any size with a coordinate
decoder (--decoder cppn, vaegan/models/cppn.py); the others at the training size.
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
from vaegan.config import ModelConfig
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


def check_renderable(model: ModelConfig, size: int) -> None:
    """ValueError unless the decoder `model` describes can draw size x size images: a cppn decoder at any size, a
    conv decoder only at the size it was trained at (its upsampling layers fix its output grid)."""
    if size < 1:
        raise ValueError(f"cannot draw {size}x{size} images; pass a size of at least 1")
    if model.decoder != "cppn" and size != model.image_size:
        raise ValueError(f"this run's {model.decoder} decoder cannot render at other sizes than the "
                         f"{model.image_size}x{model.image_size} it was trained at (asked for {size}x{size}); "
                         "pass a run trained with --decoder cppn")


@torch.no_grad()
def render(decoder: nn.Module, z: torch.Tensor, size: int, batch_size: int = 8) -> torch.Tensor:
    """z: (N, latent_dim) on any device -> uint8 images (N, C, size, size) on the CPU, drawn by a coordinate decoder
    (CPPNDecoder.render) at any size, `batch_size` images at a time; a decoder without `render` (the conv one) draws
    its training size only (check_renderable says which sizes a run can draw)."""
    with eval_mode(decoder):
        chunks = z.split(batch_size)
        return torch.cat([to_uint8(decoder.render(chunk.to(_device(decoder)), size).cpu()) for chunk in chunks])


def decode_at(decoder: nn.Module, model: ModelConfig, z: torch.Tensor, size: int) -> torch.Tensor:
    """z: (N, latent_dim) -> uint8 (N, C, size, size) on the CPU: decode at the training size, render at any other
    (a ValueError from check_renderable if this decoder cannot)."""
    check_renderable(model, size)
    return decode(decoder, z) if size == model.image_size else render(decoder, z, size)


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
    return decode(decoder, interpolation_codes(encode_mean(encoder, a), encode_mean(encoder, b), steps))


def interpolation_codes(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """Straight lines from z_a[i] to z_b[i], both (P, latent_dim) -> (P * steps, latent_dim), one row of `steps` per
    pair, each row starting at z_a[i] and ending at z_b[i] exactly."""
    t = torch.linspace(0, 1, steps).view(1, steps, 1)
    return (z_a.unsqueeze(1) * (1 - t) + z_b.unsqueeze(1) * t).flatten(0, 1)


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


def to_pil(image: torch.Tensor) -> Image.Image:
    """uint8 (C, H, W), C = 1 or 3 -> a PIL image ("L" or "RGB")."""
    array = image.permute(1, 2, 0).numpy()
    return Image.fromarray(array[..., 0] if image.shape[0] == 1 else array)


def save_png(image: torch.Tensor, path: str | Path) -> None:
    """Write uint8 (C, H, W) as a PNG, atomically."""
    buf = io.BytesIO()
    to_pil(image).save(buf, format="PNG")
    atomic_write(path, lambda f: f.write(buf.getvalue()))
