"""Score trained runs on equal terms: the same held-out images, extractor, sample count and noise seed for every run.

For each run: FID, KID and sharpness of N samples from each latent sampler (N(0, I), and a Gaussian mixture fitted
to the run's encoder means: see vaegan.latent_sampler), FID and sharpness of the reconstructions of the first N test
images (1.0 = as sharp as real), and MSE/PSNR/SSIM of the reconstructions. All scores come from the metrics package;
the real side (features of the reference images) is computed once per report. On labelled data, also attribute
edits (vaegan.attributes): the same edits of the same test images for every run, with a classifier's probability
of the target label per strength where the dataset has one (Fashion-MNIST).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
from torch import nn

from metrics import get_extractor, radial_power_spectrum, reconstruction_metrics, score_samples
from vaegan.attributes import (STRENGTHS, EditResult, default_edits, edit_classifier, parse_edits, run_edits,
                               trained_run_attributes)
from vaegan.checkpoint import load_checkpoint
from vaegan.data import DatasetNotFoundError, load_dataset
from vaegan.data.labels import Labels, NoLabelsError, dataset_labels
from vaegan.distributed import SINGLE, Processes, ShardedExtractor
from vaegan.evaluation.curves import Curve, fid_curves
from vaegan.latent_sampler import SAMPLERS, check_sampler_names, latent_codes, trained_run_gmm
from vaegan.run_folder import RunStatus, checkpoint_path, config_path, read_config, read_metrics, read_status
from vaegan.sampling import decode, reconstructions
from vaegan.trained_run import load_trained_run

PREVIEW = 64  # images per grid in the report (8 x 8)


class RunFolderError(FileNotFoundError):
    """A run folder that is missing or holds no checkpoint to score."""


class MixedDataError(ValueError):
    """Runs trained on different data: their scores would not share a reference."""


@dataclass(frozen=True)
class EvalConfig:
    which: str = "latest"  # checkpoint to score: "latest" | "best" (best by FID during training; falls back to latest)
    samples: int = 5000  # N: prior samples per run, and test images reconstructed per run
    extractor: str = "domain"  # a name in metrics.EXTRACTORS
    inception_weights: str | None = None  # weights file for extractor="inception"
    seed: int = 0  # seed of the sampling noise, shared by every run and sampler
    reference_size: int = 10000  # the first this-many test images are the real reference
    device: str = "cpu"
    samplers: tuple[str, ...] = ("prior", "gmm")  # names in vaegan.latent_sampler.SAMPLERS, each scored separately
    weights: str = "ema"  # "ema": a run's weight average where it kept one, else its weights; "live": its last weights
    # Attribute edits cost one encoding of (up to 20,000) training images per run, a few hundred decodes and a small
    # classifier: little next to the FID samples, so they are on wherever the data has labels.
    attributes: bool = True
    edits: tuple[str, ...] = ()  # "SOURCE:TARGET" or "TARGET" (vaegan.attributes.parse_edits); (): the data's defaults
    strengths: tuple[float, ...] = STRENGTHS

    def __post_init__(self) -> None:
        check_sampler_names(self.samplers)
        if self.edits and not self.attributes:
            raise ValueError("edits were asked for with attribute edits turned off")
        if self.weights not in ("ema", "live"):
            raise ValueError(f"weights must be 'ema' or 'live', got {self.weights!r}")
        if self.which not in ("latest", "best"):
            raise ValueError(f"which must be 'latest' or 'best', got {self.which!r}")
        if self.samples < 2 or self.reference_size < 2:
            raise ValueError(f"samples and reference_size must be >= 2, got {self.samples} and {self.reference_size}")


@dataclass
class Reference:
    """The held-out images every run is scored against, and the extractor (with their features cached)."""

    dataset: str  # e.g. "fashion_mnist"
    identity: str  # exact pixels of the test split, see ImageDataset.identity
    test_images: torch.Tensor  # uint8 (M_test, C, H, W): the whole test split
    real: torch.Tensor  # uint8 (M, C, H, W): the first reference_size test images
    extractor: "ReferenceFeatures"
    spectrum: tuple[np.ndarray, np.ndarray]  # radial power spectrum of `real`: freqs (K,), power (K,)
    labels: Labels | None = None  # of test_images, when attribute edits are on and the data has labels
    labels_missing: str = ""  # why labels is None although attribute edits are on
    classifier: nn.Module | None = None  # of the labels, for the edits' probability curves (vaegan.attributes)


class ReferenceFeatures:
    """A FeatureExtractor that answers the reference images' features from memory.

    score_samples extracts the real side on every call; with this wrapper that costs one extraction per report."""

    def __init__(self, extractor, reference: torch.Tensor) -> None:
        self.inner, self.reference = extractor, reference
        self.name, self.id = extractor.name, extractor.id
        self.weights_sha256, self.feature_dim = extractor.weights_sha256, extractor.feature_dim
        self.reference_features = extractor.features(reference)

    def features(self, images: torch.Tensor, batch_size: int = 200) -> np.ndarray:
        if images is self.reference:
            return self.reference_features
        return self.inner.features(images, batch_size=batch_size)


@dataclass
class RunResult:
    """One run as the report shows it. scores is None when nothing could be scored (diverged before any checkpoint).

    Sample scores are per sampler (sample_scores); the reconstruction scores (scores) do not depend on it."""

    run_dir: Path
    name: str
    kind: str
    seed: int
    config: dict
    status: str  # from status.json: running | finished | interrupted | failed | diverged | unknown
    status_step: int | None  # the step status.json reports (for a diverged run: where it diverged)
    message: str
    checkpoint: str | None = None  # "latest" | "best" | None
    step: int | None = None  # step of the scored checkpoint
    wall_seconds: float | None = None  # all elapsed time at that checkpoint, training and measuring
    train_seconds: float | None = None  # the part of it spent in training steps (what a time budget counts)
    scores: dict | None = None  # reconstruction scores, and the extractor and reference they were measured with
    sample_scores: dict[str, dict] = field(default_factory=dict)  # sampler name -> FID, KID, sharpness of its samples
    samples: dict[str, torch.Tensor] = field(default_factory=dict)  # sampler name -> uint8 (PREVIEW, C, H, W)
    reconstructions: torch.Tensor | None = None  # uint8 (PREVIEW, C, H, W) of reference.test_images[:PREVIEW]
    spectra: dict = field(default_factory=dict)  # "reconstructions" / f"samples/{sampler}" -> (freqs, power)
    curves: dict[str, Curve] = field(default_factory=dict)  # FID during training, by metrics.jsonl key
    stale: str = ""  # e.g. "stale: process gone" for a "running" status nobody runs any more (run_folder.read_status)
    checkpoint_step: int | None = None  # step of latest.pt when status.json was written
    edits: list[EditResult] = field(default_factory=list)  # attribute edits, in the same order for every run

    @property
    def model(self) -> str:
        """What the report groups and compares: the method, plus the decoder where it is not the default
        convolutional one (e.g. "vaegan:cppn"), so runs of different decoders are never averaged together."""
        decoder = (self.config.get("model") or {}).get("decoder", "conv")
        return self.kind if decoder == "conv" else f"{self.kind}:{decoder}"

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def note(self) -> str:
        """What a reader must know about this row, or ''."""
        if self.diverged:
            where = f"diverged at step {self.status_step}"
            if self.scores is None:
                return f"{where}; no checkpoint had been saved, nothing to score"
            return f"{where}; scored its last good checkpoint (step {self.step})"
        if self.status in ("interrupted", "running", "failed"):
            status = RunStatus(self.status, self.status_step, checkpoint_step=self.checkpoint_step,
                               message=self.message, stale=self.stale)
            return f"{status.summary}; scored step {self.step}"
        return ""


def check_run_folder(run_dir: Path) -> RunStatus:
    """The run's status; RunFolderError unless it is a run folder with a checkpoint (or a diverged run)."""
    if not run_dir.is_dir():
        raise RunFolderError(f"run folder {run_dir} does not exist; pass folders made by training (e.g. runs/00001-...)")
    if not config_path(run_dir).is_file():
        raise RunFolderError(f"{run_dir} is not a vaegan run folder (no config.json)")
    status = read_status(run_dir)
    if not checkpoint_path(run_dir).is_file() and status.status != "diverged":
        raise RunFolderError(
            f"run {run_dir} has no checkpoint ({checkpoint_path(run_dir)} is missing): it is still starting, or it stopped "
            "before its first save and cannot be resumed; train it again, at least until its first checkpoint "
            "(--checkpoint-every), or leave it out"
        )
    if checkpoint_path(run_dir).is_file():
        load_checkpoint(checkpoint_path(run_dir))  # a damaged one fails now, not after the runs before it are scored
    return status


