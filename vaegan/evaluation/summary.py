"""What the scores mean: each metric's direction, the best run per metric, mean ± std per kind, a headline sentence."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vaegan.evaluation.scoring import RunResult

KIND_LABELS = {"vae": "VAE", "vaegan": "VAE-GAN"}


@dataclass(frozen=True)
class Metric:
    key: str  # key in RunResult.scores
    label: str  # column header
    better: str  # "lower" | "higher" | "one" (closest to 1.0, i.e. as sharp as real)
    digits: int  # decimals shown


METRICS = (
    Metric("fid", "FID ↓", "lower", 2),
    Metric("kid", "KID ↓", "lower", 4),
    Metric("recon_fid", "recon FID ↓", "lower", 2),
    Metric("sample_laplacian_ratio", "sharpness (Laplacian) samples", "one", 2),
    Metric("sample_high_freq_ratio", "sharpness (high freq.) samples", "one", 2),
    Metric("recon_laplacian_ratio", "sharpness (Laplacian) recon", "one", 2),
    Metric("recon_high_freq_ratio", "sharpness (high freq.) recon", "one", 2),
    Metric("mse", "MSE ↓", "lower", 4),
    Metric("psnr", "PSNR dB ↑", "higher", 2),
    Metric("ssim", "SSIM ↑", "higher", 3),
)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def run_labels(results: list[RunResult]) -> list[str]:
    """Short names for legends and captions: "VAE s0", or the folder name where that would be ambiguous."""
    short = [f"{kind_label(r.kind)} s{r.seed}" for r in results]
    return [label if short.count(label) == 1 else r.name for label, r in zip(short, results)]


def badness(metric: Metric, value: float) -> float:
    """A number to minimise: the value itself, its negative, or the distance from 1.0 on a log scale
    (half as sharp and twice as sharp as real are equally far off)."""
    if metric.better == "lower":
        return value
    if metric.better == "higher":
        return -value
    return abs(math.log(value)) if value > 0 else math.inf


def best_runs(results: list[RunResult]) -> dict[str, set[int]]:
    """{metric key: indices of the runs with the best value} over the scored runs that did not diverge (ties share)."""
    best: dict[str, set[int]] = {}
    for m in METRICS:
        values = {i: badness(m, r.scores[m.key]) for i, r in enumerate(results)
                  if r.scores is not None and not r.diverged and _finite(r.scores.get(m.key))}
        if values:
            low = min(values.values())
            best[m.key] = {i for i, v in values.items() if v == low}
    return best


def summarize_by_kind(results: list[RunResult]) -> dict[str, dict]:
    """{kind: {"runs": n scored, "seeds": [...], "diverged": n, metric key: {"mean", "std", "n"}}} in order of first
    appearance. std is the sample standard deviation (ddof=1) over seeds, 0.0 for a single run."""
    out: dict[str, dict] = {}
    for kind in dict.fromkeys(r.kind for r in results):
        runs = [r for r in results if r.kind == kind]
        scored = [r for r in runs if r.scores is not None and not r.diverged]
        entry: dict = {"runs": len(scored), "seeds": [r.seed for r in scored], "diverged": sum(r.diverged for r in runs)}
        for m in METRICS:
            values = np.array([r.scores[m.key] for r in scored if _finite(r.scores.get(m.key))], dtype=np.float64)
            if values.size:
                std = float(values.std(ddof=1)) if values.size > 1 else 0.0
                entry[m.key] = {"mean": float(values.mean()), "std": std, "n": int(values.size)}
        out[kind] = entry
    return out


def headline(results: list[RunResult], summary: dict[str, dict]) -> str:
    """One sentence with the result that matters: FID and sharpness of the VAE-GAN against the VAE (means over
    seeds when there are several), or of each kind when the report holds other kinds."""
    def value(kind: str, key: str) -> float | None:
        return summary.get(kind, {}).get(key, {}).get("mean")

    n_seeds = max((s["runs"] for s in summary.values()), default=0)
    over = f" (mean of {n_seeds} seeds)" if n_seeds > 1 else ""
    if all(value(k, "fid") is not None for k in ("vae", "vaegan")):
        return (f"VAE-GAN samples{over}: FID {value('vaegan', 'fid'):.1f} vs {value('vae', 'fid'):.1f} for the VAE; "
                f"sharpness {value('vaegan', 'sample_laplacian_ratio'):.2f} vs {value('vae', 'sample_laplacian_ratio'):.2f}"
                " of real (1.0 = as sharp as real).")
    parts = [f"{kind_label(k)} FID {value(k, 'fid'):.1f}, sharpness {value(k, 'sample_laplacian_ratio'):.2f} of real"
             for k in summary if value(k, "fid") is not None]
    if not parts:
        return "No run trained without diverging: " + "; ".join(f"{r.name}: {r.note}" for r in results) + "."
    return f"Prior samples{over}: " + "; ".join(parts) + " (1.0 = as sharp as real)."


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)
