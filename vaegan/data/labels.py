"""A dataset's labels as named attributes of its images, the form attribute vectors (vaegan.attributes) need.

Two kinds: classes (Fashion-MNIST, MNIST, CIFAR-10, a folder of class subfolders), where every image has exactly
one label, and binary attributes (CelebA's 40 in list_attr_celeba.txt), where an image has any number of them.

    labels = dataset_labels(load_dataset("fashion_mnist", "test"))
    labels.names[6], labels.members[:, 6].sum()      # "Shirt", 1000 test images of shirts
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

from vaegan.data.celeba import celeba_attributes
from vaegan.data.cifar import CLASS_NAMES as CIFAR10_NAMES
from vaegan.data.image_dataset import ImageDataset
from vaegan.data.image_folder import folder_class_names
from vaegan.data.mnist import SPECS as MNIST_SPECS


class NoLabelsError(ValueError):
    """A dataset without labels (or a label name it does not have): nothing to compute attributes from."""


@dataclass(frozen=True, eq=False)
class Labels:
    """names: the K label names. members: bool (N, K), True where image n has label k.
    exclusive: True for classes (exactly one True per row), False for binary attributes."""

    names: tuple[str, ...]
    members: torch.Tensor
    exclusive: bool

    def index(self, name: str) -> int:
        """The column of a label given by name, ignoring case, spaces and punctuation ("ankle_boot" finds
        "Ankle boot"), or by the start of one name ("t-shirt" finds "T-shirt/top"); NoLabelsError listing the
        names when there is no such label, or several start that way."""
        keys, key = [_key(n) for n in self.names], _key(name)
        if key in keys:
            return keys.index(key)
        starting = [i for i, k in enumerate(keys) if key and k.startswith(key)]
        if len(starting) != 1:
            raise NoLabelsError(f"no label {name!r}; the labels are: {', '.join(self.names)}")
        return starting[0]


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _classes(names: tuple[str, ...] | list[str] | None, dataset: ImageDataset) -> Labels:
    """Class indices (ImageDataset.labels) -> one-hot members under the class names."""
    if dataset.labels is None or names is None:
        raise NoLabelsError(f"{dataset.name} ({dataset.split}) has no labels; attribute vectors need labelled images "
                            "(for an image folder: every image inside a class subfolder)")
    if len(dataset.labels) and int(dataset.labels.max()) >= len(names):
        raise NoLabelsError(f"{dataset.name} has label {int(dataset.labels.max())}, but only {len(names)} class names")
    members = torch.nn.functional.one_hot(dataset.labels, len(names)).bool()
    return Labels(tuple(names), members, exclusive=True)


def _celeba(dataset: ImageDataset, root: str | None) -> Labels:
    names, members = celeba_attributes(dataset)
    return Labels(names, members, exclusive=False)


# dataset name -> (dataset, its --data-root) -> Labels
LABELS: dict[str, Callable[[ImageDataset, str | None], Labels]] = {
    **{name: (lambda d, root, spec=spec: _classes(spec.class_names, d)) for name, spec in MNIST_SPECS.items()},
    "mnist_5k_subset": lambda d, root: _classes(MNIST_SPECS["mnist"].class_names, d),  # vaegan/data/mnist_subset.py
    "cifar10": lambda d, root: _classes(CIFAR10_NAMES, d),
    "folder": lambda d, root: _classes(folder_class_names(root) if root else None, d),
    "celeba": _celeba,
}


def dataset_labels(dataset: ImageDataset, root: str | None = None) -> Labels:
    """The labels of a split load_dataset returned. root: the root it was loaded from (needed for 'folder', whose
    class names span both splits). NoLabelsError for a dataset without labels; DatasetNotFoundError for CelebA
    without list_attr_celeba.txt."""
    if dataset.name not in LABELS:
        raise NoLabelsError(f"{dataset.name} has no known labels")
    return LABELS[dataset.name](dataset, root)
