"""The training loop on real Fashion-MNIST: loss goes down, exact resume, checkpoints, NaN, signals, TensorBoard."""

import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from vaegan.config import TrainConfig
from vaegan.training import loop, vae_step
from vaegan.checkpoint import CheckpointError, load_checkpoint
from vaegan.training.loop import NonFiniteLossError, resume, train
from vaegan.training.schedule import checks_due
from vaegan.training.signals import StoppedBySignal
from vaegan.training.methods import TRAINING
from vaegan.run_folder import checkpoint_path, numbered_folders, read_status
from vaegan.trained_run import load_trained_run

REPO = Path(__file__).resolve().parents[1]


def weights(run_dir) -> dict[str, dict[str, torch.Tensor]]:
    return load_checkpoint(checkpoint_path(run_dir))["nets"]


def test_vae_loss_goes_down_on_real_data(tiny_config):
    run = train(tiny_config(steps=120, limit=4096, batch_size=64, checkpoint_every=60, log_every=10, image_every=1000))
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    losses = [e.value for e in acc.Scalars("loss/total")]
    assert losses[-1] < 0.75 * losses[0]
    # held-out negative ELBO (nats per image) falls too, between the two checkpoints
    assert steps[-1]["test/neg_elbo"] < steps[0]["test/neg_elbo"]


def test_resume_is_bit_exact(tiny_config):
    straight = train(tiny_config(steps=6, run_name="straight"))
    half = train(tiny_config(steps=3, run_name="half"))
    resume(half, {"steps": 6})
    a, b = weights(straight), weights(half)
    for net in a:
        for key in a[net]:
            assert torch.equal(a[net][key], b[net][key]), f"{net}.{key} differs after resume"
    assert load_checkpoint(checkpoint_path(half))["step"] == 6
    resume(half)  # nothing left to do: returns without training or failing
    assert load_checkpoint(checkpoint_path(half))["step"] == 6


def test_resume_is_bit_exact_for_the_vaegan(tiny_config):
    straight = train(tiny_config("vaegan", steps=4, run_name="straight"))
    half = train(tiny_config("vaegan", steps=2, run_name="half"))
    resume(half, {"steps": 4})
    a, b = weights(straight), weights(half)
    assert set(a) == {"encoder", "decoder", "discriminator"}
    assert all(torch.equal(a[n][k], b[n][k]) for n in a for k in a[n])


def test_resume_with_a_new_budget_replaces_the_old_one(tiny_config):
    run = train(tiny_config(steps=None, epochs=0.25, limit=256))  # 2 of 8 steps per epoch
    assert load_checkpoint(checkpoint_path(run))["step"] == 2
    resume(run, {"steps": 5})  # the saved epochs=0.25 must not cap it
    assert load_checkpoint(checkpoint_path(run))["step"] == 5
    saved = TrainConfig.load(run / "config.json")
    assert (saved.steps, saved.epochs) == (5, None)
    assert json.loads((run / "status.json").read_text())["status"] == "finished"


