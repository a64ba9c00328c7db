"""The optimizer of an OptimConfig (its learning-rate schedule: vaegan/training/schedule.py)."""

from __future__ import annotations

from typing import Iterable

import torch

from vaegan.config import OptimConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    # foreach: one kernel per operation over all tensors instead of one per tensor (the default only on CUDA).
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, foreach=True)
    if cfg.name == "rmsprop" and cfg.bias_correction:
        # Adam without momentum (beta1 = 0: its first moment is the gradient itself) is RMSProp whose average of
        # squared gradients is divided by 1 - alpha^t: the same update, the cold start corrected.
        return torch.optim.Adam(params, lr=cfg.lr, betas=(0.0, cfg.alpha), weight_decay=cfg.weight_decay, foreach=True)
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, alpha=cfg.alpha, weight_decay=cfg.weight_decay, foreach=True)
    raise ValueError(f"unknown optimizer {cfg.name!r}; use 'adam' or 'rmsprop'")
