"""The evaluation report on two tiny runs trained on real Fashion-MNIST: files, scores that agree with the metrics
package, a self-contained page, diverged and missing runs, and the pieces (curves, best values, means over seeds)."""

import dataclasses
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from metrics import get_extractor, reconstruction_metrics, score_samples
from vaegan.cli import default_config
from vaegan.config import DataConfig
from vaegan.evaluation import EvalConfig, MixedDataError, RunFolderError, evaluate_runs
from vaegan.evaluation.curves import fid_curve, read_metrics_log
from vaegan.evaluation.html_check import self_contained_problems
from vaegan.evaluation.report import new_report_dir
from vaegan.evaluation.scoring import RunResult
from vaegan.evaluation.summary import best_runs, headline, summarize_by_kind
from vaegan.sampling import prior_samples, reconstructions
from vaegan.trained_run import load_trained_run
from vaegan.training.loop import train

REPO = Path(__file__).resolve().parents[1]
EVAL = EvalConfig(samples=200, reference_size=512, seed=3)
pytestmark = pytest.mark.filterwarnings("ignore:KID subsets of")  # small N on purpose: speed
FID_LOG = [(2, 1.5, 900.0), (4, 3.0, 700.0), (4, 3.2, 650.0)]  # step 4 logged twice (a resume): the last one counts


@pytest.fixture(scope="module")
def runs(tmp_path_factory, fashion_mnist):
    """A VAE and a VAE-GAN, 4 steps each on 512 real images; the VAE gets an FID log as the loop writes it."""
    root = tmp_path_factory.mktemp("runs")
    dirs = []
    for kind in ("vae", "vaegan"):
        cfg = dataclasses.replace(default_config(kind), data=DataConfig(limit=512), epochs=None, steps=4, batch_size=32,
                                  runs_dir=str(root), checkpoint_every=2, progress_seconds=3600, eval_batches=1,
                                  fid_every=0)
        dirs.append(train(cfg))
    with open(dirs[0] / "metrics.jsonl", "a") as f:
        for step, wall, fid in FID_LOG:
            f.write(json.dumps({"step": step, "wall_seconds": wall, "fid/domain": fid}) + "\n")
    return dirs


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    html = evaluate_runs(runs, EVAL, reports_root=tmp_path_factory.mktemp("reports"))
    return html.parent


