"""The Soft-IntroVAE objective of Daniel & Tamar 2021 ("Soft-IntroVAE: Analyzing and Improving the Introspective
Variational Autoencoder", CVPR).

Read next to the paper's Algorithm 1 and the authors' training loop (soft_intro_vae/train_soft_intro_vae.py in
taldatech/soft-intro-vae-pytorch), which this follows term by term. With s = 1 / (C*H*W) and, for images a, b:

    L_r(a, b)   = sum over pixels of ((b - a) / 2)^2      squared error on the [0, 1] pixel scale ("mse", summed)
    KL(a)       = KL(q(z|a) || N(0, I)), summed over latent dimensions
    ELBO_w(a)   = -s * (beta_rec * L_r(a, Dec(z_a)) + w * KL(a)),   z_a ~ q(z|a)      (scaled, always <= 0)

    Z ~ q(z|X),      X_r = Dec(Z)        reconstructions of the batch X
    Z_f ~ N(0, I),   X_f = Dec(Z_f)      prior samples

    encoder  minimises  -ELBO_beta_kl(X)
                        + 1/2 * sum over X' in {X_r, X_f} of (1/alpha) exp(alpha * ELBO_beta_neg(X'))
    decoder  minimises  s * beta_rec * L_r(X, X_r)
                        + 1/2 * sum over X' in {X_r, X_f} of s * (beta_kl KL(X') + gamma_r beta_rec L_r(X', Dec(z_X')))

alpha = 2, as in the authors' code (exp(-2 * scale * (...)) with weight 0.25 = 1/alpha times the mean of the two fakes).
The encoder is the critic: it raises the ELBO of real data and lowers the ELBO of generated data. The exponential
replaces IntroVAE's hinge max(0, m - KL): its gradient exp(alpha * ELBO) fades smoothly for a fake the encoder already
rates low, instead of switching off at a margin. Its exponent is never positive, so the term lies in (0, 1/alpha] and
cannot overflow; it can only underflow to 0 (no gradient from that fake), which is the soft part and needs no clamp.
The decoder wants its generations to look real to the encoder: a small KL when they are re-encoded. gamma_r (1e-8 by
default) keeps only a trace of the reconstruction error of those re-encodings.

Scale: s normalises every ELBO by the number of pixels, as the authors' `scale = 1 / (ch * image_size ** 2)`, so the
exponent is of order one, not of order C*H*W (where exp would be 0 for every sample), and the betas keep their
meaning across image sizes.
L_r is the authors' squared error summed per image, on their [0, 1] pixel scale: our images are in [-1, 1], so the
difference is halved first; their defaults (beta_rec = beta_kl = 1, beta_neg = 256 for 28x28 MNIST and Fashion-MNIST,
gamma_r = 1e-8) then keep their meaning. Batch means are taken per image and averaged, as theirs.

What is detached, as in the authors' loop:
  encoder phase   X_f is made without any graph (the encoder does not produce it and the decoder is not updated);
                  X_r is re-encoded from a detached copy, so the exponential's gradient reaches the encoder through
                  its re-encodings of X_r and X_f, and (their code keeps it) through X_r as the target of L_r.
  decoder phase   Z is the encoder phase's code, detached (drawn before the encoder's update, as theirs); X_r and X_f
                  are re-encoded by the updated encoder without detaching, so KL(X') reaches the decoder through the
                  encoder; the re-encoded codes and the targets of the gamma_r term are detached, so that term trains
                  only the second decoding. Only the decoder's gradient is taken from this loss.

Every network pass is a batch of its own (real, reconstructed and prior images apart), as in the authors' loop: a
BatchNorm in the encoder then never normalises real and generated images together, which would let the critic compare
them through the batch statistics. The running statistics, used in eval mode, average over all these passes.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from vaegan.config import SoftIntroVAELossConfig
from vaegan.losses.vae import kl_to_standard_normal, reparameterize
from vaegan.noise import Noise
from vaegan.precision import autocast

ALPHA = 2.0  # the exponential's rate; the authors' code fixes it at 2 for images


class EncoderLosses(NamedTuple):
    encoder: torch.Tensor  # () what the encoder minimises: -ELBO(X) + the exponential terms of X_r and X_f
    z: torch.Tensor  # (B, latent_dim) the code Z of the batch, detached: the decoder phase decodes it again
    stats: dict[str, torch.Tensor]  # detached diagnostics


class DecoderLosses(NamedTuple):
    decoder: torch.Tensor  # () what the decoder minimises
    stats: dict[str, torch.Tensor]  # detached diagnostics


def reconstruction_error(target: torch.Tensor, reconstruction: torch.Tensor) -> torch.Tensor:
    """L_r per image: (B, C, H, W) x 2 in [-1, 1] -> (B,), squared error summed over pixels on the [0, 1] scale."""
    return ((reconstruction - target) / 2).pow(2).flatten(1).sum(1)


def kl_per_image(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per image, nats: (B, D) -> (B,)."""
    return kl_to_standard_normal(mu, logvar).sum(1)