def build_reference(dataset: str, root: str | None, image_size: int | None, cfg: EvalConfig,
                    out: TextIO = sys.stdout, channels: int | None = None, processes: Processes = SINGLE) -> Reference:
    """Load the test split and extract the reference features once (the slow part with Inception on a CPU).
    channels: the runs' --channels, so the reference images are converted as their training images were.
    processes: with several (torchrun), each extracts features of its share of every image set and all gather them."""
    test = load_dataset(dataset, "test", root=root, image_size=image_size, channels=channels)
    real = test.images[: cfg.reference_size]
    options = {"device": cfg.device}
    if cfg.extractor == "inception":
        options["weights_path"] = cfg.inception_weights
    extractor = get_extractor(cfg.extractor, **options)
    print(f"reference: {len(real)} {dataset} test images ({', '.join(test.sources)}), features by {extractor.id}",
          file=out, flush=True)
    freqs, power = radial_power_spectrum(real)
    labels, missing, classifier = None, "", None
    if cfg.attributes:
        try:
            labels, classifier = dataset_labels(test, root), edit_classifier(test)
        except (NoLabelsError, DatasetNotFoundError) as e:
            if cfg.edits:  # asked for by name: an error, not a note
                raise
            missing = str(e)
    return Reference(dataset, test.identity, test.images, real, ReferenceFeatures(ShardedExtractor(extractor, processes), real),
                     (freqs.numpy(), power.numpy()), labels, missing, classifier)


