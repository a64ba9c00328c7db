"""An exponential moving average of encoder and decoder weights, for sampling and evaluation (not for training).

GAN generators sample better from a weight average than from the last iterate, which oscillates around the
equilibrium (Yazici et al. 2019; StyleGAN's G_ema). Encoder and decoder are averaged together, so that a
reconstruction or a latent density fitted with the average encoder matches the average decoder. The averaging is
torch.optim.swa_utils.AveragedModel's; BatchNorm running statistics are copied from the live networks.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

EMA_NETWORKS = ("encoder", "decoder")


def ema_decay_at(n_averaged: int, decay: float) -> float:
    """The decay of the n-th update: ramped as (1 + n) / (10 + n) up to `decay`, so a short run's average is not
    dominated by its random initialisation (the num_updates rule of TensorFlow's ExponentialMovingAverage)."""
    return min(decay, (1.0 + n_averaged) / (10.0 + n_averaged))


def ema_models(nets: dict[str, nn.Module], decay: float) -> dict[str, AveragedModel]:
    """Averaged copies of the encoder and decoder in `nets` (empty when decay is 0: no EMA)."""
    if decay <= 0:
        return {}

    @torch.no_grad()
    def ramped_ema(averaged: list[torch.Tensor], current: list[torch.Tensor], n_averaged: torch.Tensor) -> None:
        torch._foreach_lerp_(averaged, current, 1.0 - ema_decay_at(int(n_averaged), decay))

    models = {name: AveragedModel(nets[name], multi_avg_fn=ramped_ema) for name in EMA_NETWORKS}
    for model in models.values():
        model.requires_grad_(False).eval()
    return models


def update_ema(ema: dict[str, AveragedModel], nets: dict[str, nn.Module]) -> None:
    for name, model in ema.items():
        model.update_parameters(nets[name])
