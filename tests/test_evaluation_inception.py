"""The report's --inception scores, min-max stretch, "Against published results" section, and precision / recall /
density / coverage, on two tiny runs (2 steps) with a fake, fast extractor standing in for Inception."""

import argparse
import copy
import dataclasses
import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fake_extractor import ProjectionExtractor
from metrics import get_extractor, score_samples
from metrics.precision_recall import density_coverage, precision_recall
from metrics.stretch import min_max_stretch
from vaegan.config import DataConfig
from vaegan.evaluation import EvalConfig, evaluate_runs
from vaegan.evaluation import published as published_module
from vaegan.evaluation.inception_flags import add_inception_arguments, inception_settings
from vaegan.evaluation.markdown_page import render_markdown
from vaegan.evaluation.page import build_page
from vaegan.evaluation.published import PublishedFID, published_fids
from vaegan.evaluation.scoring import (build_inception_reference, inception_codes,
                                       inception_scores, reference_for_runs)
from vaegan.evaluation.summary import fidelity_diversity, kind_label, score_rows
from vaegan.latent_sampler import LatentGMM, gmm_path, latent_codes
from vaegan.recipes import default_config
from vaegan.sampling import decode
from vaegan.trained_run import load_trained_run
from vaegan.training.loop import train

REPO = Path(__file__).resolve().parents[1]
N_GEN, N_REAL, CHUNK = 300, 400, 128
INCEPTION = EvalConfig(samples=200, reference_size=512, seed=3, attributes=False, inception=True,
                       inception_samples=N_GEN, inception_reference_size=N_REAL, inception_chunk=CHUNK)
pytestmark = pytest.mark.filterwarnings("ignore:KID subsets of")


