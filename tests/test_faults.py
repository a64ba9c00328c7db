"""Faults found by probing (issue 29): a full disk, a read-only run folder, tiny test splits, requests too big for
memory, and files that are not what they should be. Each ends in one line naming the problem and its fix (exit 2),
and never in a status.json or an output folder that says something untrue."""

from __future__ import annotations

import dataclasses
import errno
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from script_runner import run_script

import metrics
import vaegan.atomic
import vaegan.run_folder
from fake_extractor import ProjectionExtractor
from vaegan.atomic import DiskFullError, atomic_torch_save, atomic_write
from vaegan.checkpoint import CheckpointError, load_state_into
from vaegan.cli import train_main
from vaegan.config import ModelConfig, TrainConfig
from vaegan.evaluation.figures import zoom_figure
from vaegan.evaluation.scoring import Reference, RunResult
from vaegan.latent_sampler import LatentGMM, gmm_for_run, gmm_path
from vaegan.run_folder import append_metrics, checkpoint_path, numbered_folders, read_config, read_status
from vaegan.training.loop import train

TORCH_FULL_DISK = "[enforce fail at inline_container.cc:672] . unexpected pos 8847168 vs 8847060"


def cli_error(capsys, main, *args) -> str:
    """Run a CLI main in process; its one error line (checked to be one line, with exit 2)."""
    with pytest.raises(SystemExit) as e:
        main(*args)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def full_disk_line(path) -> str:
    return f"error: no space left on device writing {path}; free space or pick another folder\n"


@pytest.fixture
def full_disk(monkeypatch):
    """Once `fill()` is called, the disk is full: free space reads 0, torch.save fails as it does on a full disk
    (its RuntimeError, the OS error dropped), and so does any new temp file. fill() is also torch.save's first call."""
    state = {"full": False}
    real_mkstemp = tempfile.mkstemp

    def fill():
        state["full"] = True

    def torch_save(*args, **kwargs):
        fill()
        raise RuntimeError(TORCH_FULL_DISK)

    def mkstemp(*args, **kwargs):
        if state["full"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(vaegan.atomic, "free_bytes", lambda folder: 0 if state["full"] else 10**12)
    monkeypatch.setattr(torch, "save", torch_save)
    monkeypatch.setattr(vaegan.atomic.tempfile, "mkstemp", mkstemp)
    return fill


TRAIN = ["--steps", "2", "--limit", "256", "--batch-size", "16", "--fid-every", "0", "--precision", "fp32"]


def the_run(runs: Path) -> Path:
    (run,) = numbered_folders(runs)
    return run


# --- 1. a full disk ---

def test_torch_save_on_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, full_disk):
    target = tmp_path / "latest.pt"
    target.write_bytes(b"the previous checkpoint")
    with pytest.raises(DiskFullError) as e:
        atomic_torch_save({"w": 1}, target)
    assert str(e.value) == f"no space left on device writing {target}; free space or pick another folder"
    assert e.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"the previous checkpoint"
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]  # the partial temp file is gone


def test_a_write_that_runs_out_of_space_names_the_file(tmp_path):
    def write(f):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DiskFullError, match=f"writing {tmp_path / 'a.npy'};"):
        atomic_write(tmp_path / "a.npy", write)
    assert not list(tmp_path.iterdir())


def test_a_real_torch_error_on_a_disk_with_room_is_left_as_it_is(tmp_path, monkeypatch):
    """Only a full disk becomes DiskFullError: another RuntimeError of torch.save keeps its own text."""
    monkeypatch.setattr(torch, "save", lambda *a: (_ for _ in ()).throw(RuntimeError("cannot pickle 'x'")))
    with pytest.raises(RuntimeError, match="cannot pickle"):
        atomic_torch_save({}, tmp_path / "x.pt")


def test_metrics_on_a_full_disk_name_the_file(tmp_path, monkeypatch):
    append_metrics(tmp_path, {"step": 1})
    real_open = open

    class FullFile:
        def __init__(self, *a):
            self.f = real_open(*a)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def __getattr__(self, name):
            return getattr(self.f, name)

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("builtins.open", FullFile)
    with pytest.raises(DiskFullError, match="metrics.jsonl; free space"):
        append_metrics(tmp_path, {"step": 2})


