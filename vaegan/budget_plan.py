"""The main job's plan, made before it trains: how many steps each run will make on this machine, and when the job
ends.

A time budget buys a different number of steps on every machine (a laptop may make a third of a workstation's, a GPU
thirty times as many), and a VAE-GAN that makes too few is judged on a model that has not learnt yet. So the main
job times a few training steps of each method here, prints the steps and the ETA, and says when a VAE-GAN would make
fewer steps than its method's fair_steps (vaegan/methods.py), with the budget that would give it enough.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import torch

from vaegan.config import TrainConfig
from vaegan.data import load_dataset, to_model_range
from vaegan.precision import to_layout
from vaegan.methods import METHODS
from vaegan.training.methods import TRAINING
from vaegan.training.state import build_state


@dataclass(frozen=True)
class RunPlan:
    cfg: TrainConfig
    seconds_per_step: dict[str, float]  # "vae_start" (the VAE start's steps, when it has one) and "main"
    steps: int  # steps it will make
    train_seconds: float  # training time it will take

    def describe(self) -> str:
        return (f"{self.cfg.run_name or self.cfg.kind} seed {self.cfg.seed}: ~{self.steps:,} steps in "
                f"{self.train_seconds / 60:.1f} min of training (" +
                ", ".join(f"{1000 * s:.0f} ms/step" + ("" if k == "main" else " in the VAE start")
                          for k, s in self.seconds_per_step.items()) + ")")


def time_steps(cfg: TrainConfig, train_images: torch.Tensor, steps: int = 6, warmup: int = 2,
               progress: float = 0.5) -> float:
    """Seconds per training step of cfg's method here, at `progress` through its budget (a throwaway state: nothing
    is written, no run folder). cfg.model must be resolved."""
    method = TRAINING[cfg.kind]
    state = build_state(dataclasses.replace(cfg, ema_horizon=0.0, ema_decay=0.0), method.optimizer_groups,
                        train_images)
    state.progress = progress
    elapsed = 0.0
    for i in range(warmup + steps):
        x = to_layout(to_model_range(next(state.batches)).to(cfg.device), cfg.channels_last)
        start = time.perf_counter()
        method.train_step(state, x)
        if i >= warmup:
            elapsed += time.perf_counter() - start
        state.step += 1
    return elapsed / steps


def plan_runs(configs: list[TrainConfig]) -> list[RunPlan]:
    """A RunPlan for each config (one timing per distinct method settings, so seeds share it)."""
    d = configs[0].data
    images = load_dataset(d.dataset, "train", root=d.root, image_size=d.image_size, channels=d.channels,
                          limit=d.limit).images
    timings: dict[str, dict[str, float]] = {}
    plans = []
    for cfg in configs:
        key = dataclasses.replace(cfg, seed=0).to_json()
        if key not in timings:
            timings[key] = {"main": time_steps(cfg, images)}
            if METHODS[cfg.kind].has_vae_start and cfg.vaegan.vae_start > 0:
                timings[key] = {"vae_start": time_steps(cfg, images, progress=0.0), **timings[key]}
        plans.append(plan_of(cfg, timings[key], len(images)))
    return plans


def time_fid_check(cfg: TrainConfig) -> float:
    """Seconds one FID check during training takes here (its mixture fits and scores, on a throwaway untrained
    state); 0 when cfg checks no FID."""
    from vaegan.training.fid_monitor import fid_monitor_for  # the FID networks load only when planning needs them
    d = cfg.data
    common = dict(root=d.root, image_size=d.image_size, channels=d.channels)
    train_images = load_dataset(d.dataset, "train", limit=d.limit, **common).images
    monitor = fid_monitor_for(cfg, load_dataset(d.dataset, "test", **common), train_images, out=None)
    if monitor is None:
        return 0.0
    state = build_state(cfg, TRAINING[cfg.kind].optimizer_groups, train_images)
    for net in state.nets.values():
        net.eval()
    start = time.perf_counter()
    monitor(state.nets, state.ema)
    return time.perf_counter() - start


def plan_of(cfg: TrainConfig, seconds_per_step: dict[str, float], images_per_epoch: int) -> RunPlan:
    """The steps and training time of cfg's budget at these step times. A VAE start spends its share of a time
    budget at its own step time (so it makes more steps), and its share of a step budget in steps."""
    start = cfg.vaegan.vae_start if "vae_start" in seconds_per_step else 0.0
    t_start, t_main = seconds_per_step.get("vae_start", 0.0), seconds_per_step["main"]
    limits = []
    if cfg.minutes is not None:
        seconds = cfg.minutes * 60
        limits.append((int(start * seconds / t_start + (1 - start) * seconds / t_main) if start else
                       int(seconds / t_main), seconds))
    step_limits = [cfg.steps] if cfg.steps is not None else []
    if cfg.epochs is not None:
        step_limits.append(math.ceil(cfg.epochs * images_per_epoch / cfg.batch_size))
    if step_limits:
        steps = min(step_limits)
        limits.append((steps, steps * (start * t_start + (1 - start) * t_main)))
    steps, seconds = min(limits)
    return RunPlan(cfg, seconds_per_step, steps, seconds)


def too_few_steps(plan: RunPlan) -> str | None:
    """A warning when the run would make fewer steps than its method needs to be judged, with the budget that
    would make enough; None when it is enough."""
    needed = METHODS[plan.cfg.kind].fair_steps  # the verdict's threshold: the plan warns of what it will refuse
    if needed is None or plan.steps >= needed:
        return None
    if plan.cfg.minutes is not None:
        minutes = plan.train_seconds / 60 * needed / max(plan.steps, 1)
        enough = f"--minutes {math.ceil(minutes * 2) / 2:g} (or --steps {needed})"
    else:
        enough = f"--steps {needed}"
    return (f"warning: the {METHODS[plan.cfg.kind].label} would make ~{plan.steps:,} steps here, fewer than the ~{needed:,} it needs "
            f"before its samples can be judged; the verdict may not hold. {enough} would give it enough")


def inception_seconds(extractor, images: torch.Tensor, count: int) -> float:
    """Seconds `extractor` (a metrics.FeatureExtractor) would take for `count` images like uint8 `images` here, from
    one timed pass over `images` after a warm-up on half of them (the first call pays for kernel choice)."""
    extractor.features(images[: max(1, len(images) // 2)])
    start = time.perf_counter()
    extractor.features(images)
    return count * (time.perf_counter() - start) / len(images)


def announce(configs: list[TrainConfig], evaluated_runs: int, out, inception: float = 0.0) -> list[RunPlan]:
    """Time the methods of `configs` (the runs still to train) here, and print each run's steps, the warnings and
    the job's ETA: training, its FID checks and the evaluation of `evaluated_runs` runs, `inception` seconds of it
    spent on Inception features (--inception; inception_seconds)."""
    extra = (f"; its Inception features ~{inception / 60:.0f} min" if inception else "")
    if not configs:
        print(f"plan: every run is trained already; evaluating {evaluated_runs} runs{extra}", file=out, flush=True)
        return []
    plans = plan_runs(configs)
    checked = next((c for c in configs if c.fid_checks > 0 or c.fid_every > 0), None)
    check = time_fid_check(checked) if checked else 0.0
    checks = sum(fid_checks_of(p) for p in plans)
    # The report scores each run on its samples and reconstructions with both samplers: about three checks' work.
    evaluation = 3 * max(check, 5.0) * evaluated_runs + inception
    total = sum(p.train_seconds for p in plans) + checks * check + evaluation
    for p in plans:
        print(f"plan: {p.describe()}", file=out, flush=True)
    print(f"plan: {checks} FID checks during training at ~{check:.0f} s each; evaluation ~{evaluation / 60:.0f} min"
          f"{extra}; ETA of the whole job ~{total / 60:.0f} min (finishing about "
          f"{time.strftime('%H:%M', time.localtime(time.time() + total))})", file=out, flush=True)
    for warning in filter(None, map(too_few_steps, plans)):
        print(warning, file=out, flush=True)
    return plans


def fid_checks_of(plan: RunPlan) -> int:
    cfg = plan.cfg
    if cfg.fid_checks > 0:
        return cfg.fid_checks
    return plan.steps // cfg.fid_every + 1 if cfg.fid_every > 0 else 0
