"""One VAE-GAN update: three phases (encoder, decoder, discriminator), each with its own loss and optimizer.

All three gradients are taken at the same parameters from one forward pass (as in Algorithm 1), each with
torch.autograd.grad of that network's own loss with respect to that network's parameters only. Nothing
accumulates into a shared .grad, so no gradient can leak from one network's loss into another network, and
no optimizer steps before every gradient is taken (which would change the graph under the later ones).

With several processes (torchrun), each network's gradient is averaged over them in one all-reduce right after it is
taken, and every decision made from batch statistics (the equilibrium rule, the adaptive gamma) uses their mean over
the processes, so all processes take the same branches and apply the same update.

With a VAE start (cfg.vaegan.vae_start > 0), the steps of that first part of the budget are vae_start_step instead:
the pixel VAE's loss for encoder and decoder, at a VAE step's cost, before the three phases take over.
"""

from __future__ import annotations

import torch
from torch import nn

from vaegan.config import VAEGANLossConfig
from vaegan.distributed import SINGLE, Processes
from vaegan.losses.vaegan import r1_due, r1_term, vaegan_losses
from vaegan.training.gradients import apply_gradients, gradients
from vaegan.training.schedule import in_vae_start, kl_weight
from vaegan.training.vae_step import negative_elbo
from vaegan.training.state import TrainState

OPTIMIZER_GROUPS = {"encoder": ("encoder",), "decoder": ("decoder",), "discriminator": ("discriminator",)}


def equilibrium_decisions(dis_real: torch.Tensor, dis_fake: torch.Tensor, cfg: VAEGANLossConfig) -> tuple[bool, bool]:
    """The balancing rule of Larsen et al.'s code: (train discriminator, train decoder).

    A discriminator whose real or fake cross-entropy is already below equilibrium - margin is too good: skip it.
    A decoder facing a discriminator whose cross-entropy rises above equilibrium + margin gives no useful
    adversarial signal: skip it. If both would be skipped, train both.
    """
    if not cfg.equilibrium:
        return True, True
    low, high = cfg.equilibrium_value - cfg.equilibrium_margin, cfg.equilibrium_value + cfg.equilibrium_margin
    train_dis = not (dis_real.item() < low or dis_fake.item() < low)
    train_dec = not (dis_real.item() > high or dis_fake.item() > high)
    if not (train_dis or train_dec):
        return True, True
    return train_dis, train_dec


def adaptive_gamma(feature_loss: torch.Tensor, adversarial_loss: torch.Tensor, decoder: nn.Module, gamma: float,
                   processes: Processes = SINGLE) -> torch.Tensor:
    """gamma * |grad adversarial| / |grad feature| at the decoder's last layer: the two terms then pull the output
    layer equally hard (times gamma), whatever scale the Dis_l features drift to. Gradients of the global batch."""
    last = decoder.to_image.weight
    g_feat = torch.autograd.grad(feature_loss, last, retain_graph=True)[0]
    g_adv = torch.autograd.grad(adversarial_loss, last, retain_graph=True)[0]
    processes.average_([g_feat, g_adv])
    return (gamma * g_adv.norm() / (g_feat.norm() + 1e-8)).clamp(max=1e4).detach()


def vae_start_step(state: TrainState, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """A step of the VAE start. x: (B, C, H, W) in [-1, 1] -> detached 0-d tensors to log.

    Encoder and decoder descend the pixel VAE's negative ELBO divided by the number of pixels (the scale of L_prior in
    the three phases, so RMSProp's running averages carry over), in one backward pass, each with its own optimizer.
    The discriminator neither runs nor trains: the step costs what a VAE step costs."""
    enc, dec = state.nets["encoder"], state.nets["decoder"]
    loss = negative_elbo(state, x)
    params = {name: [p for p in net.parameters() if p.requires_grad] for name, net in (("encoder", enc), ("decoder", dec))}
    grads = torch.autograd.grad(loss.total / x[0].numel(), params["encoder"] + params["decoder"])
    enc_grads, dec_grads = list(grads[: len(params["encoder"])]), list(grads[len(params["encoder"]):])
    state.processes.average_(enc_grads)
    state.processes.average_(dec_grads)
    return {
        "loss/recon": loss.recon.detach(), "loss/kl": loss.kl.detach(),
        "grad_norm/encoder": apply_gradients(enc, enc_grads, state.optimizers["encoder"]),
        "grad_norm/decoder": apply_gradients(dec, dec_grads, state.optimizers["decoder"]),
        "stage/vae_start": torch.ones((), device=x.device),
    }


def vaegan_train_step(state: TrainState, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """x: (B, C, H, W) in [-1, 1]. Returns detached 0-d tensors to log."""
    if in_vae_start(state.cfg, state.progress):
        return vae_start_step(state, x)
    cfg = state.cfg.vaegan
    enc, dec, dis = state.nets["encoder"], state.nets["decoder"], state.nets["discriminator"]
    processes = state.processes
    losses = vaegan_losses(state.nets, x, state.noise, cfg, kl_weight(state.cfg.vae, state.step, state.progress),
                           state.cfg.precision, processes)
    dis_real, dis_fake = processes.mean(torch.stack([losses.stats["loss/dis_real"], losses.stats["loss/dis_fake"]])) \
        if cfg.equilibrium else (losses.stats["loss/dis_real"], losses.stats["loss/dis_fake"])
    train_dis, train_dec = equilibrium_decisions(dis_real, dis_fake, cfg)

    gamma = adaptive_gamma(losses.decoder_feature, losses.decoder_adversarial, dec, cfg.gamma, processes) \
        if cfg.adaptive_gamma else torch.tensor(cfg.gamma, device=x.device)
    decoder_loss = gamma * losses.decoder_feature + losses.decoder_adversarial
    stats = dict(losses.stats)
    dis_loss = losses.discriminator
    # The R1 pass (a double backward) only where its gradient is used: not on steps the equilibrium rule skips Dis.
    if train_dis and r1_due(cfg, state.step):
        r1_loss, stats["loss/r1"] = r1_term(dis, x, cfg, state.cfg.precision)
        dis_loss = dis_loss + r1_loss

    # Encoder phase: L_prior + L_llike only; L_GAN is not part of its loss, so none of it can reach the encoder.
    enc_grads = gradients(losses.encoder, enc, processes)
    # Decoder phase: gamma * L_llike + its adversarial loss, with respect to the decoder's parameters only.
    dec_grads = gradients(decoder_loss, dec, processes) if train_dec else None
    # Discriminator phase: its cross-entropy (+ the R1 penalty when due) only, never L_llike.
    dis_grads = gradients(dis_loss, dis, processes) if train_dis else None

    stats["grad_norm/encoder"] = apply_gradients(enc, enc_grads, state.optimizers["encoder"])
    if dec_grads is not None:
        stats["grad_norm/decoder"] = apply_gradients(dec, dec_grads, state.optimizers["decoder"])
    if dis_grads is not None:
        stats["grad_norm/discriminator"] = apply_gradients(dis, dis_grads, state.optimizers["discriminator"])
    stats["loss/decoder"] = decoder_loss.detach()
    stats["stabiliser/gamma"] = gamma
    stats["stabiliser/dis_skipped"] = torch.tensor(float(not train_dis), device=x.device)
    stats["stabiliser/dec_skipped"] = torch.tensor(float(not train_dec), device=x.device)
    if cfg.vae_start > 0:
        stats["stage/vae_start"] = torch.zeros((), device=x.device)
    return stats
