"""Named training recipes: the settings each method starts from, and the VAE-GAN candidates the sweep compares.

A recipe is a set of TrainConfig overrides (nested dicts for the sub-configs). `default_config(kind)` is the
method's recipe applied to TrainConfig's defaults; `scripts/sweep.py` trains the candidates side by side and
writes the table behind the choice (benchmarks/RECIPES.md).
"""

from __future__ import annotations

import dataclasses

from vaegan.config import TrainConfig
from vaegan.methods import METHODS, method

# The coordinate decoder with ModelConfig's CPPN defaults (Fourier features, a shift grid of half the image size):
# the same from Python, a recipe and `--decoder cppn`.
CPPN_DECODER = {"decoder": "cppn"}

def _over_budget(lr_final: float, lr_hold: float, ema_horizon: float, vae_start: float = 0.0,
                 bias_correction: bool = False) -> dict:
    """The paper's RMSProp at 6e-4 with the half-width discriminator and R1 (as the recipes below), with every schedule
    a function of the budget's progress."""
    return {"kind": "vaegan", "ema_horizon": ema_horizon,
            "optim": {"name": "rmsprop", "lr": 6e-4, "lr_final": lr_final, "lr_hold": lr_hold,
                      "bias_correction": bias_correction},
            "vaegan": {"r1_weight": 1.0, "r1_every": 4, "vae_start": vae_start}, "model": {"dis_channels_scale": 0.5}}


