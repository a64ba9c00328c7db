"""Typed configuration for a training run, saved as JSON with every checkpoint and report.

One `TrainConfig` describes a whole run, VAE or VAE-GAN. Every field has a default that works on a 2-core CPU
with Fashion-MNIST; the CLIs only override fields. `to_dict`/`from_dict` round-trip through JSON exactly, so a
checkpoint carries what is needed to rebuild its networks (nothing is unpickled as code).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DataConfig:
    dataset: str = "fashion_mnist"  # a name in vaegan.data.DATASETS
    root: str | None = None  # where the files are; None: the dataset's standard places
    download: bool = False  # allow torchvision to download when the files are missing
    image_size: int | None = None  # resize to this square size; None: the dataset's own size
    limit: int | None = None  # keep only the first N training images (quick runs)


@dataclass
class ModelConfig:
    """Architecture of encoder, decoder and discriminator (see vaegan/models/presets.py for named presets).

    All convolutions are `kernel_size` wide; each encoder/discriminator conv after the first discriminator conv
    halves the resolution, each decoder transposed conv doubles it.
    """

    image_size: int = 28
    channels: int = 1
    latent_dim: int = 32
    kernel_size: int = 5
    enc_channels: tuple[int, ...] = (32, 64, 128)  # stride-2 convs, each + BN + ReLU
    enc_fc: int = 512  # hidden FC width before (mu, logvar); 0: none
    dec_base_channels: int = 128  # channels of the FC output reshaped to (base, base), base = size / 2**len(dec_channels)
    dec_channels: tuple[int, ...] = (64, 32)  # stride-2 transposed convs, each + BN + ReLU
    dis_first_channels: int = 32  # stride-1 conv + ReLU, no BN (Larsen et al.)
    dis_channels: tuple[int, ...] = (64, 128, 128)  # stride-2 convs, each + BN + ReLU
    dis_channels_scale: float = 1.0  # multiplies dis_channels (0.5: a discriminator about 3x cheaper at 28x28)
    dis_fc: int = 256  # hidden FC width, + BN + ReLU
    dis_feature_layer: int = 4  # Dis_l: output of the l-th conv (1-based, the stride-1 conv is 1), before its BN/ReLU
    dis_spectral_norm: bool = False  # spectral norm on every discriminator layer (a stabiliser)


@dataclass
class OptimConfig:
    name: str = "adam"  # "adam" | "rmsprop"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)  # Adam only
    alpha: float = 0.99  # RMSProp smoothing; Larsen et al. used RMSProp
    weight_decay: float = 0.0
    lr_decay_per_epoch: float = 1.0  # ExponentialLR factor applied once per epoch; 1.0: constant
    # Two time-scale update rule (Heusel et al. 2017): the discriminator's learning rate as a multiple of `lr`.
    discriminator_lr_scale: float = 1.0


@dataclass
class VAELossConfig:
    likelihood: str = "bernoulli"  # "bernoulli" (BCE on pixels in [0, 1]) | "gaussian" (MSE with fixed sigma)
    gaussian_sigma: float = 0.1  # pixel noise std on the [-1, 1] scale, for likelihood="gaussian"
    beta: float = 1.0  # weight of the KL term
    kl_warmup_steps: int = 0  # the KL weight ramps linearly from 0 to beta over these steps


@dataclass
class VAEGANLossConfig:
    """Losses and stabilisers of the VAE-GAN (Larsen et al. 2016, Algorithm 1); see vaegan/losses/vaegan.py."""

    # Weight of L_llike^Dis_l against L_GAN in the decoder's loss. With L_llike relative to the real features' energy,
    # 0.25 puts the decoder's two last-layer gradients in the ratio the original code had at 64x64 (gamma 1e-6 on a
    # sum over 16,384 features): ~0.5 there and ~0.9 at 28x28 (scripts/gamma_scale_check.py).
    gamma: float = 0.25
    adversarial: str = "non_saturating"  # decoder's GAN loss: "non_saturating" | "saturating" (the paper's -L_GAN)
    reconstructions_as_fakes: bool = True  # x~ = Dec(Enc(x)) counts as fake for D, as in the paper
    equilibrium: bool = False  # skip D when it is too good, the decoder when it is too bad (original code)
    equilibrium_value: float = 0.68
    equilibrium_margin: float = 0.35
    adaptive_gamma: bool = False  # rescale gamma so both decoder gradients have equal norm at its last layer
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing
    pixel_weight: float = 0.0  # weight of an extra pixel MSE term for encoder and decoder


@dataclass
class TrainConfig:
    kind: str = "vae"  # "vae" | "vaegan"
    data: DataConfig = field(default_factory=DataConfig)
    model_preset: str = "auto"  # a name in vaegan.models.PRESETS, or "auto" (chosen from the image size)
    model: ModelConfig | None = None  # resolved from model_preset when the run starts
    optim: OptimConfig = field(default_factory=OptimConfig)
    vae: VAELossConfig = field(default_factory=VAELossConfig)
    vaegan: VAEGANLossConfig = field(default_factory=VAEGANLossConfig)
    batch_size: int = 64
    # The budget: training stops at whichever comes first; at least one must be set.
    epochs: float | None = 5.0
    steps: int | None = None
    minutes: float | None = None
    seed: int = 0
    # Where and how it runs; kept here (not in globals).
    device: str = "cpu"
    # "fp32", or "bf16": autocast forward passes in bfloat16 with fp32 weights, optimizer state and loss reductions.
    # bf16 pays only where the chip has bf16 matrix units (CUDA, or a CPU with AMX / AVX512-BF16); elsewhere it is
    # emulated and slower than fp32 (vaegan/training/precision.py says which this machine has).
    precision: str = "fp32"
    channels_last: bool = True  # NHWC weights and inputs: oneDNN's and cuDNN's native conv layout
    # Exponential moving average of encoder and decoder weights, used for sampling and evaluation; 0: off.
    # Ramped as min(ema_decay, (1 + step) / (10 + step)) so a short run is not dominated by its random start.
    ema_decay: float = 0.0
    rank: int = 0
    world_size: int = 1
    # Outputs and logging.
    runs_dir: str = "runs"
    run_name: str | None = None  # extra tag in the run folder's name
    log_every: int = 50  # steps between scalar logs
    image_every: int = 500  # steps between image grids and histograms
    checkpoint_every: int = 500  # steps between checkpoints (one is always written at the end)
    progress_seconds: float = 10.0  # seconds between progress lines
    eval_batches: int = 20  # test batches for the held-out loss at each checkpoint; 0: none
    # FID during training: every fid_every steps (0: off), `fid_samples` prior samples are scored against the
    # test split with the `fid_extractor` of metrics/; the best checkpoint by that FID is kept as best.pt.
    fid_every: int = 1000
    fid_samples: int = 2000
    fid_extractor: str = "domain"
    # Also score samples of a latent mixture fitted to this many training codes at each FID (vaegan/latent_sampler.py);
    # 0: N(0, I) samples only.
    fid_gmm_images: int = 10000
    init_from: str | None = None  # a VAE run folder whose encoder/decoder start this run

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        return _from_dict(cls, values)

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))


def _from_dict(cls, values: dict):
    """Build dataclass `cls` from plain JSON values, rejecting unknown keys (a typo must not pass silently)."""
    if not isinstance(values, dict):
        raise ValueError(f"expected an object for {cls.__name__}, got {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    return cls(**{k: _convert(hints[k], v) for k, v in values.items()})


def _convert(hint, value):
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner[0], value)
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value)
    if origin is tuple:
        return tuple(value)
    if hint is float and isinstance(value, int):
        return float(value)
    return value
