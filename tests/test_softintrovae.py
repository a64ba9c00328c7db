"""Soft-IntroVAE's rules, proved with gradients: who learns from what, in which order, and that it learns."""

import copy
import dataclasses
import json

import pytest
import torch
import torch.nn.functional as F

from vaegan.checkpoint import load_checkpoint
from vaegan.config import SoftIntroVAELossConfig, TrainConfig
from vaegan.losses.softintrovae import soft_exponential
from vaegan.models import PRESETS
from vaegan.recipes import default_config
from vaegan.run_folder import checkpoint_path
from vaegan.training.loop import resume, train
from vaegan.training.softintrovae_step import OPTIMIZER_GROUPS, softintrovae_train_step
from vaegan.training.state import build_state

S = 1 / (28 * 28)  # the authors' scale: 1 / (C * H * W)
# beta_neg 1 (not the default 256) keeps the exponential terms near 1/alpha at initialisation, so their gradients are
# large enough for a test to see whether they are there; gamma_r 0.5 does the same for the decoder's re-encodings.
TEST_WEIGHTS = SoftIntroVAELossConfig(beta_rec=1.0, beta_kl=1.0, beta_neg=1.0, gamma_r=0.5)


def make_state(lrs=None, cfg=TEST_WEIGHTS, **overrides):
    """A small28 Soft-IntroVAE whose optimizers are plain SGD with the given learning rates (0: only .grad is set)."""
    train_cfg = TrainConfig(kind="softintrovae", model=PRESETS["small28"], softintrovae=cfg, seed=1,
                            **{"precision": "fp32", **overrides})  # compared with an fp32 reference
    state = build_state(train_cfg, OPTIMIZER_GROUPS, torch.zeros(64, 1, 28, 28, dtype=torch.uint8))
    lrs = lrs or {}
    state.optimizers = {name: torch.optim.SGD(state.nets[name].parameters(), lr=lrs.get(name, 0.0))
                        for name in OPTIMIZER_GROUPS}
    return state


def batch(seed=0, n=16):
    g = torch.Generator().manual_seed(seed)
    # Smooth blobs in [-1, 1], closer to images than white noise.
    x = F.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 5, 1, 2) * 4 - 2
    return x.clamp(-1, 1)


# --- Algorithm 1 written out plainly, independently of vaegan/losses/softintrovae.py ---

def sq_err(target, recon):
    """The authors' "mse" summed per image, on the [0, 1] pixel scale (our images are in [-1, 1])."""
    return (((recon - target) / 2) ** 2).sum((1, 2, 3))


def kl(mu, logvar):
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)


def sample(mu, logvar, g):
    return mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g)


def reference_encoder_loss(enc, dec, x, g, w, detach_rec_target=False, with_exp=True):
    """-> (encoder loss, Z detached, Z_f); g replays the step's noise. The two flags break the loss on purpose."""
    z_f = torch.randn(x.shape[0], 32, generator=g)
    mu, logvar = enc(x)
    z = sample(mu, logvar, g)
    x_r = dec(z)
    with torch.no_grad():
        x_f = dec(z_f)
    loss = S * (w.beta_rec * sq_err(x, x_r).mean() + w.beta_kl * kl(mu, logvar).mean())
    for fake, target in ((x_r.detach(), x_r.detach() if detach_rec_target else x_r), (x_f, x_f)):
        m, lv = enc(fake)
        elbo = -S * (w.beta_rec * sq_err(target, dec(sample(m, lv, g))) + w.beta_neg * kl(m, lv))
        if with_exp:
            loss = loss + 0.25 * torch.exp(2 * elbo).mean()  # the authors' 0.25 * (expelbo_rec + expelbo_fake)
    return loss, z.detach(), z_f


def reference_decoder_loss(enc, dec, x, z, z_f, g, w):
    x_f = dec(z_f)
    x_r = dec(z)
    loss = S * w.beta_rec * sq_err(x, x_r).mean()
    for fake in (x_r, x_f):
        m, lv = enc(fake)
        again = dec(sample(m, lv, g).detach())
        fake_rec = sq_err(fake.detach(), again).mean()
        loss = loss + S * 0.5 * (w.beta_kl * kl(m, lv).mean() + w.gamma_r * w.beta_rec * fake_rec)
    return loss


def grads_of(loss, net):
    return [torch.zeros_like(p) if g is None else g
            for p, g in zip(net.parameters(), torch.autograd.grad(loss, list(net.parameters()), retain_graph=True,
                                                                  allow_unused=True))]


