"""Typed configuration for a training run, saved as JSON with every checkpoint and report.

One `TrainConfig` describes a whole run, VAE, VAE-GAN or Soft-IntroVAE. Every field has a default that works on a
2-core CPU with Fashion-MNIST; the CLIs only override fields. `to_dict`/`from_dict` round-trip through JSON exactly, so
a checkpoint carries what is needed to rebuild its networks (nothing is unpickled as code).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vaegan.precision import PRECISIONS

# Decoder architectures by ModelConfig.decoder (vaegan/models/build.py maps each to its class).
DECODERS = ("conv", "cppn")


@dataclass
class DataConfig:
    dataset: str = "fashion_mnist"  # a name in vaegan.data.DATASETS
    root: str | None = None  # where the files are; None: the dataset's standard places
    download: bool = False  # allow torchvision to download when the files are missing
    image_size: int | None = None  # resize to this square size; None: the dataset's own size
    limit: int | None = None  # keep only the first N training images (quick runs)
    channels: int | None = None  # convert every image to 1 (grayscale) or 3 (RGB); None: as the dataset decides
    # The files the run read (train split, then test split), recorded when it starts so config.json says which data
    # it saw; not an input: whatever is given here is replaced.
    files: tuple[str, ...] | None = None


@dataclass
class ModelConfig:
    """Architecture of encoder, decoder and discriminator (see vaegan/models/presets.py for named presets).

    All convolutions are `kernel_size` wide; each encoder/discriminator conv after the first discriminator conv
    halves the resolution, each decoder transposed conv doubles it. With decoder="cppn" the decoder is a coordinate MLP
    of cppn_depth layers of cppn_width units (vaegan/models/cppn.py) that renders at any size; the dec_* fields then
    only shape its shift grid (cppn_grid), the conv decoder's first layers."""

    image_size: int = 28
    channels: int = 1
    latent_dim: int = 32
    kernel_size: int = 5
    enc_channels: tuple[int, ...] = (32, 64, 128)  # stride-2 convs, each + BN + ReLU
    enc_fc: int = 512  # hidden FC width before (mu, logvar); 0: none
    dec_base_channels: int = 128  # channels of the FC output reshaped to (base, base), base = size / 2**len(dec_channels)
    dec_channels: tuple[int, ...] = (64, 32)  # stride-2 transposed convs, each + BN + ReLU
    decoder: str = "conv"  # a name in DECODERS: "conv" (transposed convs) | "cppn" (a coordinate MLP, any output size)
    cppn_width: int = 64  # units of each CPPN layer
    cppn_depth: int = 4  # CPPN layers, each fed z (the first also the pixel coordinates), before its output layer
    cppn_frequencies: int = 0  # sin/cos of 2^k pi x and y, k < this, as extra CPPN inputs (0: (x, y, r) only, as Ha)
    cppn_modulation: bool = False  # z also scales each CPPN layer's input (FiLM), not only shifts it
    # z also draws a G x G map of first-layer shifts, read at each pixel's position; 0: none (as Ha); None: half the
    # image size (14 at 28x28), resolved when the config is made, so a saved config holds the number
    cppn_grid: int | None = 0
    dis_first_channels: int = 32  # stride-1 conv + ReLU, no BN (Larsen et al.)
    dis_channels: tuple[int, ...] = (64, 128, 128)  # stride-2 convs, each + BN + ReLU
    dis_channels_scale: float = 1.0  # multiplies dis_channels (0.5: a discriminator about 3x cheaper at 28x28)
    dis_fc: int = 256  # hidden FC width, + BN + ReLU
    dis_feature_layer: int = 4  # Dis_l: output of the l-th conv (1-based, the stride-1 conv is 1), before its BN/ReLU
    dis_spectral_norm: bool = False  # spectral norm on every discriminator layer (a stabiliser)

    def __post_init__(self) -> None:
        if self.cppn_grid is None:
            self.cppn_grid = self.image_size // 2


@dataclass
class OptimConfig:
    name: str = "adam"  # "adam" | "rmsprop"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)  # Adam only
    alpha: float = 0.99  # RMSProp smoothing; Larsen et al. used RMSProp
    weight_decay: float = 0.0
    # The learning rate at the end of the budget, as a multiple of lr: it stays at lr for the first lr_hold of the
    # budget, then decays exponentially with the run's progress to lr * lr_final at its end (vaegan/training/schedule.py),
    # so a run of any length ends on the same schedule. lr_final 1.0: no decay.
    lr_final: float = 1.0
    lr_hold: float = 0.0
    lr_decay_per_epoch: float = 1.0  # a further factor applied once per epoch completed; 1.0: none
    # Two time-scale update rule (Heusel et al. 2017): the discriminator's learning rate as a multiple of `lr`.
    discriminator_lr_scale: float = 1.0


