"""Command-line layer shared by scripts/train_vae.py and scripts/train_vaegan.py: flags -> TrainConfig -> library.

Every flag maps to one config field; defaults shown by --help are the config's own defaults, so the CLI never
holds a second copy of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Callable, Sequence

from metrics.domain import DomainWeightsError
from metrics.weights_file import WeightsHashMismatch
from metrics.inception import InceptionWeightsError
from vaegan.config import DataConfig, OptimConfig, TrainConfig, VAEGANLossConfig, VAELossConfig
from vaegan.data import DatasetFormatError, DatasetNotFoundError, DATASETS
from vaegan.models import PRESETS
from vaegan.precision import PRECISIONS
from vaegan.recipes import DEFAULT_RECIPE, default_config, recipe_model
from vaegan.training.checkpoint import CheckpointError
from vaegan.training.loop import NonFiniteLossError, prepare, resume, train

# Errors a user can fix from the message alone; anything else is a bug and keeps its traceback.
USER_ERRORS = (DatasetNotFoundError, DatasetFormatError, CheckpointError, NonFiniteLossError, ValueError, FileNotFoundError,
               WeightsHashMismatch, InceptionWeightsError, DomainWeightsError)


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


def build_parser(kind: str) -> argparse.ArgumentParser:
    d = default_config(kind)
    p = argparse.ArgumentParser(
        allow_abbrev=False,  # --resume tells budget flags the user gave by their exact spelling
        description=f"Train a {'VAE-GAN (Larsen et al. 2016)' if kind == 'vaegan' else 'VAE'}; "
        "writes a run folder with config.json, checkpoints/, tensorboard/ and samples/.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default=d.data.dataset, choices=sorted(DATASETS))
    g.add_argument("--data-root", default=d.data.root, help="folder holding the dataset files")
    g.add_argument("--download", action="store_true", help="let torchvision download a missing dataset")
    g.add_argument("--image-size", type=positive_int, default=d.data.image_size, help="resize images to this square size")
    g.add_argument("--limit", type=positive_int, default=d.data.limit, help="use only the first N training images")
    g = p.add_argument_group("model")
    g.add_argument("--model-preset", default=d.model_preset, choices=["auto", *sorted(PRESETS)])
    g.add_argument("--latent-dim", type=positive_int, default=None, help="override the preset's latent size")
    g = p.add_argument_group("optimisation")
    g.add_argument("--optimizer", default=d.optim.name, choices=["adam", "rmsprop"])
    g.add_argument("--lr", type=positive_float, default=d.optim.lr)
    g.add_argument("--lr-decay", type=positive_float, default=d.optim.lr_decay_per_epoch, help="LR factor per epoch")
    g.add_argument("--batch-size", type=positive_int, default=d.batch_size)
    g.add_argument("--ema-decay", type=float, default=d.ema_decay,
                   help="keep a weight average of encoder and decoder for sampling and evaluation; 0: off")
    g = p.add_argument_group("budget (training stops at the first one reached)")
    g.add_argument("--epochs", type=positive_float, default=d.epochs)
    g.add_argument("--steps", type=positive_int, default=d.steps)
    g.add_argument("--minutes", type=positive_float, default=d.minutes, help="wall-clock budget")
    g = p.add_argument_group("VAE loss" if kind == "vae" else "VAE loss terms used by the VAE-GAN (KL weight)")
    g.add_argument("--likelihood", default=d.vae.likelihood, choices=["bernoulli", "gaussian"])
    g.add_argument("--beta", type=float, default=d.vae.beta, help="KL weight")
    g.add_argument("--kl-warmup-steps", type=int, default=d.vae.kl_warmup_steps)
    if kind == "vaegan":
        add_vaegan_flags(p, d.vaegan)
    g = p.add_argument_group("run")
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--device", default=d.device, help="cpu, cuda, cuda:1, ...")
    g.add_argument("--precision", default=d.precision, choices=list(PRECISIONS),
                   help="bf16: autocast forward passes (pays on CUDA or a CPU with AMX/AVX512-BF16 only)")
    g.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=d.channels_last,
                   help="NHWC memory layout for the convolutions")
    g.add_argument("--runs-dir", default=d.runs_dir, help="parent of the run folders")
    g.add_argument("--name", default=d.run_name, help="extra tag in the run folder's name")
    g.add_argument("--log-every", type=positive_int, default=d.log_every)
    g.add_argument("--image-every", type=positive_int, default=d.image_every)
    g.add_argument("--checkpoint-every", type=positive_int, default=d.checkpoint_every)
    g.add_argument("--progress-seconds", type=positive_float, default=d.progress_seconds)
    g.add_argument("--fid-every", type=int, default=d.fid_every, help="steps between FIDs of prior samples; 0: off")
    g.add_argument("--fid-samples", type=positive_int, default=d.fid_samples)
    g.add_argument("--fid-extractor", default=d.fid_extractor, choices=["domain", "inception"])
    g.add_argument("--fid-gmm-images", type=int, default=d.fid_gmm_images,
                   help="also score samples of a latent mixture fitted to this many training codes; 0: off")
    g.add_argument("--resume", metavar="RUN_DIR", help="continue this run from its latest checkpoint "
                   "(its saved config is used; --epochs/--steps/--minutes given here replace its budget)")
    g.add_argument("--dry-run", action="store_true", help="print the resolved config and stop")
    return p


def add_vaegan_flags(p: argparse.ArgumentParser, d: VAEGANLossConfig) -> None:
    g = p.add_argument_group("VAE-GAN")
    g.add_argument("--gamma", type=float, default=d.gamma, help="weight of the Dis_l feature loss in the decoder's loss")
    g.add_argument("--adversarial", default=d.adversarial, choices=["non_saturating", "saturating"])
    g.add_argument("--no-recon-fakes", action="store_true", help="do not show reconstructions to D as fakes")
    g.add_argument("--feature-layer", type=positive_int, default=None, help="Dis_l: which discriminator conv (1-based)")
    g.add_argument("--equilibrium", action="store_true", help="skip D/decoder updates by the equilibrium rule")
    g.add_argument("--equilibrium-value", type=float, default=d.equilibrium_value)
    g.add_argument("--equilibrium-margin", type=float, default=d.equilibrium_margin)
    g.add_argument("--adaptive-gamma", action="store_true", help="balance the two decoder gradient norms")
    g.add_argument("--spectral-norm", action="store_true", help="spectral norm on the discriminator")
    g.add_argument("--label-smoothing", type=float, default=d.label_smoothing, help="one-sided: real target 1 - this")
    g.add_argument("--pixel-weight", type=float, default=d.pixel_weight, help="weight of an extra pixel MSE term")
    g.add_argument("--init-from", metavar="RUN_DIR", help="start encoder and decoder from this VAE run")
    g.add_argument("--dis-lr-scale", type=positive_float, default=OptimConfig().discriminator_lr_scale,
                   help="discriminator learning rate as a multiple of --lr (two time-scale updates)")
    g.add_argument("--dis-width", type=positive_float,
                   default=recipe_model(DEFAULT_RECIPE["vaegan"]).get("dis_channels_scale", 1.0),
                   help="scale of the discriminator's widths after its first conv (the preset's are 1)")


def config_from_args(args: argparse.Namespace, kind: str) -> TrainConfig:
    d = default_config(kind)
    cfg = dataclasses.replace(
        d,
        data=DataConfig(args.dataset, args.data_root, args.download, args.image_size, args.limit),
        model_preset=args.model_preset,
        optim=dataclasses.replace(d.optim, name=args.optimizer, lr=args.lr, lr_decay_per_epoch=args.lr_decay,
                                  discriminator_lr_scale=getattr(args, "dis_lr_scale", d.optim.discriminator_lr_scale)),
        vae=VAELossConfig(likelihood=args.likelihood, beta=args.beta, kl_warmup_steps=args.kl_warmup_steps),
        batch_size=args.batch_size,
        epochs=args.epochs, steps=args.steps, minutes=args.minutes,
        seed=args.seed, device=args.device, precision=args.precision, channels_last=args.channels_last,
        ema_decay=args.ema_decay, runs_dir=args.runs_dir, run_name=args.name,
        log_every=args.log_every, image_every=args.image_every, checkpoint_every=args.checkpoint_every,
        progress_seconds=args.progress_seconds,
        fid_every=args.fid_every, fid_samples=args.fid_samples, fid_extractor=args.fid_extractor,
        fid_gmm_images=args.fid_gmm_images,
    )
    if kind == "vaegan":
        cfg = dataclasses.replace(
            cfg,
            vaegan=VAEGANLossConfig(
                gamma=args.gamma, adversarial=args.adversarial, reconstructions_as_fakes=not args.no_recon_fakes,
                equilibrium=args.equilibrium, equilibrium_value=args.equilibrium_value,
                equilibrium_margin=args.equilibrium_margin, adaptive_gamma=args.adaptive_gamma,
                label_smoothing=args.label_smoothing, pixel_weight=args.pixel_weight,
            ),
            init_from=args.init_from,
        )
    return cfg


def model_overrides(args: argparse.Namespace, kind: str) -> dict:
    """Architecture changes applied on top of the preset once the data's size is known: the default recipe's,
    then the flags'."""
    out = recipe_model(DEFAULT_RECIPE[kind])
    if args.latent_dim:
        out["latent_dim"] = args.latent_dim
    if getattr(args, "feature_layer", None):
        out["dis_feature_layer"] = args.feature_layer
    if getattr(args, "spectral_norm", False):
        out["dis_spectral_norm"] = True
    if getattr(args, "dis_width", None) is not None:
        out["dis_channels_scale"] = args.dis_width
    return out


def run_cli(main: Callable[[], object]) -> None:
    """Run main(); a user error prints one clear line and exits 2 (set VAEGAN_DEBUG=1 for the traceback)."""
    try:
        main()
    except USER_ERRORS as e:
        if os.environ.get("VAEGAN_DEBUG"):
            raise
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def train_main(kind: str, argv: Sequence[str] | None = None) -> None:
    args = build_parser(kind).parse_args(argv)

    def main():
        if args.resume:
            given = argv if argv is not None else sys.argv[1:]
            budget = {k: getattr(args, k) for k in ("epochs", "steps", "minutes")
                      if any(a == f"--{k}" or a.startswith(f"--{k}=") for a in given)}
            resume(args.resume, budget)
            return
        cfg = config_from_args(args, kind)
        if args.dry_run:
            print(prepare(cfg, model_overrides(args, kind))[0].to_json())
            return
        train(cfg, model_overrides=model_overrides(args, kind))

    run_cli(main)
