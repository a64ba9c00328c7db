"""The evaluation report on two tiny runs trained on real Fashion-MNIST: files, scores per latent sampler that agree
with the metrics package, a self-contained page, diverged and missing runs, and the pieces (curves and their
stability, best values, means over seeds, the verdict on the first line)."""

import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from metrics import get_extractor, reconstruction_metrics, score_samples
from vaegan.recipes import default_config
from vaegan.config import DataConfig
from vaegan.checkpoint import CheckpointError
from vaegan.evaluation import EvalConfig, MixedDataError, RunFolderError, evaluate_runs
from vaegan.evaluation.curves import Curve, fid_curves, sampler_curve, stability
from vaegan.evaluation.html_check import self_contained_problems
from vaegan.evaluation.report import new_report_dir
from vaegan.evaluation.scoring import RunResult
from vaegan.evaluation.summary import best_rows, score_rows, summarize, verdict
from vaegan.latent_sampler import LatentGMM, gmm_path, latent_codes
from vaegan.run_folder import read_metrics
from vaegan.sampling import decode, reconstructions
from vaegan.trained_run import load_trained_run
from vaegan.training.loop import train

REPO = Path(__file__).resolve().parents[1]
EVAL = EvalConfig(samples=200, reference_size=512, seed=3)
pytestmark = pytest.mark.filterwarnings("ignore:KID subsets of")  # small N on purpose: speed
FID_LOG = [(2, 1.5, 900.0), (4, 3.0, 700.0), (4, 3.2, 650.0)]  # step 4 logged twice (a resume): the last one counts
EMA_GMM_LOG = [(2, 1.5, 300.0), (4, 3.2, 320.0)]  # the EMA decoder on GMM samples, as the loop logs it


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
        for step, wall, fid in EMA_GMM_LOG:
            f.write(json.dumps({"step": step, "wall_seconds": wall, "fid_ema_gmm/domain": fid}) + "\n")
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
                 "fid_curves.png", f"01-{runs[1].name}-samples-prior.png", f"01-{runs[1].name}-samples-gmm.png",
                 f"01-{runs[1].name}-recon.png"):
        assert (report / name).stat().st_size > 0, name
    record = json.loads((report / "metrics.json").read_text())
    extractor = get_extractor("domain")
    assert record["evaluation"]["extractor"]["id"] == extractor.id
    assert record["evaluation"]["extractor"]["sha256"] == extractor.weights_sha256
    assert record["evaluation"]["samplers"] == ["prior", "gmm"]
    assert [r["kind"] for r in record["runs"]] == ["vae", "vaegan"]
    for r in record["runs"]:
        s = r["scores"]
        assert s["n_reconstructions"] == 200 and s["n_real"] == 512
        assert s["extractor"] == extractor.id and r["step"] == 4 and r["status"] == "finished"
        for key in ("recon_fid", "recon_laplacian_ratio", "recon_high_freq_ratio", "mse", "psnr", "ssim"):
            assert math.isfinite(s[key]), key
        assert 0 <= s["mse"] <= 1 and -1 <= s["ssim"] <= 1
        assert list(r["sample_scores"]) == ["prior", "gmm"]
        for sampler in r["sample_scores"].values():
            assert sampler["n_samples"] == 200 and sampler["fid"] > 0
            for key in ("fid", "kid", "kid_std", "sample_laplacian_ratio", "sample_high_freq_ratio"):
                assert math.isfinite(sampler[key]), key
    # 4 steps: both draw noise and the VAE-GAN is far below the steps it needs, so the headline ranks nobody and
    # says why.
    assert record["headline"].startswith("At 4 steps each: too short to judge, no model is ranked: VAE s0 draws noise")
    assert "; VAE-GAN s0 made 4 steps, fewer than the ~1,000 a VAE-GAN needs, and draws noise" in record["headline"]


