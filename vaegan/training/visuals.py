"""What a run shows of itself at image steps: grids in TensorBoard and samples/, latent histograms."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from vaegan.data import to_model_range
from vaegan.sampling import decode, eval_mode, image_grid, interpolations, reconstructions, save_png


@dataclass(frozen=True)
class FixedInputs:
    """The same inputs at every image step, so grids show progress, not a new batch."""

    images: torch.Tensor  # uint8 (16, C, H, W) test images
    z: torch.Tensor  # (64, latent_dim) prior samples
    pairs: tuple[torch.Tensor, torch.Tensor]  # uint8 (4, C, H, W) each: ends of interpolation strips


def fixed_inputs(test_images: torch.Tensor, latent_dim: int, seed: int) -> FixedInputs:
    generator = torch.Generator().manual_seed(seed + 3)
    z = torch.randn(64, latent_dim, generator=generator)
    return FixedInputs(test_images[:16], z, (test_images[16:20], test_images[20:24]))


def log_visuals(writer: SummaryWriter, nets: dict, fixed: FixedInputs, step: int, samples_dir: Path) -> None:
    enc, dec = nets["encoder"], nets["decoder"]
    recon = reconstructions(enc, dec, fixed.images)
    # Rows of 8: inputs on odd rows, their reconstructions right below.
    pairs = torch.stack([fixed.images.view(2, 8, *fixed.images.shape[1:]), recon.view(2, 8, *recon.shape[1:])], 1)
    grids = {
        "images/input_vs_reconstruction": image_grid(pairs.flatten(0, 2), nrow=8),
        "images/prior_samples": image_grid(decode(dec, fixed.z), nrow=8),
        "images/interpolation": image_grid(interpolations(enc, dec, *fixed.pairs, steps=10), nrow=10),
    }
    for tag, grid in grids.items():
        writer.add_image(tag, grid, step)
    save_png(grids["images/prior_samples"], samples_dir / f"prior-{step:07d}.png")
    save_png(grids["images/input_vs_reconstruction"], samples_dir / f"reconstruction-{step:07d}.png")
    with torch.no_grad(), eval_mode(enc):
        mu, logvar = enc(to_model_range(fixed.images).to(next(enc.parameters()).device))
    writer.add_histogram("latent/mu", mu.cpu(), step)
    writer.add_histogram("latent/logvar", logvar.cpu(), step)