class RecordingExtractor(ProjectionExtractor):
    """The fake extractor, taking any image size like Inception, and recording the size of every call."""

    def __init__(self, seed=5):
        super().__init__(seed=seed, input_shape=None)
        self.id = f"fake-inception@{seed:08d}"
        self.batches = []

    def features(self, images, batch_size=None):
        self.batches.append(len(images))
        # float32 values, as a network's are (the reference cache stores float32)
        return super().features(images, batch_size).astype(np.float32).astype(np.float64)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("cache")
        mp.setenv("VAEGAN_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory, fashion_mnist):
    root = tmp_path_factory.mktemp("runs")
    dirs = []
    for kind in ("vae", "vaegan"):
        cfg = dataclasses.replace(default_config(kind), data=DataConfig(limit=512), epochs=None, steps=2,
                                  batch_size=32, runs_dir=str(root), checkpoint_every=2, progress_seconds=3600,
                                  eval_batches=1, fid_every=0, precision="fp32")
        dirs.append(train(cfg))
    return dirs


@pytest.fixture(scope="module")
def scored(runs, cache, tmp_path_factory):
    """(report folder, the reference, the fake Inception extractor, the printed progress) with --inception."""
    extractor, out = RecordingExtractor(), io.StringIO()
    reference = reference_for_runs(runs, INCEPTION, out, inception=extractor)
    html = evaluate_runs(runs, INCEPTION, reports_root=tmp_path_factory.mktemp("reports"), reference=reference,
                         out=out)
    return html.parent, reference, extractor, out.getvalue()


@pytest.fixture(scope="module")
def plain(runs, tmp_path_factory):
    """The same runs without --inception."""
    cfg = dataclasses.replace(INCEPTION, inception=False)
    return evaluate_runs(runs, cfg, reports_root=tmp_path_factory.mktemp("plain"), out=io.StringIO()).parent


def test_inception_scores_are_streamed_in_chunks_and_equal_a_one_shot_computation(scored, runs):
    from vaegan.data import load_dataset

    folder, reference, extractor, printed = scored
    # Real side: N_REAL test images once, in chunks; each sampler of each run: N_GEN samples in ceil(N_GEN/CHUNK).
    per_set = math.ceil(N_GEN / CHUNK)
    assert max(extractor.batches) <= CHUNK
    assert len(extractor.batches) == math.ceil(N_REAL / CHUNK) + 2 * 2 * per_set
    assert sum(extractor.batches) == N_REAL + 2 * 2 * N_GEN
    test = load_dataset("fashion_mnist", "test").images
    record = json.loads((folder / "metrics.json").read_text())
    one_shot_extractor = RecordingExtractor()
    for i, run_dir in enumerate(runs):
        run = load_trained_run(run_dir)
        gmm = LatentGMM.load(gmm_path(run_dir, "latest"))
        for sampler in ("prior", "gmm"):
            images = decode(run.nets["decoder"], inception_codes(sampler, run.cfg.model.latent_dim, gmm, INCEPTION))
            assert len(images) == N_GEN
            direct = score_samples(images, test[:N_REAL], one_shot_extractor, kid=False, nearest_neighbours=True)
            scores = record["runs"][i]["sample_scores"][sampler]
            assert scores["inception_n_samples"] == N_GEN
            assert scores["inception_fid"] == pytest.approx(direct["fid"], rel=1e-7)
            for key in ("precision", "recall", "density", "coverage"):
                assert scores[f"inception_{key}"] == pytest.approx(direct[key], abs=1e-12), key
    assert record["evaluation"]["inception"]["enabled"] and record["evaluation"]["inception"]["samples"] == N_GEN
    assert record["evaluation"]["inception"]["stretch"] is False
    # Progress lines with a rate and the time left or taken, for the reference and every sampler's samples.
    lines = [line for line in printed.splitlines() if "images/s" in line]
    assert any(line.strip().startswith("inception reference:") and f"{N_REAL}/{N_REAL} images" in line
               for line in lines)
    assert sum(f"{N_GEN}/{N_GEN} images" in line and "done in" in line for line in lines) == 4


def test_the_real_side_is_cached_once_per_machine(scored, cache):
    _, reference, extractor, _ = scored
    assert reference.inception.cache.is_file() and str(reference.inception.cache).startswith(str(cache))
    from vaegan.data import load_dataset

    test = load_dataset("fashion_mnist", "test")
    again = RecordingExtractor()
    second = build_inception_reference(test.images, test.identity, INCEPTION, again, io.StringIO())
    assert again.batches == []  # read from the cache, nothing extracted
    np.testing.assert_array_equal(second.features, reference.inception.features)
    np.testing.assert_array_equal(second.stats.sigma, reference.inception.stats.sigma)
    other = RecordingExtractor(seed=6)  # another extractor id: its own cache entry, never the old numbers
    third = build_inception_reference(test.images, test.identity, INCEPTION, other, io.StringIO())
    assert sum(other.batches) == N_REAL and not np.allclose(third.stats.mu, second.stats.mu)


def test_min_max_stretch_maps_each_image_to_the_full_range():
    g = torch.Generator().manual_seed(0)
    images = torch.randint(40, 200, (6, 1, 28, 28), generator=g, dtype=torch.uint8)
    images[2] = 90  # constant: nothing to stretch
    images[3, :, :, :5] = 0  # already reaches 0
    out = min_max_stretch(images)
    assert out.dtype == torch.uint8 and out.shape == images.shape
    for i in (0, 1, 3, 4, 5):
        x = images[i].double()
        expected = (x - x.min()) / (x.max() - x.min()) * 255
        assert out[i].min() == 0 and out[i].max() == 255
        assert (out[i].double() - expected).abs().max() <= 0.5
    assert torch.equal(out[2], images[2])


def test_stretch_option_scores_the_stretched_samples(scored, runs):
    """With inception_stretch the streamed samples are min-max stretched (and only then): the score equals a one-shot
    score of the stretched images and differs from the unstretched one."""
    _, reference, _, _ = scored
    run = load_trained_run(runs[0])
    dec, dim = run.nets["decoder"], run.cfg.model.latent_dim
    stretched_cfg = dataclasses.replace(INCEPTION, inception_stretch=True)
    stretched = inception_scores(dec, "prior", dim, None, reference, stretched_cfg, "test", io.StringIO())
    unstretched = inception_scores(dec, "prior", dim, None, reference, INCEPTION, "test", io.StringIO())
    images = decode(dec, inception_codes("prior", dim, None, INCEPTION))
    assert not torch.equal(min_max_stretch(images), images)  # a 2-step decoder does not fill 0..255 by itself
    inc = reference.inception
    direct = score_samples(min_max_stretch(images), inc.stats, inc.extractor, kid=False)
    assert stretched["inception_fid"] == pytest.approx(direct["fid"], rel=1e-7)
    assert stretched["inception_fid"] != pytest.approx(unstretched["inception_fid"], rel=1e-3)


def test_published_section_is_in_both_renderers_with_the_modules_numbers(scored):
    folder, _, _, _ = scored
    md, html = (folder / "report.md").read_text(), (folder / "report.html").read_text()
    rows = published_fids("fashion_mnist")
    assert rows
    for text in (md, html):
        assert "Against published results" in text
        section = text[text.index("Against published results"):]
        for p in rows:
            assert p.model in section and f"{p.fid:.1f}" in section and f"± {p.std:.1f}" in section
        assert "stretch" in section and f"{N_GEN} generated vs {N_REAL} test images" in section
    # The citations wrap at a reading width in HTML, not in the folder-name column's 96 px (one word per line)
    html_section = html[html.index("Against published results"):html.index("How the protocols differ")]
    ours_rows = html_section.count("(this report)")
    assert ours_rows > 0 and html_section.count('<td class="prose">') == len(rows) + ours_rows
    assert "td.prose {" in html
    record = json.loads((folder / "metrics.json").read_text())
    assert [(r["model"], r["fid"], r["std"]) for r in record["published"]["rows"]] == \
           [(p.model, p.fid, p.std) for p in rows]
    ours = record["summary"]["vae"]["samplers"]["gmm"]["inception_fid"]["mean"]
    assert f"{ours:.1f}" in md[md.index("Against published results"):]


def test_published_numbers_come_from_the_one_module(scored, monkeypatch):
    folder, reference, _, _ = scored
    results = _results_from(folder, reference)
    monkeypatch.setitem(published_module.PUBLISHED, "fashion_mnist", (PublishedFID("Made-up GAN", 12.3, 0.4, "x"),))
    page = build_page(results, reference, INCEPTION, _files(folder))
    md = render_markdown(page)
    assert "Made-up GAN" in md and "12.3" in md and "43.6" not in md
    other = copy.copy(reference)
    other.dataset = "cifar10"  # no published numbers for this data: no section
    assert build_page(results, other, INCEPTION, _files(folder)).published is None


def test_no_published_section_and_no_inception_columns_without_inception(plain):
    md, html = (plain / "report.md").read_text(), (plain / "report.html").read_text()
    record = json.loads((plain / "metrics.json").read_text())
    for text in (md, html):
        assert "Against published results" not in text and "Inception FID ↓" not in text
    assert record["published"] is None and record["evaluation"]["inception"] == {"enabled": False}
    assert all("inception_fid" not in s for r in record["runs"] for s in r["sample_scores"].values())


def test_precision_recall_density_coverage_agree_with_the_metrics_functions(plain, runs):
    from vaegan.data import load_dataset

    test = load_dataset("fashion_mnist", "test").images
    domain = get_extractor("domain")
    real = domain.features(test[:512])
    record = json.loads((plain / "metrics.json").read_text())
    md = (plain / "report.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| run |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    for label in ("precision ↑", "recall ↑", "density ↑", "coverage ↑"):
        assert label in columns
    table_rows = [line for line in md.splitlines() if line.startswith("| 0000")]
    for i, run_dir in enumerate(runs):
        run = load_trained_run(run_dir)
        gmm = LatentGMM.load(gmm_path(run_dir, "latest"))
        for j, sampler in enumerate(("prior", "gmm")):
            z = latent_codes(sampler, 200, run.cfg.model.latent_dim, torch.Generator().manual_seed(3), gmm)
            fake = domain.features(decode(run.nets["decoder"], z))
            precision, recall = precision_recall(real, fake, k=3)
            density, coverage = density_coverage(real, fake, k=5)
            scores = record["runs"][i]["sample_scores"][sampler]
            assert (scores["precision"], scores["recall"]) == pytest.approx((precision, recall), abs=1e-12)
            assert (scores["density"], scores["coverage"]) == pytest.approx((density, coverage), abs=1e-12)
            cells = [c.strip().strip("*") for c in table_rows[2 * i + j].strip("|").split("|")]
            assert cells[columns.index("precision ↑")] == f"{precision:.3f}"
            assert cells[columns.index("coverage ↑")] == f"{coverage:.3f}"
    assert "precision" in record["summary"]["vae"]["samplers"]["prior"]


def test_the_report_says_which_model_wins_fidelity_and_diversity(plain):
    record = json.loads((plain / "metrics.json").read_text())
    md, html = (plain / "report.md").read_text(), (plain / "report.html").read_text()
    assert "Fidelity vs diversity" in md and "Fidelity vs diversity" in html
    section = md[md.index("## Fidelity vs diversity"):].split("\n## ")[0]
    for key in ("precision", "recall", "density", "coverage"):
        values = {kind: record["summary"][kind]["samplers"]["prior"][key]["mean"] for kind in ("vae", "vaegan")}
        if values["vae"] == values["vaegan"]:
            continue
        winner = max(values, key=values.get)
        line = next(line for line in section.splitlines() if line.startswith("- N(0,I) samples"))
        segment = next(seg for seg in line.split(";") if f" {key} (" in seg)
        assert re.search(r"the (\S+) on ", segment).group(1) == kind_label(winner), (key, line)


def test_inception_flags_reach_the_eval_config_and_bf16_features_are_stated(scored):
    p = argparse.ArgumentParser()
    add_inception_arguments(p, EvalConfig())
    args = p.parse_args(["--inception", "--inception-precision", "bf16", "--inception-samples", "300",
                         "--inception-stretch"])
    cfg = EvalConfig(**inception_settings(args))
    assert (cfg.inception, cfg.inception_precision, cfg.inception_samples, cfg.inception_stretch) == \
           (True, "bf16", 300, True)
    assert EvalConfig(**inception_settings(p.parse_args([]))) == EvalConfig()
    folder, reference, _, _ = scored
    results = _results_from(folder, reference)
    fp32_notes = build_page(results, reference, INCEPTION, _files(folder)).published.differences
    assert not any("bf16" in d for d in fp32_notes)
    assert json.loads((folder / "metrics.json").read_text())["evaluation"]["inception"]["precision"] == "fp32"
    extractor = copy.copy(reference.inception.extractor)
    extractor.precision = "bf16"
    bf16 = copy.copy(reference)
    bf16.inception = dataclasses.replace(reference.inception, extractor=extractor)
    bf16_notes = build_page(results, bf16, INCEPTION, _files(folder)).published.differences
    assert any("bf16 autocast" in d for d in bf16_notes)


def test_missing_tf_weights_are_one_line_naming_the_fetch_command(runs, tmp_path):
    env = {**os.environ, "VAEGAN_CACHE_DIR": str(tmp_path / "empty")}
    result = subprocess.run([sys.executable, str(REPO / "scripts/evaluate.py"), str(runs[0]), "--inception",
                             "--out", str(tmp_path / "report")], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "python -m metrics fetch-inception" in result.stderr
    assert not (tmp_path / "report" / "report.html").exists()


def _files(folder: Path) -> dict:
    names = {p.name for p in folder.iterdir()}
    files = {"real": "real.png", "zoom": "zoom.png", "spectrum": "spectrum.png"}
    if "scores.png" in names:
        files["scores"] = "scores.png"
    return files


def _results_from(folder: Path, reference):
    """The runs scored again (domain scores only are recomputed; Inception scores copied from metrics.json), enough
    for build_page."""
    from vaegan.evaluation.scoring import score_run

    record = json.loads((folder / "metrics.json").read_text())
    cfg = dataclasses.replace(INCEPTION, inception=False)
    plain_reference = copy.copy(reference)
    plain_reference.inception = None
    results = []
    for r in record["runs"]:
        result = score_run(Path(r["run_dir"]), plain_reference, cfg, out=io.StringIO())
        for sampler, scores in r["sample_scores"].items():
            result.sample_scores[sampler].update({k: v for k, v in scores.items() if k.startswith("inception_")})
        result.samples, result.reconstructions = {}, None
        results.append(result)
    return results


def test_compare_refuses_inception_without_weights_before_training(tmp_path, fashion_mnist):
    env = {**os.environ, "VAEGAN_CACHE_DIR": str(tmp_path / "empty")}
    result = subprocess.run([sys.executable, str(REPO / "scripts/compare.py"), "--steps", "2", "--inception",
                             "--inception-samples", "100", "--inception-stretch", "--runs-dir", str(tmp_path / "runs"),
                             "--reports-dir", str(tmp_path / "reports")],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "python -m metrics fetch-inception" in result.stderr
    assert not list((tmp_path / "runs").glob("*/checkpoints"))  # nothing was trained first


def test_nearest_neighbour_scores_of_real_images_agree_with_a_direct_call_streamed_or_not():
    """On images close to the reference (other test images) the scores are far from 0 and 1, and score_samples,
    score_streamed in chunks and the metrics functions on the features all give the same values."""
    from metrics import FeatureStats
    from metrics.scores import score_streamed
    from vaegan.data import load_dataset

    test = load_dataset("fashion_mnist", "test").images
    real, fake = test[:600], test[600:1100]
    extractor = get_extractor("domain")
    one = score_samples(fake, real, extractor, kid=False, nearest_neighbours=True)
    a, b = extractor.features(real), extractor.features(fake)
    precision, recall = precision_recall(a, b, k=3)
    density, coverage = density_coverage(a, b, k=5)
    assert (one["precision"], one["recall"], one["density"], one["coverage"]) == (precision, recall, density, coverage)
    assert 0.3 < precision < 1 and 0.3 < recall < 1 and 0.3 < coverage < 1
    stats = FeatureStats.from_features(a, extractor.id, "real")
    streamed = score_streamed(fake.split(128), stats, extractor, real_features=a)
    assert streamed["fid"] == pytest.approx(one["fid"], rel=1e-9)
    assert [streamed[k] for k in ("precision", "recall", "density", "coverage")] == [precision, recall, density,
                                                                                      coverage]


def test_fidelity_and_diversity_name_each_scores_winner():
    from vaegan.evaluation.scoring import RunResult

    def result(kind, precision, recall, density, coverage):
        r = RunResult(Path(kind), kind, kind, 0, {"steps": 20}, "finished", 20, "", step=20)
        r.scores = {"ssim": 0.5}
        r.sample_scores = {"prior": {"fid": 1.0, "precision": precision, "recall": recall, "density": density,
                                     "coverage": coverage}}
        return r

    rows = score_rows([result("vae", 0.30, 0.60, 0.20, 0.50), result("vaegan", 0.70, 0.40, 0.90, 0.50)])
    [sentence] = fidelity_diversity(rows)
    assert sentence == ("N(0,I) samples — fidelity (precision, density): the VAE-GAN on precision (0.700 vs 0.300 "
                        "for the VAE) and density (0.900 vs 0.200 for the VAE); diversity (recall, coverage): the VAE "
                        "on recall (0.600 vs 0.400 for the VAE-GAN); a tie on coverage (0.500 each).")
    assert fidelity_diversity(rows[:1]) == []  # one model: nothing to compare
