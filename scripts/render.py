#!/usr/bin/env python3
"""Draw a trained run's images as PNGs, one per image, and a montage of them all: prior or mixture samples,
reconstructions of test images and a latent interpolation.

A run trained with --decoder cppn draws at any --size (e.g. 1024x1024 from a 28x28 run): its coordinate decoder is a
function of continuous position (vaegan/models/cppn.py), so a larger size samples the same images more finely and
nothing is upsampled. A run with the convolutional decoder draws its training size only; --scale enlarges any run's
PNGs by nearest neighbour (each pixel a block). Writes under --out (default: RUN_DIR/samples/render-STEP-SIZE/):

  <sampler>/NNN.png        decoded z from N(0, I) (prior) or the latent mixture (gmm), --sampler
  reconstructions/NNN.png  Dec(mu(x)) of the first -n test images
  inputs/NNN.png           those test images at their own size (times --scale)
  interpolation/NNN.png    --steps images on the straight line from mu of test image 0 to mu of test image 1
  montage.png              a row per group above (samplers, reconstructions, interpolation), tiles of at most 256 px
"""

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from vaegan.cli import HelpWithDefaults, check_writable, positive_int, run_cli
from vaegan.config import ModelConfig, check_device
from vaegan.latent_sampler import SAMPLERS, latent_codes, trained_run_gmm
from vaegan.memory import check_render_size
from vaegan.run_folder import saved_model_config
from vaegan.sampling import (ENLARGE_INSTEAD, check_renderable, decode_at, encode_mean, interpolation_codes,
                             interpolation_ends, montage, montage_tiles, save_png)
from vaegan.trained_run import load_trained_run

CPPN_SIZE = 1024  # the default size of a cppn run: where drawing at any size shows


class Help(argparse.RawDescriptionHelpFormatter, HelpWithDefaults):
    """HelpWithDefaults, with the description's list of files kept as written instead of re-wrapped into one block."""


def render_pngs(decoder: nn.Module, model: ModelConfig, z: torch.Tensor, size: int, scale: int, folder: Path,
                label: str) -> torch.Tensor:
    """One PNG per code, z: (N, latent_dim) -> folder/000.png ... of (size * scale)^2 pixels, with a progress line
    per image (a 1024x1024 image takes seconds on a CPU); returns the images' montage tiles, uint8 (N, C, T, T)
    (montage_tiles: only those are held, not the full-size images)."""
    start, tiles = time.perf_counter(), []
    for i, code in enumerate(z):
        image = decode_at(decoder, model, code.unsqueeze(0), size)
        save_png(image[0], folder / f"{i:03d}.png", scale)
        tiles.append(montage_tiles(image, scale))
        print(f"{label}: {i + 1}/{len(z)} at {size}x{size} ({time.perf_counter() - start:.1f} s)", flush=True)
    return torch.cat(tiles)


def default_size(model: dict) -> int:
    """--size when not given: CPPN_SIZE for a cppn run, else the training size (the only one a conv run draws)."""
    return CPPN_SIZE if model.get("decoder") == "cppn" else model["image_size"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=Help)
    p.add_argument("run_dir", help="a run folder made by training")
    p.add_argument("--size", type=positive_int, default=None,
                   help=f"width and height each image is drawn at, in pixels; other than the training size needs a "
                        f"--decoder cppn run (default: {CPPN_SIZE} for a cppn run, else the training size)")
    p.add_argument("--scale", type=positive_int, default=1,
                   help="enlarge every PNG this many times after drawing (nearest neighbour), e.g. 8 for 224x224 "
                        "from a 28x28 conv run")
    p.add_argument("--which", default="latest", choices=["latest", "best"], help="which checkpoint")
    p.add_argument("-n", "--num", type=positive_int, default=8, help="samples (per sampler) and reconstructions")
    p.add_argument("--steps", type=positive_int, default=8, help="images of the interpolation, both ends included")
    p.add_argument("--sampler", default="gmm", choices=[*SAMPLERS, "all"],
                   help="where z comes from: gmm (a mixture over the encoder means, fitted on first use and kept "
                        "beside the checkpoint: the better sampler of every run measured), prior N(0, I), or all")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/samples/render-STEP-SIZE)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling noise (each sampler starts from it)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    args = p.parse_args()

    def check_request(model: dict) -> int:
        """The size to draw at, after the checks that need only the run's model config."""
        size = args.size or default_size(model)
        check_renderable(model.get("decoder", "conv"), model["image_size"], size, ENLARGE_INSTEAD)
        check_render_size(size, model["channels"])
        return size

    def run():
        check_device(args.device)
        check_writable(args.out or Path(args.run_dir) / "samples", "--out")
        if (saved := saved_model_config(args.run_dir)) is not None:  # before the checkpoint and data are loaded
            check_request(saved)
        run = load_trained_run(args.run_dir, args.which, args.device)
        size = check_request(vars(run.cfg.model))
        out = Path(args.out or Path(args.run_dir) / "samples" / f"render-{run.step:07d}-{size}")
        test = run.dataset("test").images
        enc, dec, model = run.nets["encoder"], run.nets["decoder"], run.cfg.model
        samplers = list(SAMPLERS) if args.sampler == "all" else [args.sampler]
        gmm = trained_run_gmm(run) if any(SAMPLERS[s].needs_gmm for s in samplers) else None
        rows = []
        for s in samplers:
            z = latent_codes(s, args.num, model.latent_dim, torch.Generator().manual_seed(args.seed), gmm)
            rows.append(render_pngs(dec, model, z, size, args.scale, out / s, s))
        inputs = test[: args.num]
        for i, image in enumerate(inputs):
            save_png(image, out / "inputs" / f"{i:03d}.png", args.scale)
        rows.append(render_pngs(dec, model, encode_mean(enc, inputs), size, args.scale, out / "reconstructions",
                                "reconstructions"))
        a, b = interpolation_ends(test, pairs=1)
        line = interpolation_codes(encode_mean(enc, a), encode_mean(enc, b), args.steps)
        rows.append(render_pngs(dec, model, line, size, args.scale, out / "interpolation", "interpolation"))
        save_png(montage(rows), out / "montage.png")
        print(f"wrote {', '.join(samplers)}, inputs, reconstructions, interpolation (one PNG per image, "
              f"{size * args.scale}x{size * args.scale}) and montage.png of step {run.step} to {out}")

    run_cli(run)


if __name__ == "__main__":
    main()
