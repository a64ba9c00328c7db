#!/usr/bin/env python3
"""Score trained runs on the same held-out data, extractor and sample count, and write one report folder:
report.md (its first line: which model is better, by how much), a self-contained report.html, the PNGs and
metrics.json. Samples are scored per latent sampler: N(0, I) (prior) and a Gaussian mixture fitted to each run's
encoder means (gmm, saved beside the checkpoint as checkpoints/<which>.gmm.npz). On labelled data the report also
shows attribute edits (Larsen et al. 2016, section 5): the same test images edited along each run's attribute
vectors (saved as checkpoints/<which>.attributes.npz), with a classifier's probability of the target per strength
for Fashion-MNIST."""

import argparse

from metrics import EXTRACTORS
from metrics.inception import download_weights
from vaegan import distributed
from vaegan.cli import HelpWithDefaults, check_writable, positive_int, run_cli
from vaegan.attributes import describe_default_edits, parse_strengths
from vaegan.config import check_device
from vaegan.evaluation import EvalConfig, evaluate_runs
from vaegan.evaluation.inception_flags import add_inception_arguments, inception_settings
from vaegan.latent_sampler import SAMPLERS


def main() -> None:
    d = EvalConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpWithDefaults)
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders made by training")
    p.add_argument("--out", default=None, help="report folder (default: a new reports/NNNNN-<runs>/)")
    p.add_argument("--reports-dir", default="reports", help="parent of the numbered report folders")
    p.add_argument("--which", default=d.which, choices=["latest", "best"],
                   help="checkpoint to score (best: lowest FID during training; latest when a run kept none)")
    p.add_argument("--samples", type=positive_int, default=d.samples,
                   help="N: samples per run and sampler, and test images reconstructed per run")
    p.add_argument("--samplers", default=",".join(d.samplers), metavar="NAMES",
                   help=f"comma-separated latent samplers to score, from: {', '.join(SAMPLERS)}")
    p.add_argument("--extractor", default=d.extractor, choices=sorted(EXTRACTORS),
                   help="feature extractor for FID/KID (domain: Fashion-MNIST-sized 28x28 grayscale only)")
    add_inception_arguments(p, d)
    p.add_argument("--reference-size", type=positive_int, default=d.reference_size,
                   help="real reference: the first this-many test images (fewer: faster with Inception on a CPU)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the sampling noise, shared by all runs")
    p.add_argument("--weights", default=d.weights, choices=["ema", "live"],
                   help="ema: a run's weight average where it kept one; live: its last weights")
    p.add_argument("--attributes", action=argparse.BooleanOptionalAction, default=d.attributes,
                   help="attribute edits where the data has labels (one encoding of the training images per run: "
                        "cheap next to the FID samples)")
    p.add_argument("--edit", action="append", default=None, metavar="SRC:DST",
                   help="an attribute edit, repeatable: SOURCE:TARGET (classes) or TARGET (add an attribute) "
                        f"(default: {describe_default_edits()})")
    p.add_argument("--strengths", type=parse_strengths, metavar="A,B,...",
                   default=",".join(f"{a:g}" for a in d.strengths),
                   help="comma-separated edit strengths alpha (0: the reconstruction, 1: the full vector)")
    p.add_argument("--device", default=d.device, help="cpu, cuda, cuda:1, ...")
    args = p.parse_args()

    def run():
        # before any scoring, which takes minutes per run: a report that cannot be written loses all of it
        check_writable(args.out or args.reports_dir, "--out" if args.out else "--reports-dir")
        check_device(args.device)
        if args.download_inception_weights:
            download_weights()
        cfg = EvalConfig(which=args.which, weights=args.weights, samples=args.samples, extractor=args.extractor,
                         seed=args.seed, device=args.device,
                         reference_size=args.reference_size, samplers=tuple(args.samplers.split(",")),
                         attributes=args.attributes, edits=tuple(args.edit or ()), strengths=args.strengths,
                         **inception_settings(args))
        processes = distributed.start(args.device)  # under torchrun: the processes share the feature extraction
        try:
            html = evaluate_runs(args.run_dirs, cfg, out_dir=args.out, reports_root=args.reports_dir, processes=processes)
        finally:
            distributed.stop()
        if processes.is_main:
            print(f"report: {html}")

    run_cli(run)


if __name__ == "__main__":
    main()
