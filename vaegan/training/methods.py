"""Each method's training step, loaded from the module its descriptor names (vaegan/methods.py): which optimizers
update which networks (the module's OPTIMIZER_GROUPS), and the step that does it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import torch

from vaegan.methods import METHODS
from vaegan.training.state import TrainState


@dataclass(frozen=True)
class Training:
    optimizer_groups: dict[str, tuple[str, ...]]  # optimizer name -> networks it updates
    train_step: Callable[[TrainState, torch.Tensor], dict[str, torch.Tensor]]  # (state, x in [-1, 1]) -> stats


def _load(step: str) -> Training:
    module_name, function = step.rsplit(".", 1)
    module = importlib.import_module(f"vaegan.training.{module_name}")
    return Training(module.OPTIMIZER_GROUPS, getattr(module, function))


TRAINING: dict[str, Training] = {name: _load(m.step) for name, m in METHODS.items()}
