"""Visual attribute vectors (Larsen et al. 2016, section 5, figure 5): edit an image by moving its code along the
difference between the codes of images with a label and those without it.

For label k of the training images, with mu(x) the encoder mean,
    v_k = mean of mu(x) over images with label k  -  mean of mu(x) over images without it        (K, latent_dim)
An edit adds alpha * direction to mu(x) of a test image and decodes, for strengths alpha = 0 (the reconstruction),
0.25, ..., 1.5:
    classes (Fashion-MNIST "Shirt:Pullover"):   direction = v_target - v_source, on test images of the source class
    binary attributes (CelebA "Eyeglasses"):    direction = v_target, on test images without the attribute
With K balanced classes, v_t - v_s = K / (K - 1) * (class mean of t - class mean of s): alpha = (K - 1) / K moves a
code by exactly the difference of the two class means.

Whether an edit does what it says is measured, where a classifier of the dataset exists (the bundled Fashion-MNIST
domain network, metrics.domain), as the classifier's mean probability of the target label over the edited images,
per strength: it should rise from the source images' level towards that of real target images.

    vectors = trained_run_attributes(run)                        # saved as checkpoints/<which>.attributes.npz
    test = run.dataset("test")
    edits = parse_edits(["Shirt:Pullover"], vectors)
    results = run_edits(run.nets["encoder"], run.nets["decoder"], vectors, test.images, dataset_labels(test), edits,
                        classifier=edit_classifier(test))
    results[0].p_target                                           # [0.08, 0.15, ..., 0.71], one per strength
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from vaegan.data import ImageDataset
from vaegan.data.labels import Labels, dataset_labels
from vaegan.encoder_cache import (beside_checkpoint, encoder_fingerprint, load_npz, load_or_compute, save_npz,
                                  subset_indices)
from vaegan.run_folder import safe_label
from vaegan.sampling import decode, encode_mean, image_grid, label_columns

if TYPE_CHECKING:
    from vaegan.trained_run import TrainedRun

FORMAT = "vaegan-attribute-vectors"
VERSION = 1
MAX_IMAGES = 20000  # training images encoded for the means; 20,000 pin a class mean far below its spread
SEED = 0  # which images, when a dataset has more than MAX_IMAGES
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)  # alpha: 0 is the reconstruction, 1 the full vector
GRID_ROWS = 8  # test images per edit grid
CURVE_IMAGES = 200  # test images of the source per edit whose classifier probabilities are averaged
DEFAULT_EDITS = {  # Fashion-MNIST: pairs of look-alike classes, so the decoded edits stay garments throughout
    "fashion_mnist": ("Shirt:Pullover", "Sandal:Ankle boot"),
    "celeba": ("Smiling", "Eyeglasses", "Blond_Hair"),  # some of Larsen et al.'s figure 5 rows
    **dict.fromkeys(("mnist", "mnist_5k_subset"), ("4:9", "3:8")),  # look-alike digits: one stroke apart
}


class AttributeFileError(ValueError):
    """Saved attribute vectors that are corrupt, truncated, or do not describe what they claim to."""


@dataclass(frozen=True, eq=False)
class AttributeVectors:
    """K attribute vectors in D latent dimensions (float64) and what they were computed from.

    n_with / n_without: training images with / without each label; a vector whose count is 0 is NaN (the label is
    on no image, or on all), and edits along it are refused. step, seed, n_images and encoder_sha256 key the file
    beside the checkpoint, as for the latent GMM (vaegan.encoder_cache)."""

    names: tuple[str, ...]
    vectors: torch.Tensor  # (K, D)
    n_with: torch.Tensor  # int64 (K,)
    n_without: torch.Tensor  # int64 (K,)
    exclusive: bool  # classes (each image has one label) rather than independent binary attributes
    step: int | None = None
    seed: int = SEED
    n_images: int = 0
    encoder_sha256: str = ""

    @property
    def latent_dim(self) -> int:
        return self.vectors.shape[1]

    @property
    def labels(self) -> Labels:
        """The names and kind, without members: enough to resolve edit names."""
        return Labels(self.names, torch.zeros(0, len(self.names), dtype=torch.bool), self.exclusive)

    def save(self, path: str | Path) -> None:
        """Write an .npz (atomically): vectors (K, D), names (K,) as unicode strings, counts and provenance."""
        save_npz(path, FORMAT, VERSION, {
            "vectors": self.vectors.numpy(), "names": np.array(self.names, dtype=np.str_),
            "n_with": self.n_with.numpy(), "n_without": self.n_without.numpy(), "exclusive": np.bool_(self.exclusive),
            "step": np.int64(-1 if self.step is None else self.step), "seed": np.int64(self.seed),
            "n_images": np.int64(self.n_images), "encoder_sha256": np.str_(self.encoder_sha256)})

    @classmethod
    def load(cls, path: str | Path) -> "AttributeVectors":
        """Read a file written by save(); AttributeFileError (one line) when it is corrupt or inconsistent."""
        return load_npz(path, FORMAT, VERSION, cls._from_arrays, AttributeFileError, "attribute vectors")

    @classmethod
    def _from_arrays(cls, a: dict[str, np.ndarray]) -> "AttributeVectors":
        vectors, names = a["vectors"], tuple(str(n) for n in a["names"])
        k = len(names)
        if vectors.ndim != 2 or vectors.shape[0] != k or a["n_with"].shape != (k,) or a["n_without"].shape != (k,):
            raise ValueError(f"vectors of shape {vectors.shape} and counts of shapes {a['n_with'].shape}, "
                             f"{a['n_without'].shape} for {k} names")
        step = int(a["step"])
        return cls(names, torch.from_numpy(vectors).to(torch.float64), torch.from_numpy(a["n_with"]).long(),
                   torch.from_numpy(a["n_without"]).long(), bool(a["exclusive"]), None if step < 0 else step,
                   int(a["seed"]), int(a["n_images"]), str(a["encoder_sha256"]))


def attribute_vectors(codes: torch.Tensor, members: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """codes: (N, D) encoder means; members: bool (N, K), image n has label k ->
    (vectors (K, D) float64: mean code with label k - mean code without it, NaN where either side is empty;
    n_with (K,); n_without (K,))."""
    codes, members = codes.double(), members.double()
    n_with = members.sum(0)
    n_without = len(codes) - n_with
    # sums over the images with / without each label, as two matrix products rather than a loop over labels
    sum_with = members.T @ codes
    sum_without = codes.sum(0, keepdim=True) - sum_with
    vectors = sum_with / n_with[:, None] - sum_without / n_without[:, None]  # 0 / 0 = NaN for an empty side
    return vectors, n_with.long(), n_without.long()


def compute_attribute_vectors(encoder: nn.Module, images: torch.Tensor, labels: Labels, step: int | None = None,
                              max_images: int = MAX_IMAGES, seed: int = SEED) -> AttributeVectors:
    """Attribute vectors of uint8 (N, C, H, W) training images with their labels (members (N, K)), from up to
    max_images of them (a subset drawn from `seed`). step: the checkpoint step the encoder comes from."""
    members = labels.members
    if len(members) != len(images):
        raise ValueError(f"{len(images)} images but labels for {len(members)}")
    keep = subset_indices(len(images), max_images, seed)
    if keep is not None:
        images, members = images[keep], members[keep]
    vectors, n_with, n_without = attribute_vectors(encode_mean(encoder, images), members)
    return AttributeVectors(labels.names, vectors, n_with, n_without, labels.exclusive, step, seed, len(images),
                            encoder_fingerprint(encoder))


def attributes_path(run_dir: str | Path, which: str) -> Path:
    """Where the attribute vectors of checkpoints/<which>.pt live: beside it."""
    return beside_checkpoint(run_dir, which, "attributes")


def attributes_for_run(run_dir: str | Path, which: str, checkpoint_step: int, encoder: nn.Module,
                       train_images: torch.Tensor, labels: Labels, seed: int = SEED) -> AttributeVectors:
    """The attribute vectors of a run's checkpoint `which`: read from attributes_path when computed for that step,
    this encoder, these label names and settings; else computed from the training images and saved there."""
    wanted = (checkpoint_step, encoder_fingerprint(encoder), seed, min(len(train_images), MAX_IMAGES), labels.names)
    return load_or_compute(
        attributes_path(run_dir, which), AttributeVectors.load,
        lambda a: (a.step, a.encoder_sha256, a.seed, a.n_images, a.names) == wanted,
        lambda: compute_attribute_vectors(encoder, train_images, labels, checkpoint_step, seed=seed),
        AttributeVectors.save)


def trained_run_attributes(run: TrainedRun, train: ImageDataset | None = None) -> AttributeVectors:
    """attributes_for_run for a loaded run, on `train` (by default run.dataset("train")) and its labels.
    NoLabelsError for a dataset without labels."""
    train = run.dataset("train") if train is None else train
    labels = dataset_labels(train, run.cfg.data.root)
    return attributes_for_run(run.run_dir, run.which, run.step, run.nets["encoder"], train.images, labels)


@dataclass(frozen=True)
class Edit:
    """Move codes towards label `target`, away from label `source` (None: add the target's vector only)."""

    target: int  # label index
    target_name: str
    source: int | None = None
    source_name: str | None = None

    @property
    def title(self) -> str:
        """For captions and JSON keys: "Shirt → Pullover" or "+ Eyeglasses"."""
        return f"+ {self.target_name}" if self.source is None else f"{self.source_name} → {self.target_name}"

    @property
    def slug(self) -> str:
        """For file names: "shirt-to-pullover", "plus-eyeglasses"."""
        text = f"plus {self.target_name}" if self.source is None else f"{self.source_name} to {self.target_name}"
        return safe_label("-".join(text.lower().replace("/", " ").split()))


def parse_edits(texts: list[str] | tuple[str, ...], labels: Labels | AttributeVectors) -> list[Edit]:
    """Edits from "SOURCE:TARGET" (classes, or two attributes) or "TARGET" (add an attribute); names are matched
    ignoring case and punctuation. NoLabelsError for an unknown name, ValueError for a repeat or source == target."""
    labels = labels.labels if isinstance(labels, AttributeVectors) else labels
    edits = []
    for text in texts:
        source, _, target = text.rpartition(":")
        if not target.strip():
            raise ValueError(f"edit {text!r}: expected SOURCE:TARGET or TARGET, e.g. 'Shirt:Pullover'")
        t = labels.index(target.strip())
        s = labels.index(source.strip()) if source.strip() else None
        if s == t:
            raise ValueError(f"edit {text!r}: source and target are the same label")
        edits.append(Edit(t, labels.names[t], s, None if s is None else labels.names[s]))
    if len({(e.source, e.target) for e in edits}) != len(edits):
        raise ValueError(f"edits repeat: {', '.join(texts)}")
    return edits


def default_edits(dataset_name: str, labels: Labels | AttributeVectors) -> list[Edit]:
    """DEFAULT_EDITS of the dataset; for any other: the first class into the second (or: add the first attribute)."""
    labels = labels.labels if isinstance(labels, AttributeVectors) else labels
    if dataset_name in DEFAULT_EDITS:
        return parse_edits(DEFAULT_EDITS[dataset_name], labels)
    if labels.exclusive and len(labels.names) >= 2:
        return [Edit(1, labels.names[1], 0, labels.names[0])]
    return [Edit(0, labels.names[0])]


def parse_strengths(text: str) -> tuple[float, ...]:
    """'0,0.5,1' -> (0.0, 0.5, 1.0); ValueError for anything but finite numbers."""
    values = tuple(float(v) for v in text.split(","))
    if not all(np.isfinite(values)):
        raise ValueError(f"strengths must be finite numbers, got {text}")
    return values


def describe_default_edits() -> str:
    """DEFAULT_EDITS in words, for --help."""
    known = "; ".join(f"{name}: {', '.join(edits)}" for name, edits in DEFAULT_EDITS.items())
    return f"{known}; other data: the first label into the second"


def edit_direction(vectors: AttributeVectors, edit: Edit) -> torch.Tensor:
    """(D,) float32: v_target - v_source, or v_target. ValueError when a label involved was on no training image
    (or on all), so that its vector is undefined."""
    for index in (edit.target, edit.source):
        if index is not None and not (vectors.n_with[index] > 0 and vectors.n_without[index] > 0):
            raise ValueError(f"label {vectors.names[index]!r} is on {int(vectors.n_with[index])} of "
                             f"{vectors.n_images} training images: no attribute vector for it")
    direction = vectors.vectors[edit.target]
    if edit.source is not None:
        direction = direction - vectors.vectors[edit.source]
    return direction.float()


def edit_inputs(labels: Labels, edit: Edit) -> torch.Tensor:
    """Indices of the images an edit applies to: those with the source label (if any) and without the target."""
    rows = ~labels.members[:, edit.target]
    if edit.source is not None:
        rows &= labels.members[:, edit.source]
    return rows.nonzero().flatten()


def edited_images(encoder: nn.Module, decoder: nn.Module, images: torch.Tensor, direction: torch.Tensor,
                  strengths: tuple[float, ...] = STRENGTHS) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, A, C, H, W): Dec(mu(x) + alpha * direction) for each of the A strengths."""
    mu = encode_mean(encoder, images)  # (N, D)
    alphas = torch.tensor(strengths, dtype=mu.dtype)
    z = mu[:, None, :] + alphas[None, :, None] * direction.to(mu.dtype)[None, None, :]  # (N, A, D)
    return decode(decoder, z.flatten(0, 1)).unflatten(0, (len(images), len(strengths)))


def edit_classifier(dataset: ImageDataset) -> nn.Module | None:
    """A classifier of the dataset's labels (logits in label order) for the probability check: the bundled domain
    network of the data (Fashion-MNIST, MNIST) at 28x28x1, else None (no such check for other data)."""
    from metrics.domain import BUNDLED_ALIASES, bundled_weights, load_domain_net  # only bundled data needs it

    bundled = bundled_weights(dataset.name)
    if bundled.dataset != BUNDLED_ALIASES.get(dataset.name, dataset.name):
        return None
    net = load_domain_net(bundled.path)
    if (dataset.channels, dataset.image_size) != (net.config.in_channels, net.config.image_size):
        return None  # a resized run: the network judges detail at its own size, and resampling would change it
    return net


@torch.no_grad()
def label_probability(classifier: nn.Module, images: torch.Tensor, label: int, batch_size: int = 500) -> float:
    """Mean over uint8 (N, C, H, W) images of the classifier's softmax probability of `label` (N >= 1)."""
    from metrics.domain import to_network_input

    device = next(classifier.parameters()).device
    probs = [torch.softmax(classifier(to_network_input(chunk).to(device)).double(), dim=1)[:, label].cpu()
             for chunk in images.split(batch_size)]
    return torch.cat(probs).mean().item()


