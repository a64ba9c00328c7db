"""Issue 11 (hardening) on the metrics side: one-line errors for unreadable weights files, the flag that fetches the
FID Inception weights (hash checked), the extractor registry behind every command line, and FID during training
on data of any shape the extractor takes."""

import dataclasses
import hashlib
import importlib.util
import io
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

import metrics.inception
from fake_extractor import ProjectionExtractor
from metrics import extractors
from metrics.cli import main as metrics_main
from metrics.domain import BUNDLED_WEIGHTS, DomainExtractor, DomainWeightsError
from metrics.inception import (DOWNLOAD_FLAG, FID_WEIGHTS_FILENAME, InceptionExtractor, InceptionWeightsError,
                               InceptionWeightsNotFound, download_weights)
from vaegan.cli import build_parser
from vaegan.config import ModelConfig, TrainConfig
from vaegan.training.fid_monitor import fid_monitor_for

REPO = Path(__file__).resolve().parents[1]


# --- unreadable weights files (defect 10): one line, naming the file -----------------------------------


@pytest.fixture(params=["garbage", "truncated"])
def bad_weights(request, tmp_path):
    """A file of random bytes, or the bundled domain weights cut in half."""
    path = tmp_path / f"{request.param}.pt"
    data = BUNDLED_WEIGHTS.read_bytes()
    path.write_bytes(torch.randint(0, 256, (4096,), dtype=torch.uint8).numpy().tobytes() if request.param == "garbage"
                     else data[: len(data) // 2])
    return path


def check_one_line(message: str, path: Path) -> None:
    assert "\n" not in message and str(path) in message and "damaged" in message
    assert "weights_only" not in message and "issue" not in message


def test_unreadable_domain_weights_give_one_line(bad_weights):
    with pytest.raises(DomainWeightsError) as info:
        DomainExtractor(weights_path=bad_weights)
    check_one_line(str(info.value), bad_weights)


def test_unreadable_inception_weights_give_one_line(bad_weights):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not the official weights" warning before the error either
        with pytest.raises(InceptionWeightsError) as info:
            InceptionExtractor(weights_path=bad_weights)
    check_one_line(str(info.value), bad_weights)


def test_metrics_cli_prints_one_line_for_unreadable_weights(bad_weights, tmp_path, capsys):
    images = tmp_path / "images.npy"
    np.save(images, np.zeros((4, 1, 28, 28), np.uint8))
    assert metrics_main(["fid", str(images), str(images), "--extractor", "domain", "--domain-weights",
                         str(bad_weights)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: DomainWeightsError: ")
    check_one_line(err.strip(), bad_weights)


# --- fetching the FID Inception weights (defect 15) ------------------------------------------------------


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setenv("VAEGAN_CACHE_DIR", str(tmp_path / "vaegan"))  # no TF weights either
    return tmp_path / "torch_home" / "hub" / "checkpoints" / FID_WEIGHTS_FILENAME


@pytest.fixture
def served(tmp_path):
    """A local file behind a file:// URL, and its sha256 prefix."""
    source = tmp_path / "served.pth"
    torch.save({"x": torch.arange(3)}, source)
    return source.as_uri(), hashlib.sha256(source.read_bytes()).hexdigest()[:8], source


def test_missing_weights_error_names_the_download_flag(torch_home):
    with pytest.raises(InceptionWeightsNotFound) as info:
        InceptionExtractor()
    message = str(info.value)
    assert DOWNLOAD_FLAG in message and "\n" not in message


def test_download_saves_a_file_with_the_expected_hash_once(torch_home, served):
    url, prefix, source = served
    assert download_weights(url, prefix) == torch_home
    assert torch_home.read_bytes() == source.read_bytes()
    source.unlink()  # a second call must not fetch again
    assert download_weights(url, prefix) == torch_home


def test_download_with_a_wrong_hash_saves_nothing(torch_home, served):
    url, prefix, _ = served
    with pytest.raises(InceptionWeightsError, match="nothing was saved") as info:
        download_weights(url, "00000000" if prefix != "00000000" else "11111111")
    assert "\n" not in str(info.value)
    assert not torch_home.exists() and not list(torch_home.parent.iterdir())


def test_download_without_network_says_how_to_get_the_file(torch_home, tmp_path):
    with pytest.raises(InceptionWeightsNotFound, match="--inception-weights PATH"):
        download_weights((tmp_path / "nowhere.pth").as_uri(), "00000000")


def fake_download(calls):
    def download(url=metrics.inception.FID_WEIGHTS_URL, sha256_prefix=metrics.inception.FID_WEIGHTS_SHA256_PREFIX):
        calls.append(url)
        raise InceptionWeightsNotFound("offline")
    return download


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


@pytest.mark.parametrize("cli", ["metrics", "train", "evaluate", "compare"])
def test_every_command_line_fetches_the_weights_on_the_flag(cli, monkeypatch, tmp_path, capsys):
    calls = []
    if cli == "metrics":
        monkeypatch.setattr("metrics.cli.download_weights", fake_download(calls))
        assert metrics_main(["stats", str(tmp_path / "x.npy"), str(tmp_path / "s.npz"), DOWNLOAD_FLAG]) == 2
    elif cli == "train":
        import vaegan.cli
        monkeypatch.setattr(vaegan.cli, "download_weights", fake_download(calls))
        with pytest.raises(SystemExit):
            vaegan.cli.train_main("vae", ["--dry-run", DOWNLOAD_FLAG, "--runs-dir", str(tmp_path)])
    else:
        script = load_script(cli)
        monkeypatch.setattr(script, "download_weights", fake_download(calls))
        args = [str(tmp_path / "run")] if cli == "evaluate" else []
        monkeypatch.setattr("sys.argv", [cli, *args, DOWNLOAD_FLAG, "--runs-dir" if cli == "compare" else "--out",
                                         str(tmp_path)])
        with pytest.raises(SystemExit):
            script.main()
    assert calls == [metrics.inception.FID_WEIGHTS_URL]
    assert "offline" in capsys.readouterr().err


# --- the extractor registry behind every command line ---------------------------------------------------


@pytest.fixture
def projection_registered(monkeypatch):
    monkeypatch.setitem(extractors.EXTRACTORS, "projection",
                        lambda **options: ProjectionExtractor(input_shape=None))


@pytest.mark.parametrize("cli", ["train", "evaluate", "compare"])
def test_extractor_choices_come_from_the_registry(cli, projection_registered, monkeypatch, capsys):
    if cli == "train":
        assert build_parser("vaegan").parse_args(["--fid-extractor", "projection"]).fid_extractor == "projection"
        return
    monkeypatch.setattr("sys.argv", [cli, "--help"])
    with pytest.raises(SystemExit):
        load_script(cli).main()
    assert "{domain,inception,projection}" in capsys.readouterr().out


# --- FID during training on data of any shape -----------------------------------------------------------


def rgb64_test_data():
    """What the monitor reads of an ImageDataset: a 64x64 RGB test split, its identity and its name."""
    images = torch.randint(0, 256, (24, 3, 64, 64), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    return SimpleNamespace(images=images, identity="rgb64-test", name="rgb64")


@pytest.mark.filterwarnings("ignore:N=.* samples <= D=")  # few samples keep the test fast
def test_fid_during_training_runs_on_rgb64_with_an_any_size_extractor(projection_registered, tmp_path):
    cfg = dataclasses.replace(TrainConfig(), fid_every=1, fid_samples=12, fid_gmm_images=0, fid_extractor="projection",
                              runs_dir=str(tmp_path), model=ModelConfig(latent_dim=4))
    data = rgb64_test_data()
    out = io.StringIO()
    monitor = fid_monitor_for(cfg, data, data.images, out)
    assert monitor is not None and out.getvalue() == ""
    decoder = nn.Sequential(nn.Linear(4, 3 * 64 * 64), nn.Tanh(), nn.Unflatten(1, (3, 64, 64)))
    record, headline = monitor({"decoder": decoder}, {})
    assert headline == "fid/projection" and record[headline] > 0


class LinearEncoder(nn.Module):
    """(N, 3, 64, 64) in [-1, 1] -> (mu, logvar) of 4 dimensions, as the encoders of vaegan/models return them."""

    def __init__(self):
        super().__init__()
        self.mu = nn.Sequential(nn.Flatten(), nn.Linear(3 * 64 * 64, 4))

    def forward(self, x):
        mu = self.mu(x)
        return mu, torch.zeros_like(mu)


@pytest.mark.filterwarnings("ignore:N=.* samples <= D=")
def test_the_mixture_fid_during_training_is_the_mean_over_fits_from_several_starts(projection_registered, tmp_path):
    from vaegan.latent_sampler import fit_gmms

    cfg = dataclasses.replace(TrainConfig(), fid_every=1, fid_samples=40, fid_gmm_images=200, fid_gmm_fits=3, seed=3,
                              fid_extractor="projection", runs_dir=str(tmp_path), model=ModelConfig(latent_dim=4))
    data = rgb64_test_data()
    train_images = torch.randint(0, 256, (200, 3, 64, 64), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
    torch.manual_seed(0)
    nets = {"encoder": LinearEncoder(), "decoder": nn.Sequential(nn.Linear(4, 3 * 64 * 64), nn.Tanh(),
                                                                 nn.Unflatten(1, (3, 64, 64)))}
    monitor = fid_monitor_for(cfg, data, train_images, io.StringIO())
    record, headline = monitor(nets, {})
    assert headline == "fid_gmm/projection"
    # three fits from starts seed, seed + 1, seed + 2, each scored on the next fid_samples codes of one noise stream
    noise = torch.Generator().manual_seed(cfg.seed + 5)
    each = [monitor._score(nets["decoder"], gmm.sample(cfg.fid_samples, noise))["fid"]
            for gmm in fit_gmms(nets["encoder"], train_images, (3, 4, 5), max_images=200)]
    assert len({round(f, 6) for f in each}) == 3  # the fits score differently: the mean is not any one of them
    assert record[headline] == pytest.approx(sum(each) / 3)


def test_fid_during_training_is_off_with_a_note_when_the_extractor_cannot_read_the_data(tmp_path):
    cfg = dataclasses.replace(TrainConfig(), fid_every=1, fid_extractor="domain", runs_dir=str(tmp_path))
    out = io.StringIO()
    assert fid_monitor_for(cfg, rgb64_test_data(), torch.zeros(0), out) is None
    assert "(1, 28, 28)" in out.getvalue() and "(3, 64, 64)" in out.getvalue()


def test_fid_during_training_checks_the_data_against_any_fixed_size_extractor(monkeypatch, tmp_path):
    """Not only "domain": a registered extractor of fixed input shape is never handed data of another shape."""
    monkeypatch.setitem(extractors.EXTRACTORS, "projection", lambda **options: ProjectionExtractor())
    cfg = dataclasses.replace(TrainConfig(), fid_every=1, fid_extractor="projection", runs_dir=str(tmp_path))
    out = io.StringIO()
    assert fid_monitor_for(cfg, rgb64_test_data(), torch.zeros(0), out) is None
    assert "projection extractor reads (1, 28, 28)" in out.getvalue()
