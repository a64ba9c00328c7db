"""Command-line layer shared by scripts/train_vae.py, train_vaegan.py and train_softintrovae.py: flags -> TrainConfig
-> library.

Every flag maps to one config field; defaults shown by --help are the config's own defaults, so the CLI never
holds a second copy of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from metrics.domain import DomainWeightsError
from metrics.weights_file import WeightsHashMismatch
from metrics import EXTRACTORS
from metrics.inception import DOWNLOAD_FLAG, DOWNLOAD_HELP, InceptionWeightsError, download_weights
from vaegan import distributed
from vaegan.atomic import DiskFullError, disk_full
from vaegan.config import (DECODERS, DataConfig, ModelConfig, OptimConfig, SoftIntroVAELossConfig, TrainConfig,
                           VAEGANLossConfig, VAELossConfig)
from vaegan.distributed import DEFAULT_TIMEOUT_SECONDS
from vaegan.data import DatasetFormatError, DatasetNotFoundError, DATASETS
from vaegan.models import PRESETS
from vaegan.precision import PRECISIONS
from vaegan.recipes import CPPN_DECODER, DEFAULT_RECIPE, default_config, recipe_model
from vaegan.run_folder import SUBFOLDERS, config_path, metrics_path, read_config
from vaegan.checkpoint import CheckpointError
from vaegan.training.loop import NonFiniteLossError, resolve_config_and_data, resume, train
from vaegan.training.signals import StoppedBySignal

# Errors a user can fix from the message alone; anything else is a bug and keeps its traceback, except a full disk
# (an OSError with ENOSPC anywhere on its chain, whoever raised it: see run_cli).
USER_ERRORS = (DatasetNotFoundError, DatasetFormatError, CheckpointError, NonFiniteLossError, ValueError, FileNotFoundError,
               WeightsHashMismatch, InceptionWeightsError, DomainWeightsError, distributed.DistributedError,
               DiskFullError)


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def grid_size(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (no grid) or a grid size, got {text}")
    return value


class HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """--help ends every option's line with its default: "off"/"on" for a switch; where None means something, the
    help says it in its own words as "(default: ...)"."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = (action.help or "").replace(" (default: %(default)s)", "")  # BooleanOptionalAction adds one
        if "(default:" in text or not action.option_strings or action.default is argparse.SUPPRESS:
            return text
        if isinstance(action.default, bool):
            return f"{text} (default: {'on' if action.default else 'off'})"
        return f"{text} (default: %(default)s)"


class NotWritableError(ValueError):
    """An output folder that cannot be written: found before the work, not after it."""


def check_writable(path: str | Path, flag: str) -> None:
    """NotWritableError unless `path` (a folder, made later if missing, or a file) can be written by this user."""
    path = Path(path)
    existing = next(p for p in (path, *path.absolute().parents) if p.exists())
    if existing != path and not existing.is_dir():
        raise NotWritableError(f"cannot write to {flag} {path}: {existing} is a file, not a folder; "
                               f"pick another {flag}")
    if not os.access(existing, os.W_OK | (os.X_OK if existing.is_dir() else 0)):
        raise NotWritableError(f"cannot write to {flag} {path}: {existing} is read-only for this user; pick another "
                               f"{flag} or make it writable")


def describe_budget(cfg: TrainConfig) -> str:
    """'200 steps', or '5 epochs or 10 minutes, whichever comes first'."""
    limits = ((cfg.epochs, "epochs"), (cfg.steps, "steps"), (cfg.minutes, "minutes"))
    parts = [f"{value:g} {unit}" for value, unit in limits if value is not None]
    return parts[0] if len(parts) == 1 else f"{' or '.join(parts)}, whichever comes first"


