"""The command-line flags of the Inception scores (EvalConfig.inception and its settings), shared by
scripts/evaluate.py and scripts/compare.py so both spell and document them alike."""

from __future__ import annotations

import argparse

from metrics.inception import DOWNLOAD_FLAG, DOWNLOAD_HELP
from vaegan.cli import positive_int
from vaegan.evaluation.scoring import EvalConfig
from vaegan.precision import PRECISIONS


def add_inception_arguments(p: argparse.ArgumentParser | argparse._ArgumentGroup, d: EvalConfig) -> None:
    """--inception-weights, the download flag, --inception and its --inception-* settings, defaults from `d`."""
    p.add_argument("--inception-weights", default=d.inception_weights, metavar="PATH",
                   help="Inception weights for --extractor inception and --inception (default: TF's, fetched by "
                        "`python -m metrics fetch-inception`; or pytorch-fid's pt_inception file)")
    p.add_argument(DOWNLOAD_FLAG, action="store_true", help=DOWNLOAD_HELP)
    p.add_argument("--inception", action="store_true",
                   help="also Inception FID and precision/recall/density/coverage on TF's FID Inception pool3 features "
                        "(minutes per model and sampler on a CPU; weights from `python -m metrics fetch-inception`)")
    p.add_argument("--inception-samples", type=positive_int, default=d.inception_samples,
                   help="with --inception: generated images per model and sampler (published protocol: 10000)")
    p.add_argument("--inception-reference-size", type=positive_int, default=d.inception_reference_size,
                   help="with --inception: the first this-many test images are the real side, cached once per machine")
    p.add_argument("--inception-stretch", action=argparse.BooleanOptionalAction, default=d.inception_stretch,
                   help="with --inception: min-max stretch each generated image first, as Dai & Wipf's FID code does")
    p.add_argument("--inception-precision", default=d.inception_precision, choices=list(PRECISIONS),
                   help="with --inception: fp32 as published; bf16 autocast is faster on a CPU with bf16 units "
                        "(auto: bf16 there) and moves FID slightly (benchmarks/RESULTS.md)")


def inception_settings(args: argparse.Namespace) -> dict:
    """The EvalConfig fields of add_inception_arguments' flags, from parsed `args`."""
    return {"inception_weights": args.inception_weights, "inception": args.inception,
            "inception_samples": args.inception_samples, "inception_reference_size": args.inception_reference_size,
            "inception_stretch": args.inception_stretch, "inception_precision": args.inception_precision}
