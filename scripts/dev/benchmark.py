#!/usr/bin/env python3
"""This machine's training and metric throughput, measured side by side in one run, printed as one Markdown table.

Rows (fp32 and bf16 columns; benchmarks/RESULTS.md explains each):
- VAE and VAE-GAN training images/s at batch 64 on the small28 preset (Fashion-MNIST), fp32 with contiguous
  tensors against bf16 autocast with channels_last; the VAE-GAN step in VAE steps; the achieved GFLOP/s of a step
  (FLOPs counted by torch.utils.flop_counter) as a share of the matmul peak of the same precision, measured here.
- Inception features images/s, ours against pytorch-fid's InceptionV3 (random weights: nothing is downloaded, and
  speed does not depend on the values), and the FID of test images against their blurred copies in both precisions.
- The Fréchet distance at D=2048 against the scipy.linalg.sqrtm formula (what pytorch-fid computes).
- With --main-job, the wall time of `scripts/compare.py` with its defaults (into a temporary folder).

    python scripts/dev/benchmark.py [--seconds 15] [--fid-images 100] [--device cuda] [--main-job] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import scipy.linalg
import torch
import torchvision.transforms.functional as TF
from torch.utils.flop_counter import FlopCounterMode

from metrics.frechet import feature_statistics, frechet_distance
from metrics.inception import (BLOCKS_BY_DIM, FID_WEIGHTS_FILENAME, INPUT_SIZE, InceptionExtractor,
                               random_fid_state_dict)
from vaegan.data import load_dataset, to_model_range
from vaegan.models import resolve_model_config
from vaegan.precision import bf16_is_native, to_layout
from vaegan.recipes import CPPN_DECODER, DEFAULT_RECIPE, default_config, recipe_model
from vaegan.training.methods import TRAINING
from vaegan.training.state import build_state

REPO = Path(__file__).resolve().parents[2]
# (precision, channels_last) of the two columns: the reference arithmetic and layout against the fast ones.
MODES = {"fp32": ("fp32", False), "bf16": ("bf16", True)}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
INCEPTION_BATCH = 50  # pytorch-fid's default batch size
# The flags that decide this project's speed on a CPU: AVX2 only, AVX-512, bf16 dot products, AMX tiles.
VECTOR_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--seconds", type=float, default=15.0, help="timed training seconds per cell")
    p.add_argument("--fid-images", type=int, default=100,
                   help="test images (and as many blurred copies) for Inception throughput and the bf16 FID")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda")
    p.add_argument("--main-job", action="store_true", help="also time scripts/compare.py with its defaults")
    p.add_argument("--quick", action="store_true", help="a smoke run on tiny sizes (figures meaningless)")
    return p.parse_args(argv)


@dataclasses.dataclass(frozen=True)
class Sizes:
    seconds: float  # timed training seconds per cell
    batch_size: int  # training batch
    warmup_steps: int
    train_images: int | None  # None: the whole training split
    fid_images: int
    inception_batch: int
    inception_dims: int  # feature width, 2048 = pool3 (the whole network); 64 ends after the stem
    frechet_dims: int
    frechet_repeats: int
    matmul_size: int

    @classmethod
    def of(cls, args: argparse.Namespace) -> Sizes:
        if args.quick:
            return cls(seconds=0.1, batch_size=8, warmup_steps=0, train_images=64, fid_images=2, inception_batch=2,
                       inception_dims=64, frechet_dims=64, frechet_repeats=1, matmul_size=256)
        return cls(seconds=args.seconds, batch_size=64, warmup_steps=3, train_images=None, fid_images=args.fid_images,
                   inception_batch=min(INCEPTION_BATCH, args.fid_images), inception_dims=2048, frechet_dims=2048,
                   frechet_repeats=2, matmul_size=2048)


Row = tuple[str, str, str, str]  # measurement, fp32, bf16, notes


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so that wall clocks measure it."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def machine_lines(device: str) -> list[str]:
    cpu, flags = platform.processor() or "unknown CPU", "unknown"
    with contextlib.suppress(OSError):
        fields = dict(line.split(":", 1) for line in Path("/proc/cpuinfo").read_text().splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}  # the last core's lines: all cores alike here
        cpu = fields.get("model name", cpu)
        if "flags" in fields:
            present = fields["flags"].split()
            flags = " ".join(f for f in VECTOR_FLAGS if f in present) or "none of " + " ".join(VECTOR_FLAGS)
    lines = [f"- CPU: {cpu}, {os.cpu_count()} cores; torch {torch.__version__}, {torch.get_num_threads()} threads",
             f"- CPU vector flags (lscpu): {flags}",
             f"- device: {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.startswith("cuda") else ""),
             f"- bf16 matrix units: {'yes' if bf16_is_native(device) else 'no (bf16 is emulated: slower than fp32)'}"]
    return lines


# --- matmul peaks ----------------------------------------------------------------------------------------------


def matmul_peak(size: int, dtype: torch.dtype, device: str, repeats: int = 5) -> float:
    """Best GFLOP/s of a (size x size) @ (size x size) product in `dtype` over `repeats` tries, after a warm-up."""
    a, b = (torch.randn(size, size, device=device).to(dtype) for _ in range(2))
    best = float("inf")
    for _ in range(repeats + 1):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


# --- training --------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class TrainCell:
    """One method in one mode: a training step to call, the FLOPs of one step, the seconds per step."""

    step: Callable[[], None]
    flops: int = 0
    seconds_per_step: float = float("inf")


def train_cell(kind: str, mode: str, images: torch.Tensor, sizes: Sizes, device: str,
               decoder: dict | None = None) -> TrainCell:
    """A warmed-up training state of `kind` in `mode`: small28 with the default recipe's settings and architecture
    changes, as `make report` trains it (decoder: model fields that replace its decoder). Its first step counts
    FLOPs."""
    precision, channels_last = MODES[mode]
    model = dataclasses.replace(resolve_model_config("small28", 28, 1),
                                **{**recipe_model(DEFAULT_RECIPE[kind]), **(decoder or {})})
    cfg = dataclasses.replace(default_config(kind), model=model,
                              batch_size=sizes.batch_size, device=device, precision=precision,
                              channels_last=channels_last)
    method = TRAINING[kind]
    state = build_state(cfg, method.optimizer_groups, images)
    state.progress = 0.5  # past a VAE-GAN recipe's VAE start: the three-phase step is what is timed

    def step() -> None:
        x = to_layout(to_model_range(next(state.batches)).to(device), cfg.channels_last)
        method.train_step(state, x)
        state.step += 1

    cell = TrainCell(step)
    with FlopCounterMode(display=False) as counter:
        step()
    cell.flops = counter.get_total_flops()
    for _ in range(sizes.warmup_steps):
        step()
    return cell


def time_cells(cells: list[TrainCell], seconds: float, device: str, rounds: int = 2) -> None:
    """Set each cell's seconds per step: the best of `rounds` rounds of seconds / rounds each. The cells take turns,
    so a change of load on a shared machine hits all of them alike."""
    for _ in range(rounds):
        for cell in cells:
            synchronize(device)
            start, steps = time.perf_counter(), 0
            while steps == 0 or time.perf_counter() - start < seconds / rounds:
                cell.step()
                steps += 1
                synchronize(device)  # a step's result is needed before the next anyway (loss checks, logging)
            cell.seconds_per_step = min(cell.seconds_per_step, (time.perf_counter() - start) / steps)


def training_rows(sizes: Sizes, device: str) -> list[Row]:
    images = load_dataset("fashion_mnist", "train", limit=sizes.train_images).images
    cells = {(kind, mode): train_cell(kind, mode, images, sizes, device)
             for kind in ("vae", "vaegan") for mode in MODES}
    cells |= {("cppn", mode): train_cell("vaegan", mode, images, sizes, device, CPPN_DECODER) for mode in MODES}
    time_cells(list(cells.values()), sizes.seconds, device)
    peaks = {mode: matmul_peak(sizes.matmul_size, DTYPES[mode], device) for mode in MODES}
    rows: list[Row] = []
    for kind, name in (("vae", "VAE"), ("vaegan", "VAE-GAN")):
        ms = {m: 1000 * cells[kind, m].seconds_per_step for m in MODES}
        rows.append((f"{name} training, img/s", *(f"{1000 * sizes.batch_size / ms[m]:.0f}" for m in MODES),
                     f"batch {sizes.batch_size}, small28, recipe {DEFAULT_RECIPE[kind]}; " + ", ".join(f"{m} {ms[m]:.1f} ms/step" for m in MODES)))
    ms = {m: 1000 * cells["cppn", m].seconds_per_step for m in MODES}
    ratio = {m: cells["cppn", m].seconds_per_step / cells["vaegan", m].seconds_per_step for m in MODES}
    rows.append(("VAE-GAN (CPPN decoder) training, img/s", *(f"{1000 * sizes.batch_size / ms[m]:.0f}" for m in MODES),
                 "--decoder cppn as its flags default; step " + ", ".join(
                     f"{m} {ms[m]:.1f} ms ({ratio[m]:.2f}x the conv VAE-GAN's)" for m in MODES)))
    rows.append(("VAE-GAN step in VAE steps",
                 *(f"{cells['vaegan', m].seconds_per_step / cells['vae', m].seconds_per_step:.2f}" for m in MODES),
                 "ratio of step times in the same column"))
    for kind, name in (("vae", "VAE"), ("vaegan", "VAE-GAN")):
        gflops = {m: cells[kind, m].flops / cells[kind, m].seconds_per_step / 1e9 for m in MODES}
        rows.append((f"{name} step, GFLOP/s (share of matmul peak)",
                     *(f"{gflops[m]:.1f} ({100 * gflops[m] / peaks[m]:.0f}%)" for m in MODES),
                     f"{cells[kind, 'fp32'].flops / 1e9:.2f} GFLOP per step (forward + backward)"))
    rows.append(("Matmul peak, GFLOP/s", *(f"{peaks[m]:.0f}" for m in MODES),
                 f"{sizes.matmul_size}x{sizes.matmul_size} @ {sizes.matmul_size}x{sizes.matmul_size}, best of 5"))
    return rows


# --- Inception -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def torch_home(path: Path) -> Iterator[None]:
    """TORCH_HOME set to `path` inside the block: where pytorch-fid looks up its weights file."""
    saved = os.environ.get("TORCH_HOME")
    os.environ["TORCH_HOME"] = str(path)
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TORCH_HOME"]
        else:
            os.environ["TORCH_HOME"] = saved


def inception_networks(folder: Path, calibration: torch.Tensor, dims: int, device: str) -> dict[str, Callable]:
    """name -> (uint8 batch -> float64 (B, dims) features): ours in both precisions and pytorch-fid's, all on one
    random weights file written under `folder`."""
    path = folder / "hub" / "checkpoints" / FID_WEIGHTS_FILENAME
    path.parent.mkdir(parents=True)
    torch.save(random_fid_state_dict(0, calibration), path)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not the official.*")
        ours = {p: InceptionExtractor(weights_path=path, dims=dims, device=device, precision=p) for p in MODES}
    networks = {f"ours {p}": (lambda b, e=e: e.features(b, batch_size=len(b))) for p, e in ours.items()}
    try:
        from pytorch_fid.inception import InceptionV3  # a dev dependency: only for this comparison
    except ImportError:
        return networks
    with torch_home(folder):
        theirs = InceptionV3([BLOCKS_BY_DIM[dims][0]]).eval().to(device)

    def pytorch_fid(batch: torch.Tensor) -> np.ndarray:
        x = batch.to(device, torch.float32) / 255  # their input: floats in [0, 1], 3 channels
        with torch.no_grad():
            maps = theirs(x.expand(-1, 3, -1, -1))[0]  # (B, dims, h, w): averaged as pytorch-fid's fid_score does
            return torch.nn.functional.adaptive_avg_pool2d(maps, 1).flatten(1).double().cpu().numpy()

    networks["pytorch-fid"] = pytorch_fid
    return networks


def paired_features(networks: dict[str, Callable], images: torch.Tensor, batch_size: int,
                    device: str) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each network's images/s (median over batches, after one warm-up batch) and its features of `images`. The
    networks take turns batch by batch, so a change of load hits all of them alike."""
    batches = list(images.split(batch_size))
    for fn in networks.values():
        fn(batches[0])
    seconds: dict[str, list[float]] = {name: [] for name in networks}
    features: dict[str, list[np.ndarray]] = {name: [] for name in networks}
    for batch in batches:
        for name, fn in networks.items():
            synchronize(device)
            start = time.perf_counter()
            features[name].append(fn(batch))
            synchronize(device)
            seconds[name].append((time.perf_counter() - start) / len(batch))
    return ({name: 1 / float(np.median(s)) for name, s in seconds.items()},
            {name: np.concatenate(f) for name, f in features.items()})


