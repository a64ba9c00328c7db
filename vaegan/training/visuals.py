"""What a run shows of itself at image steps: grids in TensorBoard and samples/, latent histograms."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.tensorboard import SummaryWriter

from vaegan.data import to_model_range
from vaegan.sampling import decode, eval_mode, image_grid, interpolation_ends, interpolations, reconstructions, save_png

_GRID_IMAGES, _ROW, _STRIPS = 16, 8, 4  # reconstructions shown (in rows of 8) and interpolation strips


@dataclass(frozen=True)
class FixedInputs:
    """The same inputs at every image step, so grids show progress, not a new batch."""

    images: torch.Tensor  # uint8 (K, C, H, W) test images: 16, or whole rows of what a small test split has
    z: torch.Tensor  # (64, latent_dim) prior samples
    pairs: tuple[torch.Tensor, torch.Tensor]  # uint8 (P, C, H, W) each, P <= 4: ends of interpolation strips

    @property
    def row_width(self) -> int:
        return min(_ROW, len(self.images))


def fixed_inputs(test_images: torch.Tensor, latent_dim: int, seed: int) -> FixedInputs:
    """test_images: uint8 (N, C, H, W), N >= 1; with N >= 24 the strips use other images than the grid."""
    generator = torch.Generator().manual_seed(seed + 3)
    z = torch.randn(64, latent_dim, generator=generator)
    ends = interpolation_ends(test_images, _STRIPS, skip=_GRID_IMAGES)  # raises on an empty split
    shown = min(_GRID_IMAGES, len(test_images))
    shown -= shown % min(_ROW, shown)  # whole rows only
    return FixedInputs(test_images[:shown], z, ends)


def log_visuals(writer: SummaryWriter, nets: dict, fixed: FixedInputs, step: int, samples_dir: Path) -> None:
    enc, dec = nets["encoder"], nets["decoder"]
    recon = reconstructions(enc, dec, fixed.images)
    # Rows of up to 8: inputs on odd rows, their reconstructions right below.
    width = fixed.row_width
    rows = (fixed.images.view(-1, width, *fixed.images.shape[1:]), recon.view(-1, width, *recon.shape[1:]))
    grids = {
        "images/input_vs_reconstruction": image_grid(torch.stack(rows, 1).flatten(0, 2), nrow=width),
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