def test_both_samplers_are_rows_of_metrics_json_and_report_md(report):
    record = json.loads((report / "metrics.json").read_text())
    labels = [s["label"] for r in record["runs"] for s in r["sample_scores"].values()]
    assert labels == ["VAE · N(0,I)", "VAE · GMM", "VAE-GAN · N(0,I)", "VAE-GAN · GMM"]
    assert list(record["summary"]["vaegan"]["samplers"]) == ["prior", "gmm"]
    md = (report / "report.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| 0000")]
    assert [row.split(" | ")[1] for row in rows] == labels
    assert md.splitlines()[0] == f"**{record['headline']}**"  # the verdict's headline is the first line
    assert md.splitlines()[2].startswith("At 4 steps each: VAE · N(0,I): FID ")  # the verdict in full, not bold
    assert "better" not in md.splitlines()[2]
    # Each run's samplers side by side: one table row per run, its N(0,I) and GMM grids in it.
    assert "| VAE-GAN s0 (step 4) | N(0,I) samples<br>![VAE-GAN s0 (step 4): N(0,I) samples](" in md
    assert "GMM samples<br>![VAE-GAN s0 (step 4): GMM samples](" in md


def test_scores_agree_with_the_metrics_package(report, runs):
    """Same z (seed), same inputs (first N test images), same reference (first 512): the report's numbers are
    exactly what the metrics package gives for them, for both samplers (the GMM as saved beside the checkpoint)."""
    from vaegan.data import load_dataset

    test = load_dataset("fashion_mnist", "test").images
    run = load_trained_run(runs[1])
    gmm = LatentGMM.load(gmm_path(runs[1], "latest"))
    assert gmm.step == 4 and gmm.n_images == 512
    record = json.loads((report / "metrics.json").read_text())["runs"][1]
    for sampler in ("prior", "gmm"):
        z = latent_codes(sampler, 200, run.cfg.model.latent_dim, torch.Generator().manual_seed(3), gmm)
        direct = score_samples(decode(run.nets["decoder"], z), test[:512], get_extractor("domain"), kid=False,
                               real_images_for_sharpness=test[:200])
        scores = record["sample_scores"][sampler]
        assert scores["fid"] == pytest.approx(direct["fid"], rel=1e-9)
        assert scores["sample_laplacian_ratio"] == pytest.approx(direct["laplacian_ratio"], rel=1e-9)
    recon = reconstruction_metrics(test[:200], reconstructions(run.nets["encoder"], run.nets["decoder"], test[:200]))
    assert record["scores"]["ssim"] == pytest.approx(recon["ssim"])
    assert record["scores"]["mse"] == pytest.approx(recon["mse"])


def test_html_is_self_contained_with_a_table(report, runs):
    html = (report / "report.html").read_text()
    assert self_contained_problems(html) == []
    # scores, real, 2 runs x 2 sample grids, 2 runs x (real + reconstruction grid), zoom/spectrum/curves, 2 runs x 2
    # edit grids and the edit curves
    assert html.count("<img") == 1 + 1 + 2 * 2 + 2 * 2 + 3 + 2 * 2 + 1
    assert "src=\"http" not in html and "<link" not in html
    assert all(run.name in html.replace("<wbr>", "") for run in runs)
    assert html.index('class="headline"') < html.index("<h1>")


def test_attribute_edits_are_a_section_with_their_curves_in_metrics_json(report, runs):
    """Fashion-MNIST is labelled, so the report edits the same test shirts and sandals of every run by default; at
    strength 0 an edit is the reconstruction, so its probability is the classifier's on the reconstructions."""
    from metrics.domain import BUNDLED_WEIGHTS, load_domain_net
    from vaegan.attributes import AttributeVectors, attributes_path, label_probability
    from vaegan.data import load_dataset

    record = json.loads((report / "metrics.json").read_text())
    titles = ["Shirt → Pullover", "Sandal → Ankle boot"]
    assert record["evaluation"]["attributes"]["edits"] == titles
    for i, run in enumerate(runs):
        edits = record["runs"][i]["attribute_edits"]
        assert list(edits) == titles
        for title in titles:
            assert len(edits[title]["p_target"]) == len(edits[title]["strengths"]) == 7
            assert all(0 <= p <= 1 for p in edits[title]["p_target"] + edits[title]["p_source"])
        assert (report / f"{i:02d}-{run.name}-edit-shirt-to-pullover.png").stat().st_size > 0
        vectors = AttributeVectors.load(attributes_path(run, "latest"))
        assert vectors.vectors.shape == (10, 32) and (vectors.step, vectors.n_images) == (4, 512)
    assert (report / "edit_curves.png").stat().st_size > 0
    test = load_dataset("fashion_mnist", "test")
    shirts = test.images[test.labels == 6][:200]
    run = load_trained_run(runs[1])
    direct = label_probability(load_domain_net(BUNDLED_WEIGHTS),
                               reconstructions(run.nets["encoder"], run.nets["decoder"], shirts), 2)
    assert record["runs"][1]["attribute_edits"][titles[0]]["p_target"][0] == pytest.approx(direct, abs=0.01)
    md = (report / "report.md").read_text()
    assert "## Attribute edits" in md and "### Shirt → Pullover" in md and "(edit_curves.png)" in md


