import math

import pytest
import torch
from torch import distributions as D

from vaegan.config import VAELossConfig
from vaegan.losses.vae import kl_to_standard_normal, pixel_nll, reparameterize, vae_loss
from vaegan.training.schedule import kl_weight
from vaegan.noise import Noise


def test_kl_matches_torch_distributions():
    mu, logvar = torch.randn(5, 7), torch.randn(5, 7)
    q = D.Normal(mu, (0.5 * logvar).exp())
    expected = D.kl_divergence(q, D.Normal(0.0, 1.0))
    torch.testing.assert_close(kl_to_standard_normal(mu, logvar), expected)
    assert kl_to_standard_normal(torch.zeros(2, 3), torch.zeros(2, 3)).abs().max() == 0


def test_bernoulli_nll_matches_the_log_likelihood_of_pixel_probabilities():
    x = torch.rand(4, 1, 6, 6) * 2 - 1
    a = torch.randn(4, 1, 6, 6)
    p = (torch.tanh(a) + 1) / 2  # the decoder's output as a probability
    t = (x + 1) / 2
    expected = -(t * p.log() + (1 - t) * (1 - p).log()).flatten(1).sum(1)
    torch.testing.assert_close(pixel_nll(x, a, VAELossConfig("bernoulli")), expected, rtol=1e-4, atol=1e-4)


def test_gaussian_nll_matches_normal_log_prob():
    x, a = torch.rand(3, 2, 4, 4) * 2 - 1, torch.randn(3, 2, 4, 4)
    cfg = VAELossConfig("gaussian", gaussian_sigma=0.2)
    expected = -D.Normal(torch.tanh(a), 0.2).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(pixel_nll(x, a, cfg), expected)
    with pytest.raises(ValueError, match="likelihood"):
        pixel_nll(x, a, VAELossConfig("laplace"))


def test_reparameterize_has_the_posterior_moments_and_is_seeded():
    mu, logvar = torch.full((20000, 2), 1.5), torch.full((20000, 2), math.log(0.25))
    z = reparameterize(mu, logvar, Noise(torch.Generator().manual_seed(0)))
    assert z.mean().item() == pytest.approx(1.5, abs=0.02) and z.std().item() == pytest.approx(0.5, abs=0.02)
    torch.testing.assert_close(z, reparameterize(mu, logvar, Noise(torch.Generator().manual_seed(0))))


def test_kl_warmup_ramps_linearly_to_beta_over_steps_or_over_the_budget():
    cfg = VAELossConfig(beta=2.0, kl_warmup_steps=100)
    assert [kl_weight(cfg, s, 0.0) for s in (0, 50, 100, 500)] == [0.0, 1.0, 2.0, 2.0]
    assert kl_weight(VAELossConfig(beta=0.5), 0, 0.0) == 0.5
    # over a fraction of the budget: the same weight at the same progress, whatever the step count
    by_budget = VAELossConfig(beta=2.0, kl_warmup_fraction=0.2, kl_warmup_steps=100)  # the fraction wins
    assert [kl_weight(by_budget, s, p) for s, p in ((0, 0.0), (7, 0.1), (7000, 0.1), (5, 0.2), (9, 0.9))] == \
        [0.0, 1.0, 1.0, 2.0, 2.0]


def test_vae_loss_returns_its_parts():
    x, a = torch.rand(4, 1, 6, 6) * 2 - 1, torch.randn(4, 1, 6, 6)
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3)
    loss = vae_loss(x, a, mu, logvar, VAELossConfig(beta=0.5), kl_weight=0.5)
    torch.testing.assert_close(loss.total, loss.recon + 0.5 * loss.kl)
    assert loss.kl_per_dim.shape == (3,)
    torch.testing.assert_close(loss.kl_per_dim.sum(), loss.kl)
