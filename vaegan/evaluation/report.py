"""Score runs and write one report folder: report.md, a self-contained report.html, the PNGs and metrics.json
(strict JSON: scores, FID curves and attribute edit curves, NaN written as null).

    html = evaluate_runs(["runs/00001-...", "runs/00002-..."], EvalConfig(samples=5000))
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from metrics.precision_recall import DC_K, PR_K
from vaegan.atomic import atomic_write_text
from vaegan.attributes import MAX_IMAGES as ATTRIBUTE_IMAGES
from vaegan.distributed import SINGLE, Processes, Silent
from vaegan.evaluation import figures
from vaegan.evaluation.html_page import render_html
from vaegan.evaluation.markdown_page import render_markdown
from vaegan.evaluation.curves import stability
from vaegan.evaluation.page import build_page
from vaegan.evaluation.published import PROTOCOL, published_fids
from vaegan.evaluation.scoring import (PREVIEW, EvalConfig, Reference, RunResult, check_run_folder, reference_for_runs,
                                       score_runs)
from vaegan.evaluation.summary import row_label, run_labels, score_rows, summarize
from vaegan.latent_sampler import GMM_SEED, MAX_IMAGES, N_COMPONENTS
from vaegan.run_folder import claim_numbered_folder, finite_or_null, folder_number, safe_label

FORMAT = "vaegan-evaluation"
# 2: sample scores per latent sampler, FID curves per logged variant; 3: attribute edits; 4: precision, recall,
# density, coverage per sampler, and with --inception the Inception scores and the published FIDs beside them
VERSION = 4


def evaluate_runs(run_dirs: list[str | Path], cfg: EvalConfig, out_dir: str | Path | None = None,
                  reports_root: str | Path = "reports", reference: Reference | None = None,
                  out: TextIO = sys.stdout, processes: Processes = SINGLE) -> Path:
    """Score every run on the same reference and write the report; returns the path of report.html.

    out_dir: the report folder (files in it are replaced); None: a new numbered folder under reports_root.
    reference: one built beforehand with build_reference (compare.py does, to fail before training, not after);
    None: built from the runs' dataset.
    processes: under torchrun, every process calls this; they share the feature extraction (the slow part) and
    rank 0 alone prints and writes.
    Raises RunFolderError for a missing run folder or one without a checkpoint, before any scoring starts."""
    out = out if processes.is_main else Silent()
    run_dirs = [Path(p) for p in run_dirs]
    if not run_dirs:
        raise ValueError("no run folders given")
    for run_dir in run_dirs:
        check_run_folder(run_dir)
    if reference is None:
        reference = reference_for_runs(run_dirs, cfg, out, processes)
    results = score_runs(run_dirs, reference, cfg, out, processes)
    if not processes.is_main:
        return Path(processes.broadcast(None))
    folder = Path(out_dir) if out_dir is not None else new_report_dir(reports_root, results)
    try:
        return Path(processes.broadcast(str(write_report(results, reference, cfg, folder))))
    except BaseException:
        if out_dir is None and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # the number stays claimed; no empty report folder is left to puzzle over
        raise


def new_report_dir(root: str | Path, results: list[RunResult]) -> Path:
    """reports/NNNNN-<kinds>-r<run numbers>/, numbered like run folders: never an existing or earlier number."""
    kinds = "_".join(dict.fromkeys(r.model for r in results))
    numbers = [r.name if (n := folder_number(r.name)) is None else f"{n:05d}" for r in results]
    label = safe_label(f"{kinds}-r{'-'.join(numbers)}")
    if len(label) > 60:
        label = f"{label[:48]}-{len(results)}runs"
    return claim_numbered_folder(root, label)


def write_figures(results: list[RunResult], reference: Reference, folder: Path) -> dict[str, str]:
    """Every PNG of the report -> {role: file name}, the roles page.build_page expects."""
    labels = run_labels(results)
    files = {"real": "real.png", "scores": "scores.png", "zoom": "zoom.png", "spectrum": "spectrum.png"}
    figures.save_grid(reference.test_images[:PREVIEW], folder / files["real"])
    for i, r in enumerate(results):
        for sampler, samples in r.samples.items():
            files[f"samples/{i}/{sampler}"] = f"{i:02d}-{r.name}-samples-{sampler}.png"
            figures.save_grid(samples, folder / files[f"samples/{i}/{sampler}"])
        if r.reconstructions is not None:
            files[f"recon/{i}"] = f"{i:02d}-{r.name}-recon.png"
            figures.save_grid(r.reconstructions, folder / files[f"recon/{i}"])
    if any(r.scores is not None for r in results):
        figures.scores_figure(results, labels, folder / files["scores"])
    else:
        del files["scores"]
    figures.zoom_figure(reference, results, labels, folder / files["zoom"])
    figures.spectrum_figure(reference, results, labels, folder / files["spectrum"])
    if figures.curves_figure(results, labels, folder / "fid_curves.png"):
        files["curves"] = "fid_curves.png"
    for i, r in enumerate(results):
        for e in r.edits:
            files[f"edit/{i}/{e.edit.title}"] = f"{i:02d}-{r.name}-edit-{e.edit.slug}.png"
            figures.save_edit_grid(e, folder / files[f"edit/{i}/{e.edit.title}"])
    if figures.edit_curves_figure([(label, r.edits) for r, label in zip(results, labels)], folder / "edit_curves.png"):
        files["edit_curves"] = "edit_curves.png"
    return files


def write_report(results: list[RunResult], reference: Reference, cfg: EvalConfig, folder: Path) -> Path:
    """Written into a hidden folder beside `folder`, then moved in, report.html last: a failure part way (a figure,
    a full disk) leaves no half report."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    try:
        files = write_figures(results, reference, partial)
        page = build_page(results, reference, cfg, files)
        atomic_write_text(partial / "metrics.json", json.dumps(metrics_record(results, reference, cfg, page.headline),
                                                               indent=2, allow_nan=False))
        atomic_write_text(partial / "report.md", render_markdown(page))
        atomic_write_text(partial / "report.html", render_html(page, partial))
        for f in sorted(partial.iterdir(), key=lambda f: f.name == "report.html"):
            os.replace(f, folder / f.name)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder / "report.html"