def test_checker_catches_external_and_broken_images():
    page = '<table></table><img src="https://example.com/a.png"><img src="data:image/png;base64,aGVsbG8=">'
    problems = self_contained_problems(page)
    assert any("not an embedded PNG" in p for p in problems) and any("not a PNG" in p for p in problems)
    assert self_contained_problems("<p>no table</p>") == ["the page has no <table>", "the page has no <img>"]


def test_fid_curves_come_from_metrics_jsonl(report):
    runs = json.loads((report / "metrics.json").read_text())["runs"]
    curves = runs[0]["fid_during_training"]
    # The training time comes from the run's own records at those steps (its checkpoints), measured, so only ordered.
    trained = [c.pop("train_seconds") for c in curves.values()]
    assert all(t[0] > 0 and t[1] > t[0] for t in trained)
    assert curves == {
        "fid/domain": {"steps": [2, 4], "wall_seconds": [1.5, 3.2], "values": [900.0, 650.0], "stability": None},
        "fid_ema_gmm/domain": {"steps": [2, 4], "wall_seconds": [1.5, 3.2], "values": [300.0, 320.0],
                               "stability": None}}
    assert runs[1]["fid_during_training"] == {}
    md = (report / "report.md").read_text()
    assert "VAE-GAN s0 logged no FID during training" in md
    # Two FID checks: too few points for a rise, said so instead of "+0%" (the VAE · GMM row shows its EMA curve's).
    assert md.count("| too few points (2) needs 4 FID checks |") == 2 and "+0%" not in md
    assert "VAE s0 logged FID 2 times during training: too few points" in md


def test_metrics_log_keeps_the_last_value_per_step_and_key(tmp_path):
    lines = [{"step": 2, "wall_seconds": 1.0, "test/neg_elbo": 300.0}, {"step": 2, "wall_seconds": 1.1, "fid/domain": 80.0},
             {"step": 2, "wall_seconds": 1.2, "fid/domain": 70.0}, {"step": 4, "wall_seconds": 2.0, "test/neg_elbo": 250.0}]
    (tmp_path / "metrics.jsonl").write_text("\n".join(map(json.dumps, lines)) + '\n{"step": 6, "fid/do')  # torn write
    records = read_metrics(tmp_path)
    assert records == {2: {"step": 2, "wall_seconds": 1.2, "test/neg_elbo": 300.0, "fid/domain": 70.0},
                       4: {"step": 4, "wall_seconds": 2.0, "test/neg_elbo": 250.0}}
    curve = fid_curves(records)["fid/domain"]
    assert (curve.steps, curve.values) == ([2], [70.0])
    assert fid_curves({4: records[4]}) == {} and read_metrics(tmp_path / "nowhere") == {}


def test_a_record_without_training_time_counts_all_its_elapsed_time():
    """Runs logged before the budget counted training steps only had all their time charged to it."""
    curve = fid_curves({2: {"step": 2, "wall_seconds": 1.5, "fid/domain": 9.0},
                        4: {"step": 4, "wall_seconds": 3.5, "train_seconds": 2.5, "fid/domain": 8.0}})["fid/domain"]
    assert (curve.wall_seconds, curve.train_seconds) == ([1.5, 3.5], [1.5, 2.5])


def test_every_fid_variant_becomes_a_curve():
    records = {100: {"step": 100, "fid/domain": 50.0, "fid_ema/domain": 45.0, "fid_gmm/domain": 30.0,
                     "fid_ema_gmm/domain": 28.0, "fid/inception_v3": 90.0, "sharpness/laplacian_ratio": 0.5,
                     "fid_gmm_ema/domain": 1.0, "fid/Domain": 1.0, "fidelity/domain": 1.0},
               200: {"step": 200, "fid_ema_gmm/domain": 25.0}}
    curves = fid_curves(records)
    assert list(curves) == ["fid/domain", "fid/inception_v3", "fid_ema/domain", "fid_ema_gmm/domain", "fid_gmm/domain"]
    variants = {k: (c.ema, c.sampler, c.extractor, c.variant) for k, c in curves.items()}
    assert variants["fid/domain"] == (False, "prior", "domain", "N(0,I)")
    assert variants["fid_ema/domain"] == (True, "prior", "domain", "EMA · N(0,I)")
    assert variants["fid_gmm/domain"] == (False, "gmm", "domain", "GMM")
    assert variants["fid_ema_gmm/domain"] == (True, "gmm", "domain", "EMA · GMM")
    assert curves["fid_ema_gmm/domain"].values == [28.0, 25.0]
    # A report row shows the curve of what it scores: the EMA decoder's where logged.
    assert sampler_curve(curves, "gmm").key == "fid_ema_gmm/domain"
    assert sampler_curve({"fid/domain": curves["fid/domain"]}, "prior").key == "fid/domain"
    assert sampler_curve({"fid/domain": curves["fid/domain"]}, "gmm") is None