@dataclass
class VAELossConfig:
    likelihood: str = "bernoulli"  # "bernoulli" (BCE on pixels in [0, 1]) | "gaussian" (MSE with fixed sigma)
    gaussian_sigma: float = 0.1  # pixel noise std on the [-1, 1] scale, for likelihood="gaussian"
    beta: float = 1.0  # weight of the KL term
    kl_warmup_fraction: float = 0.0  # the KL weight ramps linearly from 0 to beta over this fraction of the budget
    kl_warmup_steps: int = 0  # ... or, with no fraction, over these steps


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
    # R1 penalty (Mescheder et al. 2018): the discriminator also minimises r1_weight / 2 * E ||grad_x Dis(x)||^2 on
    # real x, which damps the oscillation of plain GAN updates around the equilibrium; 0: off. Lazy, as in StyleGAN2:
    # taken every r1_every steps and weighted by r1_every, so it costs a double backward only on those steps.
    r1_weight: float = 0.0
    r1_every: int = 4
    # A VAE start: over this first fraction of the budget, encoder and decoder learn the pixel VAE's loss (its ELBO per
    # pixel) at the VAE's step cost while the discriminator waits; then the three-phase updates of Algorithm 1. 0: none.
    vae_start: float = 0.0


@dataclass
class SoftIntroVAELossConfig:
    """Weights of Soft-IntroVAE (Daniel & Tamar 2021, Algorithm 1); see vaegan/losses/softintrovae.py.

    The defaults are the authors' for MNIST and Fashion-MNIST (their soft_intro_vae/README.md and main.py: beta_kl 1,
    beta_rec 1, beta_neg 256; gamma_r 1e-8 is their train function's and main.py's default)."""

    beta_rec: float = 1.0  # weight of the reconstruction error in every ELBO
    beta_kl: float = 1.0  # weight of the KL in the ELBO of real data (encoder) and of generated data (decoder)
    beta_neg: float = 256.0  # weight of the KL in the ELBO of generated data inside the encoder's exponential term
    gamma_r: float = 1e-8  # weight of the generated data's reconstruction error in the decoder's loss


