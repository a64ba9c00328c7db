#!/usr/bin/env python3
"""An animated GIF of a closed latent walk through several test images (their encoder means) or prior samples, and
its frames as PNGs.

The walk goes k_0 -> k_1 -> ... -> k_(n-1) -> k_0 in --frames-per-step frames per leg (vaegan/morph.py), so the GIF
loops without a jump. Frames are drawn at the training size, or, for a run trained with --decoder cppn, at any --size,
then enlarged --scale times by nearest neighbour (by default enough for a GIF of at least 256 pixels: 280x280 from a
28x28 run). Writes under --out (default: RUN_DIR/samples/morph-STEP/): morph.gif and frames/NNNN.png; frame
i * frames-per-step is key i."""

import argparse
import time
from pathlib import Path

import torch

from vaegan.cli import HelpWithDefaults, check_writable, positive_int, run_cli
from vaegan.config import check_device
from vaegan.latent_sampler import latent_codes
from vaegan.memory import check_frame_count, check_render_size
from vaegan.run_folder import saved_model_config
from vaegan.morph import EASES, MIN_GIF_SIZE, gif_scale, save_gif, walk_codes
from vaegan.sampling import ENLARGE_INSTEAD, check_renderable, decode_at, encode_mean, save_png
from vaegan.trained_run import load_trained_run

FRAMES_PER_PROGRESS_LINE = 8  # frames drawn between progress lines (a 1024x1024 frame takes seconds on a CPU)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpWithDefaults)
    p.add_argument("run_dir", help="a run folder made by training")
    p.add_argument("--through", default="test", choices=["test", "prior"],
                   help="the keys: encoder means of the first --n test images, or --n codes from N(0, I)")
    p.add_argument("--n", type=positive_int, default=5, help="keys the walk passes through")
    p.add_argument("--frames-per-step", type=positive_int, default=12, help="frames from one key to the next")
    p.add_argument("--ease", default="linear", choices=sorted(EASES),
                   help="pace between keys: linear (even) or cosine (slow at the keys, fast between them)")
    p.add_argument("--size", type=positive_int, default=None,
                   help="frame width and height in pixels; other than the training size needs a --decoder cppn run "
                   "(default: the training size)")
    p.add_argument("--scale", type=positive_int, default=None,
                   help="enlarge the GIF and the frame PNGs this many times after drawing (nearest neighbour) "
                        f"(default: the least that makes them {MIN_GIF_SIZE} pixels or more: 10 for 28x28, 1 from "
                        f"{MIN_GIF_SIZE} up)")
    p.add_argument("--frame-ms", type=positive_int, default=80, help="milliseconds per GIF frame")
    p.add_argument("--which", default="latest", choices=["latest", "best"], help="which checkpoint")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/samples/morph-STEP)")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior codes (--through prior)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    args = p.parse_args()

    def run():
        check_device(args.device)
        check_writable(args.out or Path(args.run_dir) / "samples", "--out")

        def check_request(model: dict) -> tuple[int, int]:
            """(size, scale) to draw and enlarge at, after the checks that need only the run's model config."""
            size = args.size or model["image_size"]
            scale = args.scale or gif_scale(size)
            check_renderable(model.get("decoder", "conv"), model["image_size"], size, ENLARGE_INSTEAD)
            check_render_size(size, model["channels"])
            # The walk has --n legs of --frames-per-step frames (vaegan.morph.walk_codes), all held for the GIF,
            # which holds them enlarged.
            check_frame_count(args.n * args.frames_per_step, size * scale, model["channels"],
                              FRAMES_PER_PROGRESS_LINE)
            return size, scale

        if (saved := saved_model_config(args.run_dir)) is not None:  # before the checkpoint and data are loaded
            check_request(saved)
        run = load_trained_run(args.run_dir, args.which, args.device)
        model = run.cfg.model
        size, scale = check_request(vars(model))
        if args.through == "test":
            test = run.dataset("test").images
            keys = encode_mean(run.nets["encoder"], test[: args.n])
        else:
            keys = latent_codes("prior", args.n, model.latent_dim, torch.Generator().manual_seed(args.seed))
        codes = walk_codes(keys, args.frames_per_step, args.ease)
        out = Path(args.out or Path(args.run_dir) / "samples" / f"morph-{run.step:07d}")
        start, frames = time.perf_counter(), []
        for chunk in codes.split(FRAMES_PER_PROGRESS_LINE):
            frames.append(decode_at(run.nets["decoder"], model, chunk, size))
            done = sum(map(len, frames))
            print(f"frames: {done}/{len(codes)} at {size}x{size} ({time.perf_counter() - start:.1f} s)", flush=True)
        frames = torch.cat(frames)
        for i, frame in enumerate(frames):
            save_png(frame, out / "frames" / f"{i:04d}.png", scale)
        save_gif(frames, out / "morph.gif", args.frame_ms, scale)
        keys_are = "test images" if args.through == "test" else "prior samples"
        print(f"wrote morph.gif ({size * scale}x{size * scale}) and {len(frames)} frames (frames/NNNN.png) of a walk "
              f"through {len(keys)} {keys_are} (step {run.step}) to {out}")

    run_cli(run)


if __name__ == "__main__":
    main()
