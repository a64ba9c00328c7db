"""The methods by name: one descriptor each, the only place the package says what a method is.

A method is its step (the function in vaegan/training/ that decides which optimizers update which networks, from which
losses), its default recipe (vaegan/recipes.py), its flags (the config groups its script adds to the common ones,
vaegan/settings.py), what the reports call it, and how the main job and its verdict treat it. This module imports no
training code, so that evaluation can read it; vaegan/training/methods.py loads the steps. A fourth method is its loss
(vaegan/losses/), its step module (vaegan/training/), a config section for its weights and a recipe, a three-line
scripts/train_<name>.py, and one entry below.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    name: str  # TrainConfig.kind
    label: str  # what reports, plans and messages call it
    description: str  # its training script's --help
    step: str  # "module.function" in vaegan/training/: the training step; the module also defines OPTIMIZER_GROUPS
    default_recipe: str  # a name in vaegan.recipes.RECIPES
    flag_groups: tuple[str, ...]  # config groups (Setting.group) of its own, besides the common ones
    in_main_job: bool = False  # trained by `make report` unless --methods says otherwise
    judged_against: str | None = None  # the method the report's verdict compares it with (the hybrid against the VAE)
    # The fewest steps at which it is worth judging: the hybrid needs about this many updates before its samples are
    # whole garments (benchmarks/budgets/README.md); the main job warns below it and the report does not rank it.
    fair_steps: int | None = None
    decodes_prior: bool = False  # its decoder trains on prior samples too: the weight average's BatchNorm sees both
    has_vae_start: bool = False  # it reads VAEGANLossConfig.vae_start (vaegan/training/vaegan_step.py)

    @property
    def script(self) -> str:
        return f"scripts/train_{self.name}.py"


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("vae", "VAE", "VAE", "vae_step.vae_train_step", "vae", ("vae_loss",), in_main_job=True),
    Method("vaegan", "VAE-GAN", "VAE-GAN (Larsen et al. 2016)", "vaegan_step.vaegan_train_step",
           "paper+slim_dis+r1+late_decay+ema+bias_correction", ("vae_loss", "vaegan", "discriminator"), in_main_job=True,
           judged_against="vae", fair_steps=1000, decodes_prior=True, has_vae_start=True),
    Method("softintrovae", "Soft-IntroVAE", "Soft-IntroVAE (Daniel & Tamar 2021)",
           "softintrovae_step.softintrovae_train_step", "softintrovae", ("softintrovae",)),
)}

MAIN_JOB = tuple(name for name, m in METHODS.items() if m.in_main_job)  # the methods `make report` trains


def method(kind: str) -> Method:
    """METHODS[kind], or ValueError naming the known ones."""
    if kind not in METHODS:
        raise ValueError(f"unknown method {kind!r}; known: {', '.join(METHODS)}")
    return METHODS[kind]


def label(kind: str) -> str:
    """What reports call a method: "VAE-GAN"; an unknown name (a run of a newer vaegan) as it is."""
    return METHODS[kind].label if kind in METHODS else kind
