"""Networks rebuilt from a config: the one way training and evaluation construct them (never unpickled as code)."""

from __future__ import annotations

import torch
from torch import nn

from vaegan.config import ModelConfig, TrainConfig
from vaegan.models.cppn import CPPNDecoder
from vaegan.models.decoder import Decoder
from vaegan.models.discriminator import Discriminator
from vaegan.models.encoder import Encoder
from vaegan.precision import set_layout

# One class per name in config.DECODERS (tests/test_cppn.py checks that they match).
DECODER_CLASSES: dict[str, type[nn.Module]] = {"conv": Decoder, "cppn": CPPNDecoder}


def build_decoder(cfg: ModelConfig) -> nn.Module:
    """The decoder cfg.decoder names: Decoder ("conv") or CPPNDecoder ("cppn"), both z -> preactivation / image."""
    if cfg.decoder not in DECODER_CLASSES:
        raise ValueError(f"unknown model.decoder {cfg.decoder!r}; use one of {', '.join(DECODER_CLASSES)}")
    return DECODER_CLASSES[cfg.decoder](cfg)


NETWORKS = {"encoder": Encoder, "decoder": build_decoder, "discriminator": Discriminator}


def build_networks(cfg: TrainConfig, names: tuple[str, ...]) -> dict[str, nn.Module]:
    """Networks (names from NETWORKS) for cfg.model, initialised from cfg.seed alone, without touching the global RNG
    the caller may rely on, on cfg.device in the memory layout cfg asks for."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        nets = {name: NETWORKS[name](cfg.model).to(cfg.device) for name in names}
    set_layout(nets, cfg.channels_last)
    return nets
