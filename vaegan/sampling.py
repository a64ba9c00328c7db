"""Images from trained networks: decoded codes, reconstructions, latent interpolations, and grids and montages of
them, enlarged by whole pixels (nearest neighbour) where asked.

Samples are decode(decoder, z) with z from vaegan.latent_sampler (N(0, I), or a mixture fitted to the encoder means).

All functions take and return uint8 (N, C, H, W) images in [0, 255]; networks run in eval mode (BatchNorm
uses its running statistics) and are put back in the mode they were in. `render` draws at any size with a coordinate
decoder (--decoder cppn, vaegan/models/cppn.py); the others at the training size.
"""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
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
def decode(decoder: nn.Module, z: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """z: (N, latent_dim) on any device -> uint8 images (N, C, H, W) on the CPU. batch_size: codes per forward pass;
    at 28x28 on a CPU, 250 kept the activations in cache where 500 ran 1.3x slower (benchmarks/budgets, section 8)."""
    with eval_mode(decoder):
        out = [to_uint8(decoder(chunk.to(_device(decoder))).cpu()) for chunk in z.split(batch_size)]
    return torch.cat(out)


def check_renderable(decoder: str, image_size: int, size: int, instead: str = "") -> None:
    """ValueError unless a run's decoder (its config's model.decoder and model.image_size, so a saved config.json
    can be checked before anything is loaded) can draw size x size images: a cppn decoder at any size, a conv
    decoder only at the size it was trained at (its upsampling layers fix its output grid). `instead`: what the
    calling tool offers a conv run instead, for the message."""
    if size < 1:
        raise ValueError(f"cannot draw {size}x{size} images; pass a size of at least 1")
    if decoder != "cppn" and size != image_size:
        raise ValueError(f"this run's {decoder} decoder draws only the {image_size}x{image_size} it was trained at "
                         f"(asked for {size}x{size}); {instead + ', or ' if instead else ''}pass a run trained "
                         "with --decoder cppn")


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
    check_renderable(model.decoder, model.image_size, size)
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


GRID_PADDING = 2  # white pixels between and around the tiles of a grid


def enlarge(images: torch.Tensor, scale: int) -> torch.Tensor:
    """uint8 (..., H, W) -> (..., H * scale, W * scale), each pixel a scale x scale block: nearest neighbour, since
    any smoothing would fake or hide the blur these pictures are there to show. ValueError for scale < 1."""
    if scale < 1:
        raise ValueError(f"--scale must be a whole number of at least 1, got {scale}")
    return images if scale == 1 else images.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)


# What render.py and morph.py offer a conv run asked for another --size (check_renderable's `instead`).
ENLARGE_INSTEAD = "leave out --size and enlarge with --scale N (nearest neighbour)"


def image_grid(images: torch.Tensor, nrow: int = 8, padding: int = GRID_PADDING, scale: int = 1) -> torch.Tensor:
    """uint8 (N, C, H, W) -> one uint8 (C, H', W') grid image, `nrow` tiles per row, each tile enlarged `scale`
    times (nearest neighbour) and `padding` white pixels apart."""
    return make_grid(enlarge(images, scale), nrow=nrow, padding=padding, pad_value=255)


def _label_font(height: int) -> tuple[ImageFont.ImageFont, str]:
    """A font `height` pixels tall and how it writes alpha: DejaVu Sans (installed with most Linux desktops and
    matplotlib's Debian package) has the Greek letter; PIL's bundled fallback does not, so it gets "a"."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", height), "α"
    except OSError:
        return ImageFont.load_default(height), "a"


def label_columns(grid: torch.Tensor, labels: list[str], tile: int, padding: int = GRID_PADDING) -> torch.Tensor:
    """A grid uint8 (C, H, W) of columns `tile` pixels wide (image_grid's layout) -> (C, H + h, W) with a white
    strip on top naming each column, labels[j] centred over column j; "{alpha}" in a label becomes the Greek letter
    where the font has it. The text shrinks to fit the narrowest column, down to 7 pixels."""
    height = max(7, min(14, tile // 3))
    font, alpha = _label_font(height)
    texts = [label.format(alpha=alpha) for label in labels]
    while height > 7 and max(font.getlength(t) for t in texts) > tile:
        height -= 1
        font, _ = _label_font(height)
    strip = Image.new("L", (grid.shape[2], height + 2 * padding + 2), 255)
    draw = ImageDraw.Draw(strip)
    for j, text in enumerate(texts):
        centre = padding + j * (tile + padding) + tile / 2
        draw.text((centre, padding + 1), text, fill=0, font=font, anchor="ma")
    header = torch.from_numpy(np.asarray(strip).copy()).unsqueeze(0).expand(grid.shape[0], -1, -1)
    return torch.cat([header, grid], dim=1)


MONTAGE_TILE = 256  # largest tile of a montage, in pixels: 8 tiles make a picture a screen wide
MONTAGE_PADDING = 4


def montage_tiles(images: torch.Tensor, scale: int = 1) -> torch.Tensor:
    """uint8 (N, C, S, S) -> (N, C, T, T) tiles for `montage`: enlarged `scale` times (nearest neighbour), then
    area-averaged down to T = MONTAGE_TILE where that is larger (a 1024x1024 render shows at 256)."""
    images = enlarge(images, scale)
    if images.shape[-1] <= MONTAGE_TILE:
        return images
    small = torch.nn.functional.interpolate(images.float(), size=(MONTAGE_TILE, MONTAGE_TILE), mode="area")
    return small.round().clamp(0, 255).to(torch.uint8)


def montage(rows: list[torch.Tensor]) -> torch.Tensor:
    """rows: uint8 (N_i, C, T, T) each, tiles of one size (montage_tiles) -> one uint8 (C, H, W) picture with a
    row per entry, MONTAGE_PADDING white pixels apart; a row shorter than the longest ends in white."""
    width = max(len(r) for r in rows)
    blank = torch.full_like(rows[0][:1], 255)
    filled = [torch.cat([r, blank.expand(width - len(r), -1, -1, -1)]) for r in rows]
    grid = make_grid(torch.cat(filled), nrow=width, padding=MONTAGE_PADDING, pad_value=255)
    return grid[: rows[0].shape[1]]  # make_grid copies gray to 3 channels; keep the images' own


def to_pil(image: torch.Tensor) -> Image.Image:
    """uint8 (C, H, W), C = 1 or 3 -> a PIL image ("L" or "RGB")."""
    array = image.permute(1, 2, 0).numpy()
    return Image.fromarray(array[..., 0] if image.shape[0] == 1 else array)


def save_png(image: torch.Tensor, path: str | Path, scale: int = 1) -> None:
    """Write uint8 (C, H, W) as a PNG of (scale * H, scale * W) pixels (enlarge: nearest neighbour), atomically."""
    buf = io.BytesIO()
    to_pil(enlarge(image, scale)).save(buf, format="PNG")
    atomic_write(path, lambda f: f.write(buf.getvalue()))
