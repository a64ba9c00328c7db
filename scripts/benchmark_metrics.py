"""Benchmark the metrics' hot spots against the reference implementations, side by side in one run.

(a) metrics.frechet.frechet_distance vs the scipy.linalg.sqrtm formula (what pytorch-fid computes) on
    2048-d covariances with a power-law spectrum like that of Inception pool3 features: time and agreement.
(b) Inception feature throughput, ours vs pytorch-fid's InceptionV3, on 28x28 grayscale and 32x32 RGB uint8
    images (both upsampled to 299x299). Weights are random (no download); speed does not depend on them.
(c) Domain extractor throughput on 28x28 grayscale, for scale.

Prints figures only; asserts nothing. Default run: about 1-3 minutes on 2 CPU cores.
    python scripts/benchmark_metrics.py [--images 48] [--batch-size 8] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
import torchvision

from metrics.domain import DomainExtractor
from metrics.frechet import frechet_distance
from metrics.inception import FID_WEIGHTS_FILENAME, InceptionExtractor


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dims", type=int, default=2048, help="covariance size for (a)")
    p.add_argument("--repeats", type=int, default=2, help="timings per method in (a); the best is reported")
    p.add_argument("--images", type=int, default=48, help="images per Inception throughput measurement in (b)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--device", default="cpu")
    return p.parse_args()


def best_times(fns: list, repeats: int) -> tuple[list[float], list]:
    """Fastest wall time in s of each fn over `repeats` calls, and each fn's result. The fns take turns, so a
    load change on a shared machine hits all of them alike."""
    times, results = [float("inf")] * len(fns), [None] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            results[i] = fn()
            times[i] = min(times[i], time.perf_counter() - start)
    return times, results


def scipy_frechet(mu1, sigma1, mu2, sigma2) -> float:
    """The textbook formula with a general matrix square root, as pytorch-fid evaluates it."""
    root = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(root))


def power_law_gaussian(rng: np.random.Generator, dims: int, exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """mu (D,), sigma (D, D) = U diag(k^-exponent) U^T with a random rotation U: eigenvalues spanning
    several decades, as in covariances of real network features."""
    rotation, _ = np.linalg.qr(rng.standard_normal((dims, dims)))
    eigenvalues = np.arange(1, dims + 1, dtype=np.float64) ** -exponent
    sigma = (rotation * eigenvalues) @ rotation.T
    return 0.1 * rng.standard_normal(dims), (sigma + sigma.T) / 2


def bench_frechet(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(0)
    stats = (*power_law_gaussian(rng, args.dims, 1.2), *power_law_gaussian(rng, args.dims, 1.0))
    (t_ours, t_ref), (ours, ref) = best_times([lambda: frechet_distance(*stats), lambda: scipy_frechet(*stats)],
                                              args.repeats)
    print(f"(a) Frechet distance, D={args.dims}, best of {args.repeats}")
    print(f"    ours (Cholesky + eigvalsh)  {t_ours:8.3f} s   value {ours:.10g}")
    print(f"    scipy.linalg.sqrtm          {t_ref:8.3f} s   value {ref:.10g}")
    print(f"    speed-up {t_ref / t_ours:.1f}x, relative difference {abs(ours - ref) / abs(ref):.2e}")


def random_inception_weights(folder: Path) -> Path:
    """Random weights under the official file name in a temporary torch hub cache (nothing downloaded).
    He-scaled convolutions keep activations O(1): exploding or denormal values would distort the timing."""
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    state = net.state_dict()
    g = torch.Generator().manual_seed(0)
    for key, value in state.items():
        if key.endswith("conv.weight"):
            value.copy_(torch.randn(value.shape, generator=g) * (2 / value[0].numel()) ** 0.5)
    path = folder / "hub" / "checkpoints" / FID_WEIGHTS_FILENAME
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return path


def paired_throughput(fns: list, images: torch.Tensor, batch_size: int) -> list[tuple[float, float]]:
    """(images per wall-clock second, CPU seconds per image) of each fn, medians over the batches of `images`,
    after one warm-up batch. The fns take turns batch by batch, and medians ignore batches slowed by other
    processes; CPU time (all threads of this process) is the steadier figure on a shared machine."""
    batches = [images[lo:lo + batch_size] for lo in range(0, len(images) - batch_size + 1, batch_size)]
    wall: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn(batches[0])
    for batch in batches:
        for i, fn in enumerate(fns):
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            fn(batch)
            wall[i].append(time.perf_counter() - start_wall)
            cpu[i].append(time.process_time() - start_cpu)
    return [(batch_size / float(np.median(w)), float(np.median(c)) / batch_size) for w, c in zip(wall, cpu)]


def bench_inception(args: argparse.Namespace) -> None:
    from pytorch_fid.inception import InceptionV3  # a dev dependency: imported only for this comparison

    saved_home = os.environ.get("TORCH_HOME")
    with tempfile.TemporaryDirectory() as torch_home:
        os.environ["TORCH_HOME"] = torch_home  # both implementations look up the hub cache here
        try:
            random_inception_weights(Path(torch_home))
            theirs = InceptionV3([3]).eval().to(args.device)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*not the official.*")
                ours = InceptionExtractor(device=args.device)
        finally:
            if saved_home is None:
                del os.environ["TORCH_HOME"]
            else:
                os.environ["TORCH_HOME"] = saved_home

    def pytorch_fid_features(batch: torch.Tensor) -> np.ndarray:
        x = batch.to(args.device, torch.float32) / 255  # their input: floats in [0, 1], 3 channels
        with torch.no_grad():
            return theirs(x.expand(-1, 3, -1, -1))[0].flatten(1).cpu().numpy()

    g = torch.Generator().manual_seed(0)
    inputs = {"28x28 gray": torch.randint(0, 256, (args.images, 1, 28, 28), generator=g, dtype=torch.uint8),
              "32x32 RGB": torch.randint(0, 256, (args.images, 3, 32, 32), generator=g, dtype=torch.uint8)}
    print(f"(b) Inception pool3 throughput on {args.device} ({torch.get_num_threads()} threads), {args.images} images, "
          f"batch {args.batch_size}; RANDOM weights (speed does not depend on them)")
    for name, images in inputs.items():
        (ours_rate, ours_cpu), (theirs_rate, theirs_cpu) = paired_throughput(
            [lambda b: ours.features(b, batch_size=args.batch_size), pytorch_fid_features], images, args.batch_size)
        print(f"    {name:10s}  ours {ours_rate:6.2f} img/s ({ours_cpu:.3f} CPU-s/img)   pytorch-fid "
              f"{theirs_rate:6.2f} img/s ({theirs_cpu:.3f} CPU-s/img)   speed ratio {ours_rate / theirs_rate:.2f}")


def bench_domain(args: argparse.Namespace) -> None:
    extractor = DomainExtractor(device=args.device)
    images = torch.randint(0, 256, (5000, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    [(rate, cpu)] = paired_throughput([lambda b: extractor.features(b, batch_size=500)], images, 500)
    print(f"(c) domain extractor ({extractor.id}): {rate:.0f} img/s ({cpu * 1e3:.2f} CPU-ms/img) on 28x28 gray")


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    bench_frechet(args)
    bench_inception(args)
    bench_domain(args)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