@dataclass
class EditResult:
    """One edit of one model: a grid to look at and, with a classifier, the probability curve to check it by."""

    edit: Edit
    strengths: tuple[float, ...]
    grid: torch.Tensor  # uint8 (rows * (1 + A), C, H, W): per row the input image, then its edit at each strength
    n_images: int  # test images edited for the curve
    p_target: list[float] | None = None  # mean classifier P(target) of the edited images, per strength
    p_source: list[float] | None = None  # the same for the source label (None for "+ attribute" edits)
    real_p_target: float | None = None  # mean P(target) of real test images with the target: the level to reach

    def record(self) -> dict:
        """JSON-ready: names, strengths, curves and image counts."""
        return {"source": self.edit.source_name, "target": self.edit.target_name, "strengths": list(self.strengths),
                "p_target": self.p_target, "p_source": self.p_source, "real_p_target": self.real_p_target,
                "n_images": self.n_images}


def edit_grid(result: EditResult, scale: int = 1) -> torch.Tensor:
    """The grid of an EditResult as one uint8 (C, H', W') image: a row per input, a column per strength, each
    image enlarged `scale` times (nearest neighbour), under a strip that labels the columns "input", "α=0", ..."""
    grid = image_grid(result.grid, nrow=1 + len(result.strengths), scale=scale)
    labels = ["input", *(f"{{alpha}}={a:g}" for a in result.strengths)]
    return label_columns(grid, labels, tile=result.grid.shape[-1] * scale)


