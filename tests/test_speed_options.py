"""Precision, memory layout, optimizer and recipe options: each changes what it says and nothing else."""

import dataclasses

import pytest
import torch

from vaegan.config import TrainConfig
from vaegan.budget import Budget
from vaegan.experiment import comparison_configs
from vaegan.models import PRESETS, Discriminator
from vaegan.precision import autocast, bf16_is_native
from vaegan.recipes import DEFAULT_RECIPE, RECIPES, apply_recipe, default_config, recipe_model
from vaegan.training.methods import TRAINING
from vaegan.training.state import build_state
from tests.test_vaegan import batch


def stepped(kind: str, **cfg_fields) -> tuple[dict, dict]:
    """One training step of a small28 model from seed 1 -> (stats, networks)."""
    cfg_fields = {"precision": "fp32", **cfg_fields}  # "auto" would be bf16 on some CPUs: compare like with like
    cfg = dataclasses.replace(default_config(kind), model=PRESETS["small28"], seed=1, batch_size=16, **cfg_fields)
    state = build_state(cfg, TRAINING[kind].optimizer_groups, torch.zeros(64, 1, 28, 28, dtype=torch.uint8))
    x = batch(n=16)
    if cfg.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return TRAINING[kind].train_step(state, x), state.nets


@pytest.mark.parametrize("kind", ["vae", "vaegan"])
def test_channels_last_computes_the_same_step(kind):
    a_stats, a_nets = stepped(kind, channels_last=False)
    b_stats, b_nets = stepped(kind, channels_last=True)
    assert b_nets["encoder"].convs[0].weight.is_contiguous(memory_format=torch.channels_last)
    # losses and each network's gradient norm agree; the weights after the step are not compared, because a first
    # Adam/RMSProp step moves a parameter whose gradient is ~0 by ~lr whatever the sign of float rounding
    for key in a_stats:
        torch.testing.assert_close(a_stats[key], b_stats[key], rtol=1e-3, atol=1e-4, msg=key)


@pytest.mark.parametrize("kind", ["vae", "vaegan"])
def test_bf16_runs_the_networks_in_bf16_and_keeps_weights_and_losses_in_fp32(kind):
    fp32, _ = stepped(kind, precision="fp32")
    bf16, nets = stepped(kind, precision="bf16")
    assert all(p.dtype == torch.float32 for net in nets.values() for p in net.parameters())
    assert all(v.dtype == torch.float32 for v in bf16.values())
    # bf16 has 8 bits of mantissa: the same step's losses agree to a few percent, not to the last digit
    for key in (k for k in fp32 if k.startswith("loss/")):
        torch.testing.assert_close(bf16[key], fp32[key], rtol=0.05, atol=0.02, msg=key)
    with autocast("cpu", "bf16"):
        assert nets["encoder"].convs[0](torch.zeros(1, 1, 28, 28)).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="precision"):
        autocast("cpu", "fp16")
    assert isinstance(bf16_is_native("cpu"), bool)


def test_two_time_scales_give_the_discriminator_its_own_learning_rate():
    cfg = dataclasses.replace(default_config("vaegan"), model=PRESETS["small28"])
    cfg = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, discriminator_lr_scale=4.0))
    state = build_state(cfg, TRAINING["vaegan"].optimizer_groups, torch.zeros(64, 1, 28, 28, dtype=torch.uint8))
    lrs = {name: opt.param_groups[0]["lr"] for name, opt in state.optimizers.items()}
    assert lrs["discriminator"] == pytest.approx(4 * lrs["encoder"]) and lrs["decoder"] == lrs["encoder"]


