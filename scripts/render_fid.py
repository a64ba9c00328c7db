#!/usr/bin/env python3
"""FID of a CPPN run's samples drawn large and scaled back down: does drawing at any size keep the images?

The same N latent codes (latent mixture, or N(0, I) with --sampler prior) are decoded at the training size and
rendered at --size, then area-averaged back to the training size, and both sets are scored against the test split
with the run's domain extractor. Equal FIDs mean the large renders are the same images, drawn more finely.

Averaging a drawing down blurs its edges (an edge between two pixel centres becomes a grey pixel) where sampling it at
the pixel centres does not, so a third set gives the scale of that alone: the native samples enlarged to --size by
bicubic interpolation, then averaged down the same way. Rendered near "interpolated" means the large drawings are as
good as the samples themselves, enlarged; rendered far above it means the network draws worse between the training
pixels than plain interpolation does.

    python scripts/render_fid.py RUN_DIR --size 112 -n 2000
"""

import argparse
import time

import torch
import torch.nn.functional as F

from metrics import get_extractor, score_samples
from vaegan.cli import positive_int, run_cli
from vaegan.data import to_model_range, to_uint8
from vaegan.latent_sampler import SAMPLERS, latent_codes, trained_run_gmm
from vaegan.memory import check_render_size
from vaegan.run_folder import saved_model_config
from vaegan.sampling import check_renderable, decode, eval_mode
from vaegan.trained_run import load_trained_run
from vaegan.training.progress import format_seconds


# Large-image values held at once (2**26 fp32 = 256 MB): 64 images at 1024x1024.
CHUNK_VALUES = 2**26


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("--size", type=positive_int, default=112, help="render size, at least the training size")
    p.add_argument("-n", "--num", type=positive_int, default=2000, help="samples per set")
    p.add_argument("--sampler", default="gmm", choices=list(SAMPLERS))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    def run():
        saved = saved_model_config(args.run_dir)
        if saved is not None:  # before the checkpoint and data are loaded
            check_renderable(saved.get("decoder", "conv"), saved["image_size"], args.size)
            check_render_size(args.size, saved["channels"])
        trained = load_trained_run(args.run_dir)
        dec, size = trained.nets["decoder"], trained.cfg.model.image_size
        check_renderable(trained.cfg.model.decoder, size, args.size)  # a conv decoder: its training size only
        if args.size < size:
            raise ValueError(f"--size {args.size} is below the training size {size}: render larger to average down")
        check_render_size(args.size, trained.cfg.model.channels)

        def draw(codes: torch.Tensor, native_images: torch.Tensor) -> torch.Tensor:
            """codes -> images in [-1, 1] at --size: at the training size (the only one a conv decoder draws, which
            has no render) they are the native samples already decoded, else the decoder renders them."""
            return to_model_range(native_images) if args.size == size else dec.render(codes, args.size)
        gmm = trained_run_gmm(trained) if SAMPLERS[args.sampler].needs_gmm else None
        z = latent_codes(args.sampler, args.num, trained.cfg.model.latent_dim, torch.Generator().manual_seed(args.seed), gmm)
        native = decode(dec, z)
        # Large images a chunk at a time, averaged down before the next: memory stays ~CHUNK_VALUES floats at any size.
        chunk = max(1, CHUNK_VALUES // args.size**2)
        down, interpolated = [], []
        start = time.perf_counter()
        with eval_mode(dec):
            for codes, small in zip(z.split(chunk), native.split(chunk)):
                # Each pixel the mean of the area it covers (36 or 37 pixels wide at 1024 -> 28).
                down.append(to_uint8(F.adaptive_avg_pool2d(draw(codes, small), size)))
                enlarged = F.interpolate(to_model_range(small), size=args.size, mode="bicubic").clamp(-1, 1)
                interpolated.append(to_uint8(F.adaptive_avg_pool2d(enlarged, size)))
                done, elapsed = sum(map(len, down)), time.perf_counter() - start
                print(f"rendered {done}/{len(z)} at {args.size}x{args.size} ({format_seconds(elapsed)}, ETA "
                      f"{format_seconds(elapsed / done * (len(z) - done))})", flush=True)
        down, interpolated = torch.cat(down), torch.cat(interpolated)
        test = trained.dataset("test")
        extractor = get_extractor("domain", dataset=test.name)  # the network bundled for the run's data
        sets = {"native": (native, str(size)), "rendered": (down, f"{args.size} -> {size}"),
                "interpolated": (interpolated, f"{size} -> bicubic {args.size} -> {size}")}
        for name, (images, how) in sets.items():
            s = score_samples(images, test.images, extractor, kid=False)
            print(f"{name:12s} ({how}): FID {s['fid']:.2f}, sharpness {s['laplacian_ratio']:.2f} of real, "
                  f"N={s['n_fake']}")

    run_cli(run)


if __name__ == "__main__":
    main()