def inception_rows(sizes: Sizes, device: str) -> list[Row]:
    test = load_dataset("fashion_mnist", "test").images
    real = test[:sizes.fid_images]
    blurred = TF.gaussian_blur(real.float(), kernel_size=5, sigma=1.0).round().clamp(0, 255).to(torch.uint8)
    calibration = TF.resize(test[-4:].float().expand(-1, 3, -1, -1), [INPUT_SIZE, INPUT_SIZE],
                            antialias=False) / 127.5 - 1  # stem BatchNorm statistics of the random weights
    with tempfile.TemporaryDirectory() as folder:
        networks = inception_networks(Path(folder), calibration, sizes.inception_dims, device)
        rates, features = paired_features(networks, torch.cat([real, blurred]), sizes.inception_batch, device)
    n = sizes.fid_images
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*feature dimensions.*")  # N <= D: said in the notes
        fid = {name: frechet_distance(*feature_statistics(f[:n]), *feature_statistics(f[n:]))
               for name, f in features.items()}
    reference = rates.get("pytorch-fid")
    speedups = "" if reference is None else "; vs pytorch-fid " + ", ".join(
        f"{p} {rates[f'ours {p}'] / reference:.2f}x" for p in MODES)
    bias = f"; N <= {sizes.inception_dims} dims biases FID, compare columns only" if n <= sizes.inception_dims else ""
    return [
        ("Inception features, img/s (ours)", *(f"{rates[f'ours {p}']:.2f}" for p in MODES),
         f"{sizes.inception_dims}-d features of 28x28 gray upsampled to 299, batch {sizes.inception_batch}, random "
         f"weights{speedups}"),
        ("Inception features, img/s (pytorch-fid)",
         "not installed" if reference is None else f"{reference:.2f}", "-", "its InceptionV3, fp32, no_grad"),
        (f"FID, {n} test images vs blurred (ours)", *(f"{fid[f'ours {p}']:.2f}" for p in MODES),
         f"bf16 - fp32: {100 * (fid['ours bf16'] - fid['ours fp32']) / fid['ours fp32']:+.2f}%"
         + ("" if reference is None else f"; pytorch-fid's features: {fid['pytorch-fid']:.2f}")
         + bias),
    ]


