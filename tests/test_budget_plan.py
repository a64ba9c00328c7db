"""The main job's plan: steps and training time from measured step times, and the warning for too few steps."""

import dataclasses
import io

import pytest
import torch

from vaegan.methods import METHODS
from vaegan import budget_plan
from vaegan.budget_plan import RunPlan, announce, inception_seconds, plan_of, time_steps, too_few_steps
from vaegan.config import TrainConfig, VAEGANLossConfig
from vaegan.models import PRESETS


def test_a_time_budget_buys_steps_at_each_phase_s_own_step_time():
    cfg = TrainConfig(kind="vaegan", minutes=2.0, epochs=None)
    assert plan_of(cfg, {"main": 0.1}, 60000).steps == 1200  # 120 s at 0.1 s a step
    # a VAE start of 25% spends 30 s at 0.02 s a step (1,500 steps), then 90 s at 0.1 s (900)
    started = dataclasses.replace(cfg, vaegan=VAEGANLossConfig(vae_start=0.25))
    plan = plan_of(started, {"vae_start": 0.02, "main": 0.1}, 60000)
    assert (plan.steps, plan.train_seconds) == (2400, 120.0)
    # whichever limit comes first: 1 epoch of 60,000 images at batch 64 is 938 steps, 93.8 s
    both = dataclasses.replace(cfg, epochs=1.0)
    plan = plan_of(both, {"main": 0.1}, 60000)
    assert plan.steps == 938 and plan.train_seconds == pytest.approx(93.8)


def test_too_few_vaegan_steps_are_flagged_with_a_budget_that_would_do():
    cfg = TrainConfig(kind="vaegan", minutes=1.0, epochs=None)
    few = RunPlan(cfg, {"main": 0.15}, 400, 60.0)
    warning = too_few_steps(few)
    needed = METHODS["vaegan"].fair_steps
    assert "~400 steps" in warning and f"--steps {needed}" in warning
    assert f"--minutes {needed / 400:g}" in warning  # the same step time for the steps it needs: 1 min x 1000 / 400
    by_steps = too_few_steps(RunPlan(dataclasses.replace(cfg, minutes=None, steps=400), {"main": 0.15}, 400, 60.0))
    assert f"--steps {needed} would" in by_steps and "--minutes" not in by_steps
    assert too_few_steps(RunPlan(cfg, {"main": 0.05}, needed, 60.0)) is None
    assert too_few_steps(RunPlan(TrainConfig(kind="vae"), {"main": 0.01}, 10, 0.1)) is None  # the VAE has no floor


def test_time_steps_times_the_method_s_own_step_here(fashion_mnist):
    from vaegan.data import load_dataset
    images = load_dataset("fashion_mnist", "train", limit=256).images
    cfg = TrainConfig(kind="vaegan", model=PRESETS["small28"], batch_size=32, precision="fp32",
                      vaegan=VAEGANLossConfig(vae_start=0.5))
    gan, vae = time_steps(cfg, images, steps=2, warmup=1), time_steps(cfg, images, steps=2, warmup=1, progress=0.0)
    assert 0 < vae < gan  # the VAE start's steps skip the discriminator


def test_announce_says_when_everything_is_trained_already():
    out = io.StringIO()
    assert announce([], 4, out) == [] and "every run is trained already; evaluating 4 runs" in out.getvalue()


class _Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_inception_estimate_scales_a_timed_pass_and_reaches_the_eta(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(budget_plan.time, "perf_counter", clock)

    class TenthOfASecondAnImage:  # an extractor on a fake clock: 0.1 s per image, so the estimate is exact
        calls = []

        def features(self, images):
            self.calls.append(len(images))
            clock.now += 0.1 * len(images)

    extractor = TenthOfASecondAnImage()
    images = torch.zeros(10, 1, 28, 28, dtype=torch.uint8)
    assert inception_seconds(extractor, images, 4 * 2 * 10000) == pytest.approx(8000.0)
    assert extractor.calls == [5, 10]  # a warm-up on half, then the timed pass
    out = io.StringIO()
    announce([], 4, out, inception=600.0)
    assert "evaluating 4 runs; its Inception features ~10 min" in out.getvalue()
