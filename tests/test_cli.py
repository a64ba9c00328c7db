"""The training, sampling and evaluation command lines: one-line errors for what a user can fix, budgets that mean
what they say, resume rules, and config validation that covers the Python API too."""

import dataclasses
import json
import os
import typing
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from script_runner import run_script

from vaegan.cli import build_parser, train_main
from vaegan.config import (DataConfig, ModelConfig, OptimConfig, SoftIntroVAELossConfig, TrainConfig,
                           VAEGANLossConfig, VAELossConfig, check_device)
from vaegan.evaluation.scoring import check_run_folder
from vaegan.training.loop import train

CONFIG_CLASSES = (DataConfig, ModelConfig, OptimConfig, VAELossConfig, VAEGANLossConfig, SoftIntroVAELossConfig,
                  TrainConfig)


def cli_error(capsys, main, *args) -> str:
    """Run a CLI main in process; return its one error line (and check that it is one line and exit 2)."""
    with pytest.raises(SystemExit) as e:
        main(*args)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def a_file(tmp_path) -> Path:
    """A regular file: no folder can be made below it, even by root (for whom chmod 0o555 blocks nothing)."""
    path = tmp_path / "file.txt"
    path.write_text("not a folder")
    return path


# --- 4. unwritable outputs fail up front, in one line naming the folder ---

def test_an_unwritable_runs_dir_fails_before_loading_any_data(tmp_path, capsys):
    runs = a_file(tmp_path) / "runs"
    # mnist is absent from tmp_path: had the data been loaded first, the error would be about it
    argv = ["--runs-dir", str(runs), "--dataset", "mnist", "--data-root", str(tmp_path)]
    err = cli_error(capsys, train_main, "vae", argv)
    assert f"--runs-dir {runs}" in err and "is a file, not a folder" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_runs_dir_fails_before_training(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir(mode=0o555)
    argv = ["--runs-dir", str(runs), "--dataset", "mnist", "--data-root", str(tmp_path)]
    err = cli_error(capsys, train_main, "vae", argv)
    assert f"--runs-dir {runs}" in err and "read-only" in err


def test_sample_and_evaluate_check_their_output_folder_before_any_work(tmp_path, capsys):
    blocked = a_file(tmp_path) / "out"
    # the run folder does not exist: the output folder is checked before the run is even loaded
    err = cli_error(capsys, run_script, "sample.py", str(tmp_path / "no-run"), "--out", str(blocked))
    assert f"--out {blocked}" in err
    err = cli_error(capsys, run_script, "evaluate.py", str(tmp_path / "no-run"), "--reports-dir", str(blocked))
    assert f"--reports-dir {blocked}" in err
    err = cli_error(capsys, run_script, "evaluate.py", str(tmp_path / "no-run"), "--out", str(blocked))
    assert f"--out {blocked}" in err


def test_compare_checks_its_output_folders_before_training(tmp_path, capsys):
    blocked = a_file(tmp_path) / "out"
    err = cli_error(capsys, run_script, "compare.py", "--runs-dir", str(blocked), "--dataset", "mnist",
                    "--data-root", str(tmp_path))
    assert f"--runs-dir {blocked}" in err
    err = cli_error(capsys, run_script, "compare.py", "--reports-dir", str(blocked), "--runs-dir", str(tmp_path / "r"),
                    "--dataset", "mnist", "--data-root", str(tmp_path))
    assert f"--reports-dir {blocked}" in err


@pytest.fixture
def vae_run(tiny_config):
    return train(tiny_config(steps=2, checkpoint_every=2))


def test_resuming_a_read_only_run_folder_fails_before_training(vae_run, capsys, monkeypatch):
    if os.geteuid() == 0:  # chmod does not stop root: make the check see what a read-only folder looks like
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != vae_run and real_access(p, mode))
    else:
        vae_run.chmod(0o555)
    try:
        err = cli_error(capsys, train_main, "vae", ["--resume", str(vae_run), "--steps", "4"])
    finally:
        vae_run.chmod(0o755)
    assert f"--resume {vae_run}" in err and "read-only" in err


# --- 5. a budget flag replaces the default budget; --dry-run shows it; --help shows every default ---

