"""A run's progress through its budget, and every schedule that follows it.

progress p in [0, 1] is the fraction of the budget spent (vaegan/budget.py): steps done over the step budget (an epoch
budget is a step budget of epochs x steps per epoch) or training seconds over the time budget, whichever is further
along. Schedules
that read p give a run of 400 steps and one of 6,000 the same shape: the learning rate at half the budget, the KL
weight at a tenth of it, the hand-off from the VAE start, the FID checks. A user's slower machine then runs the recipe
that was measured, only with fewer steps in it.

Schedules by step count remain where a recipe asks for them (lr_decay_per_epoch, kl_warmup_steps, ema_decay).
Everything here is a pure function of the config, the step and the progress, all of which a checkpoint restores, so a
resumed run continues the schedule exactly.
"""

from __future__ import annotations

import math

from vaegan.config import OptimConfig, TrainConfig, VAELossConfig


def lr_factor(optim: OptimConfig, step: int, steps_per_epoch: int, progress: float) -> float:
    """The learning rate of the next step as a multiple of the configured one: 1 over the first lr_hold of the budget,
    then an exponential decay that reaches lr_final at its end, whatever its length; times lr_decay_per_epoch for each
    epoch completed (the per-epoch decay, kept as an option)."""
    decaying = max(0.0, progress - optim.lr_hold) / (1.0 - optim.lr_hold)
    return optim.lr_final ** decaying * optim.lr_decay_per_epoch ** (step // steps_per_epoch)


def kl_weight(cfg: VAELossConfig, step: int, progress: float) -> float:
    """beta, ramped linearly from 0 over the first kl_warmup_fraction of the budget, or else over the first
    kl_warmup_steps steps (a warm-up against early posterior collapse); beta itself without either."""
    if cfg.kl_warmup_fraction > 0:
        return cfg.beta * min(1.0, progress / cfg.kl_warmup_fraction)
    if cfg.kl_warmup_steps > 0:
        return cfg.beta * min(1.0, step / cfg.kl_warmup_steps)
    return cfg.beta


def ema_decay(cfg: TrainConfig, n_averaged: int) -> float:
    """The weight average's decay at its n-th update (n = the steps averaged so far).

    ema_horizon h: the average spans about the last h of the steps done (decay 1 - 1 / (h n)), so at any point of any
    budget it covers the same fraction of the run. ema_decay d: the fixed decay d, ramped as (1 + n) / (10 + n) so a
    short run's average is not dominated by its random start (TensorFlow's ExponentialMovingAverage num_updates)."""
    if cfg.ema_horizon > 0:
        return max(0.0, 1.0 - 1.0 / max(1.0, cfg.ema_horizon * n_averaged))
    return min(cfg.ema_decay, (1.0 + n_averaged) / (10.0 + n_averaged))


def checks_due(before: float, after: float, checks: int) -> bool:
    """Whether the step that took the progress from `before` to `after` crossed one of `checks` evenly spaced points
    (1/checks, 2/checks, ..., 1): each point is crossed by exactly one step, the last by the budget's last step, and a
    resumed run does not repeat the check its checkpoint was saved after."""
    return math.floor(after * checks + 1e-9) > math.floor(before * checks + 1e-9)


def in_vae_start(cfg: TrainConfig, progress: float) -> bool:
    """Whether a VAE-GAN step at this progress is still part of its VAE start (vaegan/training/vaegan_step.py, the
    one method with one: Method.has_vae_start)."""
    return progress < cfg.vaegan.vae_start
