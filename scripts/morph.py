#!/usr/bin/env python3
"""An animated GIF of a closed latent walk through several test images (their encoder means) or prior samples, and
its frames as PNGs.

The walk goes k_0 -> k_1 -> ... -> k_(n-1) -> k_0 in --frames-per-step frames per leg (vaegan/morph.py), so the GIF
loops without a jump. Frames are drawn at the training size, or, for a run trained with --decoder cppn, at any --size.
Writes under --out (default: RUN_DIR/samples/morph-STEP/): morph.gif and frames/NNNN.png; frame i * frames-per-step
is key i."""

import argparse
import time
from pathlib import Path

import torch

from vaegan.cli import HelpWithDefaults, check_writable, positive_int, run_cli
from vaegan.config import check_device
from vaegan.latent_sampler import latent_codes
from vaegan.memory import check_frame_count, check_render_size
from vaegan.run_folder import saved_model_config
from vaegan.morph import EASES, save_gif, walk_codes
from vaegan.sampling import check_renderable, decode_at, encode_mean, save_png
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
    p.add_argument("--frame-ms", type=positive_int, default=80, help="milliseconds per GIF frame")
    p.add_argument("--which", default="latest", choices=["latest", "best"], help="which checkpoint")
    p.add_argument("--out", default=None, help="output folder (default: RUN_DIR/samples/morph-STEP)")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior codes (--through prior)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    args = p.parse_args()

    def run():
        check_device(args.device)
        check_writable(args.out or Path(args.run_dir) / "samples", "--out")
        saved = saved_model_config(args.run_dir)
        if args.size and saved is not None and saved.get("decoder") == "cppn":  # before anything is loaded
            check_render_size(args.size, saved["channels"])
        run = load_trained_run(args.run_dir, args.which, args.device)
        model = run.cfg.model
        size = args.size or model.image_size
        check_renderable(model, size)
        check_render_size(size, model.channels)
        # The walk has --n legs of --frames-per-step frames (vaegan.morph.walk_codes), all held for the GIF.
        check_frame_count(args.n * args.frames_per_step, size, model.channels, FRAMES_PER_PROGRESS_LINE)
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
            save_png(frame, out / "frames" / f"{i:04d}.png")
        save_gif(frames, out / "morph.gif", args.frame_ms)
        print(f"wrote morph.gif and {len(frames)} frames (frames/NNNN.png) of a walk through {len(keys)} "
              f"{'test images' if args.through == 'test' else 'prior samples'} (step {run.step}) to {out}")

    run_cli(run)


if __name__ == "__main__":
    main()