class StepClock:
    """A stand-in for time.monotonic in the loop: every reading is one second after the previous one, so a training
    step (read before and after) takes exactly one second; `wait` makes time pass outside the steps."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 1.0
        return self.now - 1.0

    def wait(self, seconds: float) -> None:
        self.now += seconds


def test_a_time_budget_counts_training_steps_not_checkpoints_and_survives_a_resume(tiny_config, monkeypatch):
    clock = StepClock()
    monkeypatch.setattr(loop, "time", clock)
    save = loop.save_with_heldout

    def slow_save(*args, **kwargs):  # a checkpoint (with its held-out loss) that takes 1000 s
        save(*args, **kwargs)
        clock.wait(1000.0)

    monkeypatch.setattr(loop, "save_with_heldout", slow_save)
    run = train(tiny_config(steps=None, minutes=5 / 60, checkpoint_every=2))
    ckpt = load_checkpoint(checkpoint_path(run))
    # Five one-second steps, although checkpoints at steps 2 and 4 had already spent 2000 s of wall time.
    assert ckpt["step"] == 5 and ckpt["train_seconds"] == 5.0 and ckpt["wall_seconds"] >= 2000.0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(r["step"], r["train_seconds"]) for r in records] == [(2, 2.0), (4, 4.0), (5, 5.0)]
    resume(run, {"minutes": 8 / 60})  # the saved training time counts: three more steps
    ckpt = load_checkpoint(checkpoint_path(run))
    assert (ckpt["step"], ckpt["train_seconds"]) == (8, 8.0)


def test_a_torn_metrics_line_does_not_swallow_the_next_record(tiny_config):
    run = train(tiny_config(steps=2, checkpoint_every=2))
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 3, "wall_sec')  # a crash in the middle of an append
    resume(run, {"steps": 4})
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["step"] == 4


def test_run_folders_never_collide_and_keep_the_config(tiny_config):
    cfg = tiny_config(steps=1)
    first, second = train(cfg), train(cfg)
    assert first != second and first.name.startswith("00000-fashion_mnist-vae-b32-s0")
    for run in (first, second):
        saved = TrainConfig.load(run / "config.json")
        assert saved.seed == cfg.seed and saved.kind == "vae"
        ckpt_cfg = TrainConfig.from_dict(load_checkpoint(checkpoint_path(run))["config"])
        assert ckpt_cfg.model is not None and ckpt_cfg.model.image_size == 28  # resolved architecture is saved
        assert (run / "samples").is_dir()
        # which files the run read: Fashion-MNIST's train and test images and labels, from the system copy
        assert saved.data.files == ckpt_cfg.data.files and len(saved.data.files) == 4
        assert all(Path(f).is_file() and "fashion-mnist" in f for f in saved.data.files)


def test_config_round_trips_and_rejects_unknown_fields():
    cfg = TrainConfig(kind="vaegan", seed=3)
    assert TrainConfig.from_dict(json.loads(cfg.to_json())) == cfg
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"sed": 1})


def test_tensorboard_has_every_tag(tiny_config):
    run = train(tiny_config(steps=6))
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    for tag in ("loss/total", "loss/recon", "loss/kl", "kl/active_dims", "kl/max_dim", "kl/weight", "lr/vae",
                "grad_norm/encoder", "grad_norm/decoder", "perf/images_per_sec", "test/neg_elbo", "test/pixel_mse"):
        assert tag in tags["scalars"], tag
    for tag in ("images/input_vs_reconstruction", "images/prior_samples", "images/interpolation"):
        assert tag in tags["images"], tag
    assert {"latent/mu", "latent/logvar"} <= set(tags["histograms"])
    assert acc.PluginTagToContent("hparams")  # the run's hyperparameters


def test_corrupt_or_mismatched_checkpoints_are_clear_errors(tiny_config, tmp_path):
    run = train(tiny_config(steps=3))
    path = checkpoint_path(run)
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated") as e:
        resume(run)
    assert str(path) in str(e.value)
    path.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match=str(path)):
        load_trained_run(run)
    path.write_bytes(good)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        resume(tmp_path / "nowhere")
    # the same checkpoint loaded into another architecture
    ckpt = load_checkpoint(path)
    ckpt["config"]["model"]["latent_dim"] = 8
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="does not match"):
        load_trained_run(run)


def test_a_crash_while_saving_keeps_the_good_checkpoint(tiny_config, monkeypatch):
    run = train(tiny_config(steps=3))
    path = checkpoint_path(run)
    good = path.read_bytes()

    def crash(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        resume(run, {"steps": 6})
    assert path.read_bytes() == good
    assert [p.name for p in path.parent.iterdir()] == ["latest.pt"]  # no temp file left behind
    status = read_status(run)
    assert (status.status, status.message, status.step) == ("failed", "OSError: disk full", 6)
    assert status.checkpoint_step == 3


def test_a_crash_after_the_last_step_is_failed_not_finished(tiny_config, monkeypatch):
    """status.json used to say "finished" before the final checkpoint and visuals were written."""
    def crash(*args, **kwargs):
        raise OSError("disk full\n(details of the second line)")

    monkeypatch.setattr(loop, "log_visuals", crash)  # the last thing a run writes
    with pytest.raises(OSError):
        train(tiny_config(steps=2, image_every=1000, checkpoint_every=1000))
    run = numbered_folders(tiny_config().runs_dir)[0]
    status = read_status(run)
    assert (status.status, status.message, status.step) == ("failed", "OSError: disk full", 2)
    assert status.pid == os.getpid() and status.host and status.heartbeat and not status.stale
    assert status.checkpoint_step == load_checkpoint(checkpoint_path(run))["step"] == 2


def test_a_crash_while_setting_up_is_failed_not_a_folder_without_status(tiny_config, monkeypatch):
    def missing_weights(*args, **kwargs):
        raise FileNotFoundError("FID weights not found")

    monkeypatch.setattr(loop, "fid_monitor_for", missing_weights)  # set up after the run folder exists
    with pytest.raises(FileNotFoundError):
        train(tiny_config(steps=2))
    status = read_status(numbered_folders(tiny_config().runs_dir)[0])
    assert (status.status, status.message, status.step, status.checkpoint_step) == (
        "failed", "FileNotFoundError: FID weights not found", 0, None)


def test_a_finished_run_records_its_checkpoint_and_process(tiny_config):
    run = train(tiny_config(steps=3))
    status = read_status(run)
    assert (status.status, status.step, status.checkpoint_step, status.pid) == ("finished", 3, 3, os.getpid())


class NotOurs:
    """Pickled as a class: torch's weights_only loader refuses it, with a page of advice."""


