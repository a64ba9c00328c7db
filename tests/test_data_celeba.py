"""CelebA: partition file selects the split; Larsen et al.'s centre 108x108 crop of 178x218 images; caching."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vaegan.data import DatasetFormatError, DatasetNotFoundError, load_dataset
from vaegan.data import celeba

INSIDE, OUTSIDE = (40, 200, 60), (220, 30, 30)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("VAEGAN_DATA_ROOT", str(tmp_path / "downloads"))
    monkeypatch.setenv("VAEGAN_DECODE_CACHE", str(tmp_path / "cache"))


def write_celeba(root: Path, partitions: list[int]) -> None:
    """Aligned-style 178x218 JPEGs: colour OUTSIDE everywhere except the centre 108x108 box, which is INSIDE
    with a brightness that encodes the file number."""
    (root / "img_align_celeba").mkdir(parents=True)
    lines = []
    for i, part in enumerate(partitions, start=1):
        pixels = np.empty((218, 178, 3), np.uint8)
        pixels[:] = OUTSIDE
        pixels[55:163, 35:143] = np.array(INSIDE) + i
        name = f"{i:06d}.jpg"
        Image.fromarray(pixels).save(root / "img_align_celeba" / name, quality=95)
        lines.append(f"{name} {part}")
    (root / "list_eval_partition.txt").write_text("\n".join(lines) + "\n")


def test_splits_follow_the_partition_file_and_crop_the_centre(tmp_path):
    write_celeba(tmp_path, [0, 1, 2, 0, 2, 0])
    train = load_dataset("celeba", "train", root=str(tmp_path))
    test = load_dataset("celeba", "test", root=str(tmp_path), image_size=32)
    assert train.images.shape == (3, 3, 64, 64) and test.images.shape == (2, 3, 32, 32)
    assert train.labels is None and (train.name, test.split) == ("celeba", "test")
    for ds, numbers in ((train, [1, 4, 6]), (test, [3, 5])):
        size = ds.image_size
        for image, number in zip(ds.images, numbers):
            # reference: the documented box, left 35 top 55, 108x108, PIL antialiased bilinear
            with Image.open(tmp_path / "img_align_celeba" / f"{number:06d}.jpg") as jpeg:
                ref = jpeg.convert("RGB").crop((35, 55, 143, 163)).resize((size, size), Image.Resampling.BILINEAR)
            assert np.abs(image.permute(1, 2, 0).numpy().astype(int) - np.asarray(ref)).max() <= 1
        # away from the box edge (where JPEG blurs the two colours) only the inside colour is left
        interior = ds.images[:, :, size // 8 : -size // 8, size // 8 : -size // 8].int()
        expected = torch.tensor(INSIDE).view(1, 3, 1, 1) + torch.tensor(numbers).view(-1, 1, 1, 1)
        assert (interior - expected).abs().max() <= 8


def test_torchvision_layout_and_limit(tmp_path):
    write_celeba(tmp_path / "celeba", [0, 0, 0, 2])
    ds = load_dataset("celeba", "train", root=str(tmp_path), limit=2)
    assert len(ds) == 2


def test_second_load_comes_from_the_cache_and_an_edit_invalidates_it(tmp_path, monkeypatch):
    write_celeba(tmp_path, [0, 0, 2])
    first = load_dataset("celeba", "train", root=str(tmp_path), image_size=16)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the cache is valid")

    real_decode = celeba.decode_images
    monkeypatch.setattr(celeba, "decode_images", no_decoding)
    assert torch.equal(load_dataset("celeba", "train", root=str(tmp_path), image_size=16).images, first.images)
    Image.new("RGB", (178, 218), (0, 0, 255)).save(tmp_path / "img_align_celeba" / "000002.jpg")
    with pytest.raises(AssertionError, match="decoded again"):
        load_dataset("celeba", "train", root=str(tmp_path), image_size=16)
    monkeypatch.setattr(celeba, "decode_images", real_decode)
    rebuilt = load_dataset("celeba", "train", root=str(tmp_path), image_size=16)
    assert rebuilt.images[1, 2].float().mean() > 200 and torch.equal(rebuilt.images[0], first.images[0])
    assert len(list((tmp_path / "cache").glob("celeba-*.npy"))) == 1  # the stale cache was replaced


def test_missing_celeba_explains_the_layout(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("celeba", root=str(tmp_path))
    assert "img_align_celeba" in str(err.value) and "list_eval_partition.txt" in str(err.value)
    assert "--download" in str(err.value)


def test_bad_partition_line_is_named(tmp_path):
    write_celeba(tmp_path, [0, 2])
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg test\n")
    with pytest.raises(DatasetFormatError, match=r"list_eval_partition.txt, line 2"):
        load_dataset("celeba", root=str(tmp_path))


def test_unreadable_and_missing_images_are_named(tmp_path):
    write_celeba(tmp_path, [0, 0, 0])
    (tmp_path / "img_align_celeba" / "000002.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetFormatError, match="000002.jpg"):
        load_dataset("celeba", root=str(tmp_path))
    (tmp_path / "img_align_celeba" / "000003.jpg").unlink()
    with pytest.raises(DatasetFormatError, match="000003.jpg.*missing"):
        load_dataset("celeba", root=str(tmp_path))


def test_an_explicit_root_without_celeba_is_an_error_even_when_a_download_exists(tmp_path):
    write_celeba(tmp_path / "downloads" / "celeba", [0, 2])
    found = load_dataset("celeba", "test", image_size=16)
    assert found.sources == (str(tmp_path / "downloads" / "celeba" / "img_align_celeba"),
                             str(tmp_path / "downloads" / "celeba" / "list_eval_partition.txt"))
    with pytest.raises(DatasetNotFoundError, match=f"not found in --data-root {tmp_path / 'empty'}"):
        load_dataset("celeba", "test", root=str(tmp_path / "empty"))