def run_edits(encoder: nn.Module, decoder: nn.Module, vectors: AttributeVectors, test_images: torch.Tensor,
              test_labels: Labels, edits: list[Edit], strengths: tuple[float, ...] = STRENGTHS,
              classifier: nn.Module | None = None, rows: int = GRID_ROWS,
              curve_images: int = CURVE_IMAGES) -> list[EditResult]:
    """Each edit on the first max(rows, curve_images) test images (uint8 (N, C, H, W), labelled by test_labels) it
    applies to (edit_inputs): the grid of the first
    `rows`, and with a classifier the mean probabilities over the first `curve_images`. ValueError when no test
    image fits an edit or the vectors belong to other labels or another latent size."""
    if vectors.names != test_labels.names or len(test_labels.members) != len(test_images):
        raise ValueError("the attribute vectors or the test labels do not belong to these test images")
    results = []
    for edit in edits:
        direction = edit_direction(vectors, edit)
        chosen = edit_inputs(test_labels, edit)
        if len(chosen) == 0:
            raise ValueError(f"no test image fits the edit {edit.title}")
        inputs = test_images[chosen[: max(rows, curve_images)]]
        edited = edited_images(encoder, decoder, inputs, direction, strengths)  # (N, A, C, H, W)
        shown = torch.cat([inputs[:rows, None], edited[:rows]], dim=1).flatten(0, 1)
        result = EditResult(edit, tuple(strengths), shown, min(len(inputs), curve_images))
        if classifier is not None:
            curve = edited[:curve_images]
            result.p_target = [label_probability(classifier, curve[:, a], edit.target) for a in range(len(strengths))]
            if edit.source is not None:
                result.p_source = [label_probability(classifier, curve[:, a], edit.source)
                                   for a in range(len(strengths))]
            real = test_labels.members[:, edit.target].nonzero().flatten()[:curve_images]
            result.real_p_target = label_probability(classifier, test_images[real], edit.target)
        results.append(result)
    return results

