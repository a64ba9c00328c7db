"""Summarise the GPU recipe probe (probe.sh): per recipe, the latent-mixture FID curve cut at the step that 10 minutes
on the 2-core CPU reach with that batch size, its end value and how far it rose above that end in the window's second
half (the stability measure of vaegan.evaluation.curves.stability, the issue's target: at most 15%).

    python benchmarks/gpu-probe/summarize.py benchmarks/gpu-probe/curves-*.json
"""

import json
import statistics
import sys

# VAE-GAN steps that 10 minutes of the main job reach on the 2-core CPU: 1851-1941 at batch 64 (the 10-minute report);
# other batch sizes scaled by the measured bare step rates (4.3, 8.2 and 13 steps/s at batch 64, 32 and 16).
CPU_STEPS = {64: 1900, 32: 3600, 16: 5700}
BATCH = {"b32": 32, "b16": 16}  # a recipe name holding the tag trains at that batch size; others at 64


def batch_of(name: str) -> int:
    return next((b for tag, b in BATCH.items() if tag in name), 64)


def curve(rows: list[dict]) -> list[tuple[int, float]]:
    key = next(k for k in ("fid_ema_gmm/domain", "fid_gmm/domain") if k in rows[-1])
    return [(r["step"], r[key]) for r in rows if key in r]


def main(paths: list[str]) -> None:
    for path in paths:
        print(f"\n{path}:\n")
        table(json.load(open(path)))


def table(runs: dict[str, list[dict]]) -> None:
    recipes: dict[str, list] = {}
    for name, rows in sorted(runs.items()):
        if name.startswith("vae") and not name.startswith("vaegan"):
            continue
        recipe = name.rsplit("-s", 1)[0]
        budget = CPU_STEPS[batch_of(recipe)]
        points = [(s, v) for s, v in curve(rows) if s <= budget]
        if not points or points[-1][0] < 0.85 * budget:
            continue
        end = points[-1][1]
        rise = max(v for s, v in points if s >= points[-1][0] / 2) / end - 1
        recipes.setdefault(recipe, []).append((points[-1][0], end, rise))
    print("| recipe | seeds | step (= 10 CPU min) | GMM FID at that step | FID rise, 2nd half (each seed) |")
    print("|---|---|---|---|---|")
    for recipe, rs in recipes.items():
        ends = [e for _, e, _ in rs]
        spread = f" ± {statistics.stdev(ends):.0f}" if len(ends) > 1 else ""
        print(f"| {recipe} | {len(rs)} | {rs[0][0]} | {statistics.mean(ends):.0f}{spread} | "
              + " / ".join(f"+{100 * r:.0f}%" for _, _, r in rs) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