def test_an_unreadable_checkpoint_is_one_line_without_torch_advice(tmp_path, monkeypatch):
    path = tmp_path / "latest.pt"
    torch.save({"thing": NotOurs()}, path)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    message = str(e.value)
    assert "\n" not in message and "weights_only" not in message and "issue" not in message
    assert message == f"checkpoint {path} cannot be read: it is corrupt or truncated, or not a vaegan checkpoint; " \
                      "resume from another run or train again"
    assert "weights_only" in str(e.value.__cause__)  # kept for VAEGAN_DEBUG=1 tracebacks


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tiny_config, monkeypatch):
    def poisoned_step(state, x):
        stats = vae_step.vae_train_step(state, x)
        if state.step == 4:  # weights turn NaN after the 5th update: the 6th loss is NaN
            with torch.no_grad():
                next(state.nets["decoder"].parameters()).fill_(float("nan"))
        return stats

    monkeypatch.setitem(TRAINING, "vae", dataclasses.replace(TRAINING["vae"], train_step=poisoned_step))
    with pytest.raises(NonFiniteLossError, match="diverged at step 6") as e:
        train(tiny_config(steps=20, checkpoint_every=2))
    assert "step 4" in str(e.value)
    run = numbered_folders(tiny_config().runs_dir)[0]
    ckpt = load_checkpoint(checkpoint_path(run))
    assert ckpt["step"] == 4
    assert all(torch.isfinite(t).all() for sd in ckpt["nets"].values() for t in sd.values() if t.is_floating_point())
    status = read_status(run)
    assert (status.status, status.step, status.checkpoint_step) == ("diverged", 6, 4)


