"""The report's pictures as PNG files: image grids, a zoomed crop, score bars, FID curves, power spectra, attribute
edit curves.

Figures are built with matplotlib's object API (Figure, no pyplot), which renders with Agg and touches no global
backend state. Every file is written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure

from vaegan.atomic import atomic_write
from vaegan.attributes import EditResult, edit_grid
from vaegan.evaluation.scoring import Reference, RunResult
from vaegan.latent_sampler import SAMPLERS
from vaegan.sampling import image_grid, save_png

ZOOM_IMAGES = 4  # images per row of the zoomed crop
# Screen pixels per image pixel in the report's grids: 28x28 tiles at 56 px, two 8-wide grids (466 px each) to a row
# of a 1,400 px window.
GRID_SCALE = 2
REAL_COLOR = "black"
SAMPLE_LINES = {"prior": ("-", "solid"), "gmm": (":", "dotted")}  # spectrum line style of each sampler's samples
CURVE_LINES = {(False, "prior"): "-", (True, "prior"): "--", (False, "gmm"): ":", (True, "gmm"): "-."}  # (ema, sampler)
SEED_MARKERS = "osD^v<>"
LOG_SPAN = 10.0  # FID curves use a log y axis when their values span more than this factor


def colors(n: int) -> list:
    """One colour per run, from matplotlib's qualitative tab10 cycle."""
    return [colormaps["tab10"](i % 10) for i in range(n)]


