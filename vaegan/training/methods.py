"""The training methods by name: which optimizers update which networks, and the step that does it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from vaegan.training import softintrovae_step, vae_step, vaegan_step
from vaegan.training.state import TrainState


@dataclass(frozen=True)
class Method:
    optimizer_groups: dict[str, tuple[str, ...]]  # optimizer name -> networks it updates
    train_step: Callable[[TrainState, torch.Tensor], dict[str, torch.Tensor]]  # (state, x in [-1, 1]) -> stats


METHODS: dict[str, Method] = {
    "vae": Method(vae_step.OPTIMIZER_GROUPS, vae_step.vae_train_step),
    "vaegan": Method(vaegan_step.OPTIMIZER_GROUPS, vaegan_step.vaegan_train_step),
    "softintrovae": Method(softintrovae_step.OPTIMIZER_GROUPS, softintrovae_step.softintrovae_train_step),
}
