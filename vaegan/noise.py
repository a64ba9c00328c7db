"""The seeded source of all sampling noise of training: reparameterisation noise and prior samples.

Its state is saved with every checkpoint, so a resumed run draws exactly the noise it would have drawn. With
several data-parallel processes each draws the noise of the whole global batch and keeps its own rows: the
generators of all processes stay in step, and the noise each image gets is the one it would get in a 1-process
run with the same global batch.
"""

from __future__ import annotations

import torch

from vaegan.distributed import SINGLE, Processes


class Noise:
    def __init__(self, generator: torch.Generator, processes: Processes = SINGLE):
        self.generator = generator
        self.processes = processes

    def randn(self, shape: tuple[int, ...] | torch.Size, device: torch.device | str, dtype: torch.dtype) -> torch.Tensor:
        """N(0, I) of `shape` for this process's rows: shape[0] is the local batch."""
        shape = tuple(shape)
        full = (shape[0] * self.processes.world_size, *shape[1:])
        return self.processes.rows(torch.randn(full, generator=self.generator, device=device, dtype=dtype))

    def get_state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)
