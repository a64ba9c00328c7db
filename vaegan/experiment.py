"""The main experiment: a VAE and a VAE-GAN with the same architecture, data, seed and budget, trained (or reused)
and then evaluated into one report.

A run already in runs_dir with an equal config is never trained again: a finished (or diverged) one is reused, an
interrupted, failed or stale one resumed. Equal means equal in everything that can change the result; where and how verbosely it ran
(runs_dir, run_name, device, progress_seconds, world_size) does not count.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from vaegan.recipes import DEFAULT_RECIPE, recipe_config, recipe_model
from vaegan.config import DataConfig, TrainConfig
from vaegan.precision import resolve_precision
from vaegan.run_folder import checkpoint_path, config_path, numbered_folders, read_status, safe_label
from vaegan.training.loop import NonFiniteLossError, resolve_config_and_data, resume, train

KINDS = ("vae", "vaegan")
IGNORED_FIELDS = ("runs_dir", "run_name", "device", "progress_seconds", "world_size")
BUDGET_FIELDS = ("epochs", "steps", "minutes")


def budget(minutes: float | None = None, steps: int | None = None, epochs: float | None = None) -> dict:
    """The one budget both models get, as TrainConfig fields (the other two None). Exactly one must be given."""
    given = {k: v for k, v in (("minutes", minutes), ("steps", steps), ("epochs", epochs)) if v is not None}
    if len(given) != 1:
        raise ValueError(f"give exactly one budget (minutes, steps or epochs), got {sorted(given) or 'none'}")
    return {k: given.get(k) for k in BUDGET_FIELDS}


# FID during training at four points of each model's budget (25%, 50%, 75%, the end), however fast this machine and
# however long the budget: a check costs the same seconds on every model (the fits and scores of its samples), so
# checks spaced by steps cost a slow machine's short run more than its training. Three of them fall in the second
# half, which the report's stability measure reads. Each check's mixture score averages two fits (TrainConfig's
# default is four): half the cost of a check.
FID_CHECKS = 4
FID_GMM_FITS = 2


def comparison_configs(train_budget: dict, seeds: int = 1, dataset: str = "fashion_mnist", data_root: str | None = None,
                       runs_dir: str = "runs", overrides: dict | None = None,
                       recipes: tuple[str, ...] | None = None) -> list[TrainConfig]:
    """A config for each recipe (default: each method's default recipe) and seed 0..seeds-1, in training order.

    Each recipe keeps its own optimiser settings (vaegan/recipes.py) and all share everything else; the architecture
    is resolved once from the data and written into every config (plus a recipe's own model changes), so encoder and
    decoder are the same by construction. overrides: further TrainConfig fields for all of them (e.g. {"fid_every": 0})."""
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    recipes = recipes or tuple(DEFAULT_RECIPE[kind] for kind in KINDS)
    base = resolve_config_and_data(dataclasses.replace(TrainConfig(), data=DataConfig(dataset, data_root)))[0].model
    precision = resolve_precision((overrides or {}).get("precision", TrainConfig().precision), TrainConfig().device)[0]
    configs = []
    for seed in range(seeds):
        for name in recipes:
            cfg = recipe_config(name)
            settings = {"fid_checks": FID_CHECKS, "fid_gmm_fits": FID_GMM_FITS, **(overrides or {})}
            configs.append(dataclasses.replace(
                cfg, data=DataConfig(dataset, data_root), seed=seed, runs_dir=runs_dir,
                run_name=None if name == DEFAULT_RECIPE[cfg.kind] else safe_label(name),
                model=dataclasses.replace(base, **recipe_model(name)), **train_budget, **{**settings, "precision": precision}))
    return configs


def comparable(cfg: TrainConfig) -> dict:
    values = cfg.to_dict()
    for name in IGNORED_FIELDS:
        values.pop(name)
    values["data"].pop("files")  # where the same data lay on this machine: recorded, not compared
    return values


def saved_config(run_dir: Path) -> TrainConfig | None:
    """The config.json of a run folder, or None for a folder that is not a (readable) run of this vaegan."""
    try:
        return TrainConfig.load(config_path(run_dir))
    except (OSError, ValueError, TypeError, json.JSONDecodeError):
        return None


@dataclass(frozen=True)
class Plan:
    cfg: TrainConfig
    action: str  # "train" | "reuse" | "resume"
    run_dir: Path | None = None
    status: str = ""
    step: int | None = None
    skipped: tuple[str, ...] = ()  # equal runs left alone, with the reason


# Which equal run to take when there are several: a finished one first; among equals the newest (highest number).
# A "running" run whose process is gone (stale) counts as interrupted.
_PREFERENCE = {"finished": 0, "diverged": 1, "interrupted": 2, "failed": 2, "stale": 2, "unknown": 3}


def plan_run(cfg: TrainConfig, runs_dir: str | Path | None = None) -> Plan:
    """Decide whether cfg must be trained or an equal run in runs_dir (default cfg.runs_dir) can be reused/resumed.
    cfg.model must be resolved (as comparison_configs does): run folders store the resolved architecture."""
    if cfg.model is None:
        raise ValueError("plan_run needs a config with its model resolved (model=None would never equal a saved run)")
    root = Path(runs_dir or cfg.runs_dir)
    wanted = comparable(cfg)
    candidates, skipped = [], []
    for run_dir in reversed(numbered_folders(root)):
        saved = saved_config(run_dir)
        if saved is None or comparable(saved) != wanted:
            continue
        status = read_status(run_dir)
        state = "stale" if status.stale else status.status
        if state == "running":
            skipped.append(f"{run_dir} (status running: another process may be training it, pid {status.pid} on "
                           f"{status.host}; if it hangs, stop it and resume with scripts/train_{cfg.kind}.py "
                           f"--resume {run_dir})")
        elif state != "diverged" and not checkpoint_path(run_dir).is_file():
            skipped.append(f"{run_dir} ({state}, no checkpoint)")
        elif state in _PREFERENCE:
            shown = f"running ({status.stale})" if status.stale else state
            candidates.append((_PREFERENCE[state], run_dir, shown, status.step))
    if not candidates:
        return Plan(cfg, "train", skipped=tuple(skipped))
    preference, run_dir, state, step = min(candidates, key=lambda c: c[0])  # stable: the newest of the best status
    action = "resume" if preference >= _PREFERENCE["interrupted"] else "reuse"
    return Plan(cfg, action, run_dir, state, step, tuple(skipped))


def run_plan(plan: Plan, out: TextIO = sys.stdout) -> Path:
    """Carry out a plan -> the run folder. A run that diverges is returned too (the report marks it), not raised."""
    for note in plan.skipped:
        print(f"note: not reusing {note}", file=out, flush=True)
    if plan.action == "reuse":
        print(f"reusing {plan.run_dir} ({plan.status}, step {plan.step})", file=out, flush=True)
        return plan.run_dir
    label = f"{plan.cfg.kind} seed {plan.cfg.seed}"
    try:
        if plan.action == "resume":
            print(f"resuming {plan.run_dir} ({plan.status} at step {plan.step}) for {label}", file=out, flush=True)
            # device is not compared (IGNORED_FIELDS): the run goes on where this job runs
            return resume(plan.run_dir, {k: getattr(plan.cfg, k) for k in BUDGET_FIELDS}, out=out,
                          changes={"device": plan.cfg.device})
        print(f"training {label}", file=out, flush=True)
        return train(plan.cfg, out=out)
    except NonFiniteLossError as e:
        print(f"warning: {label} diverged; the report marks it. {e}", file=out, flush=True)
        diverged = plan_run(plan.cfg)
        if diverged.run_dir is None or diverged.status != "diverged":
            raise
        return diverged.run_dir
