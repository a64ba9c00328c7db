"""The VAE-GAN objective of Larsen et al. 2016 ("Autoencoding beyond pixels using a learned similarity metric").

Read next to the paper's Algorithm 1:

    Z ~ Enc(X)                      L_prior = KL(q(Z|X) || p(Z))
    X~ = Dec(Z)                     L_llike^Dis_l = || Dis_l(X) - Dis_l(X~) ||^2      (Gaussian in Dis_l features)
    Z_p ~ N(0, I), X_p = Dec(Z_p)   L_GAN = BCE(Dis(X), real) + BCE(Dis(X~), fake) + BCE(Dis(X_p), fake)

    encoder       minimises  L_prior + L_llike
    decoder       minimises  gamma * L_llike - L_GAN        (only the fake terms of L_GAN depend on it)
    discriminator minimises  L_GAN

Here L_GAN is written as the discriminator's cross-entropy (what it minimises), so "- L_GAN" for the decoder is
the paper's saturating generator loss; the default replaces it by the non-saturating -log Dis(fake), as the
paper's own code did. L_GAN never enters the encoder's loss, and the discriminator's loss holds no L_llike term
(if it did, Dis could shrink its features to make L_llike zero). The step in vaegan/training/vaegan_step.py takes
each network's gradient from its own loss only.

Optional, not in the paper: an R1 penalty (Mescheder et al. 2018) r1_weight / 2 * E ||grad_x Dis(x)||^2 on real x,
added to the discriminator's loss only. Plain GAN updates circle around the equilibrium instead of reaching it; the
penalty makes them converge locally. It takes a pass of Dis over the real batch alone: a double backward through the
joint pass over [x, x~, x_p] would cost three times as much (measured: 0.73 s a step against 0.27 s without R1).

Normalisation (why one gamma serves 28x28 and 64x64): L_llike is the squared error averaged over the Dis_l
features (64x64: 16,384 of them; 28x28: 2,048) and divided by the mean square of the real features, a relative
error: Dis_l is read before a BatchNorm, so its scale is arbitrary and drifts while Dis trains, and a sum or plain
mean would change gamma's meaning with the resolution and over training. L_prior is the KL summed over latent
dimensions divided by the number of pixels C*H*W, the per-pixel scale at which the VAE's ELBO trades reconstruction
against KL. Measured after 20 steps (scripts/dev/gamma_scale_check.py): L_llike is 0.94 at 28x28 and 0.74 at 64x64
(summed: 4,423 vs 174,400), and the decoder's last-layer gradient ratio feature/adversarial is 3.6 vs 2.1 (summed:
1.7e4 vs 5.0e5), so gamma = 0.25 gives 0.9 and 0.5, the balance the original code had at 64x64.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from vaegan.config import VAEGANLossConfig
from vaegan.distributed import SINGLE, Processes
from vaegan.losses.vae import kl_to_standard_normal, reparameterize
from vaegan.models import DiscriminatorOutput
from vaegan.noise import Noise
from vaegan.precision import autocast


class VAEGANLosses(NamedTuple):
    encoder: torch.Tensor  # () L_prior + L_llike (+ pixel term): what the encoder minimises
    decoder_feature: torch.Tensor  # () L_llike (+ pixel term), to be weighted by gamma for the decoder
    decoder_adversarial: torch.Tensor  # () the decoder's GAN loss: its term on x~ (if counted as fake) plus on x_p
    discriminator: torch.Tensor  # () L_GAN: BCE of Dis on real x + on reconstructions + on prior samples
    stats: dict[str, torch.Tensor]  # detached diagnostics


def gan_bce(logits: torch.Tensor, real: bool, smoothing: float = 0.0) -> torch.Tensor:
    """Binary cross-entropy on logits (never log(sigmoid) by hand); one-sided smoothing lowers only real targets."""
    target = torch.full_like(logits, 1.0 - smoothing if real else 0.0)
    return F.binary_cross_entropy_with_logits(logits, target)


def decoder_adversarial_loss(fake_logits: torch.Tensor, form: str) -> torch.Tensor:
    """non_saturating: -log Dis(fake); saturating: log(1 - Dis(fake)), the paper's -L_GAN (weak early gradients)."""
    if form == "non_saturating":
        return gan_bce(fake_logits, real=True)
    if form == "saturating":
        return -gan_bce(fake_logits, real=False)
    raise ValueError(f"unknown adversarial loss {form!r}; use 'non_saturating' or 'saturating'")