def test_a_full_disk_while_training_is_one_line_and_a_failed_status(fashion_mnist, tmp_path, capsys, full_disk):
    runs = tmp_path / "runs"
    err = cli_error(capsys, train_main, "vae", [*TRAIN, "--runs-dir", str(runs)])
    run = the_run(runs)
    assert err == full_disk_line(checkpoint_path(run, "latest"))
    status = json.loads((run / "status.json").read_text())
    # No temp file could be made, so status.json was rewritten in place: "failed", with the CLI's own line.
    assert status["status"] == "failed" and status["message"] == err.removeprefix("error: ").strip()
    assert read_status(run).summary.startswith("failed at step 2 (no space left on device writing")
    assert not list(run.glob("checkpoints/.*.tmp"))


def test_a_status_that_cannot_be_written_at_all_leaves_the_error_and_a_status_that_goes_stale(
        fashion_mnist, tmp_path, capsys, full_disk, monkeypatch):
    monkeypatch.setattr(vaegan.run_folder, "_overwrite_in_place", lambda path, text: False)
    runs = tmp_path / "runs"
    err = cli_error(capsys, train_main, "vae", [*TRAIN, "--runs-dir", str(runs)])
    run = the_run(runs)
    assert err == full_disk_line(checkpoint_path(run, "latest"))  # the checkpoint's error, not the status write's
    status = read_status(run)
    assert status.status == "running" and status.stale == ""  # this process is still alive ...
    monkeypatch.setattr(vaegan.run_folder, "_pid_alive", lambda pid: False)
    assert read_status(run).stale == "stale: process gone"  # ... and the next reader, once it is gone, says so


def test_a_full_disk_outside_the_atomic_writes_is_one_line_too(capsys):
    from vaegan.cli import run_cli

    def main():
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "samples/step-0000002.png")
        except OSError as e:
            raise RuntimeError("PIL could not save") from e

    err = cli_error(capsys, run_cli, main)
    assert err == full_disk_line("samples/step-0000002.png")


# --- 2. a test split smaller than the zoomed figure ---

def test_the_zoom_figure_shows_what_a_tiny_test_split_has(tmp_path):
    images = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    reference = Reference("fashion_mnist", "id", images, images, None, (np.zeros(1), np.zeros(1)))
    result = RunResult(tmp_path, "run", "vae", 0, {}, "finished", 2, "")
    result.reconstructions, result.samples = images, {"prior": images[:1], "gmm": images}
    zoom_figure(reference, [result], ["run"], tmp_path / "zoom.png")
    assert (tmp_path / "zoom.png").stat().st_size > 0


# --- 3. a read-only run folder ---

class TinyEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.mean = torch.nn.Linear(16, 2)

    def forward(self, x):
        mu = self.mean(x.flatten(1))
        return mu, mu


def test_a_mixture_that_cannot_be_cached_is_used_with_a_note(tmp_path, monkeypatch, capsys):
    def read_only(self, path):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(LatentGMM, "save", read_only)
    images = torch.randint(0, 256, (40, 1, 4, 4), dtype=torch.uint8)
    gmm = gmm_for_run(tmp_path, "latest", 2, TinyEncoder(), images)
    assert gmm.latent_dim == 2 and gmm.step == 2
    assert not gmm_path(tmp_path, "latest").exists()
    err = capsys.readouterr().err
    assert err == (f"note: latest.gmm.npz is used without being cached: {gmm_path(tmp_path, 'latest')} cannot be "
                   "written (Read-only file system), so it is recomputed on every use\n")


# --- 4. sweep.py checks its arguments first ---

