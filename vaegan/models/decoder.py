"""Dec: z -> x, the generator shared by the VAE and the VAE-GAN."""

from __future__ import annotations

import torch
from torch import nn

from vaegan.config import ModelConfig
from vaegan.models.blocks import conv_down, conv_up


def upsampling_layers(cfg: ModelConfig, n_layers: int) -> tuple[nn.Sequential, nn.Sequential, int]:
    """The conv decoder's first layers: (fc, convs, base). fc maps z (B, latent_dim) to dec_base_channels x base x
    base values (base = image_size / 2**len(dec_channels)), to be viewed as (B, dec_base_channels, base, base); convs
    are the first n_layers transposed convs (each + BN + ReLU), to (B, dec_channels[n_layers - 1], base * 2**n_layers,
    ...). Decoder uses all of them, the CPPN's shift grid the first few."""
    n_up = len(cfg.dec_channels)
    base = cfg.image_size // 2**n_up
    if base * 2**n_up != cfg.image_size:
        raise ValueError(
            f"decoder with {n_up} upsampling layers cannot make {cfg.image_size}x{cfg.image_size} images: "
            f"the size must be divisible by {2**n_up}"
        )
    fc = nn.Sequential(
        nn.Linear(cfg.latent_dim, cfg.dec_base_channels * base**2),
        nn.BatchNorm1d(cfg.dec_base_channels * base**2),
        nn.ReLU(inplace=True),
    )
    layers: list[nn.Module] = []
    c_in = cfg.dec_base_channels
    for c_out in cfg.dec_channels[:n_layers]:
        layers += [conv_up(c_in, c_out, cfg.kernel_size), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        c_in = c_out
    return fc, nn.Sequential(*layers), base


class Decoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.fc, self.convs, self.base = upsampling_layers(cfg, len(cfg.dec_channels))
        self.base_channels = cfg.dec_base_channels
        c_last = cfg.dec_channels[-1] if cfg.dec_channels else cfg.dec_base_channels
        self.to_image = conv_down(c_last, cfg.channels, cfg.kernel_size, stride=1)

    def preactivation(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, latent_dim) -> a: (B, C, H, W), unbounded; the image is tanh(a). The Bernoulli likelihood
        needs `a` because (tanh(a) + 1) / 2 = sigmoid(2a), so its BCE can be taken stably on logits 2a."""
        h = self.fc(z).view(-1, self.base_channels, self.base, self.base)
        return self.to_image(self.convs(h))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, latent_dim) -> x: (B, C, H, W) in [-1, 1]."""
        return torch.tanh(self.preactivation(z))