def test_stability_is_the_late_rise_above_the_final_fid():
    def curve(steps, values):
        return Curve("fid/domain", steps, [None] * len(steps), [None] * len(steps), values)

    # Second half: steps >= 500. The 400 spike (early) does not count; 115 at step 600 is 15% above the final 100.
    assert stability(curve([100, 200, 400, 600, 800, 1000], [500.0, 300.0, 400.0, 115.0, 90.0, 100.0])) == \
        pytest.approx(0.15)
    assert stability(curve([100, 150, 300, 400], [200.0, 180.0, 100.0, 100.0])) == 0.0  # high in the first half only
    assert stability(curve([50, 100, 150, 200], [300.0, 200.0, 150.0, 100.0])) == 1.0  # step 100 is half-way
    # Fewer than 4 points: the second half holds one or two, and a rise of 0% would say nothing.
    assert stability(curve([100, 200, 300], [200.0, 100.0, 100.0])) is None
    assert stability(curve([100], [100.0])) is None


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
    assert math.isfinite(record[0]["sample_scores"]["gmm"]["fid"])
    assert record[1]["scores"] is None and "no checkpoint had been saved" in record[1]["note"]
    page = html.read_text()
    assert "DIVERGED at step 7 (scored step 4)" in page and "DIVERGED at step 1" in page
    assert self_contained_problems(page) == []


def test_a_run_whose_process_is_gone_is_reported_stale_with_its_checkpoint_step(runs, tmp_path):
    run = copy_run(runs[0], tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    record = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**record, "status": "running", "step": 5, "pid": gone.pid}))
    html = evaluate_runs([run], EVAL, out_dir=tmp_path / "report")
    scored = json.loads((html.parent / "metrics.json").read_text())["runs"][0]
    assert scored["stale"] == "stale: process gone" and scored["checkpoint_step"] == 4
    assert scored["note"] == "running (stale: process gone) at step 5, last checkpoint step 4; scored step 4"
    assert "stale: process gone" in html.read_text()


def test_missing_run_or_checkpoint_is_a_clear_error(runs, tmp_path):
    with pytest.raises(RunFolderError, match="nowhere does not exist"):
        evaluate_runs([runs[0], tmp_path / "nowhere"], EVAL, out_dir=tmp_path / "r")
    empty = copy_run(runs[0], tmp_path)
    (empty / "checkpoints" / "latest.pt").unlink()
    with pytest.raises(RunFolderError, match=f"run {empty} has no checkpoint"):
        evaluate_runs([empty], EVAL, out_dir=tmp_path / "r")
    damaged = copy_run(runs[1], tmp_path)
    (damaged / "checkpoints" / "latest.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read"):  # the good run first: it must not be scored first
        evaluate_runs([runs[0], damaged], EVAL, out_dir=tmp_path / "r")
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


def result(kind: str, seed: int, samples: dict[str, tuple[float, float, float]], status: str = "finished",
           step: int = 2000, budget: dict | None = None) -> RunResult:
    """A scored run without training: samples = {sampler: (FID, KID, sharpness)}."""
    config = budget or {"steps": 2000, "minutes": None, "epochs": None}
    r = RunResult(Path(f"{kind}{seed}"), f"{kind}{seed}", kind, seed, config, status, step, "", step=step)
    r.scores = {"recon_fid": 10.0, "ssim": 0.5}
    r.sample_scores = {name: {"fid": fid, "kid": kid, "sample_laplacian_ratio": sharp}
                       for name, (fid, kid, sharp) in samples.items()}
    return r


