"""Checkpoints: everything needed to continue a run exactly, in one file, written atomically. Used by training
(save, resume) and evaluation (load) alike; where a run keeps them is vaegan.run_folder.checkpoint_path.

Layout of the saved dict (plain tensors and Python values only, loaded with weights_only=True):
  format, version, kind, config (TrainConfig as a dict), step, nets {name: state_dict}, optimizers, schedulers,
  rng {name: generator state}, batches (BatchIterator state), wall_seconds (all elapsed time), train_seconds (the
  part spent in training steps, what a time budget counts; absent before 2026-11-26), extra (e.g. best metric).
Networks are rebuilt from `config` (vaegan.models.build), never unpickled as code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from vaegan.atomic import atomic_torch_save

FORMAT = "vaegan-checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated, corrupt or does not fit the networks it is loaded into."""


def save_checkpoint(payload: dict, path: str | Path) -> None:
    atomic_torch_save({"format": FORMAT, "version": VERSION, **payload}, path)


def train_seconds(record: dict) -> float | None:
    """The training time of a checkpoint or metrics record. Those written before it was kept apart charged all their
    elapsed time to the budget, so for them it is their wall_seconds (None where that is missing too)."""
    return record.get("train_seconds", record.get("wall_seconds"))


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; is this a run folder of vaegan, and did it run long enough to save one?")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        # Truncated zip, another program's pickle, disk garbage: all mean the same to the user, and torch's own
        # text (advice about weights_only) would mislead; it stays on the chain as __cause__ (VAEGAN_DEBUG=1 shows it).
        raise CheckpointError(f"checkpoint {path} cannot be read: it is corrupt or truncated, or not a vaegan "
                              "checkpoint; resume from another run or train again") from e
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a vaegan checkpoint (no '{FORMAT}' marker)")
    if ckpt.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint version {ckpt.get('version')}, this vaegan reads version {VERSION}")
    return ckpt


def load_state_into(module_or_optim, state: dict, what: str, path: str | Path) -> None:
    """load_state_dict with an error that names the file and the part that does not fit."""
    try:
        module_or_optim.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError) as e:
        raise CheckpointError(
            f"checkpoint {path} does not match this run's {what} (a different architecture or settings?): {e}"
        ) from e
