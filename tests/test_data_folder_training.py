"""Training on small or mixed image folders: one channel count for both splits, previews sized from what there
is, split sizes checked before the first step, and the files read named in the output."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vaegan.config import DataConfig, TrainConfig
from vaegan.data import load_dataset
from vaegan.sampling import interpolation_ends
from vaegan.training.loop import train
from vaegan.training.visuals import fixed_inputs

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("VAEGAN_DECODE_CACHE", str(tmp_path / "cache"))


def save(path: Path, value: int, mode: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (12, 12), value if mode == "L" else (value, value // 2, 255 - value)).save(path)


def folder_config(tmp_path: Path, root: Path, **overrides) -> TrainConfig:
    base = dict(
        kind="vae", data=DataConfig(dataset="folder", root=str(root), image_size=28), epochs=None, steps=2,
        batch_size=4, runs_dir=str(tmp_path / "runs"), log_every=1, image_every=1, checkpoint_every=1,
        progress_seconds=3600, eval_batches=1, fid_every=0,
    )
    return TrainConfig(**{**base, **overrides})


def test_a_mixed_folder_with_one_test_image_trains_and_previews(tmp_path):
    root = tmp_path / "mixed"
    for i in range(8):
        save(root / "train" / f"{i}.png", 20 * i, "RGB" if i == 0 else "L")  # one colour file, in train only
    save(root / "test" / "0.png", 99, "L")
    out = io.StringIO()
    run = train(folder_config(tmp_path, root), out=out)
    assert (run / "checkpoints" / "latest.pt").is_file()
    assert sorted(p.name for p in (run / "samples").glob("reconstruction-*.png"))[-1] == "reconstruction-0000002.png"
    assert f"data: {root / 'train'}, {root / 'test'}" in out.getvalue()
    samples = tmp_path / "samples"
    subprocess.run([sys.executable, str(REPO / "scripts/sample.py"), str(run), "-n", "4", "--out", str(samples),
                    "--sampler", "prior"],  # a mixture needs more images than this folder has
                   check=True, capture_output=True)
    assert np.load(samples / "interpolations.npy").shape == (10, 3, 28, 28)  # one strip: the test image to itself


def test_too_few_training_images_for_one_batch_is_one_line_naming_the_folder(tmp_path):
    root = tmp_path / "small"
    for i in range(3):
        save(root / "train" / f"{i}.png", i, "L")
    save(root / "test" / "0.png", 9, "L")
    with pytest.raises(ValueError) as err:
        train(folder_config(tmp_path, root))
    message = str(err.value)
    assert "\n" not in message and str(root / "train") in message and "3 images" in message and "batch of 4" in message


def test_flat_folder_without_enough_files_for_a_test_split_names_the_counts(tmp_path):
    for i in range(5):
        save(tmp_path / "few" / f"{i}.png", i, "L")
    with pytest.raises(FileNotFoundError) as err:
        train(folder_config(tmp_path, tmp_path / "few"))
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "few") in message and "5 images" in message


@pytest.mark.parametrize("count", [1, 3, 9, 16, 23, 30])
def test_previews_are_sized_from_the_test_images_there_are(count):
    images = torch.arange(count, dtype=torch.uint8).view(count, 1, 1, 1).expand(count, 1, 4, 4).contiguous()
    fixed = fixed_inputs(images, latent_dim=2, seed=0)
    shown = len(fixed.images)
    assert 1 <= shown <= 16 and shown % fixed.row_width == 0 and fixed.row_width == min(8, count)
    a, b = fixed.pairs
    assert len(a) == len(b) >= 1
    if count >= 24:  # the usual previews: strips between images that are not in the reconstruction grid
        assert a[:, 0, 0, 0].tolist() == [16, 17, 18, 19] and b[:, 0, 0, 0].tolist() == [20, 21, 22, 23]


def test_interpolation_ends_of_one_image_give_one_strip():
    a, b = interpolation_ends(torch.zeros(1, 1, 4, 4, dtype=torch.uint8), pairs=8)
    assert a.shape == b.shape == (1, 1, 4, 4)
    a, b = interpolation_ends(torch.arange(20, dtype=torch.uint8).view(20, 1, 1, 1), pairs=8)
    assert a.flatten().tolist() == list(range(8)) and b.flatten().tolist() == list(range(8, 16))


def test_loaded_datasets_record_the_files_they_read(tmp_path):
    for i in range(10):
        save(tmp_path / "flat" / f"{i}.png", i, "L")
    assert load_dataset("folder", "test", root=str(tmp_path / "flat")).sources == (str(tmp_path / "flat"),)