def assert_grads_equal(net, expected):
    for p, e in zip(net.parameters(), expected):
        torch.testing.assert_close(p.grad, e, rtol=1e-4, atol=1e-7)


def differs(a, b):
    """Whether two gradient lists differ by far more than assert_grads_equal tolerates."""
    return any(not torch.allclose(x, y, rtol=1e-2, atol=1e-5) for x, y in zip(a, b))


def test_each_network_gets_the_gradient_of_its_own_loss_in_the_authors_order():
    """The encoder's gradient is that of its loss at the old weights; the decoder's is that of its loss through the
    *updated* encoder (Algorithm 1 and the authors' loop update the encoder first)."""
    state = make_state(lrs={"encoder": 0.5})  # the encoder moves, the decoder's lr 0 keeps it as it was
    enc, dec = state.nets["encoder"], state.nets["decoder"]
    old_enc = copy.deepcopy(enc)
    x, noise_state = batch(), state.noise.get_state()
    softintrovae_train_step(state, x)

    g = torch.Generator().manual_seed(0)
    g.set_state(noise_state)
    enc_loss, z, z_f = reference_encoder_loss(old_enc, dec, x, g, TEST_WEIGHTS)
    for p, e in zip(enc.parameters(), grads_of(enc_loss, old_enc)):  # the step's encoder .grad
        torch.testing.assert_close(p.grad, e, rtol=1e-4, atol=1e-7)
    g_after_encoder = g.get_state()
    dec_loss = reference_decoder_loss(enc, dec, x, z, z_f, g, TEST_WEIGHTS)
    assert_grads_equal(dec, grads_of(dec_loss, dec))

    # The test could fail. Each loss reaches the other network, so the step must have kept it out:
    assert differs(grads_of(enc_loss, dec), [torch.zeros_like(p) for p in dec.parameters()])
    assert differs(grads_of(dec_loss, enc), [torch.zeros_like(p) for p in enc.parameters()])
    # ... the decoder's loss through the encoder as it was before its step gives another gradient:
    g.set_state(g_after_encoder)
    stale = reference_decoder_loss(old_enc, dec, x, z, z_f, g, TEST_WEIGHTS)
    assert differs(grads_of(stale, dec), [p.grad for p in dec.parameters()])
    # ... and the encoder's gradient holds the exponential terms, with X_r as an undetached target (the authors').
    for broken in ({"with_exp": False}, {"detach_rec_target": True}):
        g.set_state(noise_state)
        loss = reference_encoder_loss(old_enc, dec, x, g, TEST_WEIGHTS, **broken)[0]
        assert differs(grads_of(loss, old_enc), [p.grad for p in enc.parameters()]), broken


def test_each_optimizer_applies_its_own_gradient_once():
    """With SGD on both networks, each network's weights move by -lr times its own loss's gradient, and nothing
    else: the decoder phase, which runs through the encoder, leaves the encoder as the encoder phase left it."""
    lrs = {"encoder": 0.1, "decoder": 0.1}
    state = make_state(lrs=lrs)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in state.nets.items()}
    softintrovae_train_step(state, batch())
    for name, net in state.nets.items():
        for old, p in zip(before[name], net.parameters()):
            torch.testing.assert_close(p.detach(), old - lrs[name] * p.grad, rtol=0, atol=1e-6)
        assert any(not torch.equal(old, p) for old, p in zip(before[name], net.parameters())), name


def test_the_encoders_exponential_terms_never_move_the_decoder():
    """With beta_rec = beta_kl = gamma_r = 0 the decoder's loss is 0 while the encoder's is the exponential terms
    alone (which do depend on the decoder's weights): under Adam the encoder moves and the decoder stays put."""
    cfg = dataclasses.replace(TrainConfig(kind="softintrovae", model=PRESETS["small28"], seed=1),
                              softintrovae=SoftIntroVAELossConfig(beta_rec=0.0, beta_kl=0.0, beta_neg=1.0, gamma_r=0.0))
    state = build_state(cfg, OPTIMIZER_GROUPS, torch.zeros(64, 1, 28, 28, dtype=torch.uint8))
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in state.nets.items()}
    stats = softintrovae_train_step(state, batch())
    assert stats["soft/exp_elbo_fake"] > 0.1 and stats["loss/decoder"] == 0
    assert all(torch.equal(a, b) for a, b in zip(before["decoder"], state.nets["decoder"].parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before["encoder"], state.nets["encoder"].parameters()))


