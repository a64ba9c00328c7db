"""Latent codes to decode, by sampler name: "prior" draws z ~ N(0, I); "gmm" draws from a Gaussian mixture fitted to
the aggregate posterior, the encoder means mu(x) of training images.

Why a mixture: the aggregate posterior of a trained VAE or VAE-GAN (mu(x) over the training images) does not fill
N(0, I); it leaves "holes" the reconstruction loss never trained the decoder on, and prior samples that land there
decode poorly. Sampling where the training codes are fixes that without retraining (measured on Fashion-MNIST: a
10-component mixture took the VAE-GAN's domain FID from 398 to 74, the VAE's from 409 to 241).

    gmm = gmm_for_run(run.run_dir, run.which, run.step, run.nets["encoder"], train_images)
    z = latent_codes("gmm", 64, latent_dim, torch.Generator().manual_seed(0), gmm)   # (64, latent_dim) float32
    images = decode(run.nets["decoder"], z)

The mixture is fitted once per checkpoint with scikit-learn and saved beside it (checkpoints/<which>.gmm.npz);
sampling runs in torch from a torch.Generator, so samples repeat exactly from a seed like all other noise here.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch
from torch import nn

from vaegan.data import ImageDataset
from vaegan.encoder_cache import (beside_checkpoint, encoder_fingerprint, load_npz, load_or_compute, save_npz,
                                  subset_indices)
from vaegan.sampling import encode_mean

if TYPE_CHECKING:
    from vaegan.trained_run import TrainedRun

FORMAT = "vaegan-latent-gmm"
VERSION = 1
N_COMPONENTS = 10
MAX_IMAGES = 20000  # bounds the encoding and EM time on big datasets; Fashion-MNIST: a third of its training split
GMM_SEED = 0  # one mixture per checkpoint, whatever noise seed its samples are drawn with


class GMMFileError(ValueError):
    """A saved latent GMM that is corrupt, truncated, or does not describe the mixture it claims to."""


@dataclass(frozen=True)
class LatentGMM:
    """A Gaussian mixture over latent codes: K components in D dimensions, parameters in float64.

    step, seed, n_images and encoder_sha256 say what it was fitted to, so a saved one is reused only for the same
    encoder (a checkpoint's EMA and live encoders share a step, not their weights)."""

    weights: torch.Tensor  # (K,), non-negative, summing to 1
    means: torch.Tensor  # (K, D)
    covariances: torch.Tensor  # (K, D, D), positive definite
    cholesky: torch.Tensor  # (K, D, D) lower triangular, cholesky[k] @ cholesky[k].T == covariances[k]
    step: int | None = None  # checkpoint step of the encoder whose means it was fitted to (None: not from a checkpoint)
    seed: int = GMM_SEED  # random_state of the fit (k-means init) and of the image subset (fit_gmms: that of seeds[0])
    n_images: int = 0  # training images encoded for the fit
    encoder_sha256: str = ""  # encoder_fingerprint of the encoder whose means it was fitted to

    @classmethod
    def from_parameters(cls, weights, means, covariances, **fit_info) -> "LatentGMM":
        """Arrays (K,), (K, D), (K, D, D) -> a LatentGMM with the Cholesky factors computed here."""
        covariances = torch.as_tensor(np.asarray(covariances), dtype=torch.float64)
        return cls(torch.as_tensor(np.asarray(weights), dtype=torch.float64),
                   torch.as_tensor(np.asarray(means), dtype=torch.float64), covariances,
                   torch.linalg.cholesky(covariances), **fit_info)

    @property
    def n_components(self) -> int:
        return self.weights.shape[0]

    @property
    def latent_dim(self) -> int:
        return self.means.shape[1]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n codes -> z: (n, latent_dim) float32 on the CPU. A component per code by its weight, then
        mean + L @ eps with eps ~ N(0, I); all noise from `generator`, in that order."""
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        eps = torch.randn(n, self.latent_dim, generator=generator, dtype=torch.float64)
        z = torch.empty(n, self.latent_dim, dtype=torch.float64)
        # Per component rather than gathering an (n, D, D) stack of factors: 650 MB for n=5000 at D=128.
        for k in range(self.n_components):
            rows = component == k
            z[rows] = self.means[k] + eps[rows] @ self.cholesky[k].T
        return z.float()

    def save(self, path: str | Path) -> None:
        """Write an .npz (atomically) holding the parameters and what they were fitted to."""
        save_npz(path, FORMAT, VERSION, {
            "weights": self.weights.numpy(), "means": self.means.numpy(), "covariances": self.covariances.numpy(),
            "cholesky": self.cholesky.numpy(), "latent_dim": np.int64(self.latent_dim),
            "n_components": np.int64(self.n_components), "step": np.int64(-1 if self.step is None else self.step),
            "seed": np.int64(self.seed), "n_images": np.int64(self.n_images),
            "encoder_sha256": np.str_(self.encoder_sha256)})

    @classmethod
    def load(cls, path: str | Path) -> "LatentGMM":
        """Read a file written by save(); GMMFileError (one line) when it is corrupt or its arrays disagree."""
        return load_npz(path, FORMAT, VERSION, cls._from_arrays, GMMFileError, "latent GMM")

    @classmethod
    def _from_arrays(cls, a: dict[str, np.ndarray]) -> "LatentGMM":
        k, d = int(a["n_components"]), int(a["latent_dim"])
        shapes = {"weights": (k,), "means": (k, d), "covariances": (k, d, d), "cholesky": (k, d, d)}
        for name, shape in shapes.items():
            if a[name].shape != shape:
                raise ValueError(f"{name} has shape {a[name].shape}, expected {shape} for {k} components in "
                                 f"{d} dimensions")
        params = {name: torch.from_numpy(a[name]).to(torch.float64) for name in shapes}
        finite = all(torch.isfinite(t).all() for t in params.values())
        if not finite or abs(params["weights"].sum().item() - 1) > 1e-6:
            raise ValueError("non-finite parameters or weights that do not sum to 1")
        step = int(a["step"])
        return cls(**params, step=None if step < 0 else step, seed=int(a["seed"]), n_images=int(a["n_images"]),
                   encoder_sha256=str(a["encoder_sha256"]))


def fit_gmm(encoder: nn.Module, train_images_uint8: torch.Tensor, n_components: int = N_COMPONENTS,
            seed: int = GMM_SEED, max_images: int = MAX_IMAGES, step: int | None = None) -> LatentGMM:
    """Fit a full-covariance mixture to mu(x) of uint8 (N, C, H, W) training images (the aggregate posterior's means).

    With N > max_images, a subset drawn from `seed` (the same images every time). step: the checkpoint step the
    encoder comes from, recorded for gmm_for_run."""
    return fit_gmms(encoder, train_images_uint8, (seed,), n_components, max_images, step)[0]


def fit_gmms(encoder: nn.Module, train_images_uint8: torch.Tensor, seeds: tuple[int, ...],
             n_components: int = N_COMPONENTS, max_images: int = MAX_IMAGES,
             step: int | None = None) -> list[LatentGMM]:
    """fit_gmm once per seed (its k-means initialisation) on the same codes, encoded once from the subset of seeds[0].

    EM finds a different local optimum from each start; on one checkpoint the samples of eight such fits scored
    FIDs 36-51, so a score meant to follow the model averages over fits (vaegan.training.fid_monitor)."""
    # imported here: only fitting needs scikit-learn (and threadpoolctl, which it requires), sampling does not
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    keep = subset_indices(len(train_images_uint8), max_images, seeds[0])
    if keep is not None:
        train_images_uint8 = train_images_uint8[keep]
    codes = encode_mean(encoder, train_images_uint8).double().numpy()
    if len(codes) < n_components:
        raise ValueError(f"a {n_components}-component mixture needs at least {n_components} images, got {len(codes)}")
    fingerprint = encoder_fingerprint(encoder)
    # EM on (N, D) codes with D x D covariances is made of small matrix products, which a multi-threaded BLAS runs
    # slower than one thread (threads spin beside torch's); one BLAS thread gives the same fit to round-off, and the
    # fits from several starts then run side by side, one per core (numpy releases the GIL in them; the same fits
    # bit for bit; benchmarks/budgets/README.md, sections 5 and 8).
    def fit(seed: int) -> GaussianMixture:
        return GaussianMixture(n_components=n_components, covariance_type="full", random_state=seed).fit(codes)

    with threadpool_limits(limits=1, user_api="blas"), \
            ThreadPoolExecutor(max_workers=min(len(seeds), os.cpu_count() or 1)) as pool:
        fits = list(pool.map(fit, seeds))
    return [LatentGMM.from_parameters(gm.weights_, gm.means_, gm.covariances_, step=step, seed=s,
                                      n_images=len(codes), encoder_sha256=fingerprint) for gm, s in zip(fits, seeds)]


def gmm_path(run_dir: str | Path, which: str) -> Path:
    """Where the mixture of checkpoints/<which>.pt lives: beside it."""
    return beside_checkpoint(run_dir, which, "gmm")


def gmm_for_run(run_dir: str | Path, which: str, checkpoint_step: int, encoder: nn.Module,
                train_images: torch.Tensor, seed: int = GMM_SEED) -> LatentGMM:
    """The mixture of a run's checkpoint `which` (at checkpoint_step): read from gmm_path when it was fitted to that
    step and this encoder with the same settings, else fitted to `train_images` (uint8 (N, C, H, W)) and saved there.
    GMMFileError when the saved file is corrupt. A run folder that cannot be written still gets its mixture, uncached
    (vaegan.encoder_cache.load_or_compute)."""
    wanted = (checkpoint_step, encoder_fingerprint(encoder), seed, min(len(train_images), MAX_IMAGES), N_COMPONENTS)
    return load_or_compute(gmm_path(run_dir, which), LatentGMM.load,
                           lambda g: (g.step, g.encoder_sha256, g.seed, g.n_images, g.n_components) == wanted,
                           lambda: fit_gmm(encoder, train_images, seed=seed, step=checkpoint_step),
                           lambda gmm, path: gmm.save(path))


def trained_run_gmm(run: TrainedRun, seed: int = GMM_SEED, train: ImageDataset | None = None) -> LatentGMM:
    """gmm_for_run for a loaded run, fitted (when not saved yet) to `train`, by default run.dataset("train")."""
    train = run.dataset("train") if train is None else train
    return gmm_for_run(run.run_dir, run.which, run.step, run.nets["encoder"], train.images, seed)


@dataclass(frozen=True)
class Sampler:
    label: str  # how reports name it, e.g. "N(0,I)"
    description: str  # one clause for a report's set-up paragraph
    needs_gmm: bool
    draw: Callable[[int, int, torch.Generator, LatentGMM | None], torch.Tensor]  # (n, latent_dim, generator, gmm) -> z


def _prior(n: int, latent_dim: int, generator: torch.Generator, gmm: LatentGMM | None) -> torch.Tensor:
    return torch.randn(n, latent_dim, generator=generator)


def _gmm(n: int, latent_dim: int, generator: torch.Generator, gmm: LatentGMM | None) -> torch.Tensor:
    if gmm is None:
        raise ValueError("the 'gmm' sampler needs a fitted mixture (fit_gmm or gmm_for_run)")
    if gmm.latent_dim != latent_dim:
        raise ValueError(f"the mixture has {gmm.latent_dim} latent dimensions, the decoder takes {latent_dim}")
    return gmm.sample(n, generator)


SAMPLERS: dict[str, Sampler] = {
    "prior": Sampler("N(0,I)", "z ~ N(0, I), the prior the models were trained with", False, _prior),
    "gmm": Sampler("GMM", f"z from a {N_COMPONENTS}-component full-covariance Gaussian mixture fitted to the encoder "
                   f"means μ(x) of up to {MAX_IMAGES} training images (the aggregate posterior), saved beside the "
                   "checkpoint", True, _gmm),
}


def check_sampler_names(names) -> tuple[str, ...]:
    """names (an iterable of sampler names) as a tuple; ValueError for an empty list, a repeat or an unknown name."""
    names = tuple(names)
    unknown = [n for n in names if n not in SAMPLERS]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"samplers must be distinct names from {', '.join(SAMPLERS)}, "
                         f"got {', '.join(names) or 'none'}")
    return names


def latent_codes(sampler_name: str, n: int, latent_dim: int, generator: torch.Generator,
                 gmm: LatentGMM | None = None) -> torch.Tensor:
    """n codes from the named sampler -> z: (n, latent_dim) float32 on the CPU, all noise from `generator`."""
    check_sampler_names([sampler_name])
    return SAMPLERS[sampler_name].draw(n, latent_dim, generator, gmm)
