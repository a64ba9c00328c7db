#!/usr/bin/env python3
"""Draw a run trained with --decoder cppn at any size (e.g. 1024x1024 from a 28x28 run): prior samples, reconstructions
of test images and a latent interpolation, one PNG per image.

The coordinate decoder is a function of continuous position (vaegan/models/cppn.py), so a larger size samples the
same images more finely; nothing is upsampled. Writes under --out (default: RUN_DIR/samples/render-STEP-SIZE/):
  <sampler>/NNN.png        decoded z from N(0, I) (prior) or the latent mixture (gmm), --sampler
  reconstructions/NNN.png  Dec(mu(x)) of the first -n test images; inputs/NNN.png the inputs at their own size
  interpolation/NNN.png    --steps images on the straight line from mu of test image 0 to mu of test image 1
A run with the convolutional decoder draws its training size only (a clear error for any other --size)."""

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
from vaegan.sampling import check_renderable, decode_at, encode_mean, interpolation_codes, interpolation_ends, save_png
from vaegan.trained_run import load_trained_run


def render_pngs(decoder: nn.Module, model: ModelConfig, z: torch.Tensor, size: int, folder: Path, label: str) -> None:
    """One PNG per code, z: (N, latent_dim) -> folder/000.png ..., with a progress line per image (a 1024x1024
    image takes seconds on a CPU)."""
    start = time.perf_counter()
    for i, code in enumerate(z):
        save_png(decode_at(decoder, model, code.unsqueeze(0), size)[0], folder / f"{i:03d}.png")
        print(f"{label}: {i + 1}/{len(z)} at {size}x{size} ({time.perf_counter() - start:.1f} s)", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpWithDefaults)
    p.add_argument("run_dir", help="a run folder made by training with --decoder cppn")
    p.add_argument("--size", type=positive_int, default=1024, help="width and height of every image, in pixels")
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

    def run():
        check_device(args.device)
        check_writable(args.out or Path(args.run_dir) / "samples", "--out")
        saved = saved_model_config(args.run_dir)
        if saved is not None and saved.get("decoder") == "cppn":  # before the checkpoint and data are loaded
            check_render_size(args.size, saved["channels"])
        run = load_trained_run(args.run_dir, args.which, args.device)
        check_renderable(run.cfg.model, args.size)
        check_render_size(args.size, run.cfg.model.channels)
        out = Path(args.out or Path(args.run_dir) / "samples" / f"render-{run.step:07d}-{args.size}")
        test = run.dataset("test").images
        enc, dec = run.nets["encoder"], run.nets["decoder"]
        samplers = list(SAMPLERS) if args.sampler == "all" else [args.sampler]
        gmm = trained_run_gmm(run) if any(SAMPLERS[s].needs_gmm for s in samplers) else None
        for s in samplers:
            z = latent_codes(s, args.num, run.cfg.model.latent_dim, torch.Generator().manual_seed(args.seed), gmm)
            render_pngs(dec, run.cfg.model, z, args.size, out / s, s)
        inputs = test[: args.num]
        for i, image in enumerate(inputs):
            save_png(image, out / "inputs" / f"{i:03d}.png")
        render_pngs(dec, run.cfg.model, encode_mean(enc, inputs), args.size, out / "reconstructions", "reconstructions")
        a, b = interpolation_ends(test, pairs=1)
        line = interpolation_codes(encode_mean(enc, a), encode_mean(enc, b), args.steps)
        render_pngs(dec, run.cfg.model, line, args.size, out / "interpolation", "interpolation")
        print(f"wrote {', '.join(samplers)}, inputs, reconstructions, interpolation (one PNG per image) of step "
              f"{run.step} at {args.size}x{args.size} to {out}")

    run_cli(run)


if __name__ == "__main__":
    main()
