#!/usr/bin/env python3
"""Why one default gamma serves 28x28 and 64x64. For the small28 and larsen64 presets (real Fashion-MNIST, resized
to 64x64 for larsen64, a few training steps with the defaults), prints the feature reconstruction loss L_llike and
the ratio of the decoder's two gradient norms at its last layer, |grad L_llike| / |grad L_adv|, under three ways of
reducing the squared Dis_l feature error:

  sum       summed over features (the original code; it used gamma = 1e-6 at 64x64)
  mean      averaged over features
  relative  averaged over features, divided by the mean square of the real features (vaegan's choice)

A normalisation that suits one default gamma gives similar numbers for both presets. Prints a table; not a test.
"""

import argparse
import dataclasses

import torch

from vaegan.recipes import default_config
from vaegan.data import load_dataset, to_model_range
from vaegan.losses.vae import reparameterize
from vaegan.losses.vaegan import decoder_adversarial_loss
from vaegan.models import resolve_model_config
from vaegan.training.state import build_state
from vaegan.training.vaegan_step import OPTIMIZER_GROUPS, vaegan_train_step

REDUCTIONS = {
    "sum": lambda err, real: err.sum(1).mean(),
    "mean": lambda err, real: err.mean(),
    "relative": lambda err, real: err.mean() / real.detach().pow(2).mean(),
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20, help="training steps before measuring")
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()
    print(f"{'preset':>9} {'features':>8} " + " ".join(f"{n + ' L_llike':>17} {n + ' grad ratio':>20}" for n in REDUCTIONS))
    for preset, size in (("small28", 28), ("larsen64", 64)):
        data = load_dataset("fashion_mnist", "train", image_size=None if size == 28 else size, limit=4096)
        cfg = dataclasses.replace(default_config("vaegan"), model=resolve_model_config(preset, size, 1),
                                  batch_size=args.batch_size)
        state = build_state(cfg, OPTIMIZER_GROUPS, data.images)
        for _ in range(args.steps):
            vaegan_train_step(state, to_model_range(next(state.batches)))
            state.step += 1
        enc, dec, dis = state.nets["encoder"], state.nets["decoder"], state.nets["discriminator"]
        x = to_model_range(next(state.batches))
        mu, logvar = enc(x)
        x_rec = dec(reparameterize(mu, logvar, state.noise))
        out = dis(torch.cat([x, x_rec]))  # one pass, as in training: shared BatchNorm statistics
        (f_real, f_rec), rec_logits = out.features.chunk(2), out.logits.chunk(2)[1]
        err = (f_real - f_rec).pow(2)
        last = dec.to_image.weight
        g_adv = torch.autograd.grad(decoder_adversarial_loss(rec_logits, cfg.vaegan.adversarial), last, retain_graph=True)[0].norm()
        cells = []
        for reduce in REDUCTIONS.values():
            loss = reduce(err, f_real)
            g_feat = torch.autograd.grad(loss, last, retain_graph=True)[0].norm()
            cells.append(f"{loss.item():>17.4g} {(g_feat / g_adv).item():>20.4g}")
        print(f"{preset:>9} {err.shape[1]:>8} " + " ".join(cells))


if __name__ == "__main__":
    main()