def build_parser(kind: str) -> argparse.ArgumentParser:
    d = default_config(kind)
    p = argparse.ArgumentParser(
        allow_abbrev=False,  # full names only: a prefix that matches a future flag must not change meaning
        description=f"Train a {DESCRIPTIONS[kind]}; "
        "writes a run folder with config.json, checkpoints/, tensorboard/ and samples/.",
        formatter_class=HelpWithDefaults,
    )
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default=d.data.dataset, choices=sorted(DATASETS), help="which data set")
    g.add_argument("--data-root", default=d.data.root,
                   help="folder holding the dataset files (default: the dataset's standard places)")
    g.add_argument("--download", action="store_true", help="let torchvision download a missing dataset")
    g.add_argument("--image-size", type=positive_int, default=d.data.image_size,
                   help="resize images to this square size (default: the dataset's own size)")
    g.add_argument("--limit", type=positive_int, default=d.data.limit,
                   help="use only the first N training images (default: all)")
    g.add_argument("--channels", type=int, choices=[1, 3], default=d.data.channels,
                   help="convert every image to 1 (grayscale) or 3 (RGB) channels; folder and celeba only "
                   "(default: a folder is RGB if any of its images is colour, celeba RGB)")
    g = p.add_argument_group("model")
    g.add_argument("--model-preset", default=d.model_preset, choices=["auto", *sorted(PRESETS)],
                   help="architecture (vaegan/models/presets.py); auto: the one for the data's image size")
    g.add_argument("--latent-dim", type=positive_int, default=None, help="latent size (default: the preset's)")
    g.add_argument("--decoder", default=ModelConfig().decoder, choices=list(DECODERS),
                   help="conv: the preset's transposed convs; cppn: a coordinate MLP (Ha 2016) that scripts/render.py "
                   "and scripts/morph.py can draw at any size")
    g.add_argument("--cppn-width", type=positive_int, default=ModelConfig().cppn_width,
                   help="units per layer of the cppn decoder")
    g.add_argument("--cppn-depth", type=positive_int, default=ModelConfig().cppn_depth,
                   help="layers of the cppn decoder, each fed z, before its output layer")
    g.add_argument("--cppn-frequencies", type=int, default=CPPN_DECODER["cppn_frequencies"],
                   help="Fourier features: sin and cos of 2^k pi x and 2^k pi y for k below this, as extra cppn inputs "
                   "(0: x, y, r only, as Ha)")
    g.add_argument("--cppn-modulation", action="store_true",
                   help="z also scales each cppn layer's input feature-wise (FiLM), not only shifts it")
    g.add_argument("--cppn-grid", type=grid_size, default=CPPN_DECODER["cppn_grid"],
                   help="z also draws a G x G map (the conv decoder's first layers) that each pixel's first cppn layer "
                   "reads at its position; 0: one code for the whole image, as Ha (default: half the image size, 14 at "
                   "28x28)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--optimizer", default=d.optim.name, choices=["adam", "rmsprop"], help="optimizer of every network")
    g.add_argument("--lr", type=positive_float, default=d.optim.lr, help="learning rate")
    g.add_argument("--lr-final", type=positive_float, default=d.optim.lr_final,
                   help="learning rate at the end of the budget as a multiple of --lr, reached by exponential decay "
                        "over the run's progress through its budget (1: constant)")
    g.add_argument("--lr-hold", type=float, default=d.optim.lr_hold,
                   help="fraction of the budget at the full --lr before that decay begins")
    g.add_argument("--lr-decay", type=positive_float, default=d.optim.lr_decay_per_epoch,
                   help="a further learning-rate factor per epoch completed (1: none)")
    g.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                   help="images per step: the global batch, split evenly over the processes under torchrun")
    g.add_argument("--ema-horizon", type=float, default=d.ema_horizon,
                   help="keep a weight average of encoder and decoder for sampling and evaluation, spanning about this "
                        "fraction of the steps done; 0: off")
    g.add_argument("--ema-decay", type=float, default=d.ema_decay,
                   help="... or one with this fixed decay (ramped up over the first steps); 0: off")
    # None: not given. Any budget flag given replaces the default budget as a whole (config_from_args), so that the
    # default epochs never cap a --steps or --minutes silently.
    g = p.add_argument_group("budget (training stops at the first one reached; any of them given replaces the default)")
    g.add_argument("--epochs", type=positive_float, default=None,
                   help=f"passes over the training data (default: {d.epochs:g} when no budget flag is given)")
    g.add_argument("--steps", type=positive_int, default=None, help="training steps (default: no step limit)")
    g.add_argument("--minutes", type=positive_float, default=None,
                   help="training-time budget: time in training steps; FID checks, images and checkpoints are not "
                        "counted (default: no time limit)")
    if kind == "softintrovae":
        # Soft-IntroVAE trains on its own ELBO (its flags below); the VAE's likelihood only scores the held-out split.
        g = p.add_argument_group("held-out ELBO")
        g.add_argument("--likelihood", default=d.vae.likelihood, choices=["bernoulli", "gaussian"],
                       help="pixel likelihood of the held-out negative ELBO logged at each checkpoint (a reference)")
        add_softintrovae_flags(p, d.softintrovae)
    else:
        g = p.add_argument_group("VAE loss" if kind == "vae" else "VAE loss terms used by the VAE-GAN (KL weight)")
        g.add_argument("--likelihood", default=d.vae.likelihood, choices=["bernoulli", "gaussian"],
                       help="pixel likelihood of the reconstruction term")
        g.add_argument("--beta", type=float, default=d.vae.beta, help="KL weight")
        g.add_argument("--kl-warmup-fraction", type=float, default=d.vae.kl_warmup_fraction,
                       help="fraction of the budget over which the KL weight ramps from 0 to --beta; 0: none")
        g.add_argument("--kl-warmup-steps", type=int, default=d.vae.kl_warmup_steps,
                       help="... or steps over which it does, when no fraction is given")
    if kind == "vaegan":
        add_vaegan_flags(p, d.vaegan)
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, default=d.seed, help="initialisation, data order and all sampling noise")
    g.add_argument("--device", default=d.device, help="cpu, cuda, cuda:1, ...")
    g.add_argument("--precision", default=d.precision, choices=list(PRECISIONS),
                   help="bf16: autocast forward passes (pays on CUDA or a CPU with AMX/AVX512-BF16 only)")
    g.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=d.channels_last,
                   help="NHWC memory layout for the convolutions")
    g.add_argument("--runs-dir", default=d.runs_dir, help="parent of the run folders")
    g.add_argument("--sync-batchnorm", action="store_true",
                   help="under torchrun: BatchNorm statistics over the global batch, not each process's rows")
    g.add_argument("--collective-timeout", type=positive_float, default=DEFAULT_TIMEOUT_SECONDS,
                   help="under torchrun: seconds a process waits for the others before it stops with an error")
    g.add_argument("--name", default=d.run_name, help="extra tag in the run folder's name (default: none)")
    g.add_argument("--log-every", type=positive_int, default=d.log_every, help="steps between scalar logs")
    g.add_argument("--image-every", type=positive_int, default=d.image_every,
                   help="steps between image grids and histograms")
    g.add_argument("--checkpoint-every", type=positive_int, default=d.checkpoint_every,
                   help="steps between checkpoints (one is always written at the end)")
    g.add_argument("--progress-seconds", type=positive_float, default=d.progress_seconds,
                   help="seconds between progress lines")
    g.add_argument("--fid-every", type=int, default=d.fid_every, help="steps between FIDs of prior samples; 0: off")
    g.add_argument("--fid-checks", type=int, default=d.fid_checks,
                   help="instead of --fid-every: this many FIDs evenly spaced over the budget; 0: use --fid-every")
    g.add_argument("--fid-samples", type=positive_int, default=d.fid_samples, help="samples per FID during training")
    g.add_argument("--fid-extractor", default=d.fid_extractor, choices=sorted(EXTRACTORS),
                   help="features of the FID during training")
    g.add_argument(DOWNLOAD_FLAG, action="store_true", help=DOWNLOAD_HELP)
    g.add_argument("--fid-gmm-images", type=int, default=d.fid_gmm_images,
                   help="also score samples of a latent mixture fitted to this many training codes; 0: off")
    g.add_argument("--fid-gmm-fits", type=positive_int, default=d.fid_gmm_fits,
                   help="average that mixture score over this many fits from different starts (less noisy, ~4 s each)")
    g.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its latest checkpoint with its saved "
                   "config; budget flags given here replace its budget, and the logging cadence flags (--log-every, "
                   "--image-every, --checkpoint-every, --progress-seconds, --fid-every) and --device can change too; any other "
                   "flag is an error (default: none: start a new run)")
    g.add_argument("--dry-run", action="store_true",
                   help="print the resolved config (JSON, on stdout) and the budget (on stderr) and stop")
    return p


