#!/usr/bin/env python3
"""FID of a CPPN run's samples drawn large and scaled back down: does drawing at any size keep the images?

The same N latent codes (latent mixture, or N(0, I) with --sampler prior) are decoded at the training size and
rendered at --size, then area-averaged back to the training size, and both sets are scored against the test split
with the run's domain extractor. Equal FIDs mean the large renders are the same images, drawn more finely.

    python scripts/render_fid.py RUN_DIR --size 112 -n 2000
"""

import argparse

import torch
import torch.nn.functional as F

from metrics import cached_statistics, fid_between, get_extractor, score_samples
from vaegan.cli import check_writable, positive_int, run_cli
from vaegan.data import to_uint8
from vaegan.latent_sampler import SAMPLERS, latent_codes, trained_run_gmm
from vaegan.sampling import check_renderable, decode, eval_mode
from vaegan.trained_run import load_trained_run


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("--size", type=positive_int, default=112, help="render size, a multiple of the training size")
    p.add_argument("-n", "--num", type=positive_int, default=2000, help="samples per set")
    p.add_argument("--sampler", default="gmm", choices=list(SAMPLERS))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    def run():
        trained = load_trained_run(args.run_dir)
        dec, size = trained.nets["decoder"], trained.cfg.model.image_size
        check_renderable(trained.cfg.model, args.size)
        if args.size % size:
            raise ValueError(f"--size {args.size} is not a multiple of the training size {size}")
        gmm = trained_run_gmm(trained) if SAMPLERS[args.sampler].needs_gmm else None
        z = latent_codes(args.sampler, args.num, trained.cfg.model.latent_dim, torch.Generator().manual_seed(args.seed), gmm)
        native = decode(dec, z)
        with eval_mode(dec):
            large = torch.cat([dec.render(chunk, args.size) for chunk in z.split(100)])
        down = to_uint8(F.avg_pool2d(large, args.size // size))
        test = trained.dataset("test")
        extractor = get_extractor("domain")
        scores = {name: score_samples(images, test.images, extractor, kid=False)
                  for name, images in (("native", native), ("rendered", down))}
        for name, s in scores.items():
            print(f"{name:8s} ({size if name == 'native' else f'{args.size} -> {size}'}): FID {s['fid']:.2f}, "
                  f"sharpness {s['laplacian_ratio']:.2f} of real, N={s['n_fake']}")

    run_cli(run)


if __name__ == "__main__":
    main()