def vaegan_losses(nets: dict, x: torch.Tensor, noise: Noise, cfg: VAEGANLossConfig,
                  kl_weight: float, precision: str = "fp32", processes: Processes = SINGLE) -> VAEGANLosses:
    """One forward pass of Algorithm 1 on a batch x: (B, C, H, W) in [-1, 1] (this process's rows of the global batch).

    kl_weight: the weight of L_prior in the encoder's loss (beta, or its warm-up: vaegan/training/schedule.py).
    precision "bf16": the networks run under bf16 autocast; noise, losses and their reductions stay in fp32.
    processes: with several, the one statistic that is not a per-image mean (L_llike's scale) covers the global batch.
    The R1 penalty is not part of it: the step adds r1_term to the discriminator's loss on the steps it trains Dis."""
    enc, dec, dis = nets["encoder"], nets["decoder"], nets["discriminator"]
    n_pixels = x[0].numel()
    fast = autocast(x.device.type, precision)

    with fast:
        mu, logvar = (t.float() for t in enc(x))
    prior = kl_to_standard_normal(mu, logvar).sum(1).mean() / n_pixels
    z = reparameterize(mu, logvar, noise)
    z_p = noise.randn(mu.shape, x.device, mu.dtype)
    # One decoder pass over [z, z_p] and one discriminator pass over [x, x~, x_p]: each BatchNorm then normalises
    # all parts with the same statistics. Separate passes would normalise x~ by its own batch statistics and cancel
    # any error shared by the whole batch (contrast, brightness) before Dis_l(x) and Dis_l(x~) are compared.
    with fast:
        x_rec, x_p = dec(torch.cat([z, z_p])).chunk(2)
        outputs = dis(torch.cat([x, x_rec, x_p]))
    real, rec, gen = (DiscriminatorOutput(*parts)
                      for parts in zip(*(t.float().chunk(3) for t in outputs)))
    x_rec = x_rec.float()
    # Relative to the energy of the real features: Dis_l sits before a BatchNorm, so its scale is arbitrary and
    # drifts as Dis trains; the ratio does not (the denominator is a constant to every gradient).
    energy = processes.mean(real.features.detach().pow(2).mean())  # of the global batch: equal for every process
    feature = (real.features - rec.features).pow(2).mean() / energy.clamp_min(1e-12)
    pixel = (x_rec - x).pow(2).mean()
    reconstruction = feature + cfg.pixel_weight * pixel

    fakes = [rec.logits, gen.logits] if cfg.reconstructions_as_fakes else [gen.logits]
    fake_logits = torch.cat(fakes)
    dis_real = gan_bce(real.logits, real=True, smoothing=cfg.label_smoothing)
    dis_fake_terms = [gan_bce(f, real=False) for f in fakes]
    dis_fake = sum(dis_fake_terms) / len(fakes)  # per fake batch, for the equilibrium rule and the logs

    stats = {
        "loss/prior": prior, "loss/feature": feature, "loss/pixel_mse": pixel,
        "loss/dis_real": dis_real, "loss/dis_fake": dis_fake,
        "dis/D_x": torch.sigmoid(real.logits).mean(), "dis/D_x_rec": torch.sigmoid(rec.logits).mean(),
        "dis/D_x_p": torch.sigmoid(gen.logits).mean(),
        "dis/accuracy_real": (real.logits > 0).float().mean(), "dis/accuracy_fake": (fake_logits < 0).float().mean(),
        "kl/nats_per_image": prior * n_pixels,
    }
    return VAEGANLosses(
        encoder=kl_weight * prior + reconstruction,
        decoder_feature=reconstruction,
        decoder_adversarial=sum(decoder_adversarial_loss(f, cfg.adversarial) for f in fakes),
        discriminator=dis_real + sum(dis_fake_terms),
        stats={k: v.detach() for k, v in stats.items()},
    )


def r1_due(cfg: VAEGANLossConfig, step: int) -> bool:
    """Lazy R1 (as in StyleGAN2): the penalty is taken on every r1_every-th step only, weighted by r1_every."""
    return cfg.r1_weight > 0 and step % cfg.r1_every == 0


def r1_term(dis: torch.nn.Module, x: torch.Tensor, cfg: VAEGANLossConfig, precision: str = "fp32"
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(r1_weight / 2 * r1_every * E ||grad_x Dis(x)||^2, to add to the discriminator's loss; the penalty itself, to
    log) for real x: (B, C, H, W) in [-1, 1]."""
    with autocast(x.device.type, precision):
        penalty = r1_penalty(dis, x)
    return cfg.r1_weight / 2 * cfg.r1_every * penalty, penalty.detach()


def r1_penalty(dis: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """E ||grad_x Dis(x)||^2 over real images x: (B, C, H, W) in [-1, 1], differentiable with respect to Dis's
    parameters. Dis runs on x alone (its BatchNorm normalises the real batch by its own statistics)."""
    # Differentiated at a non-leaf copy of x: hooks on module inputs (torch's FlopCounterMode, used by
    # scripts/dev/benchmark.py) cannot run inside autograd.grad with respect to a leaf.
    x = x.detach().requires_grad_(True) * 1.0
    (grad,) = torch.autograd.grad(dis(x).logits.float().sum(), x, create_graph=True)
    return grad.float().pow(2).flatten(1).sum(1).mean()