def test_a_non_finite_heldout_loss_is_null_in_metrics_and_not_checkpointed(tiny_config, monkeypatch):
    """An update that breaks the weights while its own loss is finite: the held-out loss of that checkpoint step
    used to be written as NaN (not JSON) and the broken weights kept as latest.pt."""
    def poisoned_step(state, x):
        stats = vae_step.vae_train_step(state, x)
        if state.step == 3:  # the 4th update leaves NaN weights behind a finite loss; step 4 is a checkpoint step
            with torch.no_grad():
                next(state.nets["decoder"].parameters()).fill_(float("nan"))
        return stats

    monkeypatch.setitem(TRAINING, "vae", dataclasses.replace(TRAINING["vae"], train_step=poisoned_step))
    with pytest.raises(NonFiniteLossError, match=r"step 4: held-out test/recon=nan.*test/neg_elbo=nan.*\(step 2\)"):
        train(tiny_config(steps=20, checkpoint_every=2))
    run = numbered_folders(tiny_config().runs_dir)[0]

    def refuse(name):
        raise ValueError(f"{name} in metrics.jsonl")

    records = [json.loads(line, parse_constant=refuse) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert records[1]["test/neg_elbo"] is None and records[1]["diverged"] is True and "diverged" not in records[0]
    assert load_checkpoint(checkpoint_path(run))["step"] == 2
    assert read_status(run).status == "diverged"


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_saves_marks_the_run_interrupted_exits_non_zero_and_resume_continues(tmp_path, signum, code):
    runs = tmp_path / "cli-runs"
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts/train_vae.py"), "--limit", "256", "--steps", "100000", "--runs-dir",
         str(runs), "--batch-size", "32", "--progress-seconds", "0.2", "--checkpoint-every", "100000"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("step "):
            break
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=120)
    name = signal.Signals(signum).name
    assert proc.returncode == code, "".join(lines) + out  # 128 + the signal: a caller tells a stop from a finish
    run = numbered_folders(runs)[0]
    assert f"{name}: saving a checkpoint" in out and f"stopped by {name} at step" in out and f"--resume {run}" in out
    status = read_status(run)
    assert (status.status, status.message) == ("interrupted", f"stopped by {name}")
    step = load_checkpoint(checkpoint_path(run))["step"]
    assert 0 < status.checkpoint_step == status.step == step < 100000
    resume(run, {"steps": step + 2})
    assert load_checkpoint(checkpoint_path(run))["step"] == step + 2


def test_cli_errors_are_one_clear_line(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts/train_vae.py"), "--dataset", "mnist", "--data-root", str(tmp_path)],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: mnist (train) not found") and "--download" in result.stderr
    assert "Traceback" not in result.stderr


def test_sample_script_writes_grids_and_arrays(tiny_config, tmp_path):
    run = train(tiny_config("vaegan", steps=2))
    out = tmp_path / "samples"
    subprocess.run([sys.executable, str(REPO / "scripts/sample.py"), str(run), "-n", "12", "--out", str(out)], check=True)
    import numpy as np

    gmm = np.load(out / "gmm.npy")  # the latent mixture by default, fitted on first use
    assert gmm.shape == (12, 1, 28, 28) and gmm.dtype == np.uint8 and not (out / "prior.npy").exists()
    subprocess.run([sys.executable, str(REPO / "scripts/sample.py"), str(run), "-n", "12", "--out", str(out),
                    "--sampler", "prior"], check=True)
    assert np.load(out / "prior.npy").shape == (12, 1, 28, 28)
    assert np.load(out / "interpolations.npy").shape == (80, 1, 28, 28)
    assert all((out / f"{n}.png").stat().st_size > 0 for n in ("gmm", "prior", "reconstructions", "interpolations"))


