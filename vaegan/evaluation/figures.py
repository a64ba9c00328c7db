"""The report's pictures as PNG files: image grids, a zoomed crop, score bars, FID curves, power spectra.

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
from vaegan.evaluation.scoring import Reference, RunResult
from vaegan.sampling import image_grid, save_png

ZOOM_IMAGES = 4  # images per row of the zoomed crop
REAL_COLOR = "black"


def colors(n: int) -> list:
    """One colour per run, from matplotlib's qualitative tab10 cycle."""
    return [colormaps["tab10"](i % 10) for i in range(n)]


def save_figure(fig: Figure, path: Path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def save_grid(images: torch.Tensor, path: Path) -> None:
    """uint8 (N, C, H, W) -> an 8-wide grid PNG at native resolution (the page scales it up, pixelated)."""
    save_png(image_grid(images, nrow=8), path)


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
    """Rows: real test images, then each run's reconstructions of them | each run's first prior samples."""
    shown = [(r, label) for r, label in zip(results, labels) if r.samples is not None]
    k = ZOOM_IMAGES
    fig = Figure(figsize=(1.35 * (2 * k) + 0.4, 1.4 * (len(shown) + 1) + 0.3))
    axes = fig.subplots(len(shown) + 1, 2 * k, squeeze=False)
    rows = [("real", reference.test_images[:k], None)] + [(lab, r.reconstructions[:k], r.samples[:k]) for r, lab in shown]
    for row, (label, recon, samples) in enumerate(rows):
        for j in range(2 * k):
            ax = axes[row, j]
            images = recon if j < k else samples
            if images is None:
                ax.axis("off")
                continue
            _show(ax, images[j % k])
        axes[row, 0].set_ylabel(label, fontsize=11, rotation=0, ha="right", va="center")
    axes[0, 0].set_title("real inputs, then each run's reconstructions of them", loc="left", fontsize=10)
    axes[0, k].set_title("each run's prior samples (same z)", loc="left", fontsize=10)
    fig.subplots_adjust(wspace=0.04, hspace=0.06)
    save_figure(fig, path)


def scores_figure(results: list[RunResult], labels: list[str], path: Path) -> None:
    """Bars: FID of samples and reconstructions (lower is better) | sharpness ratios (1.0 = as sharp as real)."""
    scored = [(r, lab, c) for r, lab, c in zip(results, labels, colors(len(results))) if r.scores is not None]
    fig = Figure(figsize=(12, 0.9 + 0.6 * max(len(scored), 2)))
    ax_fid, ax_sharp = fig.subplots(1, 2)
    y = np.arange(len(scored))
    h = 0.38
    names = [lab + (" (diverged)" if r.diverged else "") for r, lab, _ in scored]
    for ax, keys, titles in (
        (ax_fid, ("fid", "recon_fid"), ("prior samples", "reconstructions")),
        (ax_sharp, ("sample_laplacian_ratio", "recon_laplacian_ratio"), ("prior samples", "reconstructions")),
    ):
        for offset, key, title, alpha in ((-h / 2, keys[0], titles[0], 1.0), (h / 2, keys[1], titles[1], 0.45)):
            values = [r.scores[key] for r, _, _ in scored]
            bars = ax.barh(y + offset, values, height=h, color=[c for _, _, c in scored], alpha=alpha, label=title)
            ax.bar_label(bars, fmt="%.2f", padding=3, fontsize=8)
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.margins(x=0.18)
        ax.spines[["top", "right"]].set_visible(False)
    ax_fid.set_title("FID (lower is better)")
    ax_sharp.set_title("sharpness: Laplacian variance / real (1.0 = as sharp as real)")
    ax_sharp.axvline(1.0, color=REAL_COLOR, linestyle="--", linewidth=1)
    ax_sharp.set_yticks(y, [""] * len(scored))
    handles, names = ax_fid.get_legend_handles_labels()
    fig.legend(handles, ["prior samples (solid)", "reconstructions (pale)"], loc="lower center", ncol=2, fontsize=9,
               bbox_to_anchor=(0.5, -0.02), frameon=False)
    fig.subplots_adjust(wspace=0.08, bottom=0.22)
    save_figure(fig, path)


def curves_figure(results: list[RunResult], labels: list[str], path: Path) -> bool:
    """FID during training of every run that logged it, over steps and over wall-clock minutes.
    Returns False (and writes nothing) when no run logged FID."""
    curves = [(r.curve, lab, c) for r, lab, c in zip(results, labels, colors(len(results))) if r.curve is not None]
    if not curves:
        return False
    fig = Figure(figsize=(12, 3.8))
    ax_step, ax_wall = fig.subplots(1, 2, sharey=True)
    for curve, label, color in curves:
        ax_step.plot(curve.steps, curve.values, marker="o", markersize=3, color=color, label=label)
        walls = [(w / 60, v) for w, v in zip(curve.wall_seconds, curve.values) if w is not None]
        if walls:
            ax_wall.plot(*zip(*walls), marker="o", markersize=3, color=color, label=label)
    ax_step.set_xlabel("training step")
    ax_wall.set_xlabel("training wall time (min)")
    ax_step.set_ylabel(f"FID ({curves[0][0].key.split('/', 1)[-1]} features)")
    fig.suptitle("FID of prior samples during training (lower is better)", fontsize=11)
    ax_step.set_yscale("log")
    for ax in (ax_step, ax_wall):
        ax.grid(alpha=0.3, which="both")
        ax.spines[["top", "right"]].set_visible(False)
    ax_step.legend(fontsize=8)
    save_figure(fig, path)
    return True


def spectrum_figure(reference: Reference, results: list[RunResult], labels: list[str], path: Path) -> None:
    """Radial power spectrum (log scale) of real images and of each run's samples (solid) and reconstructions
    (dashed): blur shows as power missing at high frequencies."""
    fig = Figure(figsize=(12, 4.2))
    ax_abs, ax_rel = fig.subplots(1, 2)
    freqs, real_power = reference.spectrum
    ax_abs.plot(freqs, real_power, color=REAL_COLOR, linewidth=2.5, label="real")
    ax_rel.axhline(1.0, color=REAL_COLOR, linewidth=2.5, label="real")
    for r, label, color in zip(results, labels, colors(len(results))):
        for name, style in (("samples", "-"), ("reconstructions", "--")):
            if name in r.spectra:
                f, power = r.spectra[name]
                tag = f"{label} {'samples' if style == '-' else 'recon'}"
                ax_abs.plot(f, power, style, color=color, label=tag)
                ax_rel.plot(f, power / real_power, style, color=color, label=tag)
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
