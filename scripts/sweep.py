#!/usr/bin/env python3
"""The recipe search behind the default VAE-GAN: train named recipes (vaegan/recipes.py) side by side on the same
data, budget and seeds, score every run the same way, and write one table of mean ± std per recipe.

    python scripts/sweep.py --minutes 3 --seeds 2 --recipes vae,paper,paper+ema,paper+ema+ttur --out benchmarks/RECIPES.md

Runs already trained with the same settings are reused, so an interrupted sweep continues where it stopped.
Columns: domain FID of N(0, I) and of latent-mixture (GMM) samples, KID and Laplacian sharpness ratio of the GMM
samples (1.0 = as sharp as real), and the FID-curve stability: how far the logged headline FID rose above its final
value over the second half of training (the target is at most 15%).
"""

import argparse
import datetime
import statistics
from pathlib import Path

from vaegan.atomic import atomic_write_text
from vaegan.cli import check_writable, positive_float, positive_int, run_cli
from vaegan.evaluation import EvalConfig
from vaegan.budget import Budget
from vaegan.experiment import comparison_configs, plan_run, run_plan
from vaegan.evaluation.curves import sampler_curve, stability
from vaegan.evaluation.score_table import BY_KEY, Metric
from vaegan.evaluation.scoring import build_reference, score_runs
from vaegan.latent_sampler import SAMPLERS
from vaegan.recipes import RECIPES

# (sampler, score key): each column's header and decimals come from the report's table of scores.
COLUMNS = [("prior", "fid"), ("gmm", "fid"), ("gmm", "kid"), ("gmm", "sample_laplacian_ratio")]


def header(sampler: str, key: str) -> str:
    return f"{BY_KEY[key].label} · {SAMPLERS[sampler].label}"


def mean_std(values: list[float], metric: Metric) -> str:
    if not values:
        return "–"
    if len(values) == 1:
        return metric.format(values[0])
    return f"{metric.format(statistics.mean(values))} ± {metric.format(statistics.stdev(values))}"


def recipe_table(results, recipe_of: dict, names: tuple[str, ...]) -> str:
    """One markdown row per recipe: mean ± std over its seeds. recipe_of: run folder -> recipe name."""
    lines = ["| recipe | seeds | steps | " + " | ".join(header(*c) for c in COLUMNS) + " | FID rise, 2nd half ↓ |",
             "|---" * (len(COLUMNS) + 4) + "|"]
    for name in names:
        runs = [r for r in results if recipe_of[r.run_dir] == name and r.scores]
        cells = [mean_std([r.sample_scores[s][k] for r in runs if s in r.sample_scores], BY_KEY[k]) for s, k in COLUMNS]
        rises = [x for r in runs if (c := sampler_curve(r.curves, "gmm")) and (x := stability(c)) is not None]
        steps = mean_std([r.step for r in runs], "{:.0f}")
        lines.append(f"| {name} | {len(runs)} | {steps} | " + " | ".join(cells) + f" | {mean_std([100 * x for x in rises], '{:.0f}%')} |")
    return "\n".join(lines)


def main() -> None:
    e = EvalConfig()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    b = p.add_mutually_exclusive_group(required=True)
    b.add_argument("--minutes", type=positive_float,
                   help="training time per run (FID checks and checkpoints not counted)")
    b.add_argument("--steps", type=positive_int, help="training steps per run")
    p.add_argument("--seeds", type=positive_int, default=2, help="seeds 0..K-1 for every recipe")
    p.add_argument("--recipes", default=",".join(RECIPES), help=f"comma-separated; known: {', '.join(RECIPES)}")
    p.add_argument("--samples", type=positive_int, default=2000, help="samples scored per run and sampler")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--out", default="benchmarks/RECIPES.md", help="where the table is written")
    args = p.parse_args()

    def run():
        names = tuple(n for n in args.recipes.split(",") if n)
        unknown = [n for n in names if n not in RECIPES]
        if unknown:
            raise ValueError(f"unknown recipe(s) {', '.join(unknown)}; known: {', '.join(RECIPES)}")
        if not names:  # "--recipes ," would train nothing and write an empty table
            raise ValueError(f"--recipes {args.recipes!r} names no recipe; pass comma-separated names from "
                             f"{', '.join(RECIPES)}")
        # Before hours of training and scoring, not after them.
        if Path(args.out).is_dir():
            raise ValueError(f"--out {args.out} is a folder; pass the path of the table file to write, e.g. "
                             f"{Path(args.out) / 'RECIPES.md'}")
        check_writable(args.out, "--out")
        check_writable(args.runs_dir, "--runs-dir")
        train_budget = Budget.exactly_one(args.minutes, args.steps)
        configs = comparison_configs(train_budget, args.seeds, runs_dir=args.runs_dir, recipes=names)
        eval_cfg = EvalConfig(samples=args.samples, reference_size=e.reference_size)
        reference = build_reference("fashion_mnist", None, None, eval_cfg)
        run_dirs, recipe_of = [], {}
        for i, (cfg, name) in enumerate(zip(configs, names * args.seeds), 1):
            print(f"=== [{i}/{len(configs)}] recipe {name}, seed {cfg.seed}", flush=True)
            run_dir = run_plan(plan_run(cfg))
            run_dirs.append(run_dir)
            recipe_of[run_dir] = name
        results = score_runs(run_dirs, reference, eval_cfg)
        given = f"--minutes {args.minutes:g}" if args.minutes else f"--steps {args.steps}"
        text = (f"# VAE-GAN recipes, side by side\n\nFashion-MNIST, {given} per run, seeds 0..{args.seeds - 1}, "
                f"{args.samples} samples per run and sampler, domain extractor. Written {datetime.date.today()} by:\n\n"
                f"    python scripts/sweep.py {given} --seeds {args.seeds} --recipes {','.join(names)} "
                f"--samples {args.samples}\n\n{recipe_table(results, recipe_of, names)}\n")
        atomic_write_text(Path(args.out), text)
        print(text)

    run_cli(run)


if __name__ == "__main__":
    main()