def test_fid_during_training_is_logged_and_keeps_the_best_checkpoint(tiny_config):
    run = train(tiny_config(steps=5, fid_every=2, fid_samples=200, ema_decay=0.9, fid_gmm_images=256))

    def fid_records() -> list[dict]:
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return [r for r in records if "fid/domain" in r]

    fids = fid_records()
    # every fid_every steps, and once more at the last step: the curve ends at the weights the run ends with
    assert [r["step"] for r in fids] == [2, 4, 5]
    resume(run, {"steps": 5})  # nothing left to train: no new point
    assert fid_records() == fids
    # live and averaged decoder on N(0, I), and the average with the latent mixture: the headline, picks best.pt
    keys = ("fid/domain", "fid_ema/domain", "fid_ema_gmm/domain")
    assert all(r[k] > 0 for r in fids for k in keys) and all(r["sharpness/laplacian_ratio"] > 0 for r in fids)
    assert all(r["time/fid_check_seconds"] > 0 for r in fids)  # each check's cost, beside the training time
    assert any(r["fid/domain"] != r["fid_ema/domain"] for r in fids)
    best = min(fids, key=lambda r: r["fid_ema_gmm/domain"])
    best_ckpt = load_checkpoint(checkpoint_path(run, "best"))
    assert best_ckpt["step"] == best["step"]
    assert best_ckpt["extra"]["best_fid"]["value"] == pytest.approx(best["fid_ema_gmm/domain"])
    acc = EventAccumulator(str(run / "tensorboard"))
    acc.Reload()
    assert all([e.step for e in acc.Scalars(k)] == [2, 4, 5] for k in keys)


def test_the_weight_average_follows_the_ramped_decay_and_resumes_exactly(tiny_config):
    run = train(tiny_config(steps=4, ema_decay=0.5, run_name="straight"))
    half = train(tiny_config(steps=2, ema_decay=0.5, run_name="half"))
    resume(half, {"steps": 4})
    a, b = (load_checkpoint(checkpoint_path(r)) for r in (run, half))
    assert set(a["ema"]) == {"encoder", "decoder"}
    assert all(torch.equal(a["ema"][n][k], b["ema"][n][k]) for n in a["ema"] for k in a["ema"][n])
    # after 4 updates the average is neither the last weights nor the first
    live, avg = a["nets"]["decoder"]["to_image.weight"], a["ema"]["decoder"]["module.to_image.weight"]
    assert not torch.equal(live, avg)
    # its BatchNorm statistics are recomputed for the averaged weights, not the live ones copied
    assert not torch.equal(a["nets"]["decoder"]["fc.1.running_mean"], a["ema"]["decoder"]["module.fc.1.running_mean"])
    # evaluation samples from the average
    loaded = load_trained_run(run)
    assert loaded.ema and torch.equal(loaded.nets["decoder"].to_image.weight, avg)
    assert torch.equal(load_trained_run(run, use_ema=False).nets["decoder"].to_image.weight, live)


def test_ema_decay_ramp_and_horizon():
    from vaegan.training.schedule import ema_decay
    fixed = TrainConfig(ema_decay=0.999)
    assert ema_decay(fixed, 0) == pytest.approx(0.1)
    assert ema_decay(fixed, 10**6) == 0.999
    assert ema_decay(fixed, 5) < ema_decay(fixed, 50)
    # a horizon: the average spans the same fraction of any run, i.e. 1 / (1 - decay) = horizon * steps
    spanned = TrainConfig(ema_horizon=0.05)
    assert [1 / (1 - ema_decay(spanned, n)) for n in (1000, 4000)] == pytest.approx([50.0, 200.0])
    assert ema_decay(spanned, 3) == 0.0  # the first 20 steps: the average is the live weights
    with pytest.raises(ValueError, match="ema_horizon 0.05 and ema_decay 0.9 both set"):
        dataclasses.replace(spanned, ema_decay=0.9).validate()


def learning_rates(run_dir) -> dict[int, float]:
    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    return {e.step: e.value for e in acc.Scalars("lr/vae")}


