"""The VAE-GAN's rules, proved with gradients: who learns from what, with which sign."""

import dataclasses
import io
import json

import pytest
import torch
import torch.nn.functional as F

from vaegan.config import TrainConfig, VAEGANLossConfig
from vaegan.models import PRESETS
from vaegan.training.state import build_state
from vaegan.training.vaegan_step import OPTIMIZER_GROUPS, adaptive_gamma, equilibrium_decisions, vaegan_train_step
from vaegan.losses.vaegan import r1_penalty, vaegan_losses
from vaegan.training.loop import train

N_PIXELS = 28 * 28


def make_state(gamma=1.0, lrs=None, decoder="conv", **gan):
    """A small28 VAE-GAN whose optimizers are plain SGD with the given learning rates (0: the step only stores .grad),
    with the preset's convolutional decoder, the coordinate one (decoder="cppn") or the coordinate one with a shift
    grid ("cppn_grid", its last conv moved off its zero start so that gradients reach every grid layer)."""
    grid = 14 if decoder == "cppn_grid" else 0
    model = dataclasses.replace(PRESETS["small28"], decoder=decoder.removesuffix("_grid"), cppn_grid=grid)
    cfg = TrainConfig(kind="vaegan", model=model, vaegan=VAEGANLossConfig(gamma=gamma, **gan), seed=1, precision="fp32")
    state = build_state(cfg, OPTIMIZER_GROUPS, torch.zeros(64, 1, 28, 28, dtype=torch.uint8))
    if grid:
        with torch.no_grad():
            state.nets["decoder"].grid.to_shift.weight.normal_(std=0.05)
    lrs = lrs or {}
    state.optimizers = {name: torch.optim.SGD(state.nets[name].parameters(), lr=lrs.get(name, 0.0)) for name in OPTIMIZER_GROUPS}
    return state


def batch(seed=0, n=16):
    g = torch.Generator().manual_seed(seed)
    # Smooth blobs in [-1, 1], closer to images than white noise.
    x = F.avg_pool2d(torch.rand(n, 1, 28, 28, generator=g), 5, 1, 2) * 4 - 2
    return x.clamp(-1, 1)


def reference_forward(state, x, noise_state):
    """Algorithm 1 written out plainly and independently of vaegan/losses/vaegan.py."""
    enc, dec, dis = state.nets["encoder"], state.nets["decoder"], state.nets["discriminator"]
    g = torch.Generator().manual_seed(0)
    g.set_state(noise_state)
    mu, logvar = enc(x)
    prior = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean() / N_PIXELS
    z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g)
    x_rec, x_p = dec(torch.cat([z, torch.randn(mu.shape, generator=g)])).chunk(2)  # one pass: shared BN statistics
    out = dis(torch.cat([x, x_rec, x_p]))  # one pass: shared BatchNorm statistics
    (f_real, f_rec, _), (l_real, l_rec, l_p) = out.features.chunk(3), out.logits.chunk(3)
    llike = ((f_real - f_rec) ** 2).mean() / (f_real.detach() ** 2).mean()
    bce = F.binary_cross_entropy_with_logits
    one, zero = torch.ones_like(l_real), torch.zeros_like(l_real)
    l_gan = bce(l_real, one) + bce(l_rec, zero) + bce(l_p, zero)  # the paper's three terms
    dec_adv = bce(l_rec, one) + bce(l_p, one)
    return prior, llike, l_gan, dec_adv


def grads_of(loss, net):
    return torch.autograd.grad(loss, list(net.parameters()), retain_graph=True, allow_unused=True)


