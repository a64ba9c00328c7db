"""Held-out loss on the test split: the number to compare across checkpoints and runs."""

from __future__ import annotations

import torch

from vaegan.config import TrainConfig
from vaegan.data import to_model_range
from vaegan.losses.vae import kl_to_standard_normal, pixel_nll, reparameterize
from vaegan.noise import Noise
from vaegan.sampling import eval_mode


@torch.no_grad()
def heldout_losses(nets: dict, test_images: torch.Tensor, cfg: TrainConfig, n_batches: int) -> dict[str, float]:
    """Negative ELBO (beta = 1, one z sample per image, nats per image), its parts and pixel MSE on the first
    n_batches * batch_size test images. For a VAE-GAN the ELBO uses the VAE's pixel likelihood: a reference
    for how much the decoder still explains pixels, not what it was trained on.

    Uses its own seeded generator so that evaluating never shifts the training noise (resume stays exact).
    """
    enc, dec = nets["encoder"], nets["decoder"]
    device = next(enc.parameters()).device
    noise = Noise(torch.Generator(device=device).manual_seed(cfg.seed + 2))
    images = test_images[: n_batches * cfg.batch_size]
    totals = {"recon": 0.0, "kl": 0.0, "pixel_mse": 0.0}
    with eval_mode(enc, dec):
        for chunk in images.split(cfg.batch_size):
            x = to_model_range(chunk).to(device)
            mu, logvar = enc(x)
            a = dec.preactivation(reparameterize(mu, logvar, noise))
            totals["recon"] += pixel_nll(x, a, cfg.vae).sum().item()
            totals["kl"] += kl_to_standard_normal(mu, logvar).sum().item()
            totals["pixel_mse"] += (torch.tanh(dec.preactivation(mu)) - x).pow(2).mean((1, 2, 3)).sum().item()
    n = max(len(images), 1)
    out = {f"test/{k}": v / n for k, v in totals.items()}
    out["test/neg_elbo"] = out["test/recon"] + out["test/kl"]
    return out