def add_vaegan_flags(p: argparse.ArgumentParser, d: VAEGANLossConfig) -> None:
    g = p.add_argument_group("VAE-GAN")
    g.add_argument("--gamma", type=float, default=d.gamma, help="weight of the Dis_l feature loss in the decoder's loss")
    g.add_argument("--adversarial", default=d.adversarial, choices=["non_saturating", "saturating"],
                   help="the decoder's GAN loss (saturating: the paper's -L_GAN)")
    g.add_argument("--no-recon-fakes", action="store_true", help="do not show reconstructions to D as fakes")
    g.add_argument("--feature-layer", type=positive_int, default=None,
                   help="Dis_l: which discriminator conv (1-based) (default: the preset's)")
    g.add_argument("--equilibrium", action="store_true", help="skip D/decoder updates by the equilibrium rule")
    g.add_argument("--equilibrium-value", type=float, default=d.equilibrium_value,
                   help="the equilibrium rule's target discriminator loss")
    g.add_argument("--equilibrium-margin", type=float, default=d.equilibrium_margin,
                   help="how far from --equilibrium-value a network's updates are skipped")
    g.add_argument("--adaptive-gamma", action="store_true", help="balance the two decoder gradient norms")
    g.add_argument("--spectral-norm", action="store_true", help="spectral norm on the discriminator")
    g.add_argument("--label-smoothing", type=float, default=d.label_smoothing, help="one-sided: real target 1 - this")
    g.add_argument("--pixel-weight", type=float, default=d.pixel_weight, help="weight of an extra pixel MSE term")
    g.add_argument("--r1", type=float, default=d.r1_weight, dest="r1_weight",
                   help="weight of the R1 penalty on the discriminator's gradient at real images (0: off)")
    g.add_argument("--r1-every", type=positive_int, default=d.r1_every,
                   help="take the R1 penalty every this many steps (weighted by it)")
    g.add_argument("--vae-start", type=float, default=d.vae_start,
                   help="train encoder and decoder as a pixel VAE over this first fraction of the budget (the "
                        "discriminator waiting), then as the VAE-GAN; 0: none")
    g.add_argument("--init-from", metavar="RUN_DIR",
                   help="start encoder and decoder from this VAE run (default: none: a random start)")
    g.add_argument("--dis-lr-scale", type=positive_float, default=OptimConfig().discriminator_lr_scale,
                   help="discriminator learning rate as a multiple of --lr (two time-scale updates)")
    g.add_argument("--dis-width", type=positive_float,
                   default=recipe_model(DEFAULT_RECIPE["vaegan"]).get("dis_channels_scale", 1.0),
                   help="scale of the discriminator's widths after its first conv (the preset's are 1)")


