"""BatchIterator: endless, seeded, resumable minibatches drawn from an in-memory image tensor."""

from __future__ import annotations

import numpy as np
import torch


def _epoch_seed(seed: int, epoch: int) -> int:
    # SeedSequence mixes (seed, epoch) into well-separated 64-bit seeds; seed + epoch would make
    # run (seed=1, epoch=0) replay run (seed=0, epoch=1).
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0])


class BatchIterator:
    """Endless, seeded, resumable batches of uint8 images drawn from an in-memory tensor, no per-image Python work.

    images: uint8 (N, C, H, W) on any device. Each epoch visits every image once (with drop_last, the last
    N mod batch_size images of that epoch's order are skipped) in the order of torch.randperm with a
    generator seeded by (seed, epoch), so the whole state is two integers: epoch and position.

    next(it) -> uint8 (batch_size, C, H, W); the final batch of an epoch is smaller when drop_last=False.
    Use next_indices() instead to fetch matching labels: idx = it.next_indices(); images[idx], labels[idx].
    """

    def __init__(self, images: torch.Tensor, batch_size: int, seed: int, drop_last: bool = True):
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        num_images = images.shape[0]
        if num_images == 0 or (drop_last and num_images < batch_size):
            raise ValueError(
                f"cannot draw batches of {batch_size} from {num_images} images with drop_last={drop_last}; "
                "use a smaller batch_size or more images"
            )
        self.images = images
        self.batch_size = batch_size
        self.seed = seed
        self.drop_last = drop_last
        self.steps_per_epoch = num_images // batch_size if drop_last else -(-num_images // batch_size)
        self._epoch = 0
        self._position = 0  # images already drawn in the current epoch
        self._order: torch.Tensor | None = None  # permutation of the current epoch, built lazily

    @property
    def epoch(self) -> int:
        """Completed epochs; it advances as soon as the last batch of an epoch is drawn."""
        return self._epoch

    def _permutation(self) -> torch.Tensor:
        if self._order is None:
            generator = torch.Generator().manual_seed(_epoch_seed(self.seed, self._epoch))
            order = torch.randperm(self.images.shape[0], generator=generator)
            self._order = order.to(self.images.device)
        return self._order

    def next_indices(self) -> torch.Tensor:
        """Indices (int64, (B,), on the images' device) of the next batch; advances the iterator."""
        start = self._position
        indices = self._permutation()[start : start + self.batch_size]
        self._position = start + len(indices)
        if self._position + (self.batch_size if self.drop_last else 1) > self.images.shape[0]:
            self._epoch += 1
            self._position = 0
            self._order = None
        return indices

    def __iter__(self) -> BatchIterator:
        return self

    def __next__(self) -> torch.Tensor:
        return self.images.index_select(0, self.next_indices())  # row copies; faster than advanced indexing on CPU

    def state_dict(self) -> dict:
        return {
            "epoch": self._epoch,
            "position": self._position,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "num_images": self.images.shape[0],
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue exactly where state_dict() was taken; the images, seed and batch size must be the same."""
        expected = {"seed": self.seed, "batch_size": self.batch_size, "num_images": self.images.shape[0]}
        for key, value in expected.items():
            if key in state and state[key] != value:
                raise ValueError(
                    f"cannot resume batches: saved {key}={state[key]} but this iterator has {key}={value}; "
                    "resume with the same dataset, seed and batch size"
                )
        epoch, position = int(state["epoch"]), int(state["position"])
        last_start = self.images.shape[0] - (self.batch_size if self.drop_last else 1)
        if epoch < 0 or not 0 <= position <= last_start:
            raise ValueError(f"invalid batch iterator state: epoch={epoch}, position={position}")
        self._epoch, self._position, self._order = epoch, position, None
