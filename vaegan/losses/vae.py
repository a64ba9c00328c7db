"""The VAE's objective: negative ELBO = pixel negative log-likelihood + beta * KL(q(z|x) || N(0, I)).

Units: nats per image (summed over pixels and latent dimensions, averaged over the batch), so the test-set
negative ELBO reads like the numbers in papers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from vaegan.config import VAELossConfig
from vaegan.noise import Noise


class VAELoss(NamedTuple):
    total: torch.Tensor  # () the loss that is minimised: recon + kl_weight * kl
    recon: torch.Tensor  # () pixel negative log-likelihood, nats per image
    kl: torch.Tensor  # () KL(q(z|x) || p(z)), nats per image
    kl_per_dim: torch.Tensor  # (latent_dim,) KL of each latent dimension, batch mean
    kl_weight: float


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, noise: Noise) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I) drawn from `noise` so a run's noise is part of its saved state."""
    eps = noise.randn(mu.shape, mu.device, mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Analytic KL(N(mu, exp(logvar)) || N(0, 1)) per dimension: (B, D) -> (B, D), nats."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def pixel_nll(x: torch.Tensor, preactivation: torch.Tensor, cfg: VAELossConfig) -> torch.Tensor:
    """-log p(x | z) per image, nats: (B,).

    x: (B, C, H, W) in [-1, 1]; preactivation: decoder output before tanh.
    bernoulli: pixels rescaled to [0, 1] are the targets of a Bernoulli with probability (tanh(a) + 1) / 2 =
    sigmoid(2a), evaluated on logits 2a for stability. gaussian: N(x; tanh(a), sigma^2) with fixed sigma.
    """
    if cfg.likelihood == "bernoulli":
        nll = F.binary_cross_entropy_with_logits(2.0 * preactivation, (x + 1.0) / 2.0, reduction="none")
    elif cfg.likelihood == "gaussian":
        var = cfg.gaussian_sigma**2
        nll = 0.5 * (x - torch.tanh(preactivation)).pow(2) / var + 0.5 * math.log(2 * math.pi * var)
    else:
        raise ValueError(f"unknown likelihood {cfg.likelihood!r}; use 'bernoulli' or 'gaussian'")
    return nll.flatten(1).sum(1)


def vae_loss(
    x: torch.Tensor, preactivation: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, cfg: VAELossConfig,
    kl_weight: float,
) -> VAELoss:
    """The negative ELBO recon + kl_weight * KL, in nats per image (the training step gives kl_weight: beta, or its
    warm-up from vaegan/training/schedule.py)."""
    kl_per_dim = kl_to_standard_normal(mu, logvar)
    recon = pixel_nll(x, preactivation, cfg).mean()
    kl = kl_per_dim.sum(1).mean()
    return VAELoss(recon + kl_weight * kl, recon, kl, kl_per_dim.mean(0), kl_weight)