def soft_exponential(neg_elbo: torch.Tensor) -> torch.Tensor:
    """(1/alpha) * exp(alpha * ELBO), batch mean: neg_elbo (B,) = -ELBO >= 0 -> (), in (0, 1/alpha]."""
    return (torch.exp(-ALPHA * neg_elbo) / ALPHA).mean()


def encoder_losses(nets: dict, x: torch.Tensor, z_p: torch.Tensor, noise: Noise,
                   cfg: SoftIntroVAELossConfig, precision: str = "fp32") -> EncoderLosses:
    """The encoder phase of Algorithm 1 on a batch x: (B, C, H, W) in [-1, 1]; z_p: (B, latent_dim) prior codes.

    Draws from `noise`, in order: Z, then the codes of the re-encoded X_r and X_f."""
    enc, dec = nets["encoder"], nets["decoder"]
    s = 1.0 / x[0].numel()
    fast = autocast(x.device.type, precision)

    with fast:
        mu, logvar = (t.float() for t in enc(x))
    z = reparameterize(mu, logvar, noise)
    with fast:
        x_r = dec(z).float()
    with torch.no_grad(), fast:
        x_f = dec(z_p).float()
    real_rec = reconstruction_error(x, x_r).mean()
    real_kl = kl_per_image(mu, logvar).mean()

    fake_neg_elbo = {}
    for name, fake, target in (("rec", x_r.detach(), x_r), ("fake", x_f, x_f)):
        with fast:
            f_mu, f_logvar = (t.float() for t in enc(fake))
        f_z = reparameterize(f_mu, f_logvar, noise)
        with fast:
            again = dec(f_z).float()
        fake_neg_elbo[name] = s * (cfg.beta_rec * reconstruction_error(target, again)
                                   + cfg.beta_neg * kl_per_image(f_mu, f_logvar))

    real_neg_elbo = s * (cfg.beta_rec * real_rec + cfg.beta_kl * real_kl)
    soft = {name: soft_exponential(v) for name, v in fake_neg_elbo.items()}
    stats = {
        "loss/encoder": real_neg_elbo + 0.5 * (soft["rec"] + soft["fake"]),
        "loss/recon": real_rec, "loss/kl": real_kl,  # L_r(X, X_r) and KL(X): the real data's ELBO, nats per image
        "soft/neg_elbo_real": real_neg_elbo,
        "soft/exp_elbo_rec": soft["rec"], "soft/exp_elbo_fake": soft["fake"],
        "soft/neg_elbo_rec": fake_neg_elbo["rec"].mean(), "soft/neg_elbo_fake": fake_neg_elbo["fake"].mean(),
        "kl/active_dims": (kl_to_standard_normal(mu, logvar).mean(0) > 0.01).sum().float(),
    }
    return EncoderLosses(
        encoder=stats["loss/encoder"],
        z=z.detach(),
        stats={k: v.detach() for k, v in stats.items()},
    )


def decoder_losses(nets: dict, x: torch.Tensor, z: torch.Tensor, z_p: torch.Tensor, noise: Noise,
                   cfg: SoftIntroVAELossConfig, precision: str = "fp32") -> DecoderLosses:
    """The decoder phase of Algorithm 1: x (B, C, H, W) in [-1, 1]; z: the encoder phase's code of x (detached);
    z_p: the same prior codes as the encoder phase. Draws from `noise`: the codes of the re-encoded X_r and X_f."""
    enc, dec = nets["encoder"], nets["decoder"]
    s = 1.0 / x[0].numel()
    fast = autocast(x.device.type, precision)

    with fast:
        x_r = dec(z.detach()).float()
        x_f = dec(z_p).float()
    real_rec = reconstruction_error(x, x_r).mean()

    kl, rec_again = {}, {}
    for name, fake in (("rec", x_r), ("fake", x_f)):
        with fast:
            f_mu, f_logvar = (t.float() for t in enc(fake))  # not detached: the KL reaches the decoder through Enc
        f_z = reparameterize(f_mu, f_logvar, noise).detach()
        with fast:
            again = dec(f_z).float()
        kl[name] = kl_per_image(f_mu, f_logvar).mean()
        rec_again[name] = reconstruction_error(fake.detach(), again).mean()

    loss = s * (cfg.beta_rec * real_rec + 0.5 * cfg.beta_kl * (kl["rec"] + kl["fake"])
                + 0.5 * cfg.gamma_r * cfg.beta_rec * (rec_again["rec"] + rec_again["fake"]))
    stats = {
        "loss/decoder": loss,
        "kl/rec": kl["rec"], "kl/fake": kl["fake"],  # as the updated encoder sees X_r and X_f, nats per image
        "recon/of_rec": rec_again["rec"], "recon/of_fake": rec_again["fake"],  # the gamma_r term's errors
    }
    return DecoderLosses(decoder=loss, stats={k: v.detach() for k, v in stats.items()})
