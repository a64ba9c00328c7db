#!/usr/bin/env python3
"""Why one default gamma serves 28x28 and 64x64: the size of the VAE-GAN's loss terms and of the decoder's two
gradients (feature vs adversarial, at its last layer) for the small28 and larsen64 presets, under our per-feature
normalisation and under the sum over features that the original code used. Prints a table; not a test.

Both presets train on real Fashion-MNIST (resized to 64x64 for larsen64) for a few steps with the defaults.
"""

import argparse
import dataclasses

import torch

from vaegan.cli import default_config
from vaegan.data import load_dataset, to_model_range
from vaegan.losses.vaegan import vaegan_losses
from vaegan.models import resolve_model_config
from vaegan.training.state import build_state
from vaegan.training.vaegan_step import OPTIMIZER_GROUPS, vaegan_train_step


def last_layer_grad_norm(loss: torch.Tensor, decoder: torch.nn.Module) -> float:
    return torch.autograd.grad(loss, decoder.to_image.weight, retain_graph=True)[0].norm().item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=20, help="training steps before measuring")
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()
    print(f"{'preset':>9} {'Dis_l feats':>11} {'L_llike mean':>12} {'L_llike sum':>12} {'L_prior':>8} "
          f"{'|g_feat|/|g_adv| mean':>22} {'... sum':>10}")
    for preset, size in (("small28", 28), ("larsen64", 64)):
        data = load_dataset("fashion_mnist", "train", image_size=None if size == 28 else size, limit=4096)
        cfg = dataclasses.replace(default_config("vaegan"), model=resolve_model_config(preset, size, 1),
                                  batch_size=args.batch_size)
        state = build_state(cfg, OPTIMIZER_GROUPS, data.images)
        for _ in range(args.steps):
            vaegan_train_step(state, to_model_range(next(state.batches)))
            state.step += 1
        x = to_model_range(next(state.batches))
        losses = vaegan_losses(state.nets, x, state.noise, cfg.vaegan, cfg.vae, state.step)
        n_features = state.nets["discriminator"](x).features.shape[1]
        dec = state.nets["decoder"]
        g_feat = last_layer_grad_norm(losses.decoder_feature, dec)
        g_adv = last_layer_grad_norm(losses.decoder_adversarial, dec)
        mean = losses.stats["loss/feature"].item()
        print(f"{preset:>9} {n_features:>11} {mean:>12.4f} {mean * n_features:>12.1f} "
              f"{losses.stats['loss/prior'].item():>8.4f} {g_feat / g_adv:>22.3f} {g_feat * n_features / g_adv:>10.1f}")


if __name__ == "__main__":
    main()
