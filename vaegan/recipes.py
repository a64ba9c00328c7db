"""Named training recipes: the settings each method starts from, and the VAE-GAN candidates the sweep compares.

A recipe is a set of TrainConfig overrides (nested dicts for the sub-configs). `default_config(kind)` is the
method's recipe applied to TrainConfig's defaults; `scripts/sweep.py` trains the candidates side by side and
writes the table behind the choice (benchmarks/RECIPES.md).
"""

from __future__ import annotations

import dataclasses

from vaegan.config import TrainConfig
from vaegan.training.methods import METHODS, method

# The coordinate decoder with ModelConfig's CPPN defaults (Fourier features, a shift grid of half the image size):
# the same from Python, a recipe and `--decoder cppn`.
CPPN_DECODER = {"decoder": "cppn"}

def _over_budget(lr_final: float, lr_hold: float, ema_horizon: float, vae_start: float = 0.0) -> dict:
    """The paper's RMSProp at 6e-4 with the half-width discriminator and R1 (as the recipes below), with every schedule
    a function of the budget's progress."""
    return {"kind": "vaegan", "ema_horizon": ema_horizon,
            "optim": {"name": "rmsprop", "lr": 6e-4, "lr_final": lr_final, "lr_hold": lr_hold},
            "vaegan": {"r1_weight": 1.0, "r1_every": 4, "vae_start": vae_start}, "model": {"dis_channels_scale": 0.5}}


RECIPES: dict[str, dict] = {
    # The pixel VAE: Adam 1e-3 (TrainConfig's defaults). No weight average: measured, it made the VAE's samples
    # worse (N(0, I) FID 696 averaged vs 477 live after 5000 steps; benchmarks/RECIPES.md), while it helps the VAE-GAN.
    "vae": {"kind": "vae"},
    # Larsen et al. as published: RMSProp 3e-4 for all three networks (section 4), no stabiliser.
    "paper": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4}},
    # + a weight average of encoder and decoder for sampling (GAN iterates oscillate; their average does not).
    "paper+ema": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4}, "ema_decay": 0.999},
    # + two time scales: the discriminator learns 2x faster than encoder and decoder (Heusel et al. 2017).
    "paper+ema+ttur": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4, "discriminator_lr_scale": 2.0},
                       "ema_decay": 0.999},
    # + a discriminator of half the width after its first layer: 1.7x the steps in the same time at 28x28.
    "paper+ema+slim_dis": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4}, "ema_decay": 0.999,
                           "model": {"dis_channels_scale": 0.5}},
    # The same without the weight average: the default. Scored side by side on the same 10-minute runs (3 seeds),
    # the live weights beat their average (GMM FID 86 vs 98, sharpness 0.91 vs 0.76): by then the live decoder has
    # stopped oscillating, and the average only lags it.
    "paper+slim_dis": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4},
                       "model": {"dis_channels_scale": 0.5}},
    # + an R1 penalty on the discriminator (Mescheder et al. 2018), weight 1, every 4th step. The main job
    # at 10 minutes, 3 seeds (benchmarks/report-10min-3seeds/): mixture FID 55.6 ± 3.3 against 78.0 ± 19.0 for
    # paper+slim_dis, N(0, I) FID 435 against 562. It costs ~12% more time per step (the double backward every 4th step).
    "paper+slim_dis+r1": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4},
                          "vaegan": {"r1_weight": 1.0, "r1_every": 4}, "model": {"dis_channels_scale": 0.5}},
    # + twice the learning rate (6e-4), halved after every epoch (937 steps at batch 64). R1 lets the
    # higher rate reach in ~800 steps what 3e-4 reaches in ~1,400 (seed 0: mixture FID 76 at step 800 against 110);
    # kept at 6e-4 it then degrades (79, 83, 104 by step 1,400); halved, it holds (66, 72, 74). In the 10-minute main job
    # (3 seeds): mixture FID 51.0 ± 3.8 against 55.6 ± 3.3 for paper+slim_dis+r1 (benchmarks/RECIPES.md).
    "paper+slim_dis+r1+lr_decay": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 6e-4, "lr_decay_per_epoch": 0.5},
                                   "vaegan": {"r1_weight": 1.0, "r1_every": 4}, "model": {"dis_channels_scale": 0.5}},
    # + a weight average of encoder and decoder for sampling, its BatchNorm statistics recomputed for its own weights
    # (vaegan/training/ema.py). On the same run (seed 0) it beat the live weights at every check, mixture FID 71, 63,
    # 52, 51 against 76, 66, 72, 74 over steps 800-1,400. In the 10-minute main job (3 seeds, the budget counting
    # training steps only): mixture FID 38.3 / 32.5 / 34.2, the lowest yet, but still falling at the end, so each
    # curve's second half lay 31-78% above its end (benchmarks/RECIPES.md).
    # Within 10 minutes the ramp (1 + n) / (10 + n) keeps the decay below 0.995 (~110 steps' horizon at step 1,000).
    "paper+slim_dis+r1+lr_decay+ema": {"kind": "vaegan", "ema_decay": 0.995,
                                       "optim": {"name": "rmsprop", "lr": 6e-4, "lr_decay_per_epoch": 0.5},
                                       "vaegan": {"r1_weight": 1.0, "r1_every": 4}, "model": {"dis_channels_scale": 0.5}},
    # The same with the learning rate cut faster, x0.35 per epoch instead of x0.5 (5.8e-5 instead of 1.5e-4 by step
    # 2,000): the default. It settles by the middle of a 10-minute run, so the score does not hang on where the budget
    # ends: in the main job (3 seeds) mixture FID 53.8 / 45.3 / 38.9, each curve's second half within 15% of its end.
    "paper+slim_dis+r1+fast_decay+ema": {"kind": "vaegan", "ema_decay": 0.995,
                                         "optim": {"name": "rmsprop", "lr": 6e-4, "lr_decay_per_epoch": 0.35},
                                         "vaegan": {"r1_weight": 1.0, "r1_every": 4},
                                         "model": {"dis_channels_scale": 0.5}},
    # Every schedule over the run's progress through its budget (vaegan/training/schedule.py), so a run of 400 steps
    # and one of 6,000 end on the same schedule: shapes measured at 425 and 2,500 steps (benchmarks/budgets/).
    # The default: the full rate for the first 75% of the budget, then down to x0.1 at its end, and a weight average
    # over the last 10% of the steps done. Mixture FID at 425 steps 212 (no decay: 173), at 2,500 steps 36.8 (the
    # x0.35-per-epoch recipe above: 51.0).
    "paper+slim_dis+r1+late_decay+ema": _over_budget(lr_final=0.1, lr_hold=0.75, ema_horizon=0.1),
    # No decay: the best at 425 steps (mixture FID 173), what degrades past ~1,000 steps without a cut (RECIPES.md).
    "paper+slim_dis+r1+ema_horizon": _over_budget(lr_final=1.0, lr_hold=0.0, ema_horizon=0.1),
    # Earlier or deeper cuts cost short runs most: held for half the budget, then down to x0.05 (425 steps: 341) ...
    "paper+slim_dis+r1+hold_decay+ema": _over_budget(lr_final=0.05, lr_hold=0.5, ema_horizon=0.1),
    # ... and the x0.35-per-epoch cut stretched over the whole budget, down to x0.02 (425 steps: 778).
    "paper+slim_dis+r1+budget_decay+ema": _over_budget(lr_final=0.02, lr_hold=0.0, ema_horizon=0.06),
    # With a VAE start (the first 20% a pixel VAE): worse at equal steps (425 steps: 615 and 621).
    "paper+slim_dis+r1+hold_decay+ema+vae_start": _over_budget(lr_final=0.05, lr_hold=0.5, ema_horizon=0.1,
                                                               vae_start=0.2),
    "paper+slim_dis+r1+budget_decay+ema+vae_start": _over_budget(lr_final=0.02, lr_hold=0.0, ema_horizon=0.06,
                                                                 vae_start=0.2),
    # + spectral norm on the discriminator (Miyato et al. 2018).
    "paper+ema+sn": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4}, "ema_decay": 0.999,
                     "model": {"dis_spectral_norm": True}},
    # Soft-IntroVAE (Daniel & Tamar 2021) as the authors train it: Adam 2e-4 with default betas for encoder and
    # decoder (their main.py), their Fashion-MNIST weights (SoftIntroVAELossConfig's defaults). They used batches of
    # 128; the batch size stays the one every method here shares.
    "softintrovae": {"kind": "softintrovae", "optim": {"name": "adam", "lr": 2e-4, "betas": (0.9, 0.999)}},
}