def add_softintrovae_flags(p: argparse.ArgumentParser, d: SoftIntroVAELossConfig) -> None:
    g = p.add_argument_group("Soft-IntroVAE (defaults: the authors' for 28x28 MNIST and Fashion-MNIST)")
    g.add_argument("--beta-rec", type=float, default=d.beta_rec, help="weight of the reconstruction error in each ELBO")
    g.add_argument("--beta-kl", type=float, default=d.beta_kl,
                   help="weight of the KL of real data (encoder) and of generated data (decoder)")
    g.add_argument("--beta-neg", type=float, default=d.beta_neg,
                   help="weight of the generated data's KL inside the encoder's exponential term")
    g.add_argument("--gamma-r", type=float, default=d.gamma_r,
                   help="weight of the generated data's reconstruction error in the decoder's loss")


BUDGET = ("epochs", "steps", "minutes")
# What a resume may change besides the budget: how often the run reports and where it runs, not what it learns
# (bit-exact continuation holds on the device it ran on; a run trained on a GPU can still go on on a CPU).
CADENCE = ("log_every", "image_every", "checkpoint_every", "progress_seconds", "fid_every", "fid_checks", "device")
# Flags that set no field of the config.
ACTIONS = ("resume", "dry_run", "collective_timeout", DOWNLOAD_FLAG.removeprefix("--").replace("-", "_"))
KIND_NAMES = {"vae": "VAE", "vaegan": "VAE-GAN", "softintrovae": "Soft-IntroVAE"}
DESCRIPTIONS = {"vae": "VAE", "vaegan": "VAE-GAN (Larsen et al. 2016)",
                "softintrovae": "Soft-IntroVAE (Daniel & Tamar 2021)"}


