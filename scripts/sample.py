#!/usr/bin/env python3
"""Write prior samples, reconstructions and interpolations of a trained run (VAE or VAE-GAN) as PNG grids and
as .npy arrays (N x C x H x W uint8) that other tools, e.g. `python -m metrics fid`, can score."""

import argparse
from pathlib import Path

import numpy as np
import torch

from vaegan.atomic import atomic_write
from vaegan.cli import positive_int, run_cli
from vaegan.data import load_dataset
from vaegan.sampling import image_grid, interpolations, prior_samples, reconstructions, save_png
from vaegan.trained_run import load_trained_run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("--which", default="latest", choices=["latest", "best"], help="which checkpoint")
    p.add_argument("-n", "--num", type=positive_int, default=64, help="prior samples and reconstructions")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/samples/final-STEP)")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior samples")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    def run():
        run = load_trained_run(args.run_dir, args.which, args.device)
        out = Path(args.out or Path(args.run_dir) / "samples" / f"final-{run.step:07d}")
        out.mkdir(parents=True, exist_ok=True)
        d = run.cfg.data
        test = load_dataset(d.dataset, "test", root=d.root, download=d.download, image_size=d.image_size).images
        enc, dec = run.nets["encoder"], run.nets["decoder"]
        arrays = {
            "prior": prior_samples(dec, args.num, run.cfg.model.latent_dim, torch.Generator().manual_seed(args.seed)),
            "reconstructions": reconstructions(enc, dec, test[: args.num]),
            "inputs": test[: args.num],
            "interpolations": interpolations(enc, dec, test[:8], test[8:16], steps=10),
        }
        for name, images in arrays.items():
            atomic_write(out / f"{name}.npy", lambda f, a=images.numpy(): np.save(f, a))
            save_png(image_grid(images, nrow=10 if name == "interpolations" else 8), out / f"{name}.png")
        print(f"wrote {', '.join(arrays)} (.png, .npy) of step {run.step} to {out}")

    run_cli(run)


if __name__ == "__main__":
    main()