@dataclass
class TrainConfig:
    kind: str = "vae"  # "vae" | "vaegan" | "softintrovae"
    data: DataConfig = field(default_factory=DataConfig)
    model_preset: str = "auto"  # a name in vaegan.models.PRESETS, or "auto" (chosen from the image size)
    model: ModelConfig | None = None  # resolved from model_preset when the run starts
    optim: OptimConfig = field(default_factory=OptimConfig)
    vae: VAELossConfig = field(default_factory=VAELossConfig)
    vaegan: VAEGANLossConfig = field(default_factory=VAEGANLossConfig)
    softintrovae: SoftIntroVAELossConfig = field(default_factory=SoftIntroVAELossConfig)
    batch_size: int = 64
    # The budget: training stops at whichever comes first; at least one must be set. minutes counts time spent in
    # training steps only: FID checks, images and checkpoints are not charged to it (vaegan/training/loop.py).
    epochs: float | None = 5.0
    steps: int | None = None
    minutes: float | None = None
    seed: int = 0
    # Where and how it runs; kept here (not in globals).
    device: str = "cpu"
    # "fp32", or "bf16": autocast forward passes in bfloat16 with fp32 weights, optimizer state and loss reductions;
    # "auto": bf16 where the chip has bf16 matrix units (CUDA, or a CPU with AMX / AVX512-BF16; emulated elsewhere, and
    # slower than fp32 there), resolved when the run starts, so a saved config names the precision it ran in
    # (vaegan/precision.py).
    precision: str = "auto"
    channels_last: bool = True  # NHWC weights and inputs: oneDNN's and cuDNN's native conv layout
    # Exponential moving average of encoder and decoder weights, used for sampling and evaluation; both 0: off.
    # ema_horizon: the average spans about this fraction of the steps done, at any point of any budget. ema_decay: a
    # fixed decay, ramped as min(ema_decay, (1 + step) / (10 + step)) so a short run is not dominated by its random
    # start. At most one of them is set (vaegan/training/schedule.py).
    ema_horizon: float = 0.0
    ema_decay: float = 0.0
    # Data-parallel processes of the latest session (set from torchrun's WORLD_SIZE, not by hand; batch_size is the
    # global batch, split evenly over them). Like device, it may change on resume: the data order does not depend on it.
    world_size: int = 1
    # With several processes: BatchNorm statistics over the global batch instead of each process's rows (then N
    # processes train as one process would, at two small all-reduces per BatchNorm layer and pass).
    sync_batchnorm: bool = False
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
    # 5000 samples, as the report scores; fewer are too noisy for a curve judged against a 15% band and for picking
    # best.pt (one 10-minute VAE-GAN checkpoint: mixture FIDs ±12% over fits and sample seeds at 2000).
    fid_every: int = 1000
    # ... or, when > 0, this many checks evenly spaced over the budget (at 1/N, 2/N, ..., all of it), whatever its
    # length and the machine's speed; fid_every is then not used.
    fid_checks: int = 0
    fid_samples: int = 5000
    fid_extractor: str = "domain"
    # Also score samples of a latent mixture fitted to this many training codes at each FID (vaegan/latent_sampler.py);
    # 0: N(0, I) samples only.
    fid_gmm_images: int = 10000
    # ... and average that score over this many mixtures, each fitted from its own k-means start and scored on its
    # own fid_samples codes. One fit swings with its EM optimum and its samples: on one 10-minute VAE-GAN checkpoint
    # four fits scored 41-45 on 20,000 samples each, and one fit 42-50 over four draws of 5,000. Each fit costs ~4 s a
    # check on 2 cores (2.5 s EM, 1.4 s scoring).
    fid_gmm_fits: int = 4
    init_from: str | None = None  # a VAE run folder whose encoder/decoder start this run

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        if isinstance(values, dict) and values.get("rank") == 0:  # runs made before torchrun support recorded rank 0
            values = {k: v for k, v in values.items() if k != "rank"}
        return _from_dict(cls, values)

    @classmethod
    def load(cls, path: str | Path) -> "TrainConfig":
        return cls.from_dict(json.loads(Path(path).read_text()))

    def validate(self) -> None:
        """ValueError naming the first field out of its allowed range (RANGES), or a device this machine lacks.

        Training and resume call it; loading a config does not, since a finished run may name another machine's
        device."""
        for prefix, part in (("", self), ("data.", self.data), ("model.", self.model), ("optim.", self.optim),
                             ("vae.", self.vae), ("vaegan.", self.vaegan), ("softintrovae.", self.softintrovae)):
            if part is not None:  # model: None until resolved from the data
                check_ranges(part, prefix)
        if self.epochs is None and self.steps is None and self.minutes is None:
            raise ValueError("no training budget: set at least one of epochs, steps or minutes")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; use one of {', '.join(PRECISIONS)}")
        if self.ema_horizon > 0 and self.ema_decay > 0:
            raise ValueError(f"ema_horizon {self.ema_horizon:g} and ema_decay {self.ema_decay:g} both set: the weight "
                             "average follows one of them; set the other to 0")
        if self.batch_size % self.world_size:
            raise ValueError(f"batch_size {self.batch_size} (the global batch) does not split evenly over {self.world_size} "
                             f"processes; pass a --batch-size that is a multiple of {self.world_size}")
        if self.model is not None and self.model.decoder not in DECODERS:
            raise ValueError(f"unknown model.decoder {self.model.decoder!r}; use one of {', '.join(DECODERS)}")
        if self.model is not None and self.model.dis_feature_layer > 1 + len(self.model.dis_channels):
            raise ValueError(f"model.dis_feature_layer must be in [1, {1 + len(self.model.dis_channels)}] (the "
                             f"discriminator's convs), got {self.model.dis_feature_layer}")
        check_device(self.device)


@dataclass(frozen=True)
class Range:
    """The allowed values of a numeric field: from low up to high (None: no upper end), each end included unless
    open; never NaN or infinite."""

    low: float
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def __str__(self) -> str:
        low, high = (f"{x:g}" if isinstance(x, float) else str(x) for x in (self.low, self.high))
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {low}"
        return f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


@dataclass(frozen=True)
class OneOf:
    """A numeric field that takes a few listed values only (e.g. 1 or 3 channels)."""

    values: tuple[int, ...]

    def __contains__(self, value: float) -> bool:
        return value in self.values

    def __str__(self) -> str:
        return "in {" + ", ".join(map(str, self.values)) + "}"


POSITIVE = Range(0, low_open=True)
NON_NEGATIVE = Range(0)
AT_LEAST_ONE = Range(1)
FRACTION = Range(0, 1, high_open=True)