RECIPES: dict[str, dict] = {
    # The pixel VAE: Adam 1e-3 (TrainConfig's defaults). No weight average: it made the VAE's samples worse while it
    # helps the VAE-GAN (benchmarks/RECIPES.md).
    "vae": {"kind": "vae"},
    # Larsen et al. as published: RMSProp 3e-4 for all three networks (section 4), no stabiliser.
    "paper": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4}},
    # + a weight average of encoder and decoder for sampling (GAN iterates oscillate; their average does not).
    "paper+ema": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4}, "ema_decay": 0.999},
    # + two time scales: the discriminator learns 2x faster than encoder and decoder (Heusel et al. 2017).
    "paper+ema+ttur": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4, "discriminator_lr_scale": 2.0},
                       "ema_decay": 0.999},
    # + a discriminator of half the width after its first layer: more steps in the same time (benchmarks/RECIPES.md).
    "paper+ema+slim_dis": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4}, "ema_decay": 0.999,
                           "model": {"dis_channels_scale": 0.5}},
    # The same without the weight average. Scored side by side on the same 10-minute runs, the live weights beat
    # their plain average: by then the live decoder has stopped oscillating, and the average only lags it.
    "paper+slim_dis": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4},
                       "model": {"dis_channels_scale": 0.5}},
    # + an R1 penalty on the discriminator (Mescheder et al. 2018), weight 1, every 4th step: better and steadier in
    # the 10-minute main job (benchmarks/report-10min-3seeds/), at the cost of a double backward every 4th step.
    "paper+slim_dis+r1": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 3e-4},
                          "vaegan": {"r1_weight": 1.0, "r1_every": 4}, "model": {"dis_channels_scale": 0.5}},
    # + twice the learning rate (6e-4), halved after every epoch. R1 lets the higher rate learn faster; kept at 6e-4
    # it then degrades, halved it holds (benchmarks/RECIPES.md).
    "paper+slim_dis+r1+lr_decay": {"kind": "vaegan", "optim": {"name": "rmsprop", "lr": 6e-4, "lr_decay_per_epoch": 0.5},
                                   "vaegan": {"r1_weight": 1.0, "r1_every": 4}, "model": {"dis_channels_scale": 0.5}},
    # + a weight average of encoder and decoder for sampling, its BatchNorm statistics recomputed for its own weights
    # (vaegan/training/ema.py): it beat the live weights at every check, but the curves were still falling at the end
    # of 10 minutes (benchmarks/RECIPES.md).
    "paper+slim_dis+r1+lr_decay+ema": {"kind": "vaegan", "ema_decay": 0.995,
                                       "optim": {"name": "rmsprop", "lr": 6e-4, "lr_decay_per_epoch": 0.5},
                                       "vaegan": {"r1_weight": 1.0, "r1_every": 4}, "model": {"dis_channels_scale": 0.5}},
    # The same with the learning rate cut faster, x0.35 per epoch: the default before schedules followed the budget.
    # It settles within a 10-minute run on the machine it was tuned on, but a run of fewer epochs never gets the cut.
    "paper+slim_dis+r1+fast_decay+ema": {"kind": "vaegan", "ema_decay": 0.995,
                                         "optim": {"name": "rmsprop", "lr": 6e-4, "lr_decay_per_epoch": 0.35},
                                         "vaegan": {"r1_weight": 1.0, "r1_every": 4},
                                         "model": {"dis_channels_scale": 0.5}},
    # Every schedule over the run's progress through its budget (vaegan/training/schedule.py), so a run of 400 steps
    # and one of 6,000 end on the same schedule (the shapes compared: benchmarks/budgets/README.md). The default's
    # schedule: the full rate for the first 75% of the budget, then down to x0.1 at its end, and a weight average over the last 10%
    # of the steps done: near the best at short budgets and far better than the per-epoch cut at long ones.
    "paper+slim_dis+r1+late_decay+ema": _over_budget(lr_final=0.1, lr_hold=0.75, ema_horizon=0.1),
    # The default: the same with RMSProp's average of squared gradients bias-corrected, as Adam's is. Uncorrected, the
    # first steps are up to 10x the learning rate, and in 3 of 4 seeds the encoder's KL shot up ~1,000-fold within
    # five steps, which a 400-step run never made up for (benchmarks/budgets/README.md, section 9).
    "paper+slim_dis+r1+late_decay+ema+bias_correction": _over_budget(lr_final=0.1, lr_hold=0.75, ema_horizon=0.1,
                                                                     bias_correction=True),
    # No decay: the best of the shapes at the shortest budget, and what degrades in long runs without a cut.
    "paper+slim_dis+r1+ema_horizon": _over_budget(lr_final=1.0, lr_hold=0.0, ema_horizon=0.1),
    # Earlier or deeper cuts cost short runs most: held for half the budget, then down to x0.05 ...
    "paper+slim_dis+r1+hold_decay+ema": _over_budget(lr_final=0.05, lr_hold=0.5, ema_horizon=0.1),
    # ... and the x0.35-per-epoch cut stretched over the whole budget, down to x0.02.
    "paper+slim_dis+r1+budget_decay+ema": _over_budget(lr_final=0.02, lr_hold=0.0, ema_horizon=0.06),
    # With a VAE start (the first 20% a pixel VAE): worse at equal steps, and under a time budget too.
    "paper+slim_dis+r1+hold_decay+ema+vae_start": _over_budget(lr_final=0.05, lr_hold=0.5, ema_horizon=0.1,
                                                               vae_start=0.2),
    "paper+slim_dis+r1+late_decay+ema+vae_start": _over_budget(lr_final=0.1, lr_hold=0.75, ema_horizon=0.1,
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

# The defaults, the present one and the two before it, with the coordinate decoder, so that the main job can train it beside the conv one: `make report
# ARGS="--recipes vae,paper+slim_dis+r1+fast_decay+ema,paper+slim_dis+r1+fast_decay+ema+cppn"`
# (benchmarks/report-10min-3seeds-cppn/).
for _base in ("paper+slim_dis+r1+fast_decay+ema", "paper+slim_dis+r1+late_decay+ema",
              "paper+slim_dis+r1+late_decay+ema+bias_correction"):
    RECIPES[_base + "+cppn"] = {**RECIPES[_base], "model": {**RECIPES[_base]["model"], **CPPN_DECODER}}

# What `scripts/train_*.py` and `make report` use, by method (each method's descriptor names its own,
# vaegan/methods.py); benchmarks/RECIPES.md holds the measurements behind them.
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
