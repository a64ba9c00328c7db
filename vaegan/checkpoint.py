"""Checkpoints: everything needed to continue a run exactly, in one file, written atomically. Used by training
(save, resume) and evaluation (load) alike; where a run keeps them is vaegan.run_folder.checkpoint_path.

Layout of the saved dict (plain tensors and Python values only, loaded with weights_only=True):
  format, version, kind, config (TrainConfig as a dict), step, nets {name: state_dict}, optimizers, rng {name:
  generator state}, batches (BatchIterator state), wall_seconds (all elapsed time), train_seconds (the part spent in
  training steps, what a time budget counts; absent before 2026-11-26), extra (e.g. best metric). Checkpoints
  written before 2026-12-04 also hold "schedulers", which loading ignores: the learning rate follows from the config.
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
    """load_state_dict with a one-line error that names the file, the part that does not fit and how (torch's own
    text lists every key over many lines; VAEGAN_DEBUG=1 shows it, as the __cause__)."""
    try:
        module_or_optim.load_state_dict(state)
    except (RuntimeError, ValueError, KeyError) as e:
        how = state_mismatch(module_or_optim, state) or " ".join(str(e).split())
        raise CheckpointError(f"checkpoint {path} does not match this run's {what} (a different architecture or "
                              f"settings?): {how}") from e


def _listed(names: list[str], shown: int = 3) -> str:
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


def state_mismatch(module_or_optim, state: dict) -> str:
    """How a module's state_dict and `state` differ, briefly: shapes that differ, then keys missing and keys extra
    ("" for an optimizer, or when no key or shape differs)."""
    if not isinstance(module_or_optim, torch.nn.Module) or not isinstance(state, dict):
        return ""
    own = module_or_optim.state_dict()
    shape = lambda t: "x".join(map(str, t.shape)) if hasattr(t, "shape") else "?"
    resized = [f"{k} {shape(state[k])} in the checkpoint, {shape(v)} here" for k, v in own.items()
               if k in state and hasattr(v, "shape") and getattr(state[k], "shape", None) != v.shape]
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    parts = ([f"shape of {_listed(resized)}"] if resized else []) + \
            ([f"missing from the checkpoint: {_listed(missing)}"] if missing else []) + \
            ([f"not in this {type(module_or_optim).__name__}: {_listed(extra)}"] if extra else [])
    return "; ".join(parts)