@pytest.mark.parametrize("argv, budget, expected", [
    (["--steps", "200"], "200 steps", (None, 200, None)),
    (["--minutes", "600"], "600 minutes", (None, None, 600.0)),
    (["--steps", "200", "--minutes", "1.5"], "200 steps or 1.5 minutes, whichever comes first", (None, 200, 1.5)),
    ([], "5 epochs", (5.0, None, None)),
])
def test_a_budget_flag_replaces_the_default_budget(fashion_mnist, capsys, argv, budget, expected):
    train_main("vae", [*argv, "--limit", "64", "--dry-run"])
    out, err = capsys.readouterr()
    cfg = json.loads(out)  # stdout stays the config alone
    assert (cfg["epochs"], cfg["steps"], cfg["minutes"]) == expected
    assert f"budget: {budget}\n" in err


def test_the_r1_flags_reach_the_config(fashion_mnist, capsys):
    train_main("vaegan", ["--r1", "2.5", "--r1-every", "8", "--limit", "64", "--dry-run"])
    cfg = json.loads(capsys.readouterr().out)
    assert (cfg["vaegan"]["r1_weight"], cfg["vaegan"]["r1_every"]) == (2.5, 8)


@pytest.mark.parametrize("kind", ["vae", "vaegan", "softintrovae"])
def test_help_shows_every_default(kind):
    lines = build_parser(kind).format_help().splitlines()
    options, current = [], None
    for line in lines:
        if line.startswith("  -"):
            current = [line]
            options.append(current)
        elif current is not None and line.startswith("    "):
            current.append(line)
        else:
            current = None
    missing = [o[0].split()[0] for o in options if "(default:" not in " ".join(o) and not o[0].startswith("  -h")]
    assert len(options) > 30 and not missing, f"no default shown for {missing}"
    text = " ".join(" ".join(o) for o in options)
    assert "(default: None)" not in text and "(default: False)" not in text and "(default: off)" in text


# --- 6. resume: the other script, and flags that cannot change ---

def test_resuming_with_the_other_script_names_the_right_one(vae_run, capsys):
    err = cli_error(capsys, train_main, "vaegan", ["--resume", str(vae_run), "--steps", "4"])
    assert "is a VAE run" in err and f"scripts/train_vae.py --resume {vae_run}" in err


def test_flags_that_cannot_change_on_resume_are_named(vae_run, capsys):
    err = cli_error(capsys, train_main, "vae", ["--resume", str(vae_run), "--lr", "0.1", "--batch-size", "8",
                                                "--latent-dim", "4", "--steps", "4"])
    assert "error: --batch-size, --latent-dim, --lr cannot change when resuming" in err
    assert "--steps" not in err


def test_budget_and_logging_cadence_change_on_resume_and_say_so(vae_run, capsys):
    train_main("vae", ["--resume", str(vae_run), "--steps", "3", "--log-every", "1", "--fid-every", "0"])
    out = capsys.readouterr().out
    assert "resume: applying budget 3 steps, log_every 1, fid_every 0" in out
    saved = TrainConfig.load(vae_run / "config.json")
    assert (saved.steps, saved.epochs, saved.log_every) == (3, None, 1)


def test_a_run_trained_elsewhere_resumes_on_the_device_given(vae_run, capsys):
    """A run saved on a GPU machine: its device is refused here unless --device names one this machine has."""
    import torch

    from vaegan.checkpoint import load_checkpoint, save_checkpoint
    from vaegan.run_folder import checkpoint_path

    path = checkpoint_path(vae_run)
    ckpt = load_checkpoint(path)
    save_checkpoint({k: v for k, v in ckpt.items() if k not in ("format", "version")}
                    | {"config": {**ckpt["config"], "device": "cuda:7"}}, path)
    if not torch.cuda.is_available():
        err = cli_error(capsys, train_main, "vae", ["--resume", str(vae_run), "--steps", "3"])
        assert "device 'cuda:7' is not available here; available: cpu" in err
    train_main("vae", ["--resume", str(vae_run), "--steps", "3", "--device", "cpu"])
    assert "device cpu" in capsys.readouterr().out
    assert load_checkpoint(path)["step"] == 3 and load_checkpoint(path)["config"]["device"] == "cpu"


# --- 7. devices ---