def test_sweep_refuses_an_empty_recipe_list_and_an_unwritable_out_before_training(tmp_path, capsys):
    err = cli_error(capsys, run_script, "sweep.py", "--steps", "2", "--recipes", ",", "--runs-dir", str(tmp_path / "r"))
    assert err.startswith("error: --recipes ',' names no recipe; pass comma-separated names from ")
    blocked = tmp_path / "file.txt"
    blocked.write_text("not a folder")
    err = cli_error(capsys, run_script, "sweep.py", "--steps", "2", "--recipes", "vae", "--runs-dir",
                    str(tmp_path / "r"), "--out", str(blocked / "RECIPES.md"))
    assert f"--out {blocked / 'RECIPES.md'}" in err and "is a file, not a folder" in err
    assert not (tmp_path / "r").exists()  # nothing was trained


# --- 5. render_fid.py on a conv run ---

def test_render_fid_scores_a_conv_run_at_its_training_size_and_refuses_others(tiny_config, monkeypatch, capsys):
    run = train(tiny_config(steps=2, checkpoint_every=2))
    capsys.readouterr()
    monkeypatch.setattr(metrics, "get_extractor", lambda name, **options: ProjectionExtractor())
    run_script("render_fid.py", str(run), "--size", "28", "-n", "64", "--sampler", "prior")
    out = capsys.readouterr().out
    assert "native       (28)" in out and "rendered     (28 -> 28)" in out
    native, rendered = (line.split("FID ")[1].split(",")[0] for line in out.splitlines()
                        if line.startswith(("native ", "rendered ")) and "FID " in line)
    assert native == rendered  # at the training size the rendered set is the native one
    err = cli_error(capsys, run_script, "render_fid.py", str(run), "--size", "56", "-n", "8")
    assert "draws only the 28x28 it was trained at" in err


# --- 6. sizes and counts that cannot fit ---

def a_config_only_run(tmp_path, decoder: str) -> Path:
    """A run folder with a config.json and nothing else: the size checks must come before any loading."""
    run = tmp_path / "00000-run"
    run.mkdir()
    cfg = dataclasses.replace(TrainConfig(), model=ModelConfig(decoder=decoder))
    (run / "config.json").write_text(cfg.to_json())
    return run


def test_render_refuses_a_size_that_cannot_fit_before_loading_anything(tmp_path, capsys):
    run = a_config_only_run(tmp_path, "cppn")
    err = cli_error(capsys, run_script, "render.py", str(run), "--size", "100000", "--sampler", "prior")
    assert err.startswith("error: --size 100000 needs about ") and "of memory to draw one 100000x100000 image" in err
    largest = int(err.split("pass --size ")[1].split()[0])
    assert 28 < largest < 100000
    assert not (run / "samples").exists()


def test_sample_refuses_a_count_that_cannot_fit_and_leaves_no_folder(tmp_path, capsys):
    run = a_config_only_run(tmp_path, "conv")
    out = tmp_path / "out"
    err = cli_error(capsys, run_script, "sample.py", str(run), "-n", "1000000000", "--out", str(out))
    assert err.startswith("error: -n 1000000000 needs about ") and "or less\n" in err
    assert not out.exists()


def test_sample_leaves_no_empty_folder_when_its_first_write_fails(tiny_config, tmp_path, capsys, monkeypatch):
    run = train(tiny_config(steps=2, checkpoint_every=2))
    out = tmp_path / "out"

    def full(path, write, mode="wb"):
        raise DiskFullError(path)

    monkeypatch.setattr(vaegan.atomic, "atomic_write", full)
    err = cli_error(capsys, run_script, "sample.py", str(run), "-n", "4", "--sampler", "prior", "--out", str(out))
    assert err == full_disk_line(out / "prior.npy")
    assert not out.exists()


# --- minor: a run folder that is a file, a corrupt config.json, an --init-from of another architecture ---