def reference_for_runs(run_dirs: list[Path], cfg: EvalConfig, out: TextIO = sys.stdout,
                       processes: Processes = SINGLE) -> Reference:
    """The reference of the runs' common dataset; MixedDataError when they were trained on different data."""
    datas = {}
    for run_dir in run_dirs:
        data = read_config(run_dir)["data"]
        datas[(data["dataset"], data.get("image_size"), data.get("channels"))] = data
    if len(datas) > 1:
        found = ", ".join(f"{d}" + (f" at {s}px" if s else "") + (f" with {c} channel(s)" if c else "")
                          for d, s, c in datas)
        raise MixedDataError(f"the runs were trained on different data ({found}); evaluate each dataset in its own report")
    data = next(iter(datas.values()))
    return build_reference(data["dataset"], data.get("root"), data.get("image_size"), cfg, out, data.get("channels"),
                           processes)


def score_run(run_dir: Path, reference: Reference, cfg: EvalConfig, processes: Processes = SINGLE) -> RunResult:
    """Score one run folder (checked with check_run_folder first). With several processes every one scores it (the
    reference's extractor shares the work) and gets the same result; rank 0 fits and saves the latent mixture."""
    run_dir = Path(run_dir)
    status = check_run_folder(run_dir)
    config = read_config(run_dir)
    result = RunResult(run_dir, run_dir.name, config["kind"], config["seed"], config, status.status, status.step,
                       status.message, curves=fid_curves(read_metrics(run_dir)), stale=status.stale,
                       checkpoint_step=status.checkpoint_step)
    if not checkpoint_path(run_dir).is_file():  # diverged before its first checkpoint
        return result
    run = load_trained_run(run_dir, cfg.which, cfg.device, use_ema=cfg.weights == "ema")
    enc, dec = run.nets["encoder"], run.nets["decoder"]
    result.checkpoint, result.step = run.which, run.step
    result.wall_seconds, result.train_seconds = run.wall_seconds, run.train_seconds
    inputs = reference.test_images[: cfg.samples]
    needs_gmm = any(SAMPLERS[name].needs_gmm for name in cfg.samplers)
    train = run.dataset("train") if needs_gmm or reference.labels is not None else None  # loaded once for both
    gmm = processes.main_first(lambda: trained_run_gmm(run, train=train)) if needs_gmm else None
    for name in cfg.samplers:
        # The same noise seed for every run, so the N(0, I) grids show what each decoder makes of one z.
        z = latent_codes(name, cfg.samples, run.cfg.model.latent_dim, torch.Generator().manual_seed(cfg.seed), gmm)
        samples = decode(dec, z)
        # Sharpness of samples and reconstructions is relative to the same N real images (the inputs): the real
        # side costs N, not M, images.
        scores = score_samples(samples, reference.real, reference.extractor, kid=True, real_images_for_sharpness=inputs)
        result.sample_scores[name] = {
            "fid": scores["fid"],
            "kid": scores["kid"],
            "kid_std": scores["kid_std"],
            "sample_laplacian_ratio": scores["laplacian_ratio"],
            "sample_high_freq_ratio": scores["high_freq_ratio"],
            "n_samples": scores["n_fake"],
        }
        result.samples[name] = samples[:PREVIEW]
        result.spectra[f"samples/{name}"] = tuple(t.numpy() for t in radial_power_spectrum(samples))
    recons = reconstructions(enc, dec, inputs)
    recon_scores = score_samples(recons, reference.real, reference.extractor, kid=False,
                                 real_images_for_sharpness=inputs)
    result.scores = {
        "recon_fid": recon_scores["fid"],
        "recon_laplacian_ratio": recon_scores["laplacian_ratio"],
        "recon_high_freq_ratio": recon_scores["high_freq_ratio"],
        **reconstruction_metrics(inputs, recons),
        "n_reconstructions": recon_scores["n_fake"],
        "n_real": recon_scores["n_real"],
        "extractor": recon_scores["extractor"],
        "extractor_sha256": recon_scores["extractor_sha256"],
    }
    result.reconstructions = recons[:PREVIEW]
    result.spectra["reconstructions"] = tuple(t.numpy() for t in radial_power_spectrum(recons))
    if reference.labels is not None:
        vectors = processes.main_first(lambda: trained_run_attributes(run, train))
        edits = parse_edits(cfg.edits, vectors) if cfg.edits else default_edits(reference.dataset, vectors)
        result.edits = run_edits(enc, dec, vectors, reference.test_images, reference.labels, edits, cfg.strengths,
                                 reference.classifier)
    return result


