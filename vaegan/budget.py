"""A run's budget: when it stops, how far through it a run is, how it reads, and what a new one replaces.

The budget is the config's fields of role "budget" (vaegan/settings.py): epochs, steps and minutes, the run stopping
at whichever comes first. Every schedule reads the run's progress through it (vaegan/training/schedule.py); the
training scripts, `--resume` and the main job all replace a budget through `applied_to`, as a whole, so that an old
limit never caps a new one silently.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from vaegan.config import TrainConfig
from vaegan.settings import paths_with_roles

FIELDS = ("epochs", "steps", "minutes")  # the order budgets are read and written in
assert set(FIELDS) == paths_with_roles(TrainConfig, ["budget"]), "a budget field was added: teach Budget about it"


@dataclass(frozen=True)
class Budget:
    """epochs (passes over the training data), steps, minutes (training time: time spent in training steps only;
    FID checks, images and checkpoints are not charged); None: no limit of that kind. steps_per_epoch turns epochs
    into steps once the data is known (None before)."""

    epochs: float | None = None
    steps: int | None = None
    minutes: float | None = None
    steps_per_epoch: int | None = None

    @classmethod
    def of(cls, cfg: TrainConfig, steps_per_epoch: int | None = None) -> "Budget":
        return cls(cfg.epochs, cfg.steps, cfg.minutes, steps_per_epoch)

    @classmethod
    def exactly_one(cls, minutes: float | None = None, steps: int | None = None,
                    epochs: float | None = None) -> "Budget":
        """The one budget every model of the main job gets; ValueError unless exactly one limit is given."""
        budget = cls(epochs, steps, minutes)
        given = [k for k in FIELDS if getattr(budget, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one budget (minutes, steps or epochs), got {given or 'none'}")
        return budget

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, k) is None for k in FIELDS)

    def fields(self) -> dict:
        """{epochs, steps, minutes}: the TrainConfig fields of this budget."""
        return {k: getattr(self, k) for k in FIELDS}

    def applied_to(self, cfg: TrainConfig) -> TrainConfig:
        """cfg with this budget in place of its own, as a whole (a --steps given alone drops the default epochs)."""
        return dataclasses.replace(cfg, **self.fields())

    def describe(self) -> str:
        """'200 steps', or '5 epochs or 10 minutes, whichever comes first'."""
        parts = [f"{value:g} {unit}" for unit, value in self.fields().items() if value is not None]
        return parts[0] if len(parts) == 1 else f"{' or '.join(parts)}, whichever comes first"

    @property
    def step_limit(self) -> int | None:
        """The most steps the run makes (the nearer of steps and epochs), None for a time budget alone."""
        limits = [self.steps] if self.steps is not None else []
        if self.epochs is not None:
            if self.steps_per_epoch is None:
                raise ValueError("an epoch budget needs steps_per_epoch: Budget.of(cfg, steps_per_epoch)")
            limits.append(math.ceil(self.epochs * self.steps_per_epoch))
        return min(limits) if limits else None

    @property
    def seconds(self) -> float | None:
        return None if self.minutes is None else self.minutes * 60.0

    def progress(self, step: int, train_seconds: float) -> float:
        """The fraction of the budget spent after `step` steps and `train_seconds` of training, in [0, 1]: steps over
        the step limit or seconds over the time limit, whichever is further along."""
        parts = []
        if self.step_limit is not None:
            parts.append(step / self.step_limit)
        if self.seconds is not None:
            parts.append(train_seconds / self.seconds)
        return min(1.0, max(parts))

    def left(self, step: int, train_seconds: float) -> bool:
        if self.step_limit is not None and step >= self.step_limit:
            return False
        return self.seconds is None or train_seconds < self.seconds