# Every numeric field of every config class, with its allowed values (for a tuple: of each element). None is
# allowed where the field's type allows it. tests/test_cli.py checks that no numeric field is missing here.
RANGES: dict[type, dict[str, Range | OneOf]] = {
    DataConfig: {"image_size": AT_LEAST_ONE, "limit": AT_LEAST_ONE, "channels": OneOf((1, 3))},
    ModelConfig: {
        "image_size": AT_LEAST_ONE, "channels": AT_LEAST_ONE, "latent_dim": AT_LEAST_ONE, "kernel_size": AT_LEAST_ONE,
        "enc_channels": AT_LEAST_ONE, "enc_fc": NON_NEGATIVE, "dec_base_channels": AT_LEAST_ONE,
        "dec_channels": AT_LEAST_ONE, "cppn_width": AT_LEAST_ONE, "cppn_depth": AT_LEAST_ONE,
        "cppn_frequencies": NON_NEGATIVE, "cppn_grid": NON_NEGATIVE,
        "dis_first_channels": AT_LEAST_ONE, "dis_channels": AT_LEAST_ONE,
        "dis_channels_scale": POSITIVE, "dis_fc": AT_LEAST_ONE, "dis_feature_layer": AT_LEAST_ONE,
    },
    OptimConfig: {
        "lr": POSITIVE, "betas": FRACTION, "alpha": FRACTION, "weight_decay": NON_NEGATIVE,
        "lr_final": Range(0, 1, low_open=True), "lr_hold": FRACTION, "lr_decay_per_epoch": Range(0, 1, low_open=True),
        "discriminator_lr_scale": POSITIVE,
    },
    VAELossConfig: {"gaussian_sigma": POSITIVE, "beta": NON_NEGATIVE, "kl_warmup_fraction": Range(0, 1),
                    "kl_warmup_steps": NON_NEGATIVE},
    VAEGANLossConfig: {
        "gamma": NON_NEGATIVE, "equilibrium_value": POSITIVE, "equilibrium_margin": NON_NEGATIVE,
        "label_smoothing": FRACTION, "pixel_weight": NON_NEGATIVE, "r1_weight": NON_NEGATIVE,
        "r1_every": AT_LEAST_ONE, "vae_start": FRACTION,
    },
    SoftIntroVAELossConfig: {
        "beta_rec": NON_NEGATIVE, "beta_kl": NON_NEGATIVE, "beta_neg": NON_NEGATIVE, "gamma_r": NON_NEGATIVE,
    },
    TrainConfig: {
        "batch_size": AT_LEAST_ONE, "epochs": POSITIVE, "steps": AT_LEAST_ONE, "minutes": POSITIVE,
        "seed": Range(0, 2**32 - 1), "ema_horizon": Range(0, 1), "ema_decay": FRACTION,
        "world_size": AT_LEAST_ONE,
        "log_every": AT_LEAST_ONE, "image_every": AT_LEAST_ONE, "checkpoint_every": AT_LEAST_ONE,
        "progress_seconds": POSITIVE, "eval_batches": NON_NEGATIVE, "fid_every": NON_NEGATIVE,
        "fid_checks": NON_NEGATIVE,
        "fid_samples": Range(2),  # a covariance needs two samples
        "fid_gmm_images": NON_NEGATIVE, "fid_gmm_fits": AT_LEAST_ONE,
    },
}


def check_ranges(part, prefix: str = "") -> None:
    """ValueError unless every numeric field of config dataclass `part` has a value allowed by RANGES."""
    hints = typing.get_type_hints(type(part))
    for name, allowed in RANGES[type(part)].items():
        value, hint = getattr(part, name), hints[name]
        if value is None and _allows_none(hint):
            continue
        integer = _number_type(hint) is int
        elements = value if isinstance(value, tuple) else (value,)
        ok = all(isinstance(v, (int,) if integer else (int, float)) and not isinstance(v, bool) and v in allowed
                 for v in elements)
        if not ok:
            what = f"{'an integer' if integer else 'a number'} {allowed}"
            raise ValueError(f"{'each of ' if isinstance(value, tuple) else ''}{prefix}{name} must be {what}, "
                             f"got {value!r}")


def _allows_none(hint) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)


def _number_type(hint) -> type | None:
    """int or float for a numeric field's type (int | None, tuple[float, float], ...), else None."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    if typing.get_origin(hint) is tuple:
        hint = typing.get_args(hint)[0]
    return hint if hint in (int, float) else None


def available_devices() -> list[str]:
    """The torch devices this machine can run on, e.g. ["cpu"] or ["cpu", "cuda", "cuda:0"]."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def check_device(device: str) -> None:
    """ValueError unless `device` ("cpu", "cuda", "cuda:1", "mps", ...) exists on this machine."""
    available = available_devices()
    try:
        parsed = torch.device(device)
    except RuntimeError:  # not a device string at all, e.g. "foo"
        parsed = None
    if parsed is None or (parsed.type != "cpu" and str(parsed) not in available):
        raise ValueError(f"device {device!r} is not available here; available: {', '.join(available)}")


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