def test_a_run_folder_that_is_a_file_and_a_corrupt_config_are_named(tmp_path, capsys):
    a_file = tmp_path / "run.txt"
    a_file.write_text("")
    err = cli_error(capsys, run_script, "sample.py", str(a_file), "--out", str(tmp_path / "out"))
    assert err == f"error: {a_file} is a file, not a run folder; pass a folder made by training (e.g. runs/00001-...)\n"
    run = tmp_path / "00000-run"
    run.mkdir()
    (run / "config.json").write_text('{"kind": "vae",')
    with pytest.raises(json.JSONDecodeError) as e:  # still one, for the callers that catch it
        read_config(run)
    assert str(e.value) == (f"{run / 'config.json'} is not valid JSON (Expecting property name enclosed in double "
                            "quotes at line 1 column 16); restore it from a copy, or pass another run folder")
    err = cli_error(capsys, run_script, "sample.py", str(run), "--out", str(tmp_path / "out"))
    assert err == f"error: {e.value}\n"


def test_a_state_of_another_architecture_is_one_line_naming_the_keys():
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    other = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Linear(5, 2), torch.nn.Linear(2, 2)).state_dict()
    with pytest.raises(CheckpointError) as e:
        load_state_into(net, other, "network 'decoder'", "runs/00001/checkpoints/latest.pt")
    assert str(e.value) == (
        "checkpoint runs/00001/checkpoints/latest.pt does not match this run's network 'decoder' (a different "
        "architecture or settings?): shape of 0.weight 5x4 in the checkpoint, 3x4 here, 0.bias 5 in the checkpoint, "
        "3 here, 1.weight 2x5 in the checkpoint, 2x3 here; not in this Sequential: 2.weight, 2.bias")


def test_the_memory_checks_name_what_fits():
    from vaegan.memory import check_frame_count, check_render_size, check_sample_count, render_bytes

    check_render_size(1024, 3, available=render_bytes(1024, 3))  # just fits: no error
    with pytest.raises(ValueError, match=r"^--size 1025 needs about .* more than the .* available; pass --size 1024 "
                                         r"or less$"):
        check_render_size(1025, 3, available=render_bytes(1024, 3))
    with pytest.raises(ValueError, match=r"^-n 1001 needs about .* for 2 sets of 1001 samples, .*; pass -n 1000 or "
                                         r"less$"):
        check_sample_count(1001, 2, 784, 32, available=2 * 1000 * (784 + 8 + 20 * 32))
    with pytest.raises(ValueError, match="pass a smaller --size, --n or --frames-per-step"):
        check_frame_count(10**6, 1024, 1, 8, available=2**30)


def test_torch_s_error_with_the_os_error_on_its_chain_is_a_full_disk_whatever_the_free_space(tmp_path, monkeypatch):
    """What torch.save does on a real full disk (checked on a 1 MB tmpfs): the OSError is the RuntimeError's context."""
    def save(*args):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError(TORCH_FULL_DISK)

    monkeypatch.setattr(torch, "save", save)
    with pytest.raises(DiskFullError, match=f"writing {tmp_path / 'x.pt'}; free space"):
        atomic_torch_save({}, tmp_path / "x.pt")


# --- 2b. a report that fails part way leaves no half report ---

def test_a_report_that_fails_part_way_leaves_neither_figures_nor_a_partial_folder(tmp_path, monkeypatch):
    import types

    from vaegan.evaluation import report

    def figures(results, reference, folder):  # what a real run writes first: the PNGs
        (folder / "real.png").write_bytes(b"png")
        return {}

    def broken_html(page, folder):
        raise RuntimeError("a figure failed")

    monkeypatch.setattr(report, "write_figures", figures)
    monkeypatch.setattr(report, "build_page", lambda *a: types.SimpleNamespace(headline="h"))
    monkeypatch.setattr(report, "metrics_record", lambda *a: {})
    monkeypatch.setattr(report, "render_markdown", lambda page: "md")
    monkeypatch.setattr(report, "render_html", broken_html)
    folder = tmp_path / "reports" / "00000-x"
    with pytest.raises(RuntimeError, match="a figure failed"):
        report.write_report([], None, None, folder)
    assert list(folder.iterdir()) == [] and [p.name for p in folder.parent.iterdir()] == ["00000-x"]
    monkeypatch.setattr(report, "render_html", lambda page, folder: "<html>")
    assert report.write_report([], None, None, folder) == folder / "report.html"
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.json", "real.png", "report.html", "report.md"]
