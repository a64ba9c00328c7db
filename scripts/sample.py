#!/usr/bin/env python3
"""Write samples, reconstructions and interpolations of a trained run (VAE or VAE-GAN) as PNG grids and as .npy
arrays (N x C x H x W uint8) that other tools, e.g. `python -m metrics fid`, can score. Samples decode z from
N(0, I) (prior.npy) or from a Gaussian mixture fitted to the encoder means of the training images (gmm.npy; fitted
once and saved as RUN_DIR/checkpoints/<which>.gmm.npz)."""

import argparse
from pathlib import Path

import numpy as np
import torch

from vaegan.atomic import atomic_write
from vaegan.cli import HelpWithDefaults, check_writable, positive_int, run_cli
from vaegan.config import check_device
from vaegan.latent_sampler import SAMPLERS, latent_codes, trained_run_gmm
from vaegan.memory import check_sample_count
from vaegan.run_folder import saved_model_config
from vaegan.sampling import decode, image_grid, interpolation_ends, interpolations, reconstructions, save_png
from vaegan.trained_run import load_trained_run

# Images per PNG grid (10 x 10): a screenful to look at; the .npy files hold every image, e.g. the 10,000 of an FID.
GRID_IMAGES, GRID_ROW = 100, 10


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpWithDefaults)
    p.add_argument("run_dir", help="a run folder made by training")
    p.add_argument("--which", default="latest", choices=["latest", "best"], help="which checkpoint")
    p.add_argument("-n", "--num", type=positive_int, default=64,
                   help=f"samples (per sampler) and reconstructions, all in the .npy files; the PNG grids show the "
                        f"first {GRID_IMAGES}")
    p.add_argument("--sampler", default="gmm", choices=[*SAMPLERS, "all"],
                   help="where z comes from: gmm (a mixture over the encoder means, fitted on first use and kept "
                        "beside the checkpoint: the better sampler of every run measured), prior N(0, I), or all")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/samples/final-STEP)")
    p.add_argument("--scale", type=positive_int, default=1,
                   help="enlarge every PNG grid this many times, each pixel a block (nearest neighbour: no smoothing "
                        "that would hide blur); 4 makes a 28x28 tile 112 pixels. The .npy files keep the native size")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling noise (each sampler starts from it)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    args = p.parse_args()

    def run():
        check_device(args.device)
        check_writable(args.out or Path(args.run_dir) / "samples", "--out")
        samplers = list(SAMPLERS) if args.sampler == "all" else [args.sampler]

        def check_fits(model: dict) -> None:  # every sample is held until written: refuse what cannot be
            check_sample_count(args.num, len(samplers), model["channels"] * model["image_size"] ** 2,
                               model["latent_dim"])

        if (saved := saved_model_config(args.run_dir)) is not None:  # before the checkpoint and data are loaded
            check_fits(saved)
        run = load_trained_run(args.run_dir, args.which, args.device)
        check_fits(vars(run.cfg.model))
        out = Path(args.out or Path(args.run_dir) / "samples" / f"final-{run.step:07d}")
        test = run.dataset("test").images
        enc, dec = run.nets["encoder"], run.nets["decoder"]
        gmm = trained_run_gmm(run) if any(SAMPLERS[s].needs_gmm for s in samplers) else None
        arrays = {
            **{s: decode(dec, latent_codes(s, args.num, run.cfg.model.latent_dim,
                                           torch.Generator().manual_seed(args.seed), gmm)) for s in samplers},
            "reconstructions": reconstructions(enc, dec, test[: args.num]),
            "inputs": test[: args.num],
            "interpolations": interpolations(enc, dec, *interpolation_ends(test, pairs=8), steps=10),
        }
        made = not out.exists()  # made only now, with everything to write in hand: a failure leaves no empty folder
        out.mkdir(parents=True, exist_ok=True)
        try:
            for name, images in arrays.items():
                atomic_write(out / f"{name}.npy", lambda f, a=images.numpy(): np.save(f, a))
                save_png(image_grid(images[:GRID_IMAGES], nrow=GRID_ROW, scale=args.scale), out / f"{name}.png")
        except BaseException:
            if made and not any(out.iterdir()):
                out.rmdir()
            raise
        print(f"wrote {', '.join(arrays)} (.png, .npy) of step {run.step} to {out}")

    run_cli(run)


if __name__ == "__main__":
    main()
