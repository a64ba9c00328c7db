"""Precision/recall and density/coverage against brute-force loops, known answers, chunking and the command line."""

import json

import numpy as np
import pytest

from metrics.cli import main as metrics_main
from metrics.frechet import FeatureError
from metrics.precision_recall import density_coverage, knn_radii_sq, precision_recall


def reference_prdc(real: np.ndarray, fake: np.ndarray, k_pr: int, k_dc: int) -> tuple[float, ...]:
    """The definitions, one pair of points at a time: radius = distance to the k-th nearest other point."""
    def dist(a, b):
        return float(np.sqrt(((a - b) ** 2).sum()))

    def radius(points, i, k):
        return sorted(dist(points[i], points[j]) for j in range(len(points)) if j != i)[k - 1]

    def inside(x, points, radii):
        return [dist(x, p) <= r for p, r in zip(points, radii)]

    r_pr = [radius(real, i, k_pr) for i in range(len(real))]
    f_pr = [radius(fake, i, k_pr) for i in range(len(fake))]
    precision = np.mean([any(inside(f, real, r_pr)) for f in fake])
    recall = np.mean([any(inside(r, fake, f_pr)) for r in real])
    r_dc = [radius(real, i, k_dc) for i in range(len(real))]
    density = sum(sum(inside(f, real, r_dc)) for f in fake) / (k_dc * len(fake))
    coverage = np.mean([min(dist(real[i], f) for f in fake) <= r_dc[i] for i in range(len(real))])
    return precision, recall, density, coverage


@pytest.mark.parametrize("shift", [0.0, 0.7, 2.0])
def test_matches_the_brute_force_definitions(shift):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 4))
    fake = rng.normal(size=(33, 4)) * 1.3 + shift
    expected = reference_prdc(real, fake, 3, 5)
    got = (*precision_recall(real, fake), *density_coverage(real, fake))
    assert got == pytest.approx(expected, abs=1e-12)
    if shift == 0.7:
        assert 0 < min(expected) and max(expected[:2]) < 1  # a case where nothing is trivially 0 or 1


def test_chunking_does_not_change_the_answer():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(57, 6)), rng.normal(size=(45, 6)) + 0.3
    whole = (*precision_recall(real, fake, chunk=1000), *density_coverage(real, fake, chunk=1000))
    assert (*precision_recall(real, fake, chunk=7), *density_coverage(real, fake, chunk=7)) == whole
    assert knn_radii_sq(real, 3, chunk=5) == pytest.approx(knn_radii_sq(real, 3, chunk=100), rel=1e-12)


def test_identical_sets_and_far_apart_sets():
    x = np.random.default_rng(2).normal(size=(50, 8))
    assert precision_recall(x, x.copy()) == (1.0, 1.0)
    assert density_coverage(x, x.copy())[1] == 1.0
    assert precision_recall(x, x + 100) == (0.0, 0.0)
    assert density_coverage(x, x + 100) == (0.0, 0.0)


def test_bad_inputs_are_refused():
    x = np.zeros((4, 3))
    with pytest.raises(FeatureError, match="1 <= k < the size of each set"):
        precision_recall(x, x, k=4)
    with pytest.raises(FeatureError, match="different dimensions"):
        density_coverage(np.zeros((10, 3)), np.zeros((10, 2)))
    with pytest.raises(FeatureError, match="NaN"):
        precision_recall(np.full((10, 3), np.nan), np.zeros((10, 3)))


def test_cli_prdc_with_the_domain_extractor(tmp_path, capsys):
    rng = np.random.default_rng(3)
    np.save(tmp_path / "real.npy", rng.integers(0, 256, size=(24, 1, 28, 28), dtype=np.uint8))
    np.save(tmp_path / "fake.npy", rng.integers(0, 256, size=(20, 1, 28, 28), dtype=np.uint8))
    out_json = tmp_path / "prdc.json"
    assert metrics_main(["prdc", str(tmp_path / "real.npy"), str(tmp_path / "real.npy"), "--extractor", "domain",
                         "--json", str(out_json)]) == 0
    same = json.loads(out_json.read_text())
    assert (same["precision"], same["recall"], same["coverage"]) == (1.0, 1.0, 1.0)
    assert same["extractor"].startswith("domain") and "precision 1.0000" in capsys.readouterr().out
    assert metrics_main(["prdc", str(tmp_path / "real.npy"), str(tmp_path / "fake.npy"), "--extractor", "domain",
                         "--k-pr", "2", "--json", str(out_json)]) == 0
    result = json.loads(out_json.read_text())
    assert result["k_pr"] == 2 and result["n_fake"] == 20 and 0 <= result["precision"] <= 1