def metrics_record(results: list[RunResult], reference: Reference, cfg: EvalConfig, headline: str) -> dict:
    """Everything needed to compare this report with another: settings, extractor identity, per-run scores (sample
    scores per sampler), FID curves, and means per model and sampler."""
    ex = reference.extractor
    return finite_or_null({
        "format": FORMAT,
        "version": VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "headline": headline,
        "evaluation": {
            "which": cfg.which, "weights": cfg.weights, "samples": cfg.samples, "seed": cfg.seed, "device": cfg.device,
            "samplers": list(cfg.samplers),
            "gmm": {"n_components": N_COMPONENTS, "covariance": "full", "max_images": MAX_IMAGES, "seed": GMM_SEED,
                    "fitted_to": "encoder means of the run's training split", "file": "checkpoints/<which>.gmm.npz"},
            "extractor": {"name": ex.name, "id": ex.id, "sha256": ex.weights_sha256, "feature_dim": ex.feature_dim},
            "reference": {"dataset": reference.dataset, "split": "test", "n": len(reference.real),
                          "test_split_identity": reference.identity},
            "attributes": attributes_record(results, reference, cfg),
            "nearest_neighbours": {"precision_recall_k": PR_K, "density_coverage_k": DC_K,
                                   "real": f"the reference's {len(reference.real)} test images",
                                   "generated": "each sampler's N samples"},
            "inception": inception_record(reference, cfg),
        },
        "runs": [run_record(r) for r in results],
        "summary": summarize(score_rows(results)),
        "published": published_record(results, reference),
    })


def inception_record(reference: Reference, cfg: EvalConfig) -> dict:
    """How the Inception scores were measured (enabled: false without --inception)."""
    inc = reference.inception
    if inc is None:
        return {"enabled": False}
    ex = inc.extractor
    return {"enabled": True, "id": ex.id, "sha256": ex.weights_sha256, "feature_dim": ex.feature_dim,
            "precision": ex.precision, "samples": cfg.inception_samples, "reference": {"split": "test", "n": inc.n}, "stretch": cfg.inception_stretch,
            "stretch_means": "each generated image min-max stretched to the full range (Dai & Wipf's code)",
            "chunk": cfg.inception_chunk, "reference_cache": str(inc.cache)}


def published_record(results: list[RunResult], reference: Reference) -> dict | None:
    """The published rows shown beside ours (vaegan.evaluation.published), or None when the report has no such
    section (no Inception scores, or data without published numbers)."""
    if reference.inception is None or not published_fids(reference.dataset) or not any(
            "inception_fid" in s for r in results for s in r.sample_scores.values()):
        return None
    return {"protocol": PROTOCOL, "dataset": reference.dataset,
            "rows": [{"model": p.model, "fid": p.fid, "std": p.std, "source": p.source}
                     for p in published_fids(reference.dataset)]}


def attributes_record(results: list[RunResult], reference: Reference, cfg: EvalConfig) -> dict:
    """How the attribute edits were made: labels (or why there were none), the edits, strengths, vectors, classifier."""
    labels = reference.labels
    return {"enabled": cfg.attributes, "labels": None if labels is None else list(labels.names),
            "missing": reference.labels_missing, "asked": list(cfg.edits),
            "edits": list(dict.fromkeys(e.edit.title for r in results for e in r.edits)),
            "strengths": list(cfg.strengths),
            "vectors": f"mean encoder mean of training images with the label - of those without it (up to "
                       f"{ATTRIBUTE_IMAGES} images)", "file": "checkpoints/<which>.attributes.npz",
            "classifier": None if reference.classifier is None else
            "the bundled domain network (metrics.domain): mean softmax P(label) over the edited test images"}


def run_record(r: RunResult) -> dict:
    """scores: the reconstructions'; sample_scores: {sampler: {"label", FID, KID, sharpness, n}}."""
    samples = {name: {"label": row_label(r.model, name), **scores} for name, scores in r.sample_scores.items()}
    curves = {key: {"steps": c.steps, "wall_seconds": c.wall_seconds, "train_seconds": c.train_seconds,
                    "values": c.values, "stability": stability(c)} for key, c in r.curves.items()}
    return {"run_dir": str(r.run_dir), "name": r.name, "kind": r.kind, "model": r.model, "seed": r.seed, "status": r.status,
            "status_step": r.status_step, "stale": r.stale, "checkpoint_step": r.checkpoint_step,
            "diverged": r.diverged, "message": r.message, "note": r.note,
            "checkpoint": r.checkpoint, "step": r.step, "wall_seconds": r.wall_seconds,
            "train_seconds": r.train_seconds, "scores": r.scores,
            "sample_scores": samples, "fid_during_training": curves,
            "attribute_edits": {e.edit.title: e.record() for e in r.edits}, "config": r.config}