def test_the_learning_rate_follows_the_budget_not_the_step_count(tiny_config):
    # Two runs of one recipe, one four times as long: the same rate at 50% and 100% of their budgets, below the start.
    cfg = dict(optim=dataclasses.replace(TrainConfig().optim, lr=1e-3, lr_final=0.1), limit=256, checkpoint_every=10**6,
               image_every=10**6, eval_batches=0)
    short = learning_rates(train(tiny_config(steps=20, log_every=10, run_name="short", **cfg)))
    long = learning_rates(train(tiny_config(steps=80, log_every=40, run_name="long", **cfg)))
    # logged after step s: the rate that step s trained with, at progress (s - 1) / budget
    assert short[10] == pytest.approx(1e-3 * 0.1 ** (9 / 20)) and long[40] == pytest.approx(1e-3 * 0.1 ** (39 / 80))
    from vaegan.recipes import default_config
    from vaegan.budget import Budget
    from vaegan.training.schedule import lr_factor
    for optim in (cfg["optim"], default_config("vaegan").optim):  # and the default VAE-GAN recipe's schedule
        at = {}
        for budget in (Budget(steps=1000), Budget(steps=4000)):  # one epoch: 938 steps of Fashion-MNIST
            at[budget.steps] = [lr_factor(optim, int(p * budget.steps), 938, budget.progress(int(p * budget.steps), 0))
                                for p in (0.0, 0.5, 1.0)]
        assert at[1000] == pytest.approx(at[4000]) and at[1000][2] < at[1000][0] == 1.0
    assert at[1000][1:] == pytest.approx([1.0, default_config("vaegan").optim.lr_final])  # held at 50%, then decayed
    # a time budget: progress is training seconds over the budget, whichever limit is further along
    assert Budget(steps=4000, minutes=10).progress(1000, 300.0) == 0.5 and Budget(minutes=10).progress(10**6, 900.0) == 1.0
    assert Budget(epochs=2, steps=5000, steps_per_epoch=938).step_limit == 1876  # an epoch budget is a step budget
    # the per-epoch decay is still there, on top
    epochs = dataclasses.replace(optim, lr_final=1.0, lr_decay_per_epoch=0.5)
    assert [lr_factor(epochs, s, 8, 0.3) for s in (0, 7, 8, 17)] == [1.0, 1.0, 0.5, 0.25]


def test_a_resumed_run_continues_the_budget_schedules_exactly(tiny_config, monkeypatch):
    cfg = dict(optim=dataclasses.replace(TrainConfig().optim, lr_final=0.05, lr_decay_per_epoch=0.8), ema_horizon=0.3,
               vae=dataclasses.replace(TrainConfig().vae, kl_warmup_fraction=0.5), limit=64)  # 2 steps an epoch
    straight = load_checkpoint(checkpoint_path(train(tiny_config(steps=6, run_name="straight", **cfg))))
    agree = loop.agree_after_step

    def sigterm_after_step_3(state, *args):  # as if SIGTERM came during step 3 of the 6-step budget
        return agree(state, *args) or ("SIGTERM" if state.step == 3 else None)

    monkeypatch.setattr(loop, "agree_after_step", sigterm_after_step_3)
    with pytest.raises(StoppedBySignal):
        train(tiny_config(steps=6, run_name="half", **cfg))
    monkeypatch.setattr(loop, "agree_after_step", agree)
    half = numbered_folders(tiny_config().runs_dir)[-1]
    assert load_checkpoint(checkpoint_path(half))["step"] == 3
    resume(half)
    resumed = load_checkpoint(checkpoint_path(half))
    assert resumed["step"] == 6
    for group in ("nets", "ema"):
        assert all(torch.equal(straight[group][n][k], resumed[group][n][k]) for n in straight[group]
                   for k in straight[group][n]), group
    assert resumed["optimizers"]["vae"]["param_groups"][0]["lr"] == \
        straight["optimizers"]["vae"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * 0.05 ** (5 / 6) * 0.8 ** 2)