def assert_grads_equal(net, expected):
    for p, e in zip(net.parameters(), expected):
        torch.testing.assert_close(p.grad, torch.zeros_like(p) if e is None else e, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("decoder", ["conv", "cppn", "cppn_grid"])
def test_each_network_gets_the_gradient_of_its_own_loss_only(decoder):
    state = make_state(gamma=0.7, decoder=decoder)
    x = batch()
    noise_state = state.noise.get_state()
    vaegan_train_step(state, x)  # lr 0: parameters stay, .grad holds what each optimizer was given

    prior, llike, l_gan, dec_adv = reference_forward(state, x, noise_state)
    enc, dec, dis = state.nets["encoder"], state.nets["decoder"], state.nets["discriminator"]
    assert_grads_equal(enc, grads_of(prior + llike, enc))
    assert_grads_equal(dec, grads_of(0.7 * llike + dec_adv, dec))
    assert_grads_equal(dis, grads_of(l_gan, dis))
    # The test could fail: L_GAN does have a gradient with respect to the encoder (through x~), and L_llike
    # with respect to the discriminator; the step must have kept both out.
    assert max(g.abs().max() for g in grads_of(dec_adv, enc)) > 1e-6
    assert max(g.abs().max() for g in grads_of(llike, dis) if g is not None) > 1e-6


def d_of_prior_samples(state, noise_state):
    """Mean Dis(x_p) on the prior samples the step draws (same noise), networks in training mode as in the step."""
    g = torch.Generator().manual_seed(0)
    g.set_state(noise_state)
    latent = state.cfg.model.latent_dim
    torch.randn(16, latent, generator=g)  # the reparameterisation noise comes first
    with torch.no_grad():
        return torch.sigmoid(state.nets["discriminator"](state.nets["decoder"](torch.randn(16, latent, generator=g))).logits).mean()


@pytest.mark.parametrize("decoder", ["conv", "cppn"])
@pytest.mark.parametrize("adversarial", ["non_saturating", "saturating"])
def test_a_decoder_step_raises_d_of_prior_samples(adversarial, decoder):
    # RMSProp's first step is about 10x lr per weight: the CPPN's tanh layers overshoot at the conv decoder's 0.05.
    lr = {"conv": 0.05, "cppn": 0.005}[decoder]
    state = make_state(gamma=0.0, lrs={"decoder": lr}, adversarial=adversarial, decoder=decoder)
    x, noise_state = batch(), state.noise.get_state()
    before = d_of_prior_samples(state, noise_state)
    vaegan_train_step(state, x)
    assert d_of_prior_samples(state, noise_state) > before


def test_a_discriminator_step_lowers_d_of_prior_samples():
    state = make_state(lrs={"discriminator": 0.05})
    x, noise_state = batch(), state.noise.get_state()
    before = d_of_prior_samples(state, noise_state)
    vaegan_train_step(state, x)
    assert d_of_prior_samples(state, noise_state) < before


def test_recon_fakes_flag_and_label_smoothing_change_only_the_discriminator_terms():
    x = batch()
    out = {}
    for name, kw in {"both": {}, "prior_only": {"reconstructions_as_fakes": False}, "smooth": {"label_smoothing": 0.2}}.items():
        state = make_state(**kw)
        out[name] = vaegan_losses(state.nets, x, state.noise, state.cfg.vaegan, state.cfg.vae.beta)
    assert out["both"].discriminator != out["prior_only"].discriminator
    torch.testing.assert_close(out["both"].encoder, out["prior_only"].encoder)
    assert out["smooth"].stats["loss/dis_real"] != out["both"].stats["loss/dis_real"]
    torch.testing.assert_close(out["smooth"].stats["loss/dis_fake"], out["both"].stats["loss/dis_fake"])


def real_gradient_energy(dis, x):
    """E ||grad_x Dis(x)||^2 written out plainly (independently of r1_penalty), Dis in training mode as in the step."""
    x = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(dis(x).logits.sum(), x, create_graph=True)
    return (g**2).sum(dim=(1, 2, 3)).mean()


def test_r1_penalty_reaches_the_discriminator_only_and_only_on_its_steps():
    x = batch()
    plain, with_r1 = make_state(), make_state(r1_weight=3.0, r1_every=2)
    vaegan_train_step(plain, x)
    stats = vaegan_train_step(with_r1, x)  # step 0: due (0 % 2 == 0)
    for name in ("encoder", "decoder"):
        for p, q in zip(plain.nets[name].parameters(), with_r1.nets[name].parameters()):
            torch.testing.assert_close(q.grad, p.grad, rtol=0, atol=0)
    # The discriminator's gradient is L_GAN's plus 3.0 / 2 * 2 (lazy weighting) times the penalty's.
    dis = with_r1.nets["discriminator"]
    # (r is None for the logit's bias: the input gradient does not depend on it). Double backward sums in another
    # order than the step's pass: equal up to round-off (~1e-5 on gradients of order 1).
    r1_grads = grads_of(real_gradient_energy(dis, x), dis)
    assert max(r.abs().max() for r in r1_grads if r is not None) > 1e-3  # a term the comparison can see
    for p, g, r in zip(dis.parameters(), (p.grad for p in plain.nets["discriminator"].parameters()), r1_grads):
        torch.testing.assert_close(p.grad, g if r is None else g + 3.0 * r, rtol=1e-3, atol=5e-5)
    torch.testing.assert_close(stats["loss/r1"], real_gradient_energy(dis, x).detach(), rtol=1e-5, atol=0)
    assert stats["loss/r1"] > 0
    # Step 1 is not due: the discriminator gets L_GAN's gradient alone and nothing is logged.
    plain.step = with_r1.step = 1
    vaegan_train_step(plain, x)
    stats = vaegan_train_step(with_r1, x)
    assert "loss/r1" not in stats
    for p, q in zip(plain.nets["discriminator"].parameters(), with_r1.nets["discriminator"].parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=0, atol=0)


def test_r1_keeps_the_discriminator_smooth_at_real_images():
    """Trained alone on the same batches, the discriminator with R1 ends with a smaller gradient at real images."""
    energy = {}
    for weight in (0.0, 10.0):
        state = make_state(lrs={"discriminator": 0.02}, r1_weight=weight, r1_every=1)
        for step in range(8):
            state.step = step
            vaegan_train_step(state, batch(seed=step))
        energy[weight] = r1_penalty(state.nets["discriminator"], batch(seed=99)).item()
    assert energy[10.0] < 0.5 * energy[0.0], energy


def test_equilibrium_rule():
    cfg = VAEGANLossConfig(equilibrium=True, equilibrium_value=0.68, equilibrium_margin=0.35)
    t = torch.tensor
    assert equilibrium_decisions(t(0.7), t(0.7), cfg) == (True, True)
    assert equilibrium_decisions(t(0.2), t(0.7), cfg) == (False, True)  # D too good on real: skip D
    assert equilibrium_decisions(t(0.7), t(1.2), cfg) == (True, False)  # D fooled: decoder gets no signal, skip it
    assert equilibrium_decisions(t(0.2), t(1.2), cfg) == (True, True)  # both would be skipped: train both
    assert equilibrium_decisions(t(0.01), t(0.01), VAEGANLossConfig(equilibrium=False)) == (True, True)


def test_equilibrium_skips_are_applied_and_logged():
    state = make_state(lrs={"discriminator": 0.1}, equilibrium=True, equilibrium_value=5.0, equilibrium_margin=0.1)
    before = [p.clone() for p in state.nets["discriminator"].parameters()]
    stats = vaegan_train_step(state, batch())  # cross-entropies ~0.7 < 5 - 0.1: D counts as too good
    assert stats["stabiliser/dis_skipped"] == 1 and stats["stabiliser/dec_skipped"] == 0
    assert all(torch.equal(a, b) for a, b in zip(before, state.nets["discriminator"].parameters()))


def test_r1_pass_runs_only_when_the_discriminator_trains():
    """The R1 penalty's extra pass of Dis (a double backward) is skipped on steps the equilibrium rule skips Dis."""
    def dis_passes(**gan):
        state = make_state(r1_weight=1.0, r1_every=1, **gan)
        calls = []
        state.nets["discriminator"].register_forward_hook(lambda *_: calls.append(1))
        stats = vaegan_train_step(state, batch())
        return len(calls), stats

    passes, stats = dis_passes(equilibrium=True, equilibrium_value=5.0, equilibrium_margin=0.1)  # D "too good"
    assert stats["stabiliser/dis_skipped"] == 1 and passes == 1 and "loss/r1" not in stats
    passes, stats = dis_passes(equilibrium=True)  # cross-entropies ~0.7: inside the band, D trains
    assert stats["stabiliser/dis_skipped"] == 0 and passes == 2 and stats["loss/r1"] > 0


@pytest.mark.parametrize("decoder", ["conv", "cppn"])
def test_adaptive_gamma_balances_the_decoder_gradients_at_its_last_layer(decoder):
    state = make_state(decoder=decoder)
    losses = vaegan_losses(state.nets, batch(), state.noise, state.cfg.vaegan, state.cfg.vae.beta)
    dec = state.nets["decoder"]
    gamma = adaptive_gamma(losses.decoder_feature, losses.decoder_adversarial, dec, 2.0)
    last = dec.to_image.weight
    g_feat = torch.autograd.grad(losses.decoder_feature, last, retain_graph=True)[0].norm()
    g_adv = torch.autograd.grad(losses.decoder_adversarial, last, retain_graph=True)[0].norm()
    torch.testing.assert_close(gamma * g_feat, 2.0 * g_adv, rtol=1e-4, atol=0)


def test_spectral_norm_and_pixel_term_run_through_the_step():
    state = make_state(pixel_weight=0.5)
    stats = vaegan_train_step(state, batch())
    assert stats["loss/pixel_mse"] > 0
    cfg = dataclasses.replace(state.cfg, model=dataclasses.replace(PRESETS["small28"], dis_spectral_norm=True))
    sn_state = build_state(cfg, OPTIMIZER_GROUPS, torch.zeros(64, 1, 28, 28, dtype=torch.uint8))
    assert torch.isfinite(vaegan_train_step(sn_state, batch())["loss/dis_fake"])


def test_init_from_a_vae_run_copies_encoder_and_decoder(tiny_config):
    from vaegan.checkpoint import load_checkpoint
    from vaegan.run_folder import checkpoint_path

    vae_run = train(tiny_config("vae", steps=2))
    # an lr far below float32's resolution of these weights: the one step leaves them as loaded (0 is not a valid lr)
    gan_run = train(tiny_config("vaegan", steps=1, init_from=str(vae_run), optim=dataclasses.replace(TrainConfig().optim, lr=1e-30)))
    vae_nets, gan_nets = load_checkpoint(checkpoint_path(vae_run))["nets"], load_checkpoint(checkpoint_path(gan_run))["nets"]
    for net in ("encoder", "decoder"):
        for k, v in vae_nets[net].items():
            if v.is_floating_point() and "running" not in k:  # BN running stats move in the forward pass
                assert torch.equal(v, gan_nets[net][k]), f"{net}.{k}"


@pytest.mark.slow
def test_vaegan_learns_on_real_fashion_mnist(tiny_config):
    run = train(tiny_config("vaegan", steps=240, limit=8192, batch_size=32, log_every=20, checkpoint_every=1000,
                            image_every=1000, optim=dataclasses.replace(TrainConfig().optim, name="rmsprop", lr=3e-4)))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    series = {tag: [e.value for e in acc.Scalars(tag)] for tag in ("loss/feature", "dis/D_x", "dis/D_x_p")}
    feature = series["loss/feature"]
    assert sum(feature[-3:]) / 3 < 0.7 * sum(feature[:2]) / 2, feature  # the learned-metric reconstruction improves
    d_x, d_xp = series["dis/D_x"], series["dis/D_x_p"]
    # Not saturated: D is not certain on every logged interval; not collapsed: it still tells real from fake.
    assert not all(a > 0.99 and b < 0.01 for a, b in zip(d_x, d_xp)), (d_x, d_xp)
    assert sum(d_x[-5:]) / 5 > sum(d_xp[-5:]) / 5 + 0.02, (d_x, d_xp)
    assert json.loads((run / "status.json").read_text())["status"] == "finished"


@pytest.mark.slow
def test_the_64x64_larsen_network_trains_on_real_images_and_writes_samples(tiny_config):
    """Fashion-MNIST resized to 64x64 through the paper's larsen64 network: the data path, shapes, losses and the
    sample grids of a 64x64 run, end to end (a few dozen steps: a 64x64 VAE-GAN step is slow on a CPU)."""
    from vaegan.config import DataConfig
    from vaegan.latent_sampler import trained_run_gmm
    from vaegan.trained_run import load_trained_run

    run = train(tiny_config("vaegan", steps=40, limit=256, batch_size=8, log_every=4, checkpoint_every=40,
                            image_every=40, data=DataConfig(image_size=64, limit=256), ema_decay=0.9,
                            optim=dataclasses.replace(TrainConfig().optim, name="rmsprop", lr=3e-4)))
    loaded = load_trained_run(run)
    assert (loaded.cfg.model.image_size, loaded.cfg.model.latent_dim) == (64, 128)  # larsen64, chosen by "auto"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    feature = [e.value for e in acc.Scalars("loss/feature")]
    assert len(feature) == 10 and all(0 < f < 100 for f in feature), feature  # logged every 4 steps, finite
    grid = run / "samples" / "prior-0000040.png"
    assert grid.stat().st_size > 0
    gmm = trained_run_gmm(loaded)  # the latent mixture of a 128-d latent space
    assert gmm.sample(4, torch.Generator().manual_seed(0)).shape == (4, 128)


def test_the_vae_start_trains_encoder_and_decoder_on_the_pixel_elbo_and_never_the_discriminator():
    state = make_state(vae_start=0.5)
    state.progress = 0.2  # inside the VAE start
    x = batch()
    noise_state = state.noise.get_state()
    stats = vaegan_train_step(state, x)
    enc, dec, dis = state.nets["encoder"], state.nets["decoder"], state.nets["discriminator"]
    assert stats["stage/vae_start"] == 1.0
    assert all(p.grad is None for p in dis.parameters())  # it did not even run
    # the reference: the pixel VAE's negative ELBO (Bernoulli on (x + 1) / 2, logits 2a) per pixel
    g = torch.Generator().manual_seed(0)
    g.set_state(noise_state)
    mu, logvar = enc(x)
    z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=g)
    a = dec.preactivation(z)
    nll = F.binary_cross_entropy_with_logits(2 * a, (x + 1) / 2, reduction="none").flatten(1).sum(1).mean()
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
    loss = (nll + kl) / N_PIXELS
    assert_grads_equal(enc, grads_of(loss, enc))
    assert_grads_equal(dec, grads_of(loss, dec))
    # past the hand-off: the three phases, the discriminator learning from its own loss again
    state.progress = 0.5
    stats = vaegan_train_step(state, batch(1))
    assert stats["stage/vae_start"] == 0.0 and "loss/dis_real" in stats
    assert all(p.grad is not None for p in dis.parameters())


def test_the_hand_off_is_recorded_once_at_the_vae_starts_last_step_and_read_back_for_the_fid_curves(tiny_config):
    from vaegan.evaluation.curves import vae_start_end
    from vaegan.run_folder import read_metrics

    out = io.StringIO()
    vaegan = dataclasses.replace(TrainConfig().vaegan, vae_start=0.5)
    run = train(tiny_config("vaegan", steps=6, vaegan=vaegan), out=out)  # steps 1-3 the VAE start, 4-6 three phases
    handoff = vae_start_end(read_metrics(run))
    assert handoff is not None and handoff.step == 3 and handoff.train_seconds > 0
    assert out.getvalue().count("the VAE start is over") == 1
    assert "step 3: the VAE start is over (50% of the budget)" in out.getvalue()
    plain = train(tiny_config("vaegan", steps=2), out=io.StringIO())  # no VAE start: nothing recorded
    assert vae_start_end(read_metrics(plain)) is None
