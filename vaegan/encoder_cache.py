"""Statistics of a checkpoint's encoder over its training images, saved beside the checkpoint and reused while they
still describe it: the latent GMM (vaegan.latent_sampler) and the attribute vectors (vaegan.attributes).

Each lives in checkpoints/<which>.<kind>.npz, an .npz with a format marker and version, and records what it was
computed from: the checkpoint step, a sha256 of the encoder's tensors (a checkpoint's EMA and live encoders share a
step, not their weights), and its settings. A saved file whose record differs is recomputed and replaced.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
import torch
from torch import nn

from vaegan.atomic import DiskFullError, atomic_write
from vaegan.run_folder import checkpoint_path

T = TypeVar("T")


def encoder_fingerprint(encoder: nn.Module) -> str:
    """sha256 over the encoder's parameters and buffers (names, then raw bytes), to key saved statistics by."""
    h = hashlib.sha256()
    for name, tensor in sorted(encoder.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def beside_checkpoint(run_dir: str | Path, which: str, kind: str) -> Path:
    """checkpoints/<which>.<kind>.npz: where statistics of kind `kind` of checkpoints/<which>.pt live."""
    return checkpoint_path(run_dir, which).with_suffix(f".{kind}.npz")


def subset_indices(n: int, max_images: int, seed: int) -> torch.Tensor | None:
    """Sorted indices of max_images of n images drawn from `seed` (the same ones every time), or None when
    n <= max_images and all are used. Bounds the encoding time on big datasets."""
    if n <= max_images:
        return None
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:max_images].sort().values


def save_npz(path: str | Path, marker: str, version: int, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays (no pickled objects) and the format marker and version, atomically."""
    arrays = {"format": np.str_(marker), "version": np.int64(version), **arrays}
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_npz(path: str | Path, marker: str, version: int, parse: Callable[[dict[str, np.ndarray]], T],
             error: type[ValueError], what: str) -> T:
    """Read a file written by save_npz and build the object with parse(arrays). FileNotFoundError as is; anything
    else wrong (truncated zip, another file, a missing or inconsistent array: parse raises) becomes one line of
    `error` naming the file and saying to delete it."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
        if str(arrays["format"]) != marker:
            raise ValueError(f"no '{marker}' marker")
        if int(arrays["version"]) != version:
            raise ValueError(f"version {int(arrays['version'])}, this vaegan reads version {version}")
        return parse(arrays)
    except FileNotFoundError:
        raise
    except Exception as e:  # all mean the same to the user: the file cannot be used
        reason = " ".join(f"{type(e).__name__}: {e}".split())
        raise error(f"{what} file {path} is corrupt or does not fit ({reason}); delete it to refit") from e


def load_or_compute(path: Path, load: Callable[[Path], T], describes: Callable[[T], bool],
                    compute: Callable[[], T], save: Callable[[T, Path], None]) -> T:
    """The statistics saved at `path` when describes(saved) holds, else compute() saved there (replacing any
    older file). A corrupt file raises (load's error), rather than being silently replaced. A run folder that cannot
    be written (a read-only mount, a full disk) still gets its statistics, uncached, with a note on stderr: the file
    only saves the next caller the work."""
    if path.is_file():
        saved = load(path)
        if describes(saved):
            return saved
    fresh = compute()
    try:
        save(fresh, path)
    except OSError as e:
        reason = "no space left on device" if isinstance(e, DiskFullError) else (e.strerror or str(e))
        print(f"note: {path.name} is used without being cached: {path} cannot be written ({reason}), so it is "
              "recomputed on every use", file=sys.stderr)
    return fresh
