"""One optimizer step of the pure VAE: encoder and decoder descend the negative ELBO together."""

from __future__ import annotations

import torch

from vaegan.losses.vae import VAELoss, reparameterize, vae_loss
from vaegan.precision import autocast
from vaegan.training.gradients import grad_norm
from vaegan.training.schedule import kl_weight
from vaegan.training.state import TrainState

OPTIMIZER_GROUPS = {"vae": ("encoder", "decoder")}


def negative_elbo(state: TrainState, x: torch.Tensor) -> VAELoss:
    """The pixel VAE's loss of this step on x: (B, C, H, W) in [-1, 1], at the schedule's KL weight (the VAE's step,
    and the VAE-GAN's VAE start)."""
    enc, dec = state.nets["encoder"], state.nets["decoder"]
    fast = autocast(x.device.type, state.cfg.precision)  # bf16 forward passes; noise and losses in fp32
    with fast:
        mu, logvar = (t.float() for t in enc(x))
    z = reparameterize(mu, logvar, state.noise)
    with fast:
        a = dec.preactivation(z).float()
    return vae_loss(x, a, mu, logvar, state.cfg.vae, kl_weight(state.cfg.vae, state.step, state.progress))


def vae_train_step(state: TrainState, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """x: (B, C, H, W) in [-1, 1]. Returns detached 0-d tensors to log (the loop decides when to sync them)."""
    enc, dec, opt = state.nets["encoder"], state.nets["decoder"], state.optimizers["vae"]
    loss = negative_elbo(state, x)
    opt.zero_grad(set_to_none=True)
    loss.total.backward()
    for net in (enc, dec):  # one all-reduce per network (a no-op with one process)
        state.processes.average_([p.grad for p in net.parameters() if p.grad is not None])
    stats = {"grad_norm/encoder": grad_norm(enc), "grad_norm/decoder": grad_norm(dec)}
    opt.step()
    return {
        "loss/total": loss.total.detach(),
        "loss/recon": loss.recon.detach(),
        "loss/kl": loss.kl.detach(),
        "kl/weight": torch.tensor(loss.kl_weight, device=x.device),
        "kl/active_dims": (loss.kl_per_dim.detach() > 0.01).sum().float(),
        "kl/max_dim": loss.kl_per_dim.detach().max(),
        **stats,
    }