def test_fid_checks_spaced_over_the_budget_fall_once_each_and_at_the_last_step():
    from vaegan.training.loop import due_at
    cfg = TrainConfig(fid_checks=4, fid_every=1000, log_every=10**6, image_every=10**6, checkpoint_every=10**6)
    budget = 10
    fid_steps = [s for s in range(1, budget + 1)
                 if "fid" in due_at(cfg, s, (s - 1) / budget, s / budget, s == budget, stopped=False)]
    assert fid_steps == [3, 5, 8, 10]  # the steps that cross 1/4, 2/4, 3/4 and 4/4
    # every check of a time budget, however uneven the steps: each point once
    progress = [0.0, 0.1, 0.24, 0.26, 0.5, 0.51, 0.9, 1.0]
    crossed = [checks_due(a, b, 4) for a, b in zip(progress, progress[1:])]
    assert crossed == [False, False, True, True, False, True, True]
    assert due_at(cfg, budget, 0.9, 1.0, True, stopped=True) == {"log", "images", "checkpoint"}  # scored on resume


def test_fid_during_training_is_off_with_a_note_for_a_one_image_test_split():
    import io

    from vaegan.data import ImageDataset
    from vaegan.training.fid_monitor import fid_monitor_for

    one = ImageDataset(torch.zeros(1, 1, 28, 28, dtype=torch.uint8), None, "folder", "test", ("t/0.png",))
    out = io.StringIO()
    assert fid_monitor_for(TrainConfig(fid_every=10), one, torch.zeros(8, 1, 28, 28, dtype=torch.uint8), out) is None
    assert "test split has 1 image(s)" in out.getvalue()


def test_recalibrated_batchnorm_statistics_are_those_of_the_averaged_weights():
    """The averaged encoder's BatchNorm running mean becomes the mean of its own batch means over the chosen training
    images (computed here independently, on a copy in training mode); parameters and live networks are untouched."""
    import copy

    from vaegan.config import TrainConfig
    from vaegan.data.scaling import to_model_range
    from vaegan.models import PRESETS
    from vaegan.training.ema import recalibrate_batchnorm, update_ema
    from vaegan.training.state import build_state
    from vaegan.training.vaegan_step import OPTIMIZER_GROUPS

    images = torch.randint(0, 256, (96, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    state = build_state(TrainConfig(kind="vaegan", model=PRESETS["small28"], ema_decay=0.5), OPTIMIZER_GROUPS, images)
    with torch.no_grad():  # move the live weights so that the average differs from them
        for p in state.nets["encoder"].parameters():
            p.add_(0.3 * torch.randn_like(p))
    update_ema(state.ema, state.nets)
    live = {k: v.clone() for k, v in state.nets["encoder"].state_dict().items()}
    params = [p.clone() for p in state.ema["encoder"].parameters()]

    recalibrate_batchnorm(state.ema, images, batch_size=32, seed=7, n_images=64)

    encoder = state.ema["encoder"].module
    bn = next(m for m in encoder.modules() if isinstance(m, torch.nn.BatchNorm2d))
    chosen = torch.randperm(96, generator=torch.Generator().manual_seed(7))[:64]
    twin = copy.deepcopy(encoder).train()
    twin_bn = next(m for m in twin.modules() if isinstance(m, torch.nn.BatchNorm2d))
    means = []
    twin_bn.register_forward_hook(lambda m, inputs, out: means.append(inputs[0].mean((0, 2, 3))))
    with torch.no_grad():
        for rows in chosen.split(32):
            twin(to_model_range(images[rows]))
    torch.testing.assert_close(bn.running_mean, torch.stack(means).mean(0), rtol=1e-4, atol=1e-6)
    assert not torch.allclose(bn.running_mean, live[next(k for k in live if k.endswith("running_mean"))])
    assert all(torch.equal(p, q) for p, q in zip(params, state.ema["encoder"].parameters()))
    assert all(torch.equal(v, state.nets["encoder"].state_dict()[k]) for k, v in live.items())
    assert not state.ema["encoder"].training and not state.ema["decoder"].training


def test_a_finished_run_says_so_in_its_last_line(tiny_config):
    out = io.StringIO()
    run = train(tiny_config(steps=3), out=out)
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("finished at step 3 (") and last.endswith(str(run / "checkpoints" / "latest.pt"))
