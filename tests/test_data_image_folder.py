"""The 'folder' dataset: flat folders, class subfolders, train/ and test/, channel rules, cache, errors."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vaegan.data import DatasetFormatError, DatasetNotFoundError, load_dataset
from vaegan.data import decode, image_folder


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("VAEGAN_DECODE_CACHE", str(tmp_path / "cache"))


def save(path: Path, value: int, mode: str = "RGB", size=(12, 12)) -> Path:
    """A flat image of brightness `value` (every channel), saved losslessly unless the suffix is .jpg."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode == "L" else (value,) * 3).save(path)
    return path


def values(ds) -> list[int]:
    return ds.images[:, 0, 0, 0].tolist()


def test_flat_folder_splits_90_10_by_sorted_path_without_labels(tmp_path):
    for i in range(20):
        save(tmp_path / "data" / f"{i:02d}.png", 10 * i)
    train = load_dataset("folder", "train", root=str(tmp_path / "data"), image_size=8)
    test = load_dataset("folder", "test", root=str(tmp_path / "data"), image_size=8)
    assert values(test) == [90, 190]  # sorted positions 9 and 19
    assert values(train) == [10 * i for i in range(20) if i not in (9, 19)]
    assert train.labels is None and train.images.shape == (18, 3, 8, 8)


def test_class_subfolders_give_labels(tmp_path):
    for cls, value in (("cat", 50), ("dog", 150)):
        for i in range(10):
            save(tmp_path / cls / f"{i}.png", value)
    train = load_dataset("folder", "train", root=str(tmp_path), image_size=8)
    assert train.labels.tolist() == [0] * 9 + [1] * 9
    assert values(train) == [50] * 9 + [150] * 9


def test_train_and_test_subfolders_share_one_class_index(tmp_path):
    save(tmp_path / "train" / "a" / "1.png", 10)
    save(tmp_path / "train" / "c" / "1.png", 30)
    save(tmp_path / "test" / "b" / "1.png", 20)
    save(tmp_path / "test" / "c" / "2.png", 30)
    train = load_dataset("folder", "train", root=str(tmp_path), image_size=8)
    test = load_dataset("folder", "test", root=str(tmp_path), image_size=8)
    assert train.labels.tolist() == [0, 2] and test.labels.tolist() == [1, 2]
    assert (train.split, test.split, len(test)) == ("train", "test", 2)


def test_grayscale_only_folder_keeps_one_channel_mixed_folder_becomes_rgb(tmp_path):
    for i in range(3):
        save(tmp_path / "gray" / "train" / f"{i}.png", 100, mode="L")
        save(tmp_path / "gray" / "test" / f"{i}.png", 100, mode="L")
    gray = load_dataset("folder", "train", root=str(tmp_path / "gray"), image_size=8)
    assert gray.images.shape == (3, 1, 8, 8) and (gray.images == 100).all()
    save(tmp_path / "gray" / "train" / "3.bmp", 200)
    mixed = load_dataset("folder", "train", root=str(tmp_path / "gray"), image_size=8)
    assert mixed.images.shape == (4, 3, 8, 8)
    assert (mixed.images[:3] == 100).all() and (mixed.images[3] == 200).all()


def test_non_square_images_are_centre_cropped_then_resized(tmp_path):
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, 10:30] = 255  # the centre 20x20 square is white, the side bands black
    for split in ("train", "test"):
        (tmp_path / split).mkdir()
        Image.fromarray(pixels).save(tmp_path / split / "wide.png")
    ds = load_dataset("folder", "train", root=str(tmp_path), image_size=10)
    assert ds.images.shape == (1, 3, 10, 10) and (ds.images == 255).all()
    assert load_dataset("folder", "train", root=str(tmp_path)).image_size == 64  # the default


def test_cache_is_reused_and_rebuilt_when_files_change(tmp_path, monkeypatch):
    data = tmp_path / "data"
    for i in range(10):
        save(data / f"{i}.png", i)
    first = load_dataset("folder", "train", root=str(data), image_size=8)
    calls = []
    real = image_folder.decode_images
    monkeypatch.setattr(image_folder, "decode_images", lambda *a: calls.append(1) or real(*a))
    assert torch.equal(load_dataset("folder", "train", root=str(data), image_size=8).images, first.images)
    assert calls == []
    load_dataset("folder", "train", root=str(data), image_size=4)  # other settings: decoded
    assert calls == [1]
    save(data / "0.png", 77)
    os.utime(data / "0.png", ns=(1, 1))  # a new mtime even on coarse-clock file systems
    edited = load_dataset("folder", "train", root=str(data), image_size=8)
    assert calls == [1, 1] and values(edited)[0] == 77
    save(data / "10.png", 5)
    grown = load_dataset("folder", "train", root=str(data), image_size=8)
    assert calls == [1, 1, 1] and len(grown) == 10  # 11 files, sorted position 9 goes to test
    assert len(list((tmp_path / "cache").glob("folder-*.npy"))) == 2  # one per setting; stale ones replaced


def test_progress_line_shows_count_rate_and_eta(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(decode, "_PROGRESS_ABOVE", 2)
    for i in range(10):
        save(tmp_path / f"{i}.png", i)
    load_dataset("folder", "train", root=str(tmp_path), image_size=4)
    err = capsys.readouterr().err
    assert "9/9" in err and "img/s" in err and "ETA" in err


def test_unreadable_image_is_named(tmp_path):
    for i in range(4):
        save(tmp_path / f"{i}.png", i)
    (tmp_path / "2.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(DatasetFormatError, match="2.png"):
        load_dataset("folder", "train", root=str(tmp_path))


def test_missing_or_empty_folder_and_missing_root(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset("folder", root=str(tmp_path / "nope"))
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(DatasetNotFoundError, match=r"\.png"):
        load_dataset("folder", root=str(tmp_path))
    with pytest.raises(ValueError, match="root"):
        load_dataset("folder")


@pytest.mark.parametrize("layout", ["flat", "train_test"])
def test_both_splits_share_one_channel_count_decided_for_the_whole_folder(tmp_path, layout):
    root = tmp_path / layout
    for i in range(10):
        colour = i == 0  # one colour file, in the train split only; the test split is all grayscale
        path = root / ("train" if colour else "test") / f"{i}.png" if layout == "train_test" else root / f"{i}.png"
        save(path, 10 * i, "RGB" if colour else "L")
    train = load_dataset("folder", "train", root=str(root), image_size=8)
    test = load_dataset("folder", "test", root=str(root), image_size=8)
    assert train.channels == test.channels == 3
    assert (test.images[:, 0] == test.images[:, 2]).all()  # the grayscale files repeat their value in R, G and B


def test_channels_option_converts_every_image_and_keys_the_cache(tmp_path):
    for i in range(10):
        save(tmp_path / "data" / f"{i}.png", 10 * i, "RGB" if i % 2 else "L")
    root = str(tmp_path / "data")
    gray = load_dataset("folder", "train", root=root, image_size=8, channels=1)
    rgb = load_dataset("folder", "train", root=root, image_size=8, channels=3)
    assert gray.channels == 1 and rgb.channels == 3 and len(gray) == len(rgb) == 9
    assert load_dataset("folder", "train", root=root, image_size=8, channels=1).channels == 1  # from its own cache
    assert len(list((tmp_path / "cache").glob("folder-*.npy"))) == 2
    with pytest.raises(ValueError, match="channels"):
        load_dataset("folder", "train", root=root, channels=2)
