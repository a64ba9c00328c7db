"""Image inputs (folders, .npy, .npz, statistics) and the `python -m metrics` command line."""

import json
import re
import subprocess
import sys
from pathlib import Path

import kornia
import numpy as np
import pytest
import torch
from PIL import Image

from metrics import extractors
from metrics.cli import main
from metrics.frechet import feature_statistics, frechet_distance
from metrics.image_io import InputError, load_images, load_images_or_stats
from metrics.stats import FeatureStats
from fake_extractor import ProjectionExtractor
from vaegan.data import load_dataset

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def images(fashion_mnist):
    return load_dataset("fashion_mnist", split="test", root=str(fashion_mnist), limit=600).images


def write_pngs(folder, images):
    """uint8 (N, C, H, W) -> numbered PNGs in folder (grayscale or RGB)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        array = image.permute(1, 2, 0).numpy()
        Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(folder / f"{i:05d}.png")
    return folder


# --- inputs ---------------------------------------------------------------------------------------------


def test_png_folders_round_trip(tmp_path, images):
    gray = load_images(write_pngs(tmp_path / "gray", images[:20]))
    assert gray.dtype == torch.uint8 and torch.equal(gray, images[:20])
    rgb_images = torch.stack([images[:20, 0], images[20:40, 0], images[40:60, 0]], dim=1)
    assert torch.equal(load_images(write_pngs(tmp_path / "rgb", rgb_images)), rgb_images)
    (tmp_path / "gray" / "notes.txt").write_text("ignored")
    Image.fromarray(rgb_images[0].permute(1, 2, 0).numpy()).save(tmp_path / "gray" / "zzz.jpg")
    mixed = load_images(tmp_path / "gray")  # grayscale promotes to RGB beside a colour image
    assert mixed.shape == (21, 3, 28, 28) and torch.equal(mixed[:20], images[:20].repeat(1, 3, 1, 1))


def test_arrays_in_every_layout(tmp_path, images):
    batch = images[:10]
    layouts = {
        "nchw.npy": batch.numpy(),
        "nhw.npy": batch[:, 0].numpy(),
        "nhwc.npy": batch.permute(0, 2, 3, 1).numpy(),
        "unit_float.npy": batch.numpy().astype(np.float32) / 255,
        "int64.npy": batch.numpy().astype(np.int64),
    }
    for name, array in layouts.items():
        np.save(tmp_path / name, array)
        assert torch.equal(load_images(tmp_path / name), batch), name
    np.savez(tmp_path / "keyed.npz", images=batch.numpy(), labels=np.arange(10))
    np.savez(tmp_path / "single.npz", anything=batch.numpy())
    assert torch.equal(load_images(tmp_path / "keyed.npz"), batch)
    assert torch.equal(load_images(tmp_path / "single.npz"), batch)


def test_statistics_files_load_as_statistics(tmp_path):
    stats = FeatureStats(np.zeros(3), np.eye(3), 10, "projection@00000000", "test")
    stats.save(tmp_path / "ref.npz")
    loaded = load_images_or_stats(tmp_path / "ref.npz")
    assert isinstance(loaded, FeatureStats) and loaded.extractor_id == "projection@00000000"
    with pytest.raises(InputError, match="holds feature statistics"):
        load_images(tmp_path / "ref.npz")


def test_bad_inputs_get_clear_errors(tmp_path, images):
    (tmp_path / "empty").mkdir()
    write_pngs(tmp_path / "sizes", images[:2])
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "sizes" / "big.png")
    write_pngs(tmp_path / "corrupt", images[:2])
    (tmp_path / "corrupt" / "broken.png").write_bytes(b"\x89PNG garbage")
    np.save(tmp_path / "range.npy", np.full((2, 1, 8, 8), 1.5, np.float32))
    np.save(tmp_path / "negative.npy", np.full((2, 1, 8, 8), -3, np.int16))
    np.save(tmp_path / "shape.npy", np.zeros((2, 5, 8, 8), np.uint8))
    np.save(tmp_path / "flat.npy", np.zeros(10, np.uint8))
    np.save(tmp_path / "bool.npy", np.zeros((2, 8, 8), bool))
    np.savez(tmp_path / "ambiguous.npz", a=np.zeros((2, 8, 8)), b=np.zeros(2))
    cases = {
        "missing": "does not exist",
        "empty": "contains no .png/.jpg/.jpeg images",
        "sizes": "mixes image sizes.*32x32",
        "corrupt": "cannot read image .*broken.png",
        "range.npy": r"float images must be in \[0, 1\].*\(x \+ 1\) / 2",
        "negative.npy": r"integer images must be in \[0, 255\]",
        "shape.npy": "channel axis of size 1 or 3",
        "flat.npy": "images must be",
        "bool.npy": "unsupported dtype bool",
        "ambiguous.npz": "under the key 'images'",
    }
    for name, message in cases.items():
        with pytest.raises(InputError, match=message):
            load_images(tmp_path / name)


# --- command line with a fake extractor -----------------------------------------------------------------


@pytest.fixture
def projection(monkeypatch):
    monkeypatch.setitem(extractors.EXTRACTORS, "projection", lambda **options: ProjectionExtractor())
    return ProjectionExtractor()


@pytest.fixture
def image_files(tmp_path, images):
    np.save(tmp_path / "real.npy", images[:400].numpy())
    np.save(tmp_path / "fake.npy", (images[400:] // 2).numpy())
    return tmp_path / "real.npy", tmp_path / "fake.npy"


def test_fid_prints_value_n_and_extractor(capsys, projection, image_files, images):
    assert main(["fid", *map(str, image_files), "--extractor", "projection"]) == 0
    out = capsys.readouterr().out
    expected = frechet_distance(
        *feature_statistics(projection.features(images[:400])),
        *feature_statistics(projection.features(images[400:] // 2)),
    )
    assert out.startswith(f"FID {expected:.4f}  (A real N=400, B generated N=200, extractor projection@00000000)")
    assert "KID" not in out


@pytest.mark.filterwarnings("ignore:KID subsets of 200")
def test_fid_all_writes_json(tmp_path, capsys, projection, image_files):
    out_json = tmp_path / "out" / "result.json"
    assert main(["fid", *map(str, image_files), "--extractor", "projection", "--all", "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out_json.read_text())
    assert f"FID {result['fid']:.4f}" in printed and "KID" in printed and "Laplacian variance" in printed
    assert result["kid"] > 3 * result["kid_std"]
    assert 0 < result["laplacian_ratio"] < 1  # halved intensities: weaker edges
    assert result["extractor"] == "projection@00000000" and result["fake_input"] == str(image_files[1])


def test_stats_then_fid_against_statistics(tmp_path, capsys, projection, image_files):
    real, fake = image_files
    assert main(["stats", str(real), str(tmp_path / "ref.npz"), "--extractor", "projection", "--dataset-id", "fm"]) == 0
    stats = FeatureStats.load(tmp_path / "ref.npz")
    assert (stats.n, stats.dataset_id, stats.extractor_id) == (400, "fm", "projection@00000000")
    assert main(["fid", str(real), str(fake), "--extractor", "projection", "--json", str(tmp_path / "a.json")]) == 0
    assert main(["fid", str(tmp_path / "ref.npz"), str(fake), "--extractor", "projection", "--all",
                 "--json", str(tmp_path / "b.json")]) == 0
    from_images, from_stats = (json.loads((tmp_path / name).read_text()) for name in ("a.json", "b.json"))
    assert from_stats["fid"] == pytest.approx(from_images["fid"], rel=1e-12)
    assert from_stats["kid"] is None
    assert "KID n/a" in capsys.readouterr().out
    # Two statistics files: no extractor needed at all.
    assert main(["stats", str(fake), str(tmp_path / "fake.npz"), "--extractor", "projection"]) == 0
    assert main(["fid", str(tmp_path / "ref.npz"), str(tmp_path / "fake.npz"), "--json", str(tmp_path / "c.json")]) == 0
    assert json.loads((tmp_path / "c.json").read_text())["fid"] == pytest.approx(from_images["fid"], rel=1e-12)


def test_errors_are_one_line_and_exit_2(tmp_path, capsys, projection, image_files):
    real, fake = image_files
    FeatureStats(np.zeros(32), np.eye(32), 10, "other@12345678", "x").save(tmp_path / "other.npz")
    missing, other = str(tmp_path / "missing"), str(tmp_path / "other.npz")
    failures = {
        ("fid", missing, str(fake), "--extractor", "projection"): "InputError: .*missing does not exist",
        ("fid", other, str(fake), "--extractor", "projection"): "StaleStatisticsError: .*other@12345678",
        ("fid", str(real), other, "--all"): "--all needs generated images",
    }
    for argv, message in failures.items():
        assert main(list(argv)) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ")
        assert re.search(message, err), err


def test_module_entry_point_exits_2_without_traceback(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "metrics", "fid", str(tmp_path / "nope"), str(tmp_path / "nope2")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "does not exist" in run.stderr


# --- command line with the bundled domain extractor ----------------------------------------------------


@pytest.mark.filterwarnings("ignore:KID subsets of 300")
def test_domain_fid_on_real_png_folders(tmp_path, capsys, images):
    real = write_pngs(tmp_path / "real", images[:300])
    same = write_pngs(tmp_path / "same", images[300:600])
    blurred_images = kornia.filters.gaussian_blur2d(images[300:600].float(), (7, 7), (1.0, 1.0))
    blurred = write_pngs(tmp_path / "blurred", blurred_images.round().clamp(0, 255).to(torch.uint8))
    results = {}
    for name, folder in [("same", same), ("blurred", blurred)]:
        out = tmp_path / f"{name}.json"
        assert main(["fid", str(real), str(folder), "--extractor", "domain", "--all", "--json", str(out)]) == 0
        results[name] = json.loads(out.read_text())
    extractor = extractors.get_extractor("domain")
    direct = frechet_distance(*feature_statistics(extractor.features(images[:300])),
                              *feature_statistics(extractor.features(images[300:600])))
    assert results["same"]["fid"] == pytest.approx(direct, rel=1e-5)  # float32 features, batched alike
    assert results["same"]["extractor"] == extractor.id and extractor.id.startswith("domain-")
    assert results["blurred"]["fid"] > 2 * results["same"]["fid"]
    assert results["blurred"]["kid"] > results["same"]["kid"]
    assert results["blurred"]["laplacian_ratio"] < 0.5 < results["same"]["laplacian_ratio"]