def budget_from_args(args: argparse.Namespace, default: TrainConfig) -> dict:
    """{epochs, steps, minutes}: the flags given, the others None; the default budget when none is given."""
    given = {k: getattr(args, k) for k in BUDGET}
    return given if any(v is not None for v in given.values()) else {k: getattr(default, k) for k in BUDGET}


def config_from_args(args: argparse.Namespace, kind: str) -> TrainConfig:
    d = default_config(kind)
    cfg = dataclasses.replace(
        d,
        data=DataConfig(args.dataset, args.data_root, args.download, args.image_size, args.limit, args.channels),
        model_preset=args.model_preset,
        optim=dataclasses.replace(d.optim, name=args.optimizer, lr=args.lr, lr_final=args.lr_final,
                                  lr_hold=args.lr_hold, lr_decay_per_epoch=args.lr_decay,
                                  discriminator_lr_scale=getattr(args, "dis_lr_scale", d.optim.discriminator_lr_scale)),
        vae=VAELossConfig(likelihood=args.likelihood, beta=getattr(args, "beta", d.vae.beta),
                          kl_warmup_fraction=getattr(args, "kl_warmup_fraction", d.vae.kl_warmup_fraction),
                          kl_warmup_steps=getattr(args, "kl_warmup_steps", d.vae.kl_warmup_steps)),
        batch_size=args.batch_size,
        **budget_from_args(args, d),
        seed=args.seed, device=args.device, precision=args.precision, channels_last=args.channels_last,
        ema_horizon=args.ema_horizon, ema_decay=args.ema_decay, runs_dir=args.runs_dir, run_name=args.name,
        sync_batchnorm=args.sync_batchnorm,
        log_every=args.log_every, image_every=args.image_every, checkpoint_every=args.checkpoint_every,
        progress_seconds=args.progress_seconds,
        fid_every=args.fid_every, fid_checks=args.fid_checks, fid_samples=args.fid_samples,
        fid_extractor=args.fid_extractor,
        fid_gmm_images=args.fid_gmm_images, fid_gmm_fits=args.fid_gmm_fits,
    )
    if kind == "vaegan":
        cfg = dataclasses.replace(
            cfg,
            vaegan=VAEGANLossConfig(
                gamma=args.gamma, adversarial=args.adversarial, reconstructions_as_fakes=not args.no_recon_fakes,
                equilibrium=args.equilibrium, equilibrium_value=args.equilibrium_value,
                equilibrium_margin=args.equilibrium_margin, adaptive_gamma=args.adaptive_gamma,
                label_smoothing=args.label_smoothing, pixel_weight=args.pixel_weight,
                r1_weight=args.r1_weight, r1_every=args.r1_every, vae_start=args.vae_start,
            ),
            init_from=args.init_from,
        )
    if kind == "softintrovae":
        cfg = dataclasses.replace(cfg, softintrovae=SoftIntroVAELossConfig(
            beta_rec=args.beta_rec, beta_kl=args.beta_kl, beta_neg=args.beta_neg, gamma_r=args.gamma_r))
    return cfg


def model_overrides(args: argparse.Namespace, kind: str) -> dict:
    """Architecture changes applied on top of the preset once the data's size is known: the default recipe's,
    then the flags'."""
    out = recipe_model(DEFAULT_RECIPE[kind])
    if args.latent_dim:
        out["latent_dim"] = args.latent_dim
    out["decoder"] = args.decoder
    if args.decoder == "cppn":  # a conv run keeps ModelConfig's cppn fields, as the main job's conv runs do
        out.update(cppn_width=args.cppn_width, cppn_depth=args.cppn_depth, cppn_frequencies=args.cppn_frequencies,
                   cppn_modulation=args.cppn_modulation, cppn_grid=args.cppn_grid)
    if getattr(args, "feature_layer", None):
        out["dis_feature_layer"] = args.feature_layer
    if getattr(args, "spectral_norm", False):
        out["dis_spectral_norm"] = True
    if getattr(args, "dis_width", None) is not None:
        out["dis_channels_scale"] = args.dis_width
    return out


