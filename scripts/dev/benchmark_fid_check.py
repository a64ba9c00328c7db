#!/usr/bin/env python3
"""What one FID check of a run costs here, and its parts, printed as lines (benchmarks/budgets/README.md, section 8).

A check as the training loop makes it with the main job's settings (5,000 samples, mixtures fitted to 10,000 training
codes, 2 fits; scripts/compare.py): the live and the averaged decoder on N(0, I), and the mixture samples of the
average. Then its parts timed alone (decode, domain features, the mixture fits) and the domain extractor's batch sizes
side by side, which is where a cache-sized batch showed up. Best of --repeats, one part after another.

    python scripts/dev/benchmark_fid_check.py runs/00001-fashion_mnist-vaegan-b64-s0 [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from vaegan.experiment import FID_CHECKS, FID_GMM_FITS
from vaegan.latent_sampler import fit_gmms
from vaegan.sampling import decode
from vaegan.trained_run import load_trained_run
from vaegan.training.fid_monitor import fid_monitor_for

import benchmark  # scripts/dev/benchmark.py: a script's own folder is first on sys.path



def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """Seconds of the fastest of `repeats` calls, after one untimed call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, help="a run folder with a weight average (the default VAE-GAN)")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    live, average = load_trained_run(args.run, use_ema=False), load_trained_run(args.run)
    print("\n".join(benchmark.machine_lines("cpu")))
    print(f"- run: {args.run} (step {live.step})")
    with tempfile.TemporaryDirectory() as runs_dir:  # the real statistics' cache, not the user's
        cfg = dataclasses.replace(live.cfg, fid_checks=FID_CHECKS, fid_gmm_fits=FID_GMM_FITS, runs_dir=runs_dir)
        monitor = fid_monitor_for(cfg, live.dataset("test"), live.dataset("train").images, sys.stdout)
        record, _ = monitor(live.nets, average.nets)
        print("- scores: " + ", ".join(f"{k} {v:.2f}" for k, v in record.items()))
        print(f"one check: {best_of(args.repeats, lambda: monitor(live.nets, average.nets)):.2f} s")
        z = monitor.z
        for batch in (128, 250, 500):
            print(f"  decode {len(z)} codes, {batch} a batch: "
                  f"{best_of(args.repeats, lambda: decode(average.nets['decoder'], z, batch)):.3f} s")
        images = decode(average.nets["decoder"], z)
        for batch in (32, 64, 128, 200):
            print(f"  domain features of {len(images)} images, {batch} a batch: "
                  f"{best_of(args.repeats, lambda: monitor.extractor.features(images, batch)):.3f} s")
        seeds = tuple(range(FID_GMM_FITS))
        print(f"  {FID_GMM_FITS} mixture fits on {cfg.fid_gmm_images} codes (encoding included): "
              f"{best_of(args.repeats, lambda: fit_gmms(average.nets['encoder'], monitor.train_images, seeds, max_images=cfg.fid_gmm_images)):.2f} s")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