def test_recipes_are_valid_configs_and_the_defaults_come_from_them():
    for name, recipe in RECIPES.items():
        cfg, model = apply_recipe(TrainConfig(), name)
        assert cfg.kind == recipe["kind"] and TrainConfig.from_dict(cfg.to_dict()) == cfg
        dataclasses.replace(PRESETS["small28"], **model)  # model overrides name real ModelConfig fields
    for kind, name in DEFAULT_RECIPE.items():
        assert default_config(kind) == apply_recipe(TrainConfig(), name)[0]
    gan = default_config("vaegan")
    assert gan.ema_horizon > 0 and gan.ema_decay == 0 and gan.optim.name == "rmsprop"
    # every schedule of the default follows the budget: a decay to lr_final after lr_hold, none per epoch
    assert gan.optim.lr_final < 1 and 0 < gan.optim.lr_hold < 1 and gan.optim.lr_decay_per_epoch == 1.0
    assert default_config("vae").ema_decay == default_config("vae").ema_horizon == 0
    assert apply_recipe(TrainConfig(), "paper+slim_dis+r1+fast_decay+ema")[0].optim.lr_decay_per_epoch == 0.35
    assert apply_recipe(TrainConfig(), "paper+slim_dis+r1+lr_decay+ema")[0].ema_decay > 0
    assert apply_recipe(TrainConfig(), "paper+ema+slim_dis")[0].ema_decay > 0
    with pytest.raises(ValueError, match="unknown recipe"):
        apply_recipe(TrainConfig(), "nope")


def test_comparison_configs_train_each_recipe_with_shared_encoder_and_decoder(fashion_mnist, tmp_path):
    configs = comparison_configs(Budget(steps=10), seeds=2, runs_dir=str(tmp_path),
                                 recipes=("vae", "paper", DEFAULT_RECIPE["vaegan"]))
    # a method's default recipe keeps the plain run name; any other is named in its run folder
    assert [(c.run_name, c.seed) for c in configs] == [
        (None, 0), ("paper", 0), (None, 0), (None, 1), ("paper", 1), (None, 1)]
    assert DEFAULT_RECIPE["vaegan"] == "paper+slim_dis+r1+late_decay+ema+bias_correction"
    assert configs[2].optim.bias_correction and not configs[1].optim.bias_correction  # the paper's RMSProp as published
    assert (configs[2].vaegan.r1_weight, configs[1].vaegan.r1_weight) == (1.0, 0.0)  # the recipe's loss settings too
    slim, paper = Discriminator(configs[2].model), Discriminator(configs[1].model)
    assert recipe_model(DEFAULT_RECIPE["vaegan"]) == {"dis_channels_scale": 0.5}
    assert [c.out_channels for c in slim.convs] == [32, 32, 64, 64]  # small28's (64, 128, 128) halved
    assert [c.out_channels for c in paper.convs] == [32, 64, 128, 128]
    without_dis = [dataclasses.replace(c.model, dis_channels_scale=1.0) for c in configs]
    assert all(m == without_dis[0] for m in without_dis)


def test_the_learning_rate_drops_once_per_epoch_and_the_drop_survives_a_resume(tiny_config):
    """lr_decay_per_epoch (the default VAE-GAN recipe's drop): 64 images at batch 32 are an epoch of 2 steps, so after
    5 steps every optimizer runs at lr * 0.5^2, and a run resumed from step 3 to 7 at lr * 0.5^3."""
    from vaegan.checkpoint import load_checkpoint
    from vaegan.run_folder import checkpoint_path
    from vaegan.training.loop import resume, train

    optim = dataclasses.replace(default_config("vaegan").optim, lr=1e-3, lr_decay_per_epoch=0.5, lr_final=1.0)

    def lrs(run) -> list[float]:  # of encoder, decoder and discriminator
        opts = load_checkpoint(checkpoint_path(run))["optimizers"]
        return [g["lr"] for o in opts.values() for g in o["param_groups"]]

    run = train(tiny_config("vaegan", steps=5, limit=64, checkpoint_every=5, optim=optim, run_name="five"))
    assert lrs(run) == pytest.approx([1e-3 * 0.5**2] * 3)
    run = train(tiny_config("vaegan", steps=3, limit=64, checkpoint_every=3, optim=optim, run_name="resumed"))
    assert lrs(run) == pytest.approx([1e-3 * 0.5] * 3)
    resume(run, {"steps": 7})
    assert lrs(run) == pytest.approx([1e-3 * 0.5**3] * 3)