def test_best_values_and_means_over_seeds():
    results = [result("vae", 0, {"prior": (60.0, 0.06, 0.4)}), result("vae", 1, {"prior": (64.0, 0.064, 0.5)}),
               result("vaegan", 0, {"prior": (25.0, 0.025, 1.5), "gmm": (20.0, 0.02, 1.6)}),
               result("vaegan", 1, {"prior": (21.0, 0.021, 0.8), "gmm": (18.0, 0.018, 0.9)}),
               result("vaegan", 2, {"prior": (5.0, 0.005, 1.0)}, status="diverged")]
    rows = score_rows(results)
    assert [(row.run.name, row.sampler, row.label) for row in rows[2:4]] == [
        ("vaegan0", "prior", "VAE-GAN · N(0,I)"), ("vaegan0", "gmm", "VAE-GAN · GMM")]
    best = best_rows(rows)
    assert best["fid"] == {5}  # vaegan1 with GMM; the diverged run's 5.0 is not a result to highlight
    assert best["sample_laplacian_ratio"] == {5}  # 0.9 is nearer 1.0 than 1.5 on a log scale
    assert best["ssim"] == {0, 1, 2, 3, 4, 5}  # ties share
    summary = summarize(rows)
    assert summary["vae"]["samplers"]["prior"]["fid"] == {"mean": 62.0, "std": pytest.approx(2 ** 0.5 * 2), "n": 2}
    assert summary["vaegan"]["runs"] == 2 and summary["vaegan"]["diverged"] == 1
    assert summary["vaegan"]["samplers"]["prior"]["fid"]["mean"] == 23.0
    assert summary["vaegan"]["samplers"]["gmm"]["fid"]["mean"] == 19.0


def test_verdict_of_one_seed_each_headlines_the_best_sampler():
    results = [result("vae", 0, {"prior": (409.0, 0.42, 0.40), "gmm": (241.0, 0.20, 0.45)}),
               result("vaegan", 0, {"prior": (398.0, 0.40, 0.90), "gmm": (74.0, 0.05, 0.95)})]
    assert verdict(score_rows(results)) == (
        "At 2000 steps each: with GMM samples the VAE-GAN is better on FID (74.0 vs 241.0, 3.26× lower), KID "
        "(0.0500 vs 0.2000, 4.00× lower) and sharpness (0.95 vs 0.45 of real, 2.11× sharper, nearer 1.0). "
        "With N(0,I) samples the VAE-GAN is better on FID (398.0 vs 409.0, 1.03× lower), KID (0.4000 vs 0.4200, "
        "1.05× lower) and sharpness (0.90 vs 0.40 of real, 2.25× sharper, nearer 1.0). One seed per model, so "
        "whether the gaps exceed seed noise is unknown (run several seeds).")


def test_verdict_over_seeds_says_whether_the_gap_exceeds_the_seed_spread():
    vae = [(240.0, 0.21, 0.54), (241.0, 0.20, 0.30), (245.0, 0.19, 0.30)]
    vaegan = [(70.0, 0.17, 1.0), (74.0, 0.19, 1.0), (78.0, 0.21, 0.5)]
    results = [result(kind, seed, {"gmm": values[seed], "prior": (400.0 + seed, 0.4, 1.3 if kind == "vae" else 2.0)})
               for seed in range(3) for kind, values in (("vae", vae), ("vaegan", vaegan))]
    # GMM, FID: every seed apart. KID: 0.01 apart, pooled std 0.016. Sharpness as |log ratio|: the seeds overlap
    # (0.69 for the VAE-GAN's 0.5, 0.62 for the VAE's 0.54) but the means are 2.1 pooled std apart.
    # N(0,I): equal FIDs and KIDs; the VAE nearer 1.0 in sharpness for every seed.
    assert verdict(score_rows(results)) == (
        "At 2000 steps each (3 seeds per model): with GMM samples the VAE-GAN is better on FID (74.0 vs 242.0, "
        "3.27× lower; every VAE-GAN seed below every VAE seed), KID (0.1900 vs 0.2000, 1.05× lower; within the seed "
        "spread: gap 0.6× the pooled seed std) and sharpness (0.83 vs 0.38 of real, 2.19× sharper, nearer 1.0; gap "
        "2.1× the pooled seed std). With N(0,I) samples the two models tie on FID (401.0 each) and KID (0.4000 each); "
        "the VAE is better on sharpness (1.30 vs 2.00 of real, 1.54× less sharp, nearer 1.0; every VAE seed nearer "
        "1.0 than every VAE-GAN seed).")


