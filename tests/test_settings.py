"""Settings declare themselves (vaegan/settings.py): a field added to a config class becomes a flag with its help,
default and range, and resume and run reuse follow its role, with no other edit; the CLI only changes what it is
given; the Python API and the CLI resolve to the same config; runs saved by earlier versions still load, resume and
score."""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from script_runner import run_script

from vaegan.cli import build_parser, config_from_args, refused_on_resume, train_main
from vaegan.config import OptimConfig, TrainConfig
from vaegan.evaluation.scoring import EvalConfig, build_reference, score_run
from vaegan.experiment import comparable
from vaegan.fid_key import FIDKey
from vaegan.recipes import RECIPES
from vaegan.resolve import configure, resolve, resumed_config
from vaegan.run_folder import read_status
from vaegan.settings import Range, setting
from vaegan.training.loop import resume

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run-vaegan-v1"
pytestmark = pytest.mark.filterwarnings("ignore:N=", "ignore:KID subsets of")  # small N on purpose: speed


@dataclass
class WarmOptim(OptimConfig):
    # a setting a contributor adds: nothing else in the package is edited
    warmup: float = setting(0.05, "fraction of the budget over which the learning rate ramps up", Range(0, 1),
                            group="optimisation")
    # and one that only says how often something is recorded
    lr_log_every: int = setting(10, "steps between learning-rate logs", Range(1), role="cadence")


@dataclass
class WarmConfig(TrainConfig):
    optim: WarmOptim = dataclasses.field(default_factory=WarmOptim)


def option_help(parser, flag: str) -> str:
    """The --help text of one option, its lines joined."""
    lines = parser.format_help().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(flag + " "))
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith(" " * 10):
            break
        block.append(line)
    return " ".join(part.strip() for part in block)


def test_a_new_numeric_field_becomes_a_flag_with_help_default_and_range():
    parser = build_parser("vae", base=WarmConfig())
    text = option_help(parser, "--warmup")
    assert "fraction of the budget over which the learning rate ramps up (default: 0.05)" in text
    cfg, _ = config_from_args(parser.parse_args(["--warmup", "0.25"]), "vae", base=WarmConfig())
    assert isinstance(cfg.optim, WarmOptim) and cfg.optim.warmup == 0.25
    assert cfg.optim.lr == 1e-3  # the rest is the VAE recipe's
    cfg, _ = config_from_args(parser.parse_args(["--warmup", "1.5"]), "vae", base=WarmConfig())
    with pytest.raises(ValueError, match=r"^optim.warmup must be a number in \[0, 1\], got 1.5$"):
        cfg.validate()
    # by its role: a result setting is refused on resume, a cadence one is accepted
    assert refused_on_resume({"optim.warmup", "optim.lr_log_every", "steps"}, WarmConfig) == ["--warmup"]


def test_a_recipe_value_without_a_flag_survives_the_command_line(fashion_mnist, capsys, monkeypatch):
    monkeypatch.setitem(RECIPES, "vae", {"kind": "vae", "vae": {"gaussian_sigma": 0.3, "beta": 0.5},
                                         "optim": {"weight_decay": 1e-4}, "data": {"limit": 96},
                                         "model": {"decoder": "cppn"}})
    train_main("vae", ["--dry-run", "--kl-warmup-steps", "10", "--steps", "5"])
    cfg = json.loads(capsys.readouterr().out)
    assert (cfg["vae"]["gaussian_sigma"], cfg["optim"]["weight_decay"], cfg["data"]["limit"]) == (0.3, 1e-4, 96)
    assert (cfg["vae"]["beta"], cfg["vae"]["kl_warmup_steps"]) == (0.5, 10)  # a flag given changes only its field
    assert cfg["model"]["decoder"] == "cppn"  # no --decoder given: the recipe's stays
    train_main("vae", ["--dry-run", "--beta", "2", "--decoder", "conv"])
    cfg = json.loads(capsys.readouterr().out)
    assert (cfg["vae"]["beta"], cfg["vae"]["gaussian_sigma"], cfg["model"]["decoder"]) == (2.0, 0.3, "conv")


