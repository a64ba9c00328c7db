"""Dis: x -> (logit of "real", Dis_l(x)), the learned similarity metric of Larsen et al. 2016."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from vaegan.config import ModelConfig
from vaegan.models.blocks import conv_down, downsampled_size


class DiscriminatorOutput(NamedTuple):
    logits: torch.Tensor  # (B,), log-odds that x is real
    features: torch.Tensor  # (B, F) = Dis_l(x) flattened, taken before that layer's BN and ReLU


class Discriminator(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        n_convs = 1 + len(cfg.dis_channels)
        if not 1 <= cfg.dis_feature_layer <= n_convs:
            raise ValueError(f"dis_feature_layer must be in 1..{n_convs} (the conv layers), got {cfg.dis_feature_layer}")
        self.feature_layer = cfg.dis_feature_layer
        sn = spectral_norm if cfg.dis_spectral_norm else (lambda m: m)
        # Each conv is kept apart from its activation so that Dis_l can be read before BN/ReLU.
        self.convs = nn.ModuleList([sn(conv_down(cfg.channels, cfg.dis_first_channels, cfg.kernel_size, stride=1))])
        self.acts = nn.ModuleList([nn.ReLU()])
        c_in = cfg.dis_first_channels
        for c_out in (max(1, round(c * cfg.dis_channels_scale)) for c in cfg.dis_channels):
            self.convs.append(sn(conv_down(c_in, c_out, cfg.kernel_size)))
            self.acts.append(nn.Sequential(nn.BatchNorm2d(c_out), nn.ReLU()))
            c_in = c_out
        flat = c_in * downsampled_size(cfg.image_size, len(cfg.dis_channels)) ** 2
        self.head = nn.Sequential(
            nn.Flatten(),
            sn(nn.Linear(flat, cfg.dis_fc)),
            nn.BatchNorm1d(cfg.dis_fc),
            nn.ReLU(),
            sn(nn.Linear(cfg.dis_fc, 1)),
        )

    def forward(self, x: torch.Tensor) -> DiscriminatorOutput:
        """x: (B, C, H, W) in [-1, 1]."""
        h = x
        features = None
        for i, (conv, act) in enumerate(zip(self.convs, self.acts), start=1):
            h = conv(h)
            if i == self.feature_layer:
                features = h.flatten(1)
            h = act(h)
        return DiscriminatorOutput(self.head(h).squeeze(1), features)
