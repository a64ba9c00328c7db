"""Attribute vectors (Larsen et al. 2016, section 5): hand-computed means on a toy encoder, labels of every kind
(classes, CelebA's binary attributes, image folders, none), the file beside the checkpoint and when it is reused,
and on real Fashion-MNIST that an edit does what it says: the classifier's probability of the target class rises with
the strength along the vector, and falls along the reversed one."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from vaegan.attributes import (STRENGTHS, AttributeFileError, AttributeVectors, attribute_vectors, attributes_for_run,
                               attributes_path, compute_attribute_vectors, default_edits, edit_classifier,
                               edit_direction, edit_inputs, edited_images, label_probability, parse_edits,
                               parse_strengths, run_edits)
from vaegan.data import DatasetFormatError, DatasetNotFoundError, load_dataset
from vaegan.data.celeba import read_attribute_list
from vaegan.data.labels import Labels, NoLabelsError, dataset_labels
from vaegan.training.loop import train

REPO = Path(__file__).resolve().parents[1]
SHIRT, PULLOVER, SANDAL, ANKLE_BOOT = 6, 2, 5, 9


class PixelEncoder(nn.Module):
    """The image is the code: uint8 (N, 1, 1, D) pixels, scaled to [-1, 1] by encode_mean, are mu."""

    def __init__(self):
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # encode_mean finds the device through a parameter

    def forward(self, x):
        mu = x.flatten(1)
        return mu, torch.zeros_like(mu)


def pixels(codes) -> torch.Tensor:
    """Codes in [-1, 1] on the uint8 grid (multiples of 1/127.5 from -1) -> uint8 (N, 1, 1, D) images."""
    return torch.tensor(np.round((np.asarray(codes) + 1) * 127.5), dtype=torch.uint8).unsqueeze(1).unsqueeze(1)


# --- the vectors ---------------------------------------------------------------------------------------------------

CODES = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 4.0]])
# classes A (images 0, 1), B (2, 3); attribute C on images 0 and 2; D on none
MEMBERS = torch.tensor([[1, 0, 1, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 0]], dtype=torch.bool)


def test_vectors_are_the_mean_with_minus_the_mean_without():
    vectors, n_with, n_without = attribute_vectors(CODES, MEMBERS)
    # A: mean([1,0],[3,0]) - mean([0,2],[0,4]) = [2,0] - [0,3]; B the opposite; C: mean([1,0],[0,2]) - mean([3,0],[0,4])
    assert torch.equal(vectors[:3], torch.tensor([[2.0, -3.0], [-2.0, 3.0], [-1.0, -1.0]], dtype=torch.float64))
    assert n_with.tolist() == [2, 2, 2, 0] and n_without.tolist() == [2, 2, 2, 4]
    assert torch.isnan(vectors[3]).all()  # a label on no image has no vector


def test_vectors_come_from_the_encoder_means_of_the_images():
    codes = torch.tensor([[-1.0, 1.0], [1.0, 1.0], [-1.0, -1.0]])  # exactly on the uint8 grid
    labels = Labels(("a", "b"), torch.tensor([[1, 0], [1, 0], [0, 1]], dtype=torch.bool), exclusive=True)
    got = compute_attribute_vectors(PixelEncoder(), pixels(codes), labels, step=7)
    assert torch.allclose(got.vectors, torch.tensor([[1.0, 2.0], [-1.0, -2.0]], dtype=torch.float64))
    assert (got.step, got.n_images, got.names, got.exclusive) == (7, 3, ("a", "b"), True)


def test_an_edit_adds_alpha_times_the_difference_of_the_vectors():
    labels = Labels(("a", "b", "c", "d"), MEMBERS, exclusive=False)
    vectors = AttributeVectors(labels.names, *attribute_vectors(CODES, MEMBERS), exclusive=False)
    a_to_b, plus_c = parse_edits(["a:b", "c"], labels)
    assert torch.equal(edit_direction(vectors, a_to_b), torch.tensor([-4.0, 6.0]))  # v_b - v_a
    assert torch.equal(edit_direction(vectors, plus_c), torch.tensor([-1.0, -1.0]))  # v_c
    assert edit_inputs(labels, a_to_b).tolist() == [0, 1] and edit_inputs(labels, plus_c).tolist() == [1, 3]
    with pytest.raises(ValueError, match="'d' is on 0 of"):
        edit_direction(vectors, parse_edits(["d"], labels)[0])

    class Identity(nn.Module):  # decodes z as the image: uint8 of z, clamped to [-1, 1]
        def __init__(self):
            super().__init__()
            self.anchor = nn.Parameter(torch.zeros(1))

        def forward(self, z):
            return z.view(len(z), 1, 1, -1)

    start = pixels([[-0.8, -0.2]])
    out = edited_images(PixelEncoder(), Identity(), start, torch.tensor([0.4, 0.2]), strengths=(0.0, 1.0, 2.0))
    assert out.shape == (1, 3, 1, 1, 2)
    want = pixels([[-0.8, -0.2], [-0.4, 0.0], [0.0, 0.2]])  # (3, 1, 1, 2): a strength per image
    assert (out[0].int() - want.int()).abs().max() <= 1  # rounding to the uint8 grid


def test_edit_names_match_loosely_and_mistakes_are_clear(fashion_mnist):
    labels = dataset_labels(load_dataset("fashion_mnist", "test"))
    assert labels.names[SHIRT] == "Shirt" and labels.exclusive
    (edit,) = parse_edits(["shirt:ANKLE_boot"], labels)
    assert (edit.source, edit.target, edit.title, edit.slug) == (SHIRT, ANKLE_BOOT, "Shirt → Ankle boot",
                                                                 "shirt-to-ankle-boot")
    assert [(e.source, e.target) for e in default_edits("fashion_mnist", labels)] == [(SHIRT, PULLOVER),
                                                                                      (SANDAL, ANKLE_BOOT)]
    assert labels.index("t-shirt") == 0 and labels.index("shirt") == SHIRT  # a name's start; an exact name first
    with pytest.raises(NoLabelsError, match="no label 'jacket'; the labels are: T-shirt/top, Trouser"):
        parse_edits(["shirt:jacket"], labels)
    with pytest.raises(ValueError, match="same label"):
        parse_edits(["Shirt:shirt"], labels)
    with pytest.raises(ValueError, match="finite"):
        parse_strengths("0,nan")


# --- labels of every kind ------------------------------------------------------------------------------------------

ATTRIBUTE_LINES = ["4", "Eyeglasses Smiling Young", "000001.jpg -1  1  1", "000002.jpg  1 -1  1",
                   "000003.jpg -1 -1 -1", "000004.jpg  1  1 -1"]


def write_celeba(root: Path, partitions: list[int], attribute_lines: list[str] | None) -> None:
    (root / "img_align_celeba").mkdir(parents=True)
    for i in range(1, len(partitions) + 1):
        Image.fromarray(np.full((218, 178, 3), 10 * i, np.uint8)).save(root / "img_align_celeba" / f"{i:06d}.jpg")
    (root / "list_eval_partition.txt").write_text("".join(f"{i:06d}.jpg {p}\n" for i, p in enumerate(partitions, 1)))
    if attribute_lines is not None:
        (root / "list_attr_celeba.txt").write_text("\n".join(attribute_lines) + "\n")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("VAEGAN_DATA_ROOT", str(tmp_path / "downloads"))
    monkeypatch.setenv("VAEGAN_DECODE_CACHE", str(tmp_path / "cache"))


def test_celeba_attributes_are_binary_and_follow_the_split(tmp_path, isolated):
    write_celeba(tmp_path, [0, 2, 0, 0], ATTRIBUTE_LINES)
    train = load_dataset("celeba", "train", root=str(tmp_path), image_size=8, limit=2)  # images 1 and 3
    labels = dataset_labels(train)
    assert labels.names == ("Eyeglasses", "Smiling", "Young") and not labels.exclusive
    assert labels.members.tolist() == [[False, True, True], [False, False, False]]
    test = dataset_labels(load_dataset("celeba", "test", root=str(tmp_path), image_size=8))
    assert test.members.tolist() == [[True, False, True]]
    assert [e.title for e in parse_edits(["eyeglasses", "Young:Smiling"], labels)] == ["+ Eyeglasses",
                                                                                        "Young → Smiling"]


@pytest.mark.parametrize("lines, message", [
    (ATTRIBUTE_LINES[:2] + ["000001.jpg -1 0 1"] + ATTRIBUTE_LINES[3:], "line 3: expected '<file name>' and 3 values"),
    (["5"] + ATTRIBUTE_LINES[1:], "line 1 says 5 images, the file lists 4"),
    (["Eyeglasses"] + ATTRIBUTE_LINES[1:], "line 1: expected the number of images"),
])
def test_a_malformed_attribute_list_names_the_line(tmp_path, lines, message):
    path = tmp_path / "list_attr_celeba.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetFormatError, match=message):
        read_attribute_list(path)


def test_celeba_without_the_attribute_list_says_which_file_is_missing(tmp_path, isolated):
    write_celeba(tmp_path, [0, 2], None)
    train = load_dataset("celeba", "train", root=str(tmp_path), image_size=8)
    with pytest.raises(DatasetNotFoundError, match="list_attr_celeba.txt"):
        dataset_labels(train)


def test_folder_classes_are_labels_and_loose_images_are_none(tmp_path, isolated):
    (tmp_path / "loose").mkdir()
    for i, name in enumerate(["cat", "cat", "dog"] * 4):
        folder = tmp_path / "classes" / name
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8), 20 * i, np.uint8)).save(folder / f"{i:02d}.png")
        Image.fromarray(np.full((8, 8), 20 * i, np.uint8)).save(tmp_path / "loose" / f"{i:02d}.png")
    root = str(tmp_path / "classes")
    labels = dataset_labels(load_dataset("folder", "train", root=root, image_size=8), root)
    # 8 cats, 4 dogs; the 10th file in sorted order (dog/05.png) is the test split
    assert labels.names == ("cat", "dog") and labels.members.sum(0).tolist() == [8, 3]
    loose = str(tmp_path / "loose")
    with pytest.raises(NoLabelsError, match="folder \\(train\\) has no labels; attribute vectors need labelled images"):
        dataset_labels(load_dataset("folder", "train", root=loose, image_size=8), loose)


# --- the file beside the checkpoint ----------------------------------------------------------------------------------

def test_saved_vectors_are_reused_for_the_same_encoder_only(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    labels = Labels(("a", "b"), torch.tensor([[1, 0], [0, 1]], dtype=torch.bool), exclusive=True)
    images, encoder = pixels([[-1.0, 1.0], [1.0, -1.0]]), PixelEncoder()
    first = attributes_for_run(tmp_path, "latest", 5, encoder, images, labels)
    path = attributes_path(tmp_path, "latest")
    assert path.name == "latest.attributes.npz"
    loaded = AttributeVectors.load(path)
    assert loaded.names == ("a", "b") and torch.equal(loaded.vectors, first.vectors) and loaded.step == 5
    stamp = path.stat().st_mtime_ns
    attributes_for_run(tmp_path, "latest", 5, encoder, images, labels)
    assert path.stat().st_mtime_ns == stamp  # reused, not recomputed
    with torch.no_grad():
        encoder.anchor.add_(1.0)  # other weights, same step (a checkpoint's EMA encoder): recomputed
    assert attributes_for_run(tmp_path, "latest", 5, encoder, images, labels).encoder_sha256 != first.encoder_sha256
    path.write_text("not vectors")
    with pytest.raises(AttributeFileError, match="corrupt.*delete it"):
        attributes_for_run(tmp_path, "latest", 5, encoder, images, labels)


# --- on real data: does an edit do what it says? ---------------------------------------------------------------------

class PCAEncoder(nn.Module):
    """The optimal linear autoencoder of the images (their top principal components): a fixed trained model, fitted
    in a second, whose codes are linear in the pixels so class means land where the classes are."""

    def __init__(self, mean: torch.Tensor, basis: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)  # (P,)
        self.register_buffer("basis", basis)  # (P, D), orthonormal columns
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        mu = (x.flatten(1) - self.mean) @ self.basis
        return mu, torch.zeros_like(mu)


class PCADecoder(nn.Module):
    def __init__(self, encoder: PCAEncoder, shape: tuple[int, ...]):
        super().__init__()
        self.encoder, self.shape = encoder, shape

    def forward(self, z):
        return (z @ self.encoder.basis.T + self.encoder.mean).view(len(z), *self.shape)


@pytest.fixture(scope="module")
def fashion_pca(fashion_mnist):
    train = load_dataset("fashion_mnist", "train", limit=10000)
    x = train.images.flatten(1).double() / 127.5 - 1
    mean = x.mean(0)
    basis = torch.linalg.svd(x - mean, full_matrices=False).Vh[:32].T  # (784, 32)
    encoder = PCAEncoder(mean.float(), basis.float().contiguous())
    return train, encoder, PCADecoder(encoder, (1, 28, 28))


def test_edits_of_real_garments_raise_the_classifier_probability_of_the_target(fashion_pca):
    train, encoder, decoder = fashion_pca
    vectors = compute_attribute_vectors(encoder, train.images, dataset_labels(train))
    test = load_dataset("fashion_mnist", "test")
    labels, classifier = dataset_labels(test), edit_classifier(test)
    edits = parse_edits(["Shirt:Pullover", "Sandal:Ankle boot"], vectors)
    results = run_edits(encoder, decoder, vectors, test.images, labels, edits, STRENGTHS, classifier, rows=4,
                        curve_images=100)
    for r in results:
        p = np.array(r.p_target)
        # from the reconstructions up to (nearly) the level of real target images; measured: Shirt → Pullover
        # 0.38 → 0.85 (real pullovers 0.87), Sandal → Ankle boot 0.30 → 0.99 (real ankle boots 0.95)
        assert p[-1] > p[0] + 0.3 and p[-1] > 0.8 * r.real_p_target, (r.edit.title, p.round(2))
        assert np.all(np.diff(p) > -0.02), (r.edit.title, p.round(2))  # rising at every step, up to noise
        assert r.p_source[-1] < r.p_source[0] - 0.2, (r.edit.title, np.round(r.p_source, 2))
        assert r.grid.shape == (4 * (1 + len(STRENGTHS)), 1, 28, 28) and r.n_images == 100
    # the vector, not any push of that length, does it: a random direction as long moves the shirts far less
    shirts_to_pullovers = results[0]
    direction = edit_direction(vectors, shirts_to_pullovers.edit)
    random = torch.randn(len(direction), generator=torch.Generator().manual_seed(0))
    random *= direction.norm() / random.norm()
    shirts = test.images[edit_inputs(labels, shirts_to_pullovers.edit)[:100]]
    pushed = edited_images(encoder, decoder, shirts, random, strengths=(STRENGTHS[-1],))[:, 0]
    assert label_probability(classifier, pushed, PULLOVER) < shirts_to_pullovers.p_target[-1] - 0.3


# --- the command line -----------------------------------------------------------------------------------------------

def test_cli_writes_grids_curves_and_vectors_of_a_trained_run(tiny_config, tmp_path):
    run_dir = train(tiny_config("vae", steps=3, checkpoint_every=3))
    out = tmp_path / "edits"
    command = [sys.executable, str(REPO / "scripts/attributes.py"), str(run_dir), "--out", str(out), "--images", "20",
               "--rows", "3", "--strengths", "0,1", "--scale", "2"]
    result = subprocess.run(command + ["--edit", "shirt:pullover", "--edit", "Bag"], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (run_dir / "checkpoints" / "latest.attributes.npz").is_file()
    assert np.load(out / "vectors.npy").shape == (10, 32)
    assert json.loads((out / "labels.json").read_text())["names"][SHIRT] == "Shirt"
    record = json.loads((out / "edits.json").read_text())["edits"]
    assert list(record) == ["Shirt → Pullover", "+ Bag"]
    assert len(record["Shirt → Pullover"]["p_target"]) == 2 and record["+ Bag"]["p_source"] is None
    grid = np.array(Image.open(out / "edit-shirt-to-pullover.png"))
    # 3 rows; the input, then 2 strengths; 28 px doubled (--scale 2) + 2 px padding; under a 20 px strip of labels
    assert grid.shape[:2] == (20 + 2 + 3 * 58, 2 + 3 * 58)
    assert (grid[:20].min(axis=-1) < 128).any()  # the labels are drawn
    assert (out / "probability.png").stat().st_size > 0
    bad = subprocess.run(command + ["--edit", "shirt:jacket"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode != 0 and bad.stderr.startswith("error: no label 'jacket'; the labels are: T-shirt/top")
    assert len(bad.stderr.strip().splitlines()) == 1
