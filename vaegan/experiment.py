"""The main experiment: a VAE and a VAE-GAN with the same architecture, data, seed and budget, trained (or reused)
and then evaluated into one report.

A run already in runs_dir with an equal config is never trained again: a finished (or diverged) one is reused, an
interrupted, failed or stale one resumed. Equal means equal in everything that can change the result: the fields whose
role is placement, naming or record (where and how verbosely it ran, what it is called, the files it read;
vaegan/settings.py) do not count.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from vaegan.budget import Budget
from vaegan.config import TrainConfig
from vaegan.recipes import default_recipe
from vaegan.resolve import configure, resolve
from vaegan.run_folder import checkpoint_path, config_path, numbered_folders, read_status, safe_label
from vaegan.settings import IGNORED_ON_REUSE, paths_with_roles
from vaegan.training.loop import NonFiniteLossError, resume, train
from vaegan.methods import MAIN_JOB, METHODS

IGNORED_ON_REUSE_PATHS = paths_with_roles(TrainConfig, IGNORED_ON_REUSE)


# FID during training at four points of each model's budget (25%, 50%, 75%, the end), however fast this machine and
# however long the budget: a check costs the same seconds on every model (the fits and scores of its samples), so
# checks spaced by steps cost a slow machine's short run more than its training. Three of them fall in the second
# half, which the report's stability measure reads. Each check's mixture score averages two fits (TrainConfig's
# default is four): half the cost of a check.
FID_CHECKS = 4
FID_GMM_FITS = 2


def comparison_configs(train_budget: Budget, seeds: int = 1, dataset: str = "fashion_mnist",
                       data_root: str | None = None, runs_dir: str = "runs", overrides: dict | None = None,
                       recipes: tuple[str, ...] | None = None) -> list[TrainConfig]:
    """A complete config for each recipe (default: the main job's methods' default recipes) and seed 0..seeds-1, in
    training order.

    Each recipe keeps its own settings (vaegan/recipes.py) and all share everything else, resolved from the same data,
    so encoder and decoder are the same by construction (plus a recipe's own model changes). overrides: further
    settings for all of them by dotted path (e.g. {"fid_every": 0})."""
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1, got {seeds}")
    recipes = recipes or tuple(METHODS[kind].default_recipe for kind in MAIN_JOB)
    configs = []
    for seed in range(seeds):
        for name in recipes:
            changes = {"data.dataset": dataset, "data.root": data_root, "seed": seed, "runs_dir": runs_dir,
                       "fid_checks": FID_CHECKS, "fid_gmm_fits": FID_GMM_FITS, **train_budget.fields(),
                       **(overrides or {})}
            cfg, model = configure(name, changes)
            cfg = resolve(cfg, model)[0]
            configs.append(dataclasses.replace(
                cfg, run_name=None if name == default_recipe(cfg.kind) else safe_label(name)))
    return configs


def comparable(cfg: TrainConfig) -> dict:
    """cfg as plain values, without the fields two runs may differ in and still be the same run."""
    values = cfg.to_dict()
    for path in IGNORED_ON_REUSE_PATHS:
        *parents, name = path.split(".")
        holder = values
        for part in parents:
            holder = holder.get(part) or {}
        holder.pop(name, None)
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
                           f"{status.host}; if it hangs, stop it and resume with {METHODS[cfg.kind].script} "
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
            # device is not compared (a placement): the run goes on where this job runs
            return resume(plan.run_dir, {**Budget.of(plan.cfg).fields(), "device": plan.cfg.device}, out=out)
        print(f"training {label}", file=out, flush=True)
        return train(plan.cfg, out=out)
    except NonFiniteLossError as e:
        print(f"warning: {label} diverged; the report marks it. {e}", file=out, flush=True)
        diverged = plan_run(plan.cfg)
        if diverged.run_dir is None or diverged.status != "diverged":
            raise
        return diverged.run_dir