def test_verdict_names_a_wall_clock_budget_and_the_steps_it_bought():
    budget = {"steps": None, "minutes": 20.0, "epochs": None}
    results = [result("vae", 0, {"prior": (60.0, 0.06, 0.4)}, step=9000, budget=budget),
               result("vaegan", 0, {"prior": (25.0, 0.025, 0.9)}, step=1300, budget=budget),
               result("vaegan", 1, {"prior": (5.0, 0.005, 1.0)}, status="diverged")]
    text = verdict(score_rows(results))
    assert text.startswith("At 20 min each (scored at step 9000 for the VAE, 1300 for the VAE-GAN): with N(0,I) "
                           "samples the VAE-GAN is better on FID (25.00 vs 60.00, 2.40× lower)")
    assert text.endswith(" 1 diverged run left out.")
    only_vae = verdict(score_rows(results[:1]))
    assert only_vae == "At 20 min each (scored at step 9000 for the VAE): VAE · N(0,I): FID 60.00, KID 0.0600, " \
                       "sharpness 0.40 of real."


def test_report_renders_in_chromium(report, tmp_path):
    if not shutil.which("chromium"):
        # CI sets VAEGAN_REQUIRE_BROWSER (and `make test` installs chromium): there a missing browser is a failure.
        if os.environ.get("VAEGAN_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed but VAEGAN_REQUIRE_BROWSER is set (make test installs it as root)")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    shot = tmp_path / "shot.png"
    result = subprocess.run([sys.executable, str(REPO / "scripts/dev/screenshot_report.py"), str(report / "report.html"),
                             "--out", str(shot), "--window-size", "800,600"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_the_table_says_stale_and_failed_not_running_or_a_bare_word():
    from vaegan.evaluation.table import status_text

    stale = dataclasses.replace(result("vae", 0, {}, status="running", step=40), stale="stale: process gone")
    failed = dataclasses.replace(result("vae", 1, {}, status="failed", step=7), message="OSError: disk full")
    assert status_text(stale) == "running (stale: process gone) at step 40"
    assert status_text(failed) == "FAILED at step 7: OSError: disk full"
    assert status_text(result("vae", 2, {})) == "finished"


def test_verdict_of_three_methods_ranks_every_method_after_the_vaegan_vae_comparison():
    results = [result("vae", 0, {"gmm": (241.0, 0.20, 0.45)}), result("vaegan", 0, {"gmm": (74.0, 0.05, 0.95)}),
               result("softintrovae", 0, {"gmm": (60.0, 0.07, 1.30)})]
    text = verdict(score_rows(results))
    assert text.startswith("At 2000 steps each: with GMM samples the VAE-GAN is better on FID (74.0 vs 241.0")
    assert ("All methods with GMM samples, best first: FID Soft-IntroVAE 60.00, VAE-GAN 74.00, VAE 241.0; "
            "KID VAE-GAN 0.0500, Soft-IntroVAE 0.0700, VAE 0.2000; sharpness (nearest 1.0 first) VAE-GAN 0.95 of real, "
            "Soft-IntroVAE 1.30 of real, VAE 0.45 of real.") in text
    # Without the VAE-GAN there is no pair to compare: the ranking alone.
    pair = verdict(score_rows([results[0], results[2]]))
    assert pair.startswith("At 2000 steps each: All methods with GMM samples, best first: FID Soft-IntroVAE 60.00, VAE")


def test_runs_of_another_decoder_are_a_model_of_their_own_never_averaged_with_the_conv_runs():
    conv = result("vaegan", 0, {"gmm": (60.0, 0.05, 0.9)})
    cppn = result("vaegan", 0, {"gmm": (460.0, 0.30, 1.0)})
    cppn.config = {**cppn.config, "model": {"decoder": "cppn"}}
    vae = result("vae", 0, {"gmm": (250.0, 0.20, 0.4)})
    assert (conv.model, cppn.model) == ("vaegan", "vaegan:cppn")
    text = verdict(score_rows([vae, conv, cppn]))
    assert "the VAE-GAN is better on FID (60.0 vs 250.0" in text  # the conv VAE-GAN alone, not a mean with the CPPN
    assert "FID VAE-GAN 60.00, VAE 250.0, VAE-GAN (CPPN) 460.0" in text