# --- Fréchet distance ------------------------------------------------------------------------------------------


def scipy_frechet(mu1, sigma1, mu2, sigma2) -> float:
    """The textbook formula with a general matrix square root, as pytorch-fid evaluates it."""
    root = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(root))


def power_law_gaussian(rng: np.random.Generator, dims: int, exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """mu (D,), sigma (D, D) = U diag(k^-exponent) U^T with a random rotation U: eigenvalues spanning several
    decades, as in covariances of real network features."""
    rotation, _ = np.linalg.qr(rng.standard_normal((dims, dims)))
    sigma = (rotation * np.arange(1, dims + 1, dtype=np.float64) ** -exponent) @ rotation.T
    return 0.1 * rng.standard_normal(dims), (sigma + sigma.T) / 2


def frechet_rows(sizes: Sizes) -> list[Row]:
    rng = np.random.default_rng(0)
    stats = (*power_law_gaussian(rng, sizes.frechet_dims, 1.2), *power_law_gaussian(rng, sizes.frechet_dims, 1.0))
    best, values = {"ours": float("inf"), "scipy": float("inf")}, {}
    for _ in range(sizes.frechet_repeats):  # taking turns, as above
        for name, fn in (("ours", frechet_distance), ("scipy", scipy_frechet)):
            start = time.perf_counter()
            values[name] = fn(*stats)
            best[name] = min(best[name], time.perf_counter() - start)
    difference = abs(values["ours"] - values["scipy"]) / abs(values["scipy"])
    return [(f"Fréchet distance D={sizes.frechet_dims}, s", f"{best['ours']:.3f}", "-",
             f"scipy.linalg.sqrtm {best['scipy']:.3f} s: ours {best['scipy'] / best['ours']:.1f}x faster, "
             f"values differ by {difference:.1e} (float64, best of {sizes.frechet_repeats})")]


# --- the main job ----------------------------------------------------------------------------------------------


def main_job_row(run: bool) -> Row:
    if not run:
        return ("Main job (scripts/compare.py defaults), wall", "not run (use --main-job)", "-", "")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run([sys.executable, str(REPO / "scripts" / "compare.py"), "--runs-dir", f"{folder}/runs",
                        "--reports-dir", f"{folder}/reports"], check=True, stdout=subprocess.DEVNULL)
        minutes = (time.perf_counter() - start) / 60
    return ("Main job (scripts/compare.py defaults), wall", f"{minutes:.1f} min", "-",
            "train VAE and VAE-GAN, evaluate, write the report (as `make report`)")


def markdown_table(rows: list[Row]) -> str:
    lines = ["| Measurement | fp32 | bf16 | Notes |", "| --- | --- | --- | --- |"]
    return "\n".join(lines + [f"| {' | '.join(row)} |" for row in rows])


def main(argv: list[str] | None = None) -> str:
    """Run every measurement and print the machine and the table; returns the table."""
    args = parse_args(argv)
    sizes = Sizes.of(args)
    print("\n".join(machine_lines(args.device)), flush=True)
    sections = [("training", lambda: training_rows(sizes, args.device)),
                ("Inception features", lambda: inception_rows(sizes, args.device)),
                ("Fréchet distance", lambda: frechet_rows(sizes)),
                ("main job", lambda: [main_job_row(args.main_job)])]
    rows: list[Row] = []
    for name, measure in sections:
        start = time.perf_counter()
        rows += measure()
        print(f"[benchmark] {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    table = markdown_table(rows)
    print(f"\nTraining: fp32 = fp32 on contiguous tensors, bf16 = bf16 autocast on channels_last. Inception: both "
          f"channels_last with BatchNorm folded, bf16 under autocast.\n\n{table}")
    return table


if __name__ == "__main__":
    main()