def test_a_dry_run_says_which_sections_the_method_does_not_read(fashion_mnist, capsys):
    train_main("vae", ["--dry-run", "--limit", "64"])
    err = capsys.readouterr().err
    assert "not read by the VAE: softintrovae.*, vaegan.*" in err
    train_main("vaegan", ["--dry-run", "--limit", "64"])
    err = capsys.readouterr().err
    assert "not read by the VAE-GAN: softintrovae.*" in err and "vaegan.*" not in err


def test_compare_help_lists_whole_recipe_names(capsys):
    with pytest.raises(SystemExit):
        run_script("compare.py", "--help")
    words = set(capsys.readouterr().out.replace(",", " ").replace(")", " ").split())
    assert set(RECIPES) <= words  # a name is never split across lines


def test_python_and_the_command_line_resolve_the_same_cppn(fashion_mnist, capsys):
    train_main("vaegan", ["--dry-run", "--decoder", "cppn", "--limit", "64"])
    from_cli = json.loads(capsys.readouterr().out)
    cfg, model = configure("vaegan", {"model.decoder": "cppn", "data.limit": 64})
    from_python = resolve(cfg, model)[0]
    assert from_python.to_dict() == TrainConfig.from_dict(from_cli).to_dict()
    assert (from_python.model.cppn_frequencies, from_python.model.cppn_grid) == (4, 14)
    assert from_python.model.dis_channels_scale == 0.5  # the recipe's model change, from Python too


def test_what_a_resume_may_change_and_what_reuse_ignores_follow_the_roles():
    saved = TrainConfig(steps=100, epochs=None)
    resumed = resumed_config(saved, {"minutes": 3.0, "log_every": 7, "device": "cpu"})
    assert (resumed.steps, resumed.epochs, resumed.minutes, resumed.log_every) == (None, None, 3.0, 7)
    with pytest.raises(ValueError, match="optim.lr cannot change when resuming"):
        resumed_config(saved, {"optim.lr": 1.0})
    base = comparable(saved)
    assert comparable(dataclasses.replace(saved, device="cuda", run_name="x", progress_seconds=1.0)) == base
    assert comparable(dataclasses.replace(saved, data=dataclasses.replace(saved.data, files=("a",)))) == base
    assert comparable(dataclasses.replace(saved, log_every=7)) != base  # a cadence: what the run records differs


def test_an_fid_key_reads_back_what_it_writes():
    for key in (FIDKey("domain"), FIDKey("inception", ema=True), FIDKey("domain", ema=True, sampler="gmm")):
        assert FIDKey.parse(str(key)) == key
    assert str(FIDKey("domain", ema=True, sampler="gmm")) == "fid_ema_gmm/domain"
    assert FIDKey.parse("test/neg_elbo") is None
    assert FIDKey.headline(TrainConfig(ema_horizon=0.1)) == FIDKey("domain", True, "gmm")


@pytest.fixture
def saved_run(tmp_path, fashion_mnist):
    """A copy of a run folder written by the code before settings declared themselves."""
    run = tmp_path / "runs" / FIXTURE.name
    shutil.copytree(FIXTURE, run)
    return run


def test_a_run_saved_before_loads_resumes_and_scores(saved_run):
    saved = json.loads((saved_run / "config.json").read_text())
    cfg = TrainConfig.from_dict(saved)
    # the format is unchanged: it round-trips exactly, but for settings added since, at the values that keep the
    # saved run's behaviour
    round_trip = json.loads(cfg.to_json())
    assert round_trip["optim"].pop("bias_correction") is False  # added 2026-12-07: the plain RMSProp it trained with
    assert round_trip == saved
    resume(saved_run, {"steps": 6}, out=open("/dev/null", "w"))
    assert read_status(saved_run).step == 6
    assert json.loads((saved_run / "config.json").read_text())["steps"] == 6
    evaluation = EvalConfig(samples=64, reference_size=128, seed=0, attributes=False)
    reference = build_reference(cfg.data.dataset, None, None, evaluation, out=open("/dev/null", "w"))
    result = score_run(saved_run, reference, evaluation, out=open("/dev/null", "w"))
    assert result.kind == "vaegan" and result.step == 6
    fid = result.sample_scores["prior"]["fid"]
    assert 0 < fid < float("inf")