def copy_run(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


def set_status(run: Path, status: str, step: int) -> None:
    (run / "status.json").write_text(json.dumps({"status": status, "step": step, "wall_seconds": 1.0, "message": "x"}))


def test_report_folder_has_every_file_and_finite_scores(report, runs):
    for name in ("report.md", "report.html", "metrics.json", "real.png", "scores.png", "zoom.png", "spectrum.png",
                 "fid_curves.png", f"01-{runs[1].name}-samples.png", f"01-{runs[1].name}-recon.png"):
        assert (report / name).stat().st_size > 0, name
    record = json.loads((report / "metrics.json").read_text())
    extractor = get_extractor("domain")
    assert record["evaluation"]["extractor"]["id"] == extractor.id
    assert record["evaluation"]["extractor"]["sha256"] == extractor.weights_sha256
    assert [r["kind"] for r in record["runs"]] == ["vae", "vaegan"]
    for r in record["runs"]:
        s = r["scores"]
        assert s["n_samples"] == 200 and s["n_reconstructions"] == 200 and s["n_real"] == 512
        assert s["extractor"] == extractor.id and r["step"] == 4 and r["status"] == "finished"
        for key in ("fid", "kid", "kid_std", "recon_fid", "sample_laplacian_ratio", "sample_high_freq_ratio",
                    "recon_laplacian_ratio", "recon_high_freq_ratio", "mse", "psnr", "ssim"):
            assert math.isfinite(s[key]), key
        assert s["fid"] > 0 and 0 <= s["mse"] <= 1 and -1 <= s["ssim"] <= 1
    assert "VAE-GAN samples: FID" in record["headline"]


def test_scores_agree_with_the_metrics_package(report, runs):
    """Same z (seed), same inputs (first N test images), same reference (first 512): the report's numbers are
    exactly what the metrics package gives for them."""
    from vaegan.data import load_dataset

    test = load_dataset("fashion_mnist", "test").images
    run = load_trained_run(runs[1])
    samples = prior_samples(run.nets["decoder"], 200, run.cfg.model.latent_dim, torch.Generator().manual_seed(3))
    direct = score_samples(samples, test[:512], get_extractor("domain"), kid=False, real_images_for_sharpness=test[:200])
    recon = reconstruction_metrics(test[:200], reconstructions(run.nets["encoder"], run.nets["decoder"], test[:200]))
    scores = json.loads((report / "metrics.json").read_text())["runs"][1]["scores"]
    assert scores["fid"] == pytest.approx(direct["fid"], rel=1e-9)
    assert scores["sample_laplacian_ratio"] == pytest.approx(direct["laplacian_ratio"], rel=1e-9)
    assert scores["ssim"] == pytest.approx(recon["ssim"]) and scores["mse"] == pytest.approx(recon["mse"])


def test_html_is_self_contained_with_a_table(report, runs):
    html = (report / "report.html").read_text()
    assert self_contained_problems(html) == []
    assert html.count("<img") == 1 + 1 + 2 * 2 + 3 + 1  # scores, real x2, 2 runs x 2 grids, zoom/spectrum/curves
    assert "src=\"http" not in html and "<link" not in html
    assert all(run.name in html.replace("<wbr>", "") for run in runs)


def test_checker_catches_external_and_broken_images():
    page = '<table></table><img src="https://example.com/a.png"><img src="data:image/png;base64,aGVsbG8=">'
    problems = self_contained_problems(page)
    assert any("not an embedded PNG" in p for p in problems) and any("not a PNG" in p for p in problems)
    assert self_contained_problems("<p>no table</p>") == ["the page has no <table>", "the page has no <img>"]


def test_fid_curves_come_from_metrics_jsonl(report):
    runs = json.loads((report / "metrics.json").read_text())["runs"]
    assert runs[0]["fid_during_training"] == {"key": "fid/domain", "steps": [2, 4], "wall_seconds": [1.5, 3.2],
                                              "values": [900.0, 650.0]}
    assert runs[1]["fid_during_training"] is None
    assert "VAE-GAN s0 logged no FID during training" in (report / "report.md").read_text()


def test_metrics_log_keeps_the_last_value_per_step_and_key(tmp_path):
    lines = [{"step": 2, "wall_seconds": 1.0, "test/neg_elbo": 300.0}, {"step": 2, "wall_seconds": 1.1, "fid/domain": 80.0},
             {"step": 2, "wall_seconds": 1.2, "fid/domain": 70.0}, {"step": 4, "wall_seconds": 2.0, "test/neg_elbo": 250.0}]
    (tmp_path / "metrics.jsonl").write_text("\n".join(map(json.dumps, lines)) + '\n{"step": 6, "fid/do')  # torn write
    records = read_metrics_log(tmp_path)
    assert records == {2: {"step": 2, "wall_seconds": 1.2, "test/neg_elbo": 300.0, "fid/domain": 70.0},
                       4: {"step": 4, "wall_seconds": 2.0, "test/neg_elbo": 250.0}}
    curve = fid_curve(records)
    assert (curve.steps, curve.values) == ([2], [70.0])
    assert fid_curve({4: records[4]}) is None and read_metrics_log(tmp_path / "nowhere") == {}


def test_diverged_runs_are_reported_not_crashed_on(runs, tmp_path):
    scored = copy_run(runs[1], tmp_path / "a")
    set_status(scored, "diverged", 7)
    unscored = copy_run(runs[0], tmp_path / "b")
    set_status(unscored, "diverged", 1)
    shutil.rmtree(unscored / "checkpoints")
    html = evaluate_runs([scored, unscored], EVAL, out_dir=tmp_path / "report")
    record = json.loads((html.parent / "metrics.json").read_text())["runs"]
    assert record[0]["diverged"] and record[0]["status_step"] == 7 and record[0]["step"] == 4
    assert record[0]["note"] == "diverged at step 7; scored its last good checkpoint (step 4)"
    assert math.isfinite(record[0]["scores"]["fid"])
    assert record[1]["scores"] is None and "no checkpoint had been saved" in record[1]["note"]
    page = html.read_text()
    assert "DIVERGED at step 7 (scored step 4)" in page and "DIVERGED at step 1" in page
    assert self_contained_problems(page) == []


def test_missing_run_or_checkpoint_is_a_clear_error(runs, tmp_path):
    with pytest.raises(RunFolderError, match="nowhere does not exist"):
        evaluate_runs([runs[0], tmp_path / "nowhere"], EVAL, out_dir=tmp_path / "r")
    empty = copy_run(runs[0], tmp_path)
    (empty / "checkpoints" / "latest.pt").unlink()
    with pytest.raises(RunFolderError, match=f"run {empty} has no checkpoint"):
        evaluate_runs([empty], EVAL, out_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists()  # checked before any work


def test_runs_on_different_data_are_refused(runs, tmp_path):
    other = copy_run(runs[1], tmp_path)
    config = json.loads((other / "config.json").read_text())
    config["data"]["dataset"] = "mnist"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(MixedDataError, match="different data"):
        evaluate_runs([runs[0], other], EVAL, out_dir=tmp_path / "r")


def test_cli_reports_a_missing_run_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "scripts/evaluate.py"), str(tmp_path / "gone")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"error: run folder {tmp_path / 'gone'} does not exist; pass folders made by training " \
                            "(e.g. runs/00001-...)\n"


def test_report_folders_are_numbered_and_never_reused(tmp_path):
    fake = [RunResult(Path(f"runs/0000{i}-x-{k}"), f"0000{i}-x-{k}", k, 0, {}, "finished", 4, "")
            for i, k in enumerate(("vae", "vaegan"))]
    first, second = new_report_dir(tmp_path, fake), new_report_dir(tmp_path, fake)
    assert (first.name, second.name) == ("00000-vae_vaegan-r00000-00001", "00001-vae_vaegan-r00000-00001")


def result(kind: str, seed: int, fid: float, sharp: float, status: str = "finished") -> RunResult:
    r = RunResult(Path(f"{kind}{seed}"), f"{kind}{seed}", kind, seed, {}, status, 10, "", step=10)
    r.scores = {"fid": fid, "kid": fid / 1000, "sample_laplacian_ratio": sharp, "ssim": 0.5}
    return r


def test_best_values_and_means_over_seeds():
    results = [result("vae", 0, 60.0, 0.4), result("vae", 1, 64.0, 0.5), result("vaegan", 0, 25.0, 1.5),
               result("vaegan", 1, 21.0, 0.8), result("vaegan", 2, 5.0, 1.0, status="diverged")]
    best = best_runs(results)
    assert best["fid"] == {3}  # the diverged run's 5.0 is not a result to highlight
    assert best["sample_laplacian_ratio"] == {3}  # 0.8 is nearer 1.0 than 1.5 on a log scale
    assert best["ssim"] == {0, 1, 2, 3}  # ties share
    summary = summarize_by_kind(results)
    assert summary["vae"]["fid"] == {"mean": 62.0, "std": pytest.approx(2 ** 0.5 * 2), "n": 2}
    assert summary["vaegan"]["runs"] == 2 and summary["vaegan"]["diverged"] == 1
    assert summary["vaegan"]["fid"]["mean"] == 23.0
    assert headline(results, summary) == ("VAE-GAN samples (mean of 2 seeds): FID 23.0 vs 62.0 for the VAE; "
                                          "sharpness 1.15 vs 0.45 of real (1.0 = as sharp as real).")


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Chromium not installed (apt-get install chromium)")
def test_report_renders_in_chromium(report, tmp_path):
    shot = tmp_path / "shot.png"
    result = subprocess.run([sys.executable, str(REPO / "scripts/screenshot_report.py"), str(report / "report.html"),
                             "--out", str(shot), "--window-size", "800,600"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert shot.read_bytes().startswith(b"\x89PNG")