# The default with the coordinate decoder, so that the main job can train it beside the conv one: `make report
# ARGS="--recipes vae,paper+slim_dis+r1+fast_decay+ema,paper+slim_dis+r1+fast_decay+ema+cppn"`
# (benchmarks/report-10min-3seeds-cppn/).
RECIPES["paper+slim_dis+r1+fast_decay+ema+cppn"] = {
    **RECIPES["paper+slim_dis+r1+fast_decay+ema"],
    "model": {**RECIPES["paper+slim_dis+r1+fast_decay+ema"]["model"], **CPPN_DECODER}}

RECIPES["paper+slim_dis+r1+late_decay+ema+cppn"] = {
    **RECIPES["paper+slim_dis+r1+late_decay+ema"],
    "model": {**RECIPES["paper+slim_dis+r1+late_decay+ema"]["model"], **CPPN_DECODER}}

# What `scripts/train_*.py` and `make report` use, by method (each method's descriptor names its own,
# vaegan/training/methods.py); benchmarks/RECIPES.md holds the measurements behind them.
DEFAULT_RECIPE = {name: m.default_recipe for name, m in METHODS.items()}


def apply_recipe(cfg: TrainConfig, name: str) -> tuple[TrainConfig, dict]:
    """cfg with recipe `name` applied -> (config, model overrides to apply once the data's architecture is known)."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    recipe = dict(RECIPES[name])
    model = dict(recipe.pop("model", {}))  # a copy: callers add their own changes to it
    changes = {k: dataclasses.replace(getattr(cfg, k), **v) if isinstance(v, dict) else v for k, v in recipe.items()}
    return dataclasses.replace(cfg, **changes), model


def recipe_config(name: str) -> TrainConfig:
    """The config of recipe `name` on top of TrainConfig's defaults (its model overrides: `recipe_model(name)`)."""
    return apply_recipe(TrainConfig(), name)[0]


def recipe_model(name: str) -> dict:
    return dict(RECIPES[name].get("model", {}))


def default_recipe(kind: str) -> str:
    """The name of method `kind`'s default recipe; ValueError for an unknown method."""
    return method(kind).default_recipe


def default_config(kind: str) -> TrainConfig:
    """The config a method trains with when nothing else is said: its default recipe (model overrides aside:
    `recipe_model(default_recipe(kind))`; vaegan/resolve.py `configure` gives both)."""
    return recipe_config(default_recipe(kind))