@pytest.mark.parametrize("device", ["foo", "cuda:64"])
def test_an_unavailable_device_is_one_line_listing_the_available_ones(device, capsys, tmp_path):
    with pytest.raises(ValueError, match=rf"^device '{device}' is not available here; available: cpu"):
        check_device(device)
    with pytest.raises(ValueError, match="is not available here"):
        dataclasses.replace(TrainConfig(), device=device).validate()
    err = cli_error(capsys, train_main, "vae", ["--device", device, "--runs-dir", str(tmp_path / "runs")])
    assert f"device '{device}' is not available here" in err


# --- 8. every numeric field is validated in the config, not only by argparse ---

# One value out of range for every numeric field: (class, field, bad value).
BAD_VALUES = [
    (DataConfig, "image_size", 0), (DataConfig, "limit", -5), (DataConfig, "channels", 2),
    (ModelConfig, "image_size", 0), (ModelConfig, "channels", 0), (ModelConfig, "latent_dim", -1),
    (ModelConfig, "kernel_size", 0), (ModelConfig, "enc_channels", (32, 0)), (ModelConfig, "enc_fc", -1),
    (ModelConfig, "dec_base_channels", 0), (ModelConfig, "dec_channels", (-64, 32)),
    (ModelConfig, "cppn_width", 0), (ModelConfig, "cppn_depth", -1), (ModelConfig, "cppn_frequencies", -1),
    (ModelConfig, "cppn_grid", -2),
    (ModelConfig, "dis_first_channels", 0), (ModelConfig, "dis_channels", (64, 0, 128)),
    (ModelConfig, "dis_channels_scale", 0.0), (ModelConfig, "dis_fc", 0), (ModelConfig, "dis_feature_layer", 0),
    (OptimConfig, "lr", 0.0), (OptimConfig, "betas", (0.9, 1.0)), (OptimConfig, "alpha", -0.1),
    (OptimConfig, "weight_decay", -1e-4), (OptimConfig, "lr_decay_per_epoch", 0.0),
    (OptimConfig, "discriminator_lr_scale", -1.0), (OptimConfig, "lr_final", 0.0), (OptimConfig, "lr_hold", 1.0),
    (VAELossConfig, "gaussian_sigma", 0.0), (VAELossConfig, "beta", -1.0), (VAELossConfig, "kl_warmup_steps", -10),
    (VAELossConfig, "kl_warmup_fraction", 1.5),
    (VAEGANLossConfig, "gamma", -1.0), (VAEGANLossConfig, "equilibrium_value", float("nan")),
    (VAEGANLossConfig, "equilibrium_margin", -0.1), (VAEGANLossConfig, "label_smoothing", 2.0),
    (VAEGANLossConfig, "pixel_weight", float("inf")), (VAEGANLossConfig, "r1_weight", -1.0),
    (VAEGANLossConfig, "r1_every", 0), (VAEGANLossConfig, "vae_start", 1.0),
    (SoftIntroVAELossConfig, "beta_rec", -1.0), (SoftIntroVAELossConfig, "beta_kl", float("nan")),
    (SoftIntroVAELossConfig, "beta_neg", -256.0), (SoftIntroVAELossConfig, "gamma_r", float("-inf")),
    (TrainConfig, "batch_size", 0), (TrainConfig, "epochs", -1.0), (TrainConfig, "steps", 2.5),
    (TrainConfig, "minutes", 0.0), (TrainConfig, "seed", -1), (TrainConfig, "ema_decay", 1.0),
    (TrainConfig, "ema_horizon", -0.1), (TrainConfig, "fid_checks", -1),
    (TrainConfig, "world_size", 0), (TrainConfig, "log_every", 0),
    (TrainConfig, "image_every", -1), (TrainConfig, "checkpoint_every", 0), (TrainConfig, "progress_seconds", 0.0),
    (TrainConfig, "eval_batches", -1), (TrainConfig, "fid_every", -5), (TrainConfig, "fid_samples", 1),
    (TrainConfig, "fid_gmm_images", -1),
    (TrainConfig, "fid_gmm_fits", 0),
]
PREFIX = {DataConfig: "data.", ModelConfig: "model.", OptimConfig: "optim.", VAELossConfig: "vae.",
          VAEGANLossConfig: "vaegan.", SoftIntroVAELossConfig: "softintrovae.", TrainConfig: ""}
