"""Everything that changes while a run trains, and its round trip through a checkpoint."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from vaegan.checkpoint import CheckpointError, load_state_into, train_seconds
from vaegan.config import TrainConfig
from vaegan.data import BatchIterator
from vaegan.distributed import SINGLE, Processes
from vaegan.models.build import build_networks
from vaegan.models.sync_batchnorm import use_global_batchnorm
from vaegan.noise import Noise
from vaegan.precision import resolve_precision
from vaegan.training.ema import ema_models
from vaegan.training.optimizers import build_optimizer
from vaegan.training.schedule import lr_factor


@dataclass
class TrainState:
    cfg: TrainConfig  # with cfg.model resolved
    nets: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    noise: Noise  # all sampling noise of training (reparameterisation, prior z), so resume replays it
    batches: BatchIterator  # global batches: this process trains on processes.rows() of each
    step: int = 0
    wall_seconds: float = 0.0  # elapsed time summed over all sessions of this run (training and measuring)
    train_seconds: float = 0.0  # the part of it spent in training steps: what a --minutes budget counts
    # Fraction of the budget spent before the step under way (vaegan/training/schedule.py); derived from step and
    # train_seconds by the loop, so not saved.
    progress: float = 0.0
    extra: dict = field(default_factory=dict)  # small bookkeeping saved with the state, e.g. the best FID
    ema: dict[str, nn.Module] = field(default_factory=dict)  # averaged encoder/decoder (AveragedModel); {}: no EMA
    processes: Processes = SINGLE  # the data-parallel group this process trains in (vaegan/distributed.py)

    def checkpoint_payload(self) -> dict:
        return {
            "kind": self.cfg.kind,
            "config": self.cfg.to_dict(),
            "step": self.step,
            "wall_seconds": self.wall_seconds,
            "train_seconds": self.train_seconds,
            "nets": {k: v.state_dict() for k, v in self.nets.items()},
            "ema": {k: v.state_dict() for k, v in self.ema.items()},
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "rng": {"noise": self.noise.get_state()},
            "batches": self.batches.state_dict(),
            "extra": self.extra,
        }

    def restore(self, ckpt: dict, path: str | Path) -> None:
        """Continue from a checkpoint of the same run; any part that does not fit is a CheckpointError. The learning
        rates follow from the config, step and progress (vaegan/training/schedule.py): the "schedulers" that
        checkpoints written before kept are not needed."""
        if ckpt.get("kind") != self.cfg.kind:
            raise CheckpointError(f"checkpoint {path} is of a {ckpt.get('kind')} run, this is a {self.cfg.kind} run")
        for group in ("nets", "ema", "optimizers"):
            mine, saved = getattr(self, group), ckpt.get(group, {})
            if set(mine) != set(saved):
                raise CheckpointError(f"checkpoint {path} holds {group} {sorted(saved)}, this run has {sorted(mine)}")
            for name, obj in mine.items():
                load_state_into(obj, saved[name], f"{group[:-1]} '{name}'", path)
        self.noise.set_state(ckpt["rng"]["noise"])
        try:
            self.batches.load_state_dict(ckpt["batches"])
        except ValueError as e:
            raise CheckpointError(f"checkpoint {path}: its data order does not fit this dataset: {e}") from e
        self.step = ckpt["step"]
        self.wall_seconds = ckpt["wall_seconds"]
        self.train_seconds = train_seconds(ckpt)
        self.extra = ckpt["extra"]


def base_lr(cfg: TrainConfig, opt_name: str) -> float:
    """The learning rate of optimizer `opt_name` before any schedule: the discriminator's runs at
    discriminator_lr_scale times the others' (two time scales)."""
    scale = cfg.optim.discriminator_lr_scale if opt_name == "discriminator" else 1.0
    return cfg.optim.lr * scale


def set_learning_rates(state: TrainState) -> None:
    """Every optimizer's learning rate for the next step, from the schedule at state.step and state.progress."""
    factor = lr_factor(state.cfg.optim, state.step, state.batches.steps_per_epoch, state.progress)
    for name, opt in state.optimizers.items():
        for group in opt.param_groups:
            group["lr"] = base_lr(state.cfg, name) * factor


def optimizer_for(cfg: TrainConfig, opt_name: str, params: list[nn.Parameter]) -> torch.optim.Optimizer:
    return build_optimizer(params, dataclasses.replace(cfg.optim, lr=base_lr(cfg, opt_name)))


def build_state(cfg: TrainConfig, optimizer_groups: dict[str, tuple[str, ...]], train_images: torch.Tensor,
                processes: Processes = SINGLE) -> TrainState:
    """optimizer_groups: optimizer name -> the networks it updates, e.g. {"vae": ("encoder", "decoder")}.
    Every process builds the same state: networks and noise from cfg.seed alone. A precision of "auto" is resolved
    here (vaegan/precision.py), so the state's config, and every checkpoint of it, names the one it trains in."""
    cfg = dataclasses.replace(cfg, precision=resolve_precision(cfg.precision, cfg.device)[0])
    names = tuple(dict.fromkeys(n for group in optimizer_groups.values() for n in group))
    nets = build_networks(cfg, names)
    if cfg.sync_batchnorm:
        nets = {name: use_global_batchnorm(net) for name, net in nets.items()}
    optimizers = {
        opt: optimizer_for(cfg, opt, [p for n in group for p in nets[n].parameters()])
        for opt, group in optimizer_groups.items()
    }
    noise = Noise(torch.Generator(device=cfg.device).manual_seed(cfg.seed + 1), processes)
    batches = BatchIterator(train_images, cfg.batch_size, seed=cfg.seed)
    return TrainState(cfg, nets, optimizers, noise, batches, ema=ema_models(nets, cfg),
                      processes=processes)