def save_figure(fig: Figure, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def save_grid(images: torch.Tensor, path: Path) -> None:
    """uint8 (N, C, H, W) -> an 8-wide grid PNG, each image GRID_SCALE times its size (nearest neighbour): the
    page shows it pixel for pixel."""
    save_png(image_grid(images, nrow=8, scale=GRID_SCALE), path)


def save_edit_grid(result: EditResult, path: Path) -> None:
    """An attribute edit's grid (vaegan.attributes.edit_grid: labelled columns) at GRID_SCALE, as save_grid."""
    save_png(edit_grid(result, GRID_SCALE), path)


def _show(ax, image: torch.Tensor) -> None:
    """image: uint8 (C, H, W), drawn pixel for pixel (nearest neighbour, no smoothing that would fake blur)."""
    array = image.permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        ax.imshow(array[:, :, 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(array, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def zoom_figure(reference: Reference, results: list[RunResult], labels: list[str], path: Path) -> None:
    """Rows: real test images, then each run's reconstructions of them | its first samples of each sampler.

    Up to ZOOM_IMAGES of each, as many as there are: a test split (or a sample set) smaller than that leaves the
    rest of its cells blank rather than failing after all the scoring is done."""
    shown = [(r, label) for r, label in zip(results, labels) if r.samples]
    samplers = list(dict.fromkeys(name for r, _ in shown for name in r.samples))
    k, groups = max(1, min(ZOOM_IMAGES, len(reference.test_images))), 1 + len(samplers)
    fig = Figure(figsize=(1.35 * k * groups + 0.4, 1.4 * (len(shown) + 1) + 0.3))
    axes = fig.subplots(len(shown) + 1, k * groups, squeeze=False)
    rows = [("real", [reference.test_images[:k]] + [None] * len(samplers))]
    rows += [(label, [r.reconstructions[:k]] + [r.samples.get(name) for name in samplers]) for r, label in shown]
    for row, (label, blocks) in enumerate(rows):
        for j in range(k * groups):
            images = blocks[j // k]
            if images is None or j % k >= len(images):
                axes[row, j].axis("off")
                continue
            _show(axes[row, j], images[j % k])
        axes[row, 0].set_ylabel(label, fontsize=11, rotation=0, ha="right", va="center")
    axes[0, 0].set_title("real inputs, then each run's reconstructions of them", loc="left", fontsize=10)
    for g, name in enumerate(samplers, 1):
        axes[0, g * k].set_title(f"each run's {SAMPLERS[name].label} samples", loc="left", fontsize=10)
    fig.subplots_adjust(wspace=0.04, hspace=0.06)
    save_figure(fig, path)


def scores_figure(results: list[RunResult], labels: list[str], path: Path) -> None:
    """Bars per run: FID of each sampler's samples and of the reconstructions (lower is better) | their sharpness
    ratios (1.0 = as sharp as real). Samplers are told apart by hatching, reconstructions are pale."""
    scored = [(r, lab, c) for r, lab, c in zip(results, labels, colors(len(results))) if r.scores is not None]
    samplers = list(dict.fromkeys(name for r, _, _ in scored for name in r.sample_scores))
    bars = [(name, SAMPLERS[name].label + " samples", 1.0, "" if i == 0 else "//") for i, name in enumerate(samplers)]
    bars.append((None, "reconstructions", 0.45, ""))
    fig = Figure(figsize=(12, 0.9 + 0.3 * len(bars) * max(len(scored), 2)))
    ax_fid, ax_sharp = fig.subplots(1, 2)
    y = np.arange(len(scored))
    h = 0.8 / len(bars)
    names = [lab + (" (diverged)" if r.diverged else "") for r, lab, _ in scored]
    for ax, sample_key, recon_key in ((ax_fid, "fid", "recon_fid"),
                                      (ax_sharp, "sample_laplacian_ratio", "recon_laplacian_ratio")):
        for b, (sampler, title, alpha, hatch) in enumerate(bars):
            key = recon_key if sampler is None else sample_key
            values = [(r.scores if sampler is None else r.sample_scores.get(sampler, {})).get(key, np.nan)
                      for r, _, _ in scored]
            drawn = ax.barh(y + (b - (len(bars) - 1) / 2) * h, values, height=h, color=[c for _, _, c in scored],
                            alpha=alpha, hatch=hatch, edgecolor="white", label=title)
            ax.bar_label(drawn, fmt="%.2f", padding=3, fontsize=8)
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.margins(x=0.18)
        ax.spines[["top", "right"]].set_visible(False)
    ax_fid.set_title("FID (lower is better)")
    ax_sharp.set_title("sharpness: Laplacian variance / real (1.0 = as sharp as real)")
    ax_sharp.axvline(1.0, color=REAL_COLOR, linestyle="--", linewidth=1)
    ax_sharp.set_yticks(y, [""] * len(scored))
    handles, legend = ax_fid.get_legend_handles_labels()
    fig.legend(handles, legend, loc="lower center", ncol=len(bars), fontsize=9, bbox_to_anchor=(0.5, -0.02),
               frameon=False)
    fig.subplots_adjust(wspace=0.08, bottom=0.22)
    save_figure(fig, path)


def curves_figure(results: list[RunResult], labels: list[str], path: Path) -> bool:
    """Every FID curve every run logged during training, all runs on the same axes, over steps and over training
    minutes (the time a --minutes budget counts): one colour per model kind, one line style per variant
    (CURVE_LINES), one marker per seed; a dotted line in the model's colour where a run's VAE start ended.
    Returns False (and writes nothing) when no run logged FID."""
    logged = [(r, label) for r, label in zip(results, labels) if r.curves]
    if not logged:
        return False
    kinds = list(dict.fromkeys(r.model for r, _ in logged))
    kind_colors = dict(zip(kinds, colors(len(kinds))))
    seeds = {seed: SEED_MARKERS[i % len(SEED_MARKERS)] for i, seed in enumerate(sorted({r.seed for r, _ in logged}))}
    fig = Figure(figsize=(12, 4.2))
    ax_step, ax_wall = fig.subplots(1, 2, sharey=True)
    values = []
    for r, label in logged:
        for curve in r.curves.values():
            style = dict(linestyle=CURVE_LINES[(curve.ema, curve.sampler)], marker=seeds[r.seed], markersize=3,
                         color=kind_colors[r.model], label=f"{label} · {curve.variant}")
            ax_step.plot(curve.steps, curve.values, **style)
            walls = [(t / 60, v) for t, v in zip(curve.train_seconds, curve.values) if t is not None]
            if walls:
                ax_wall.plot(*zip(*walls), **style)
            values += curve.values
        if r.handoff:  # where the VAE start gave way to the three phases: the curve's jump there is the hand-off
            mark = dict(color=kind_colors[r.model], linestyle=":", linewidth=1.2)
            ax_step.axvline(r.handoff.step, **mark, label=f"{label} · VAE start ends")
            if r.handoff.train_seconds is not None:
                ax_wall.axvline(r.handoff.train_seconds / 60, **mark, label=f"{label} · VAE start ends")
    extractors = sorted({c.extractor for r, _ in logged for c in r.curves.values()})
    ax_step.set_xlabel("training step")
    ax_wall.set_xlabel("training time (min; FID checks and checkpoints not counted)")
    ax_step.set_ylabel(f"FID ({' / '.join(extractors)} features)")
    fig.suptitle("FID during training (lower is better)", fontsize=11)
    positive = [v for v in values if v > 0]
    if positive and max(positive) / min(positive) > LOG_SPAN:
        ax_step.set_yscale("log")  # shared with ax_wall
    for ax in (ax_step, ax_wall):
        ax.grid(alpha=0.3, which="both")
        ax.spines[["top", "right"]].set_visible(False)
    ax_wall.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    save_figure(fig, path)
    return True


def spectrum_figure(reference: Reference, results: list[RunResult], labels: list[str], path: Path) -> None:
    """Radial power spectrum (log scale) of real images and of each run's samples (SAMPLE_LINES) and
    reconstructions (dashed): blur shows as power missing at high frequencies."""
    fig = Figure(figsize=(12, 4.2))
    ax_abs, ax_rel = fig.subplots(1, 2)
    freqs, real_power = reference.spectrum
    ax_abs.plot(freqs, real_power, color=REAL_COLOR, linewidth=2.5, label="real")
    ax_rel.axhline(1.0, color=REAL_COLOR, linewidth=2.5, label="real")
    lines = {f"samples/{name}": (style, f"{SAMPLERS[name].label} samples") for name, (style, _) in SAMPLE_LINES.items()}
    lines["reconstructions"] = ("--", "recon")
    for r, label, color in zip(results, labels, colors(len(results))):
        for key, (style, what) in lines.items():
            if key in r.spectra:
                f, power = r.spectra[key]
                ax_abs.plot(f, power, style, color=color, label=f"{label} {what}")
                ax_rel.plot(f, power / real_power, style, color=color, label=f"{label} {what}")
    ax_abs.set_ylabel("mean power")
    ax_rel.set_ylabel("power / real power")
    for ax in (ax_abs, ax_rel):
        ax.set_yscale("log")
        ax.set_xlabel("spatial frequency (cycles / pixel; 0.5 = Nyquist)")
        ax.grid(alpha=0.3, which="both")
        ax.spines[["top", "right"]].set_visible(False)
    ax_abs.set_title("radial power spectrum")
    ax_rel.set_title("relative to real (below 1 = detail missing)")
    ax_rel.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    save_figure(fig, path)


def edit_curves_figure(runs: list[tuple[str, list[EditResult]]], path: Path) -> bool:
    """One panel per edit (by title): the classifier's mean probability of the target label over a run's edited
    test images against the strength alpha, a solid line per run (in its colour of the other figures), the source
    label's probability dotted, and the mean P(target) of real target images as a black dashed level.
    runs: (label, that run's edits) in report order. Returns False (and writes nothing) when no edit has a curve."""
    titles = list(dict.fromkeys(e.edit.title for _, edits in runs for e in edits if e.p_target is not None))
    if not titles:
        return False
    fig = Figure(figsize=(4.6 * len(titles) + 0.6, 3.6 + 0.22 * 2 * len(runs)))
    axes = fig.subplots(1, len(titles), sharey=True, squeeze=False)[0]
    for ax, title in zip(axes, titles):
        real = None
        for (label, edits), color in zip(runs, colors(len(runs))):
            for e in edits:
                if e.edit.title != title or e.p_target is None:
                    continue
                ax.plot(e.strengths, e.p_target, "-o", markersize=3, color=color,
                        label=f"{label}: P({e.edit.target_name})")
                if e.p_source is not None:
                    ax.plot(e.strengths, e.p_source, ":", color=color, label=f"{label}: P({e.edit.source_name})")
                real = e.real_p_target
        if real is not None:
            ax.axhline(real, color=REAL_COLOR, linestyle="--", linewidth=1, label="real target images")
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("strength α")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        # a legend per panel, under it: the labels name each panel's own source and target
        ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    axes[0].set_ylabel("classifier probability\n(mean over edited images)")
    save_figure(fig, path)
    return True