def run_cli(main: Callable[[], object]) -> None:
    """Run main(); a user error prints one clear line and exits 2 (set VAEGAN_DEBUG=1 for the traceback); training
    stopped by SIGINT/SIGTERM exits 130/143 once its checkpoint is saved."""
    try:
        main()
    except StoppedBySignal as e:
        print(e, file=sys.stderr)
        sys.exit(e.exit_code)
    except USER_ERRORS as e:
        if os.environ.get("VAEGAN_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except Exception as e:
        # A full disk hit outside vaegan.atomic (a PNG, an event file, a library's RuntimeError wrapping the OS
        # error) is as much the user's to fix as one inside it.
        full = disk_full(e)
        if full is None or os.environ.get("VAEGAN_DEBUG"):
            raise
        print(f"error: {full}", file=sys.stderr)
        sys.exit(2)


def explicit_flags(kind: str, argv: Sequence[str] | None) -> set[str]:
    """The dests of the flags given on the command line, whatever their values: argv parsed without defaults."""
    bare, unset = build_parser(kind), object()
    bare.set_defaults(**{k: unset for k in vars(bare.parse_args([]))})
    return {k for k, v in vars(bare.parse_args(argv)).items() if v is not unset}


def train_main(kind: str, argv: Sequence[str] | None = None) -> None:
    args = build_parser(kind).parse_args(argv)

    def main():
        if args.download_inception_weights:
            download_weights()
        if args.dry_run:
            processes = distributed.SINGLE
        else:  # under torchrun: join the group (a plain run is a group of one)
            processes = distributed.start(args.device, args.collective_timeout)
        try:
            if args.resume:
                resume_main(kind, args, explicit_flags(kind, argv), processes)
                return
            cfg = config_from_args(args, kind)
            if args.dry_run:
                print(resolve_config_and_data(cfg, model_overrides(args, kind))[0].to_json())
                print(f"budget: {describe_budget(cfg)}", file=sys.stderr)
                return
            check_writable(cfg.runs_dir, "--runs-dir")
            train(cfg, model_overrides=model_overrides(args, kind), processes=processes)
        finally:
            distributed.stop()

    run_cli(main)


def resume_main(kind: str, args: argparse.Namespace, given: set[str],
                processes: distributed.Processes = distributed.SINGLE) -> None:
    """--resume: the run's saved config, with the budget and logging cadence given on the command line."""
    run_dir = Path(args.resume)
    fixed = [k for k in sorted(given) if k not in (*BUDGET, *CADENCE, *ACTIONS)]
    if fixed:
        flags = ", ".join("--" + k.replace("_", "-") for k in fixed)
        raise ValueError(f"{flags} cannot change when resuming (the run keeps its saved config); drop "
                         f"{'it' if len(fixed) == 1 else 'them'}, or train a new run without --resume")
    if not config_path(run_dir).is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no config.json); pass a folder made by training "
                                "(e.g. runs/00001-...)")
    saved = TrainConfig.from_dict(read_config(run_dir))
    if saved.kind != kind:
        start_from = f" (or start a VAE-GAN from it with --init-from {run_dir})" if saved.kind == "vae" else ""
        raise ValueError(f"{run_dir} is a {KIND_NAMES.get(saved.kind, saved.kind)} run; resume it with "
                         f"scripts/train_{saved.kind}.py --resume {run_dir}{start_from}")
    budget = {k: getattr(args, k) for k in BUDGET if getattr(args, k) is not None}
    cadence = {k: getattr(args, k) for k in CADENCE if k in given}
    changes = {**({k: None for k in BUDGET} if budget else {}), **budget, **cadence}  # a budget replaces the old one
    cfg = dataclasses.replace(saved, **changes)
    if args.dry_run:
        print(cfg.to_json())
        print(f"budget: {describe_budget(cfg)}", file=sys.stderr)
        return
    for path in (run_dir, *(run_dir / sub for sub in SUBFOLDERS), metrics_path(run_dir)):
        if path.exists() and processes.is_main:
            check_writable(path, "--resume")
    if changes and processes.is_main:
        applied = ([f"budget {describe_budget(cfg)}"] if budget else []) + [f"{k} {v}" for k, v in cadence.items()]
        print(f"resume: applying {', '.join(applied)}", flush=True)
    resume(run_dir, changes=changes, processes=processes)