def score_runs(run_dirs: list[Path], reference: Reference, cfg: EvalConfig, out: TextIO = sys.stdout,
               processes: Processes = SINGLE) -> list[RunResult]:
    """Score every run, printing a line per run with its headline scores, its time and the time left."""
    results: list[RunResult] = []
    start = time.monotonic()
    for i, run_dir in enumerate(run_dirs, 1):
        print(f"[{i}/{len(run_dirs)}] scoring {run_dir} ({cfg.which} checkpoint, N={cfg.samples} "
              f"per sampler: {', '.join(cfg.samplers)})", file=out, flush=True)
        t0 = time.monotonic()
        result = score_run(run_dir, reference, cfg, processes)
        results.append(result)
        elapsed = time.monotonic() - start
        left = elapsed / i * (len(run_dirs) - i)
        if result.scores is None:
            summary = result.note
        else:
            samples = "; ".join(f"{SAMPLERS[name].label} FID {s['fid']:.2f}, KID {s['kid']:.4f}, sharpness "
                                f"{s['sample_laplacian_ratio']:.2f} of real"
                                for name, s in result.sample_scores.items())
            summary = (f"step {result.step}: {samples}; recon FID {result.scores['recon_fid']:.2f}, "
                       f"SSIM {result.scores['ssim']:.3f}")
            curves = [f"{e.edit.title} P {e.p_target[0]:.2f}→{e.p_target[-1]:.2f}" for e in result.edits if e.p_target]
            if curves:
                summary += f"; edits: {', '.join(curves)}"
            if result.note:
                summary += f" ({result.note})"
        print(f"      {summary} [{time.monotonic() - t0:.1f} s, about {left:.0f} s left]", file=out, flush=True)
    return results
