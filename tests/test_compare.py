"""compare.py's library side: equal configs for both models, and reuse of runs that are already trained."""

import dataclasses
import io
import json

import pytest
import torch

from vaegan.config import TrainConfig
from vaegan.budget import Budget
from vaegan.experiment import Plan, comparison_configs, plan_run, run_plan
from vaegan.models import resolve_model_config
from vaegan.training import vae_step
from vaegan.checkpoint import load_checkpoint
from vaegan.run_folder import checkpoint_path
from vaegan.training.loop import train
from vaegan.training.methods import TRAINING


def set_status(run, status: str) -> None:
    record = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**record, "status": status}))


def test_budget_is_exactly_one_of_minutes_steps_epochs():
    assert Budget.exactly_one(minutes=7).fields() == {"epochs": None, "steps": None, "minutes": 7}
    assert Budget.exactly_one(steps=30).fields() == {"epochs": None, "steps": 30, "minutes": None}
    for bad in ({}, {"minutes": 7, "steps": 30}):
        with pytest.raises(ValueError, match="exactly one budget"):
            Budget.exactly_one(**bad)


def test_both_models_share_architecture_seed_budget_and_data(fashion_mnist, tmp_path):
    configs = comparison_configs(Budget(steps=30), seeds=2, runs_dir=str(tmp_path))
    assert [(c.kind, c.seed) for c in configs] == [("vae", 0), ("vaegan", 0), ("vae", 1), ("vaegan", 1)]
    # the same encoder and decoder; the discriminator (which the VAE does not use) is the VAE-GAN recipe's own
    without_dis = [dataclasses.replace(c.model, dis_channels_scale=1.0) for c in configs]
    assert all(m == without_dis[0] and c.model is not None for c, m in zip(configs, without_dis))
    assert configs[1].model == configs[3].model
    assert all((c.steps, c.epochs, c.minutes, c.data, c.batch_size) == (30, None, None, configs[0].data, 64)
               for c in configs)
    assert (configs[0].optim.name, configs[1].optim.name) == ("adam", "rmsprop")  # each keeps its paper's optimiser


def test_an_equal_finished_run_is_reused_and_a_different_one_is_not(tiny_config, tmp_path):
    run = train(tiny_config(steps=2))
    cfg = TrainConfig.load(run / "config.json")  # as requested, with the architecture resolved
    plan = plan_run(cfg)
    assert (plan.action, plan.run_dir, plan.status, plan.step) == ("reuse", run, "finished", 2)
    # Where and how it ran does not matter ...
    moved = dataclasses.replace(cfg, run_name="elsewhere", device="cpu:0", progress_seconds=1.0)
    assert plan_run(moved, cfg.runs_dir).run_dir == run
    # ... what it trains does.
    for other in (dataclasses.replace(cfg, steps=3), dataclasses.replace(cfg, seed=1),
                  dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, lr=5e-4))):
        assert plan_run(other).action == "train"
    out = io.StringIO()
    assert run_plan(plan, out) == run
    assert out.getvalue() == f"reusing {run} (finished, step 2)\n"


def test_an_interrupted_run_is_resumed_and_a_running_one_left_alone(tiny_config):
    run = train(tiny_config(steps=2))
    # An interrupted session of a steps=4 run looks like this: its config asks for more steps than it made.
    cfg = dataclasses.replace(TrainConfig.load(run / "config.json"), steps=4)
    (run / "config.json").write_text(cfg.to_json())
    set_status(run, "interrupted")
    plan = plan_run(cfg)
    assert (plan.action, plan.run_dir) == ("resume", run)
    out = io.StringIO()
    assert run_plan(plan, out) == run
    assert f"resuming {run} (interrupted at step 2)" in out.getvalue()
    assert load_checkpoint(checkpoint_path(run))["step"] == 4
    assert json.loads((run / "status.json").read_text())["status"] == "finished"

    set_status(run, "running")
    plan = plan_run(cfg)
    assert plan.action == "train" and "another process may be training it" in plan.skipped[0]


def test_plans_need_the_resolved_architecture(tiny_config):
    with pytest.raises(ValueError, match="model resolved"):
        plan_run(tiny_config())


def test_a_run_that_diverges_is_returned_for_the_report(tiny_config, monkeypatch):
    def poisoned_step(state, x):
        stats = vae_step.vae_train_step(state, x)
        if state.step == 2:  # NaN weights after the 3rd update: the 4th loss is NaN, after the checkpoint at step 2
            with torch.no_grad():
                next(state.nets["decoder"].parameters()).fill_(float("nan"))
        return stats

    cfg = tiny_config(steps=10, checkpoint_every=2, model=resolve_model_config("auto", 28, 1))
    monkeypatch.setitem(TRAINING, "vae", dataclasses.replace(TRAINING["vae"], train_step=poisoned_step))
    out = io.StringIO()
    diverged = run_plan(Plan(cfg, "train"), out)
    assert json.loads((diverged / "status.json").read_text())["status"] == "diverged"
    assert "warning: vae seed 0 diverged; the report marks it" in out.getvalue()
    assert plan_run(cfg).action == "reuse"  # training it again would diverge again: the report shows it instead
