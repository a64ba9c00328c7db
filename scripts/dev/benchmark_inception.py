#!/usr/bin/env python3
"""How fast TF's FID Inception (the real weights) extracts 28x28 images here, per precision and batch size, and how
far bf16 moves FID on real samples (benchmarks/RESULTS.md).

Speed: --images test images through each (precision, batch) pair, the pairs taking turns for --rounds rounds (the
machine's drift lands on all of them alike), median img/s per pair. FID: --fid-images samples of a trained run (its
N(0, I) prior, weight average) against as many test images, with fp32 and with bf16 features.

    python scripts/dev/benchmark_inception.py [--run runs/00001-fashion_mnist-vaegan-b64-s0]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from metrics.frechet import feature_statistics, frechet_distance
from metrics.inception import InceptionExtractor
from metrics.tf_inception_weights import cached_tf_weights_path
from vaegan.data import load_dataset
from vaegan.sampling import decode
from vaegan.trained_run import load_trained_run

import benchmark  # scripts/dev/benchmark.py: a script's own folder is first on sys.path


PRECISIONS = ("fp32", "bf16")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=200, help="test images per timed pass")
    p.add_argument("--batches", default="25,50,100,200", help="comma-separated batch sizes")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--run", type=Path, default=None, help="a trained run whose samples give the bf16 FID difference")
    p.add_argument("--fid-images", type=int, default=2000)
    args = p.parse_args(argv)
    print("\n".join(benchmark.machine_lines("cpu")))
    weights = cached_tf_weights_path()
    nets = {pr: InceptionExtractor(weights_path=weights, dims=2048, precision=pr) for pr in PRECISIONS}
    print(f"- weights: {weights} ({nets['fp32'].id})")
    test = load_dataset("fashion_mnist", "test").images
    images = test[:args.images]
    batches = [int(b) for b in args.batches.split(",")]
    for pr in PRECISIONS:  # warm-up: first calls pay for allocation and oneDNN's kernel choice
        nets[pr].features(images[:batches[0]], batch_size=batches[0])
    rates: dict[tuple[str, int], list[float]] = {(pr, b): [] for pr in PRECISIONS for b in batches}
    for r in range(args.rounds):
        for key in rates:
            start = time.perf_counter()
            nets[key[0]].features(images, batch_size=key[1])
            rates[key].append(len(images) / (time.perf_counter() - start))
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{pr}@{b} {v[-1]:.1f}" for (pr, b), v in rates.items()),
              flush=True)
    print("\n| batch | " + " | ".join(f"{pr} img/s" for pr in PRECISIONS) + " | bf16 / fp32 | 10,000 images in bf16 |")
    print("|---|---|---|---|---|")
    for b in batches:
        fp32, bf16 = (statistics.median(rates[(pr, b)]) for pr in PRECISIONS)
        print(f"| {b} | {fp32:.1f} | {bf16:.1f} | {bf16 / fp32:.2f}x | {10000 / bf16 / 60:.1f} min |")
    if args.run is None:
        return
    run = load_trained_run(args.run)
    torch.manual_seed(0)
    z = torch.randn(args.fid_images, run.cfg.model.latent_dim)
    fakes, real = decode(run.nets["decoder"], z), test[:args.fid_images]
    best = max(batches, key=lambda b: statistics.median(rates[("bf16", b)]))
    feats = {pr: [nets[pr].features(x, batch_size=best) for x in (fakes, real)] for pr in PRECISIONS}
    fid = {pr: frechet_distance(*feature_statistics(f[0]), *feature_statistics(f[1])) for pr, f in feats.items()}
    drift = (abs(feats["bf16"][0] - feats["fp32"][0]).mean(1) / abs(feats["fp32"][0]).mean(1)).mean()
    print(f"\nFID, {args.fid_images} N(0, I) samples of {args.run} (step {run.step}) vs {args.fid_images} test images: "
          f"fp32 {fid['fp32']:.2f}, bf16 {fid['bf16']:.2f} ({100 * (fid['bf16'] / fid['fp32'] - 1):+.2f}%); "
          f"bf16 features differ from fp32's by {100 * drift:.1f}% per image on average")


if __name__ == "__main__":
    main()
