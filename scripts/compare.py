#!/usr/bin/env python3
"""The main job: train a VAE and a VAE-GAN (or any set of methods: --methods vae,vaegan,softintrovae) on the same
data with the same architecture, seed(s) and budget, then score them into one report (report.html, report.md,
metrics.json). Runs already trained with the same settings are reused (an interrupted one is resumed), so running it
again only redoes what is missing."""

import argparse
import sys
import time

from metrics import EXTRACTORS
from metrics.inception import download_weights
from vaegan.cli import HelpWithDefaults, check_writable, positive_float, positive_int, run_cli
from vaegan.config import TrainConfig
from vaegan.data import DATASETS
from vaegan.budget_plan import announce, inception_seconds
from vaegan.precision import PRECISIONS, resolve_precision
from vaegan.evaluation import EvalConfig, evaluate_runs
from vaegan.evaluation.inception_flags import add_inception_arguments, inception_settings
from vaegan.budget import Budget
from vaegan.experiment import comparison_configs, plan_run, run_plan
from vaegan.evaluation.scoring import build_reference
from vaegan.recipes import RECIPES
from vaegan.methods import MAIN_JOB, METHODS


def names_from(known, what: str):
    """An argparse type: a comma-separated list of names, each one of `known` (e.g. the recipes)."""
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(n for n in text.split(",") if n)
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"unknown {what}(s) {', '.join(unknown) or text!r}; known: {', '.join(known)}")
        return names
    return parse

# Per model, by default: the same 4 minutes of training each (equal training time: the time spent in training steps,
# FID checks and checkpoints not charged, so how often a run is measured does not change how much it trains). A
# VAE-GAN step costs ~7 VAE steps on a 2-core CPU, so the VAE makes far more updates: the comparison is at equal
# cost, not equal steps (--steps gives that instead).
DEFAULT_MINUTES = 4.0
INCEPTION_TIMED_IMAGES = 50  # test images the plan times Inception on with --inception: a few seconds on a CPU


def main() -> None:
    d, e = TrainConfig(), EvalConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpWithDefaults)
    g = p.add_argument_group(f"budget per model (one of them; default --minutes {DEFAULT_MINUTES:g})")
    b = g.add_mutually_exclusive_group()
    b.add_argument("--minutes", type=positive_float,
                   help=f"training time per model, FID checks and checkpoints not counted "
                        f"(default: {DEFAULT_MINUTES:g} when no budget flag is given)")
    b.add_argument("--steps", type=positive_int, help="training steps per model (default: no step limit)")
    b.add_argument("--epochs", type=positive_float, help="training epochs per model (default: no epoch limit)")
    g = p.add_argument_group("experiment")
    g.add_argument("--seeds", type=positive_int, default=1, help="train each model with seeds 0..K-1; report mean ± std")
    g.add_argument("--methods", type=names_from(METHODS, "method"), default=MAIN_JOB,
                   help=f"comma-separated methods to train side by side, each with its default recipe "
                        f"(default: {','.join(MAIN_JOB)}; known: {', '.join(METHODS)})")
    g.add_argument("--recipes", type=names_from(RECIPES, "recipe"), default=None,
                   help=f"comma-separated recipes from vaegan/recipes.py to train side by side, instead of --methods' "
                        f"defaults (known: {', '.join(RECIPES)})")
    g.add_argument("--dataset", default=d.data.dataset, choices=sorted(DATASETS))
    g.add_argument("--data-root", default=d.data.root,
                   help="folder holding the dataset files (default: the dataset's standard places)")
    g.add_argument("--fid-every", type=int, default=None,
                   help="steps between FIDs during training; 0: off (default: four checks spaced over each budget)")
    g.add_argument("--precision", default=d.precision, choices=list(PRECISIONS),
                   help="of every run's training (auto: bf16 where the chip has bf16 units, else fp32)")
    g.add_argument("--runs-dir", default=d.runs_dir, help="where runs are trained, and looked up for reuse")
    g = p.add_argument_group("evaluation")
    g.add_argument("--out", default=None, help="report folder (default: a new reports/NNNNN-<runs>/)")
    g.add_argument("--reports-dir", default="reports", help="parent of the numbered report folders")
    g.add_argument("--samples", type=positive_int, default=e.samples, help="N prior samples and reconstructions per run")
    g.add_argument("--reference-size", type=positive_int, default=e.reference_size,
                   help="real reference: the first this-many test images")
    g.add_argument("--which", default=e.which, choices=["latest", "best"], help="checkpoint to score")
    g.add_argument("--extractor", default=e.extractor, choices=sorted(EXTRACTORS),
                   help="features for FID/KID (domain: 28x28 grayscale only)")
    add_inception_arguments(g, e)
    args = p.parse_args()

    def run():
        start = time.monotonic()
        check_writable(args.runs_dir, "--runs-dir")  # before the training and scoring, not after them
        check_writable(args.out or args.reports_dir, "--out" if args.out else "--reports-dir")
        if args.download_inception_weights:
            download_weights()
        given = args.minutes is not None or args.steps is not None or args.epochs is not None
        train_budget = Budget.exactly_one(args.minutes if given else DEFAULT_MINUTES, args.steps, args.epochs)
        configs = comparison_configs(train_budget, args.seeds, args.dataset, args.data_root, args.runs_dir,
                                     overrides={"precision": args.precision,
                                                **({} if args.fid_every is None else {"fid_every": args.fid_every,
                                                                                     "fid_checks": 0})},
                                     recipes=args.recipes or tuple(METHODS[m].default_recipe for m in args.methods))
        eval_cfg = EvalConfig(which=args.which, samples=args.samples, extractor=args.extractor,
                              reference_size=args.reference_size, **inception_settings(args))
        # The reference first: a wrong extractor for this data fails now, not after the training.
        reference = build_reference(args.dataset, args.data_root, None, eval_cfg)
        print(f"precision: {configs[0].precision} ({resolve_precision(args.precision, configs[0].device)[1]})")
        plans = [plan_run(cfg) for cfg in configs]
        inception = 0.0 if reference.inception is None else inception_seconds(
            reference.inception.extractor, reference.real[:INCEPTION_TIMED_IMAGES],
            len(plans) * len(eval_cfg.samplers) * eval_cfg.inception_samples)
        announce([p.cfg for p in plans if p.action == "train"], len(plans), sys.stdout, inception)
        run_dirs = []
        for i, plan in enumerate(plans, 1):
            cfg = plan.cfg
            print(f"=== [{i}/{len(configs)}] {cfg.run_name or cfg.kind}, seed {cfg.seed}, budget "
                  f"{train_budget.describe()}", flush=True)
            run_dirs.append(run_plan(plan))
        print("=== evaluation", flush=True)
        html = evaluate_runs(run_dirs, eval_cfg, out_dir=args.out, reports_root=args.reports_dir, reference=reference)
        print(f"report: {html.resolve()}")
        print(f"total wall time: {(time.monotonic() - start) / 60:.1f} min")

    run_cli(run)


if __name__ == "__main__":
    main()
