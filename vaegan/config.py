"""Typed configuration for a training run, saved as JSON with every checkpoint and report.

One `TrainConfig` describes a whole run, VAE, VAE-GAN or Soft-IntroVAE. Every field declares itself once
(vaegan/settings.py): its default, which works on a 2-core CPU with Fashion-MNIST, its help, allowed values, flag and
role; the training scripts' flags, the range checks and what a resume may change all come from there.
`to_dict`/`from_dict` round-trip through JSON exactly, so a checkpoint carries what is needed to rebuild its networks
(nothing is unpickled as code).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path

import torch

from vaegan.precision import PRECISIONS
from vaegan.settings import (AT_LEAST_ONE, FRACTION, NON_NEGATIVE, POSITIVE, OneOf, Range, check_ranges, setting)

# Decoder architectures by ModelConfig.decoder (vaegan/models/build.py maps each to its class).
DECODERS = ("conv", "cppn")


@dataclass
class DataConfig:
    dataset: str = setting("fashion_mnist", "which data set", group="data", choices="vaegan.data.registry:DATASETS")
    root: str | None = setting(None, "folder holding the dataset files", flag="--data-root", group="data",
                               default_text="the dataset's standard places")
    download: bool = setting(False, "let torchvision download a missing dataset", role="placement", group="data")
    image_size: int | None = setting(None, "resize images to this square size", AT_LEAST_ONE, group="data",
                                     default_text="the dataset's own size")
    limit: int | None = setting(None, "use only the first N training images", AT_LEAST_ONE, group="data",
                                default_text="all")
    channels: int | None = setting(None, "convert every image to 1 (grayscale) or 3 (RGB) channels; folder and celeba "
                                   "only", OneOf((1, 3)), group="data",
                                   default_text="a folder is RGB if any of its images is colour, celeba RGB")
    # The files the run read (train split, then test split), recorded when it starts so config.json says which data
    # it saw; not an input: whatever is given here is replaced.
    files: tuple[str, ...] | None = setting(None, "the files the run read", role="record", flag=None)


@dataclass
class ModelConfig:
    """Architecture of encoder, decoder and discriminator (see vaegan/models/presets.py for named presets).

    All convolutions are `kernel_size` wide; each encoder/discriminator conv after the first discriminator conv
    halves the resolution, each decoder transposed conv doubles it. With decoder="cppn" the decoder is a coordinate MLP
    of cppn_depth layers of cppn_width units (vaegan/models/cppn.py) that renders at any size; the dec_* fields then
    only shape its shift grid (cppn_grid), the conv decoder's first layers. Fields without a flag come from the
    model preset (or a recipe, or Python)."""

    image_size: int = setting(28, "image side in pixels", AT_LEAST_ONE, flag=None)
    channels: int = setting(1, "image channels", AT_LEAST_ONE, flag=None)
    latent_dim: int = setting(32, "latent size", AT_LEAST_ONE, group="model", default_text="the preset's")
    kernel_size: int = setting(5, "width of every convolution", AT_LEAST_ONE, flag=None)
    enc_channels: tuple[int, ...] = setting(default_factory=lambda: (32, 64, 128), help="stride-2 convs, each + BN + "
                                            "ReLU", range=AT_LEAST_ONE, flag=None)
    enc_fc: int = setting(512, "hidden FC width before (mu, logvar); 0: none", NON_NEGATIVE, flag=None)
    dec_base_channels: int = setting(128, "channels of the FC output reshaped to (base, base), base = size / "
                                     "2**len(dec_channels)", AT_LEAST_ONE, flag=None)
    dec_channels: tuple[int, ...] = setting(default_factory=lambda: (64, 32), help="stride-2 transposed convs, each + "
                                            "BN + ReLU", range=AT_LEAST_ONE, flag=None)
    decoder: str = setting("conv", "conv: the preset's transposed convs; cppn: a coordinate MLP (Ha 2016) that "
                           "scripts/render.py and scripts/morph.py can draw at any size", group="model",
                           choices=DECODERS)
    cppn_width: int = setting(64, "units per layer of the cppn decoder", AT_LEAST_ONE, group="cppn")
    cppn_depth: int = setting(4, "layers of the cppn decoder, each fed z, before its output layer", AT_LEAST_ONE,
                              group="cppn")
    # Fourier features and a shift grid: the coordinate decoder that measured as good as the conv one in a VAE-GAN
    # (benchmarks/latent-tools/README.md). Ha's own network is cppn_frequencies 0 and cppn_grid 0; configs saved before
    # these fields existed mean that (LEGACY below).
    cppn_frequencies: int = setting(4, "Fourier features: sin and cos of 2^k pi x and 2^k pi y for k below this, as "
                                    "extra cppn inputs (0: x, y, r only, as Ha)", NON_NEGATIVE, group="cppn")
    cppn_modulation: bool = setting(False, "z also scales each cppn layer's input feature-wise (FiLM), not only "
                                    "shifts it", group="cppn")
    # None: half the image size (14 at 28x28), resolved when the config is made, so a saved config holds the number.
    cppn_grid: int | None = setting(None, "z also draws a G x G map (the conv decoder's first layers) that each "
                                    "pixel's first cppn layer reads at its position; 0: one code for the whole image, "
                                    "as Ha", NON_NEGATIVE, group="cppn", default_text="half the image size, 14 at 28x28")
    dis_first_channels: int = setting(32, "stride-1 conv + ReLU, no BN (Larsen et al.)", AT_LEAST_ONE, flag=None)
    dis_channels: tuple[int, ...] = setting(default_factory=lambda: (64, 128, 128), help="stride-2 convs, each + BN + "
                                            "ReLU", range=AT_LEAST_ONE, flag=None)
    dis_channels_scale: float = setting(1.0, "scale of the discriminator's widths after its first conv (0.5: half as "
                                        "wide, a cheaper step)", POSITIVE, flag="--dis-width", group="discriminator")
    dis_fc: int = setting(256, "hidden FC width of the discriminator, + BN + ReLU", AT_LEAST_ONE, flag=None)
    dis_feature_layer: int = setting(4, "Dis_l: the discriminator conv (1-based, the stride-1 conv is 1) whose output, "
                                     "before its BN/ReLU, the feature loss compares", AT_LEAST_ONE,
                                     flag="--feature-layer", group="discriminator", default_text="the preset's")
    dis_spectral_norm: bool = setting(False, "spectral norm on every discriminator layer (a stabiliser)",
                                      flag="--spectral-norm", group="discriminator")

    def __post_init__(self) -> None:
        if self.cppn_grid is None:
            self.cppn_grid = self.image_size // 2


@dataclass
class OptimConfig:
    name: str = setting("adam", "optimizer of every network", flag="--optimizer", group="optimisation",
                        choices=("adam", "rmsprop"))
    lr: float = setting(1e-3, "learning rate", POSITIVE, group="optimisation")
    betas: tuple[float, float] = setting((0.9, 0.999), "Adam's betas", FRACTION, flag=None)
    alpha: float = setting(0.99, "RMSProp smoothing; Larsen et al. used RMSProp", FRACTION, flag=None)
    # torch's RMSProp starts its average of squared gradients at 0 and never corrects for it, so its first steps are
    # up to 1 / sqrt(1 - alpha) = 10x the learning rate: in the VAE-GAN that threw the encoder's KL up ~1,000-fold
    # within its first five steps in 3 of 4 seeds (benchmarks/budgets/README.md, section 9).
    bias_correction: bool = setting(False, "RMSProp: divide its average of squared gradients by 1 - alpha^t, as Adam "
                                    "does, so that its first steps are not up to 10x the learning rate",
                                    flag="--rmsprop-bias-correction", group="optimisation")
    weight_decay: float = setting(0.0, "weight decay", NON_NEGATIVE, flag=None)
    # It stays at lr for the first lr_hold of the budget, then decays exponentially with the run's progress to
    # lr * lr_final at its end (vaegan/training/schedule.py), so a run of any length ends on the same schedule.
    lr_final: float = setting(1.0, "learning rate at the end of the budget as a multiple of --lr, reached by "
                              "exponential decay over the run's progress through its budget (1: constant)",
                              Range(0, 1, low_open=True), group="optimisation")
    lr_hold: float = setting(0.0, "fraction of the budget at the full --lr before that decay begins", FRACTION,
                             group="optimisation")
    lr_decay_per_epoch: float = setting(1.0, "a further learning-rate factor per epoch completed (1: none)",
                                        Range(0, 1, low_open=True), flag="--lr-decay", group="optimisation")
    # Two time-scale update rule (Heusel et al. 2017).
    discriminator_lr_scale: float = setting(1.0, "discriminator learning rate as a multiple of --lr (two time-scale "
                                            "updates)", POSITIVE, flag="--dis-lr-scale", group="discriminator")


@dataclass
class VAELossConfig:
    likelihood: str = setting("bernoulli", "pixel likelihood of the reconstruction term (bernoulli: BCE on pixels in "
                              "[0, 1]; gaussian: MSE with a fixed sigma); Soft-IntroVAE: of the held-out ELBO only",
                              group="likelihood", choices=("bernoulli", "gaussian"))
    gaussian_sigma: float = setting(0.1, "pixel noise std on the [-1, 1] scale, for likelihood gaussian", POSITIVE,
                                    flag=None)
    beta: float = setting(1.0, "KL weight", NON_NEGATIVE, group="vae_loss")
    kl_warmup_fraction: float = setting(0.0, "fraction of the budget over which the KL weight ramps from 0 to --beta; "
                                        "0: none", Range(0, 1), group="vae_loss")
    kl_warmup_steps: int = setting(0, "... or steps over which it does, when no fraction is given", NON_NEGATIVE,
                                   group="vae_loss")


@dataclass
class VAEGANLossConfig:
    """Losses and stabilisers of the VAE-GAN (Larsen et al. 2016, Algorithm 1); see vaegan/losses/vaegan.py."""

    # With L_llike relative to the real features' energy, 0.25 puts the decoder's two last-layer gradients in the
    # ratio the original code had at 64x64 (gamma 1e-6 on a sum over 16,384 features): scripts/dev/gamma_scale_check.py.
    gamma: float = setting(0.25, "weight of the Dis_l feature loss L_llike against L_GAN in the decoder's loss",
                           NON_NEGATIVE, group="vaegan")
    adversarial: str = setting("non_saturating", "the decoder's GAN loss (saturating: the paper's -L_GAN)",
                               group="vaegan", choices=("non_saturating", "saturating"))
    reconstructions_as_fakes: bool = setting(True, "show reconstructions x~ = Dec(Enc(x)) to D as fakes, as in the "
                                             "paper", flag="--recon-fakes", group="vaegan")
    equilibrium: bool = setting(False, "skip D when it is too good, the decoder when it is too bad (original code)",
                                group="vaegan")
    equilibrium_value: float = setting(0.68, "the equilibrium rule's target discriminator loss", POSITIVE,
                                       group="vaegan")
    equilibrium_margin: float = setting(0.35, "how far from --equilibrium-value a network's updates are skipped",
                                        NON_NEGATIVE, group="vaegan")
    adaptive_gamma: bool = setting(False, "rescale gamma so both decoder gradients have equal norm at its last layer",
                                   group="vaegan")
    label_smoothing: float = setting(0.0, "one-sided: real targets become 1 - this", FRACTION, group="vaegan")
    pixel_weight: float = setting(0.0, "weight of an extra pixel MSE term for encoder and decoder", NON_NEGATIVE,
                                  group="vaegan")
    # R1 (Mescheder et al. 2018) damps the oscillation of plain GAN updates around the equilibrium. Lazy, as in
    # StyleGAN2: taken every r1_every steps and weighted by r1_every, so it costs a double backward only on those steps.
    r1_weight: float = setting(0.0, "weight of the R1 penalty r1 / 2 * E ||grad_x Dis(x)||^2 on real x (0: off)",
                               NON_NEGATIVE, flag="--r1", group="vaegan")
    r1_every: int = setting(4, "take the R1 penalty every this many steps (weighted by it)", AT_LEAST_ONE,
                            group="vaegan")
    vae_start: float = setting(0.0, "train encoder and decoder as a pixel VAE (its ELBO per pixel, at the VAE's step "
                               "cost) over this first fraction of the budget, the discriminator waiting, then as the "
                               "VAE-GAN; 0: none", FRACTION, group="vaegan")


@dataclass
class SoftIntroVAELossConfig:
    """Weights of Soft-IntroVAE (Daniel & Tamar 2021, Algorithm 1); see vaegan/losses/softintrovae.py.

    The defaults are the authors' for MNIST and Fashion-MNIST (their soft_intro_vae/README.md and main.py: beta_kl 1,
    beta_rec 1, beta_neg 256; gamma_r 1e-8 is their train function's and main.py's default)."""

    beta_rec: float = setting(1.0, "weight of the reconstruction error in each ELBO", NON_NEGATIVE,
                              group="softintrovae")
    beta_kl: float = setting(1.0, "weight of the KL of real data (encoder) and of generated data (decoder)",
                             NON_NEGATIVE, group="softintrovae")
    beta_neg: float = setting(256.0, "weight of the generated data's KL inside the encoder's exponential term",
                              NON_NEGATIVE, group="softintrovae")
    gamma_r: float = setting(1e-8, "weight of the generated data's reconstruction error in the decoder's loss",
                             NON_NEGATIVE, group="softintrovae")


def _section(cls):
    return dataclasses.field(default_factory=cls)


@dataclass
class TrainConfig:
    kind: str = setting("vae", "the method (vaegan/methods.py); each has its own script", flag=None)
    data: DataConfig = _section(DataConfig)
    model_preset: str = setting("auto", "architecture (vaegan/models/presets.py); auto: the one for the data's image "
                                "size", group="model", choices="vaegan.models.presets:PRESET_NAMES")
    model: ModelConfig | None = None  # resolved from model_preset when the run starts (vaegan/resolve.py)
    optim: OptimConfig = _section(OptimConfig)
    vae: VAELossConfig = _section(VAELossConfig)
    vaegan: VAEGANLossConfig = _section(VAEGANLossConfig)
    softintrovae: SoftIntroVAELossConfig = _section(SoftIntroVAELossConfig)
    batch_size: int = setting(64, "images per step: the global batch, split evenly over the processes under torchrun",
                              AT_LEAST_ONE, group="optimisation")
    # Training stops at whichever comes first; at least one must be set (vaegan/budget.py).
    epochs: float | None = setting(5.0, "passes over the training data", POSITIVE, role="budget", group="budget")
    steps: int | None = setting(None, "training steps", AT_LEAST_ONE, role="budget", group="budget",
                                default_text="no step limit")
    minutes: float | None = setting(None, "training-time budget: time in training steps; FID checks, images and "
                                    "checkpoints are not counted", POSITIVE, role="budget", group="budget",
                                    default_text="no time limit")
    seed: int = setting(0, "initialisation, data order and all sampling noise", Range(0, 2**32 - 1))
    # Where and how it runs; kept here (not in globals). A run trained on a GPU can go on on a CPU.
    device: str = setting("cpu", "cpu, cuda, cuda:1, ...", role="placement")
    # "auto" is resolved when the run starts (vaegan/precision.py), so a saved config names the precision it ran in.
    precision: str = setting("auto", "bf16: autocast forward passes in bfloat16 with fp32 weights, optimizer state and "
                             "loss reductions (pays on CUDA or a CPU with AMX/AVX512-BF16 only); auto: bf16 where the "
                             "chip has bf16 matrix units, fp32 elsewhere", choices=PRECISIONS)
    channels_last: bool = setting(True, "NHWC memory layout for the convolutions (oneDNN's and cuDNN's native one)")
    # Exponential moving average of encoder and decoder weights, used for sampling and evaluation; both 0: off. At
    # most one of them is set (vaegan/training/schedule.py).
    ema_horizon: float = setting(0.0, "keep a weight average of encoder and decoder for sampling and evaluation, "
                                 "spanning about this fraction of the steps done; 0: off", Range(0, 1),
                                 group="optimisation")
    ema_decay: float = setting(0.0, "... or one with this fixed decay, ramped as min(decay, (1 + step) / (10 + step)); "
                               "0: off", FRACTION, group="optimisation")
    # Set from torchrun's WORLD_SIZE, not by hand; the data order does not depend on it.
    world_size: int = setting(1, "data-parallel processes of the latest session", AT_LEAST_ONE, role="placement",
                              flag=None)
    # N processes then train as one process would, at two small all-reduces per BatchNorm layer and pass.
    sync_batchnorm: bool = setting(False, "under torchrun: BatchNorm statistics over the global batch, not each "
                                   "process's rows")
    runs_dir: str = setting("runs", "parent of the run folders", role="naming")
    run_name: str | None = setting(None, "extra tag in the run folder's name", role="naming", flag="--name",
                                   default_text="none")
    log_every: int = setting(50, "steps between scalar logs", AT_LEAST_ONE, role="cadence")
    image_every: int = setting(500, "steps between image grids and histograms", AT_LEAST_ONE, role="cadence")
    checkpoint_every: int = setting(500, "steps between checkpoints (one is always written at the end)", AT_LEAST_ONE,
                                    role="cadence")
    progress_seconds: float = setting(10.0, "seconds between progress lines", POSITIVE, role="placement")
    eval_batches: int = setting(20, "test batches for the held-out loss at each checkpoint; 0: none", NON_NEGATIVE,
                                flag=None)
    # FID during training: fid_samples prior samples scored against the test split with the fid_extractor of
    # metrics/; the best checkpoint by that FID is kept as best.pt. 5000 samples, as the report scores: fewer are too
    # noisy for a curve judged against a 15% band and for picking best.pt (benchmarks/RECIPES.md).
    fid_every: int = setting(1000, "steps between FIDs of prior samples; 0: off", NON_NEGATIVE, role="cadence")
    fid_checks: int = setting(0, "instead of --fid-every: this many FIDs evenly spaced over the budget (at 1/N, ..., "
                              "all of it); 0: use --fid-every", NON_NEGATIVE, role="cadence")
    fid_samples: int = setting(5000, "samples per FID during training", Range(2))  # a covariance needs two
    fid_extractor: str = setting("domain", "features of the FID during training", choices="metrics:EXTRACTORS")
    # One mixture fit swings with its EM optimum and its samples (benchmarks/RECIPES.md): fid_gmm_fits averages
    # several, each from its own k-means start and scored on its own fid_samples codes.
    fid_gmm_images: int = setting(10000, "also score samples of a latent mixture (vaegan/latent_sampler.py) fitted to "
                                  "this many training codes at each FID; 0: off", NON_NEGATIVE)
    fid_gmm_fits: int = setting(4, "average that mixture score over this many fits from different starts",
                                AT_LEAST_ONE)
    init_from: str | None = setting(None, "start encoder and decoder from this VAE run folder", group="vaegan",
                                    default_text="none: a random start", metavar="RUN_DIR")

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
        check_ranges(self)
        for f in dataclasses.fields(self):
            part = getattr(self, f.name)
            if dataclasses.is_dataclass(part):  # model: None until resolved from the data
                check_ranges(part, f.name + ".")
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


# What a field meant in configs saved before it existed: such a config loads as the run it was.
LEGACY: dict[type, dict] = {ModelConfig: {"cppn_frequencies": 0, "cppn_grid": 0}}


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
    values = {**LEGACY.get(cls, {}), **values}
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