def test_the_soft_exponential_is_bounded_and_never_overflows():
    neg_elbo = torch.tensor([0.0, 1e-3, 10.0, 1e4, 1e30])
    value = soft_exponential(neg_elbo)
    assert torch.isfinite(value) and 0 < value <= 0.5
    assert soft_exponential(torch.tensor([0.0])) == 0.5  # 1/alpha
    assert soft_exponential(torch.tensor([1e6])) == 0.0  # underflows to no gradient: a fake the encoder already rejects


def test_bf16_runs_the_step_with_finite_losses():
    stats = softintrovae_train_step(make_state(lrs={"encoder": 1e-3, "decoder": 1e-3}, precision="bf16"), batch())
    assert all(torch.isfinite(v) for v in stats.values()), stats


def test_config_round_trips_and_validates():
    cfg = TrainConfig(kind="softintrovae", softintrovae=SoftIntroVAELossConfig(beta_neg=128.0, gamma_r=0.5))
    assert TrainConfig.from_dict(json.loads(cfg.to_json())) == cfg
    # A config saved before Soft-IntroVAE existed has no "softintrovae" key: it loads with the defaults.
    old = json.loads(cfg.to_json())
    del old["softintrovae"]
    assert TrainConfig.from_dict(old).softintrovae == SoftIntroVAELossConfig()
    with pytest.raises(ValueError, match="unknown SoftIntroVAELossConfig field"):
        TrainConfig.from_dict({"softintrovae": {"beta_negative": 1.0}})
    with pytest.raises(ValueError, match=r"softintrovae.beta_neg must be a number >= 0, got -1.0"):
        bad = SoftIntroVAELossConfig(beta_neg=-1.0)
        dataclasses.replace(cfg, model=PRESETS["small28"], softintrovae=bad).validate()
    recipe = default_config("softintrovae")
    assert (recipe.kind, recipe.optim.name, recipe.optim.lr) == ("softintrovae", "adam", 2e-4)
    assert recipe.softintrovae == SoftIntroVAELossConfig(beta_rec=1.0, beta_kl=1.0, beta_neg=256.0, gamma_r=1e-8)


def test_the_cli_flags_set_the_config(capsys, fashion_mnist):
    from vaegan.cli import train_main

    train_main("softintrovae", ["--beta-rec", "0.5", "--beta-kl", "2", "--beta-neg", "64", "--gamma-r", "0.1",
                                "--limit", "64", "--dry-run"])
    cfg = TrainConfig.from_dict(json.loads(capsys.readouterr().out))
    assert cfg.kind == "softintrovae" and cfg.optim.lr == 2e-4
    assert cfg.softintrovae == SoftIntroVAELossConfig(beta_rec=0.5, beta_kl=2.0, beta_neg=64.0, gamma_r=0.1)


def test_resume_is_bit_exact(tiny_config):
    straight = train(tiny_config("softintrovae", steps=4, run_name="straight"))
    half = train(tiny_config("softintrovae", steps=2, run_name="half"))
    resume(half, {"steps": 4})
    a, b = (load_checkpoint(checkpoint_path(run)) for run in (straight, half))
    assert set(a["nets"]) == {"encoder", "decoder"} and set(a["optimizers"]) == {"encoder", "decoder"}
    assert all(torch.equal(a["nets"][n][k], b["nets"][n][k]) for n in a["nets"] for k in a["nets"][n])


def test_it_learns_on_real_fashion_mnist(tiny_config):
    """A few dozen steps on real images: the real data's reconstruction and held-out error fall, the encoder gives
    generated images a worse ELBO than real ones (its critic's job), and nothing diverges."""
    run = train(tiny_config("softintrovae", steps=48, limit=2048, batch_size=32, log_every=8, image_every=1000,
                            checkpoint_every=24, optim=default_config("softintrovae").optim))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    series = {tag: [e.value for e in acc.Scalars(tag)]
              for tag in ("loss/recon", "loss/encoder", "loss/decoder", "kl/fake_minus_real")}
    for tag in ("loss/recon", "loss/encoder", "loss/decoder"):
        assert series[tag][-1] < 0.7 * series[tag][0], (tag, series[tag])
    # The authors' health check: the encoder, the critic, puts more nats into generated images than into real ones.
    diff = series["kl/fake_minus_real"]
    assert sum(diff[len(diff) // 2:]) > 0, diff
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["test/pixel_mse"] < records[0]["test/pixel_mse"], records
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
