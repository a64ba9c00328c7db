"""Data-parallel training over several processes (torchrun): who this process is, and the few collectives it needs.

One `Processes` value describes the group; the single-process value `SINGLE` makes every method a no-op, so the
training code reads the same with one process or many. The rules that keep N processes equal to one process with the
same global batch:

- `batch_size` is the global batch: the same seeded order of batches for any number of processes, and rank r takes
  rows [r * B/N, (r + 1) * B/N) of each (`rows`). The data order therefore does not depend on N: a run started on N
  processes resumes on M where it stopped, in the same order.
- Losses are means over each process's rows; gradients are averaged over the processes (`average_`), one
  all-reduce over one flat bucket per network per step. The VAE-GAN takes its gradients with torch.autograd.grad,
  which DistributedDataParallel's hooks never see; reducing explicitly covers both methods alike.
- Every process draws the noise of the whole global batch and keeps its rows (vaegan/noise.py), so the generators
  stay in step and a checkpoint from rank 0 holds the noise state of all.
- Optional: BatchNorm statistics over the global batch (vaegan/models/sync_batchnorm.py).

Only rank 0 writes (run folder, TensorBoard, samples, checkpoints); every process reads the same checkpoint to resume.
"""

from __future__ import annotations

import datetime
import io
import os
import pickle
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import numpy as np
import torch
import torch.distributed as dist

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 600.0


class DistributedError(RuntimeError):
    """Another process failed or stopped answering: this one stops too, with a message that says where to look."""


@dataclass(frozen=True)
class Processes:
    """rank in [0, world_size); local_rank: the rank on this machine (picks the GPU); device: where collectives'
    tensors must be (NCCL: the GPU, gloo: the CPU)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1

    def rows(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's rows of a global batch: (B, ...) -> (B / world_size, ...), a contiguous block."""
        if not self.is_distributed:
            return batch
        per_rank = check_divisible(batch.shape[0], self.world_size)
        return batch[self.rank * per_rank:(self.rank + 1) * per_rank]

    def average_(self, tensors: list[torch.Tensor]) -> None:
        """In place: each tensor becomes its mean over the processes; one all-reduce over one flat buffer."""
        if not self.is_distributed or not tensors:
            return
        flat = torch.cat([t.detach().reshape(-1).float() for t in tensors]).to(self.device)
        _collective("average gradients", dist.all_reduce, flat)
        flat /= self.world_size
        offset = 0
        for t in tensors:
            t.copy_(flat[offset:offset + t.numel()].view(t.shape))  # copy_ moves it back to t's device and layout
            offset += t.numel()

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        """The mean over the processes of a detached tensor (a new tensor; the input is untouched)."""
        if not self.is_distributed:
            return value
        out = value.detach().to(self.device, copy=True)
        _collective("average a statistic", dist.all_reduce, out)
        return (out / self.world_size).to(value.device)

    def max(self, value: torch.Tensor) -> torch.Tensor:
        """Elementwise maximum over the processes: the way they agree on when to stop."""
        if not self.is_distributed:
            return value
        out = value.detach().to(self.device, copy=True)
        _collective("agree on a decision", dist.all_reduce, out, op=dist.ReduceOp.MAX)
        return out.to(value.device)

    def broadcast(self, obj: Any) -> Any:
        """rank 0's obj on every process (a small picklable object, e.g. a path)."""
        if not self.is_distributed:
            return obj
        box = [obj if self.is_main else None]
        _collective("share rank 0's result", dist.broadcast_object_list, box, src=0)
        return box[0]

    def gather(self, obj: Any) -> list[Any]:
        """[obj of rank 0, obj of rank 1, ...] on every process."""
        if not self.is_distributed:
            return [obj]
        out: list[Any] = [None] * self.world_size
        _collective("gather results", dist.all_gather_object, out, obj)
        return out

    def barrier(self) -> None:
        if self.is_distributed:
            _collective("wait for the other processes", dist.barrier)

    def main_first(self, fn: Callable[[], T]) -> T:
        """fn() on rank 0, then on the others: rank 0 makes and writes what fn caches (real-data statistics, a
        fitted latent mixture), the others then find it written and read it."""
        if self.is_main:
            result = fn()
            self.barrier()
            return result
        self.barrier()
        return fn()


class ShardedExtractor:
    """A metrics.FeatureExtractor whose features() each process computes for its share of the images (contiguous,
    in rank order) and then gathers: every process gets the features of all images, in their order, for 1/N of the
    work. Every process must call it with the same images."""

    def __init__(self, inner, processes: Processes) -> None:
        self.inner, self.processes = inner, processes
        self.name, self.id, self.weights_sha256 = inner.name, inner.id, inner.weights_sha256
        self.precision, self.feature_dim, self.input_shape = inner.precision, inner.feature_dim, inner.input_shape

    def features(self, images: torch.Tensor, batch_size: int | None = None) -> np.ndarray:
        """images: uint8 (N, C, H, W) -> float64 (N, feature_dim)."""
        if not self.processes.is_distributed:
            return self.inner.features(images, batch_size=batch_size)
        share = torch.tensor_split(images, self.processes.world_size)[self.processes.rank]
        mine = self.inner.features(share, batch_size=batch_size) if len(share) else np.zeros((0, self.feature_dim))
        return np.concatenate(self.processes.gather(mine))


SINGLE = Processes()


class Silent(io.TextIOBase):
    """Where processes other than rank 0 print: every process runs the same code, one speaks."""

    def write(self, text: str) -> int:
        return len(text)


def check_divisible(batch_size: int, world_size: int) -> int:
    """batch_size / world_size, or a ValueError that says how to fix it."""
    if batch_size % world_size:
        raise ValueError(f"the global batch size {batch_size} does not split evenly over {world_size} processes; "
                         f"pass a --batch-size that is a multiple of {world_size} (--batch-size is the global batch)")
    return batch_size // world_size


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def start(device: str, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> Processes:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT); SINGLE when not
    launched by torchrun. Backend: NCCL for CUDA, gloo otherwise; on CUDA this process takes GPU local_rank.

    timeout_seconds: how long a collective waits for the others before this process gives up with a
    DistributedError (a process that died must not leave the rest hanging)."""
    if not launched_by_torchrun():
        return SINGLE
    cuda = device.startswith("cuda")
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    processes = Processes(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), local_rank,
                          f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo", timeout=datetime.timedelta(seconds=timeout_seconds))
    return processes


def stop() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def _collective(what: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (dist.DistError, RuntimeError, pickle.UnpicklingError) as e:
        raise DistributedError(
            f"rank {dist.get_rank()}: could not {what}: another process died or stopped answering "
            f"({str(e).splitlines()[0] if str(e) else type(e).__name__}). This process stops too; the log of the "
            "first process to fail says why. The last checkpoint is kept: continue with --resume RUN_DIR") from e
