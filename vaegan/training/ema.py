"""An exponential moving average of encoder and decoder weights, for sampling and evaluation (not for training).

GAN generators sample better from a weight average than from the last iterate, which oscillates around the
equilibrium (Yazici et al. 2019; StyleGAN's G_ema). Encoder and decoder are averaged together, so that a
reconstruction or a latent density fitted with the average encoder matches the average decoder. The averaging is
torch.optim.swa_utils.AveragedModel's.

BatchNorm: the live networks' running statistics are those of the live weights' activations, not the average's.
AveragedModel copies them at every update (so training and resume never depend on the rest of this paragraph), and
before the average is used (images, FID, checkpoints) recalibrate_batchnorm recomputes them for the averaged weights,
as torch.optim.swa_utils.update_bn does for SWA.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from vaegan.config import TrainConfig
from vaegan.data.scaling import to_model_range
from vaegan.losses.vae import reparameterize
from vaegan.noise import Noise
from vaegan.training.schedule import ema_decay

EMA_NETWORKS = ("encoder", "decoder")
BATCHNORM_IMAGES = 4096  # training images the averaged networks' BatchNorm statistics are recomputed on


def ema_models(nets: dict[str, nn.Module], cfg: TrainConfig) -> dict[str, AveragedModel]:
    """Averaged copies of the encoder and decoder in `nets`, each update at the decay vaegan.training.schedule.ema_decay
    gives (empty when the config keeps no average)."""
    if cfg.ema_horizon <= 0 and cfg.ema_decay <= 0:
        return {}

    @torch.no_grad()
    def scheduled_ema(averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
        torch._foreach_lerp_(averaged, current, 1.0 - ema_decay(cfg, int(n_averaged)))

    models = {name: AveragedModel(nets[name], multi_avg_fn=scheduled_ema) for name in EMA_NETWORKS}
    for model in models.values():
        model.requires_grad_(False).eval()
    return models


def update_ema(ema: dict[str, AveragedModel], nets: dict[str, nn.Module]) -> None:
    for name, model in ema.items():
        model.update_parameters(nets[name])


class _TrainingPass(nn.Module):
    """The averaged encoder and decoder run as a training step runs them: the encoder on x, the decoder on the
    posterior samples, followed in the same batch by as many prior samples when with_prior (the VAE-GAN's step decodes
    both together, so its BatchNorm statistics are of that mixture)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, noise: Noise, with_prior: bool):
        super().__init__()
        self.encoder, self.decoder, self.noise, self.with_prior = encoder, decoder, noise, with_prior

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, logvar = (t.float() for t in self.encoder(x))
        z = reparameterize(mu, logvar, self.noise)
        if self.with_prior:
            z = torch.cat([z, self.noise.randn(mu.shape, mu.device, mu.dtype)])
        return self.decoder(z)


@torch.no_grad()
def recalibrate_batchnorm(ema: dict[str, AveragedModel], images: torch.Tensor, batch_size: int, seed: int,
                          with_prior: bool = True, n_images: int = BATCHNORM_IMAGES) -> None:
    """Recompute the BatchNorm running statistics of the averaged encoder and decoder for their own weights: the
    mean over batches of batch_size of up to n_images training images (a fixed subset drawn with `seed`, so the same
    weights always get the same statistics), in the pass of _TrainingPass. images: (N, C, H, W) uint8. The
    parameters are not touched; the networks are left in eval mode. Nothing happens without an average (ema == {})."""
    if not ema:
        return
    device = next(ema["encoder"].parameters()).device
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[: min(n_images, len(images))]
    batches = [to_model_range(images[i]).to(device) for i in chosen.split(batch_size)]
    noise = Noise(torch.Generator(device=device).manual_seed(seed))
    network = _TrainingPass(ema["encoder"], ema["decoder"], noise, with_prior).eval()  # update_bn restores this mode
    update_bn(batches, network)