SECTION = {DataConfig: "data", ModelConfig: "model", OptimConfig: "optim", VAELossConfig: "vae",
           VAEGANLossConfig: "vaegan", SoftIntroVAELossConfig: "softintrovae"}


def numeric_fields(cls) -> set[str]:
    def numeric(hint) -> bool:
        return any(numeric(a) for a in typing.get_args(hint)) if typing.get_args(hint) else hint in (int, float)
    return {name for name, hint in typing.get_type_hints(cls).items() if numeric(hint) and hint is not bool}


@pytest.mark.parametrize("cls", CONFIG_CLASSES, ids=lambda c: c.__name__)
def test_every_numeric_field_has_a_range_and_a_test(cls):
    ranged = {f.name for f in dataclasses.fields(cls) if "setting" in f.metadata and f.metadata["setting"].range}
    assert ranged == numeric_fields(cls)
    assert {f for c, f, _ in BAD_VALUES if c is cls} == numeric_fields(cls)


@pytest.mark.parametrize("cls, name, value", BAD_VALUES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_an_out_of_range_value_is_named_with_its_allowed_range(cls, name, value):
    cfg = TrainConfig(model=ModelConfig())
    if cls is TrainConfig:
        cfg = dataclasses.replace(cfg, **{name: value})
    else:
        part = dataclasses.replace(getattr(cfg, SECTION[cls]), **{name: value})
        cfg = dataclasses.replace(cfg, **{SECTION[cls]: part})
    with pytest.raises(ValueError) as e:
        cfg.validate()
    message = str(e.value)
    assert f"{PREFIX[cls]}{name} must be " in message and f"got {value!r}" in message
    assert any(f" {bound}" in message for bound in (">", "in [", "in (", "in {"))  # the allowed range or values


def test_the_defaults_and_every_preset_are_valid():
    from vaegan.models import PRESETS
    from vaegan.recipes import RECIPES, recipe_config

    for name in RECIPES:
        recipe_config(name).validate()
    for model in PRESETS.values():
        dataclasses.replace(TrainConfig(), model=model).validate()


@pytest.mark.parametrize("argv, message", [
    (["--beta", "-1"], "vae.beta must be a number >= 0, got -1.0"),
    (["--kl-warmup-steps", "-10"], "vae.kl_warmup_steps must be an integer >= 0, got -10"),
    (["--fid-every", "-5"], "fid_every must be an integer >= 0, got -5"),
    (["--gamma", "-1"], "vaegan.gamma must be a number >= 0, got -1.0"),
    (["--label-smoothing", "2"], "vaegan.label_smoothing must be a number in [0, 1), got 2.0"),
    (["--r1", "-1"], "vaegan.r1_weight must be a number >= 0, got -1.0"),
])
def test_nonsense_flags_are_refused_before_any_data_is_loaded(tmp_path, capsys, argv, message):
    err = cli_error(capsys, train_main, "vaegan", [*argv, "--dataset", "mnist", "--data-root", str(tmp_path)])
    assert err == f"error: {message}\n"


# --- 14. a run without a checkpoint ---

def test_a_run_without_a_checkpoint_is_not_told_to_resume(tmp_path):
    run = tmp_path / "00000-run"
    run.mkdir()
    (run / "config.json").write_text(TrainConfig().to_json())
    with pytest.raises(FileNotFoundError) as e:
        check_run_folder(run)
    assert "--resume" not in str(e.value) and "cannot be resumed; train it again" in str(e.value)


# --- 16. sample.py: all samples in the .npy, a screenful in the PNG ---

def test_sample_grids_show_a_screenful_and_the_arrays_hold_all(tiny_config, tmp_path):
    run = train(tiny_config(steps=1, checkpoint_every=1))
    out = tmp_path / "samples"
    run_script("sample.py", str(run), "-n", "150", "--out", str(out))
    assert np.load(out / "gmm.npy").shape[0] == 150 and np.load(out / "inputs.npy").shape[0] == 150
    for name in ("gmm", "inputs", "reconstructions"):
        width, height = Image.open(out / f"{name}.png").size
        assert width == height == 10 * 30 + 2, name  # 10 x 10 images of 28 pixels, 2 of padding
