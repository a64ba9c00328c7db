"""One Soft-IntroVAE update (Daniel & Tamar 2021, Algorithm 1): two phases, the encoder's and then the decoder's,
each with its own loss and optimizer (the losses: vaegan/losses/softintrovae.py).

The phases run in the authors' order: the encoder steps first, and the decoder's loss is then computed afresh, with
the generated images re-encoded by the updated encoder (the batch's code Z and the prior codes Z_f are the encoder
phase's, as in their loop). Unlike the VAE-GAN step, whose three gradients are all taken at the same parameters, the
decoder's loss here is a function of the encoder, and Algorithm 1 evaluates it after the encoder's update.

Each gradient is torch.autograd.grad of that network's own loss with respect to that network's parameters only:
the encoder's exponential terms never reach the decoder, and the decoder's loss, which runs through the encoder's
forward passes, never changes the encoder. Nothing accumulates into a shared .grad.
"""

from __future__ import annotations

import torch

from vaegan.losses.softintrovae import decoder_losses, encoder_losses
from vaegan.training.gradients import apply_gradients, gradients
from vaegan.training.state import TrainState

OPTIMIZER_GROUPS = {"encoder": ("encoder",), "decoder": ("decoder",)}


def softintrovae_train_step(state: TrainState, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """x: (B, C, H, W) in [-1, 1]. Returns detached 0-d tensors to log.

    All noise comes from state.noise, in order: Z_f, then the encoder phase's draws, then the decoder phase's, so a
    resumed run replays it exactly."""
    cfg, precision = state.cfg.softintrovae, state.cfg.precision
    enc, dec = state.nets["encoder"], state.nets["decoder"]
    z_p = state.noise.randn((x.shape[0], state.cfg.model.latent_dim), x.device, torch.float32)

    # Encoder phase: -ELBO(X) + the exponential terms of X_r and X_f; the decoder takes no step.
    enc_phase = encoder_losses(state.nets, x, z_p, state.noise, cfg, precision)
    stats = dict(enc_phase.stats)
    stats["grad_norm/encoder"] = apply_gradients(enc, gradients(enc_phase.encoder, enc, state.processes), state.optimizers["encoder"])

    # Decoder phase, through the updated encoder: ELBO(X) and the (KL-dominated) ELBO of X_r and X_f.
    dec_phase = decoder_losses(state.nets, x, enc_phase.z, z_p, state.noise, cfg, precision)
    stats.update(dec_phase.stats)
    stats["grad_norm/decoder"] = apply_gradients(dec, gradients(dec_phase.decoder, dec, state.processes), state.optimizers["decoder"])
    # The authors' health check: generated images should cost the encoder at least as many nats as real ones.
    stats["kl/fake_minus_real"] = stats["kl/fake"] - stats["loss/kl"]
    return stats
