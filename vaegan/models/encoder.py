"""Enc: x -> (mu, logvar) of the diagonal Gaussian q(z|x)."""

from __future__ import annotations

import torch
from torch import nn

from vaegan.config import ModelConfig
from vaegan.models.blocks import conv_down, downsampled_size


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = cfg.channels
        for c_out in cfg.enc_channels:
            layers += [conv_down(c_in, c_out, cfg.kernel_size), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            c_in = c_out
        self.convs = nn.Sequential(*layers, nn.Flatten())
        flat = c_in * downsampled_size(cfg.image_size, len(cfg.enc_channels)) ** 2
        hidden: list[nn.Module] = []
        if cfg.enc_fc:
            hidden = [nn.Linear(flat, cfg.enc_fc), nn.BatchNorm1d(cfg.enc_fc), nn.ReLU(inplace=True)]
            flat = cfg.enc_fc
        self.hidden = nn.Sequential(*hidden)
        self.to_stats = nn.Linear(flat, 2 * cfg.latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, C, H, W) in [-1, 1] -> mu, logvar: (B, latent_dim) each (logvar = log sigma^2, nats)."""
        mu, logvar = self.to_stats(self.hidden(self.convs(x))).chunk(2, dim=1)
        return mu, logvar
