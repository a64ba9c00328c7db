#!/usr/bin/env python3
"""Training throughput on this machine, VAE and VAE-GAN side by side in one run (prints figures; not a test).

Also prints what FID-during-training costs at the default interval: the time of one FID evaluation against
the time of `fid_every` training steps.
"""

import argparse
import tempfile
import dataclasses
import time

import torch

from vaegan.config import TrainConfig
from vaegan.cli import default_config
from vaegan.data import load_dataset, to_model_range
from vaegan.models import resolve_model_config
from vaegan.training.fid_monitor import FIDMonitor
from vaegan.training.methods import METHODS
from vaegan.training.state import build_state


def time_steps(cfg: TrainConfig, images: torch.Tensor, steps: int, warmup: int = 3) -> float:
    """Seconds per training step, after `warmup` steps."""
    state = build_state(cfg, METHODS[cfg.kind].optimizer_groups, images)
    step = METHODS[cfg.kind].train_step
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        x = to_model_range(next(state.batches)).to(cfg.device)
        step(state, x)
        state.step += 1
    return (time.perf_counter() - start) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=30, help="timed steps per method")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--preset", default="auto")
    p.add_argument("--rounds", type=int, default=2, help="alternate the methods this many times; the best round counts")
    args = p.parse_args()

    train = load_dataset("fashion_mnist", "train")
    test = load_dataset("fashion_mnist", "test")
    model = resolve_model_config(args.preset, train.image_size, train.channels)
    cfgs = {kind: dataclasses.replace(default_config(kind), model=model, batch_size=args.batch_size) for kind in ("vae", "vaegan")}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu, batch {args.batch_size}, "
          f"preset {args.preset} ({model.image_size}x{model.image_size}x{model.channels})")
    best = {kind: float("inf") for kind in cfgs}
    for _ in range(args.rounds):  # alternating rounds: a noisy neighbour hurts both methods alike
        for kind, cfg in cfgs.items():
            best[kind] = min(best[kind], time_steps(cfg, train.images, args.steps))
    for kind, sec in best.items():
        print(f"{kind:>7}: {args.batch_size / sec:8.0f} train images/s  ({sec * 1000:.1f} ms/step)")
    print(f"VAE-GAN step costs {best['vaegan'] / best['vae']:.2f}x a VAE step")

    cfg = cfgs["vae"]
    monitor = FIDMonitor(dataclasses.replace(cfg, runs_dir=tempfile.mkdtemp()), test)
    decoder = build_state(cfg, METHODS["vae"].optimizer_groups, train.images).nets["decoder"]
    monitor(decoder)
    start = time.perf_counter()
    monitor(decoder)
    fid_seconds = time.perf_counter() - start
    for kind, sec in best.items():
        overhead = fid_seconds / (cfg.fid_every * sec)
        print(f"FID of {cfg.fid_samples} samples: {fid_seconds:.2f} s = {100 * overhead:.1f}% of {cfg.fid_every} {kind} steps")


if __name__ == "__main__":
    main()
