"""From a recipe and a user's changes to the complete config a run trains with: one path for the training scripts,
the Python API and the main job.

    cfg, model = configure("vaegan", {"optim.lr": 3e-4, "model.latent_dim": 16, "steps": 500})
    cfg, train_data, test_data = resolve(cfg, model)   # cfg.model filled in from the data and the preset

`configure` starts from a recipe (vaegan/recipes.py) and applies changes by dotted path, so a recipe value nobody
changed survives; `resolve` validates, loads the data, builds the architecture (the preset for the data's size, then
the recipe's and the user's model changes) and fixes what "auto" means on this machine.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from vaegan.budget import FIELDS as BUDGET_FIELDS, Budget
from vaegan.config import DataConfig, TrainConfig
from vaegan.data import ImageDataset, load_dataset
from vaegan.models import resolve_model_config
from vaegan.precision import resolve_precision
from vaegan.recipes import RECIPES, apply_recipe, default_recipe
from vaegan.settings import RESUMABLE_ROLES, paths_with_roles, replace_paths
from vaegan.methods import method


resumable = paths_with_roles(TrainConfig, RESUMABLE_ROLES)


def configure(recipe: str, changes: Mapping[str, Any] | None = None,
              base: TrainConfig | None = None) -> tuple[TrainConfig, dict]:
    """Recipe `recipe` (or a method's name: its default recipe) with `changes` applied -> (config with model None,
    the model changes to apply to the preset once the data's size is known).

    changes: dotted paths of TrainConfig ({"optim.lr": 1e-4, "data.limit": 512, "seed": 2}); "model.*" paths go to the
    model changes, after the recipe's own. Any budget field given replaces the recipe's budget as a whole.
    base: what the recipe applies to (TrainConfig(); a subclass with settings of its own)."""
    name = recipe if recipe in RECIPES else default_recipe(recipe)
    cfg, model = apply_recipe(base or TrainConfig(), name)
    changes = dict(changes or {})
    model.update({k.removeprefix("model."): changes.pop(k) for k in list(changes) if k.startswith("model.")})
    given = {k: changes.pop(k) for k in BUDGET_FIELDS if k in changes}
    cfg = replace_paths(cfg, changes)
    if given:
        cfg = Budget(**given).applied_to(cfg)
    return cfg, model


def resumed_config(saved: TrainConfig, changes: Mapping[str, Any] | None = None) -> TrainConfig:
    """A saved run's config with what a resume may change changed: a budget (replacing the saved one as a whole),
    cadence and placement (vaegan/settings.py roles); ValueError naming any other field."""
    changes = dict(changes or {})
    fixed = sorted(p for p in changes if p not in resumable)
    if fixed:
        raise ValueError(f"{', '.join(fixed)} cannot change when resuming (the run keeps its saved config)")
    given = {k: changes.pop(k) for k in BUDGET_FIELDS if k in changes}
    cfg = Budget(**given).applied_to(saved) if given else saved
    return replace_paths(cfg, changes)


def load_data(data: DataConfig) -> tuple[ImageDataset, ImageDataset]:
    """The (train, test) splits a config names; limit applies to the training split only."""
    common = dict(root=data.root, download=data.download, image_size=data.image_size, channels=data.channels)
    return load_dataset(data.dataset, "train", limit=data.limit, **common), load_dataset(data.dataset, "test", **common)


def check_data_fits_model(cfg: TrainConfig, data: ImageDataset) -> None:
    m = cfg.model
    if (data.image_size, data.channels) != (m.image_size, m.channels):
        raise ValueError(
            f"{data.name} images are {data.image_size}x{data.image_size}x{data.channels} but the model expects "
            f"{m.image_size}x{m.image_size}x{m.channels}; pass --image-size {m.image_size} or use a matching --model-preset"
        )
    if len(data) < cfg.batch_size:
        raise ValueError(f"{data.name} training split ({', '.join(data.sources)}) has {len(data)} images, fewer than "
                         f"one batch of {cfg.batch_size}; add images or pass --batch-size {len(data)} or less")


def validate(cfg: TrainConfig) -> None:
    """ValueError for an unknown method or any field out of its range (checked before any data is loaded)."""
    method(cfg.kind)
    cfg.validate()


def resolve(cfg: TrainConfig, model_changes: dict | None = None) -> tuple[TrainConfig, ImageDataset, ImageDataset]:
    """Validate cfg, load its data and resolve the architecture from it (the preset for the data's size with
    `model_changes`, unless cfg.model is given) and precision "auto" to the one this machine trains in; the files
    read are recorded in cfg.data.files."""
    validate(cfg)
    cfg = dataclasses.replace(cfg, precision=resolve_precision(cfg.precision, cfg.device)[0])
    train_data, test_data = load_data(cfg.data)
    if cfg.model is None:
        model = resolve_model_config(cfg.model_preset, train_data.image_size, train_data.channels)
        cfg = dataclasses.replace(cfg, model=dataclasses.replace(model, **(model_changes or {})))
        cfg.validate()  # the architecture too, now that the data and the changes have made it
    files = tuple(dict.fromkeys(train_data.sources + test_data.sources))  # a folder or list both splits read: once
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, files=files))
    check_data_fits_model(cfg, train_data)
    return cfg, train_data, test_data
