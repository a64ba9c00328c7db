"""Datasets by name, held in memory as uint8 tensors, batched without per-image Python work.

    dataset = load_dataset("fashion_mnist", split="train")        # ImageDataset, images uint8 (N, 1, 28, 28)
    batches = BatchIterator(dataset.images, batch_size=64, seed=0)
    x = to_model_range(next(batches))                              # float32 (64, 1, 28, 28) in [-1, 1]
"""

from vaegan.data.batches import BatchIterator
from vaegan.data.errors import DatasetFormatError, DatasetNotFoundError
from vaegan.data.image_dataset import ImageDataset
from vaegan.data.registry import DATASETS, load_dataset
from vaegan.data.scaling import to_model_range, to_uint8

__all__ = [
    "DATASETS",
    "BatchIterator",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "ImageDataset",
    "load_dataset",
    "to_model_range",
    "to_uint8",
]
