"""Writes that never leave a half-written file: write a temp file beside the target, fsync, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

import torch


def atomic_write(path: str | Path, write: Callable[[object], None], mode: str = "wb") -> None:
    """Call write(file_object) on a temp file in path's folder, then atomically replace `path` with it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o644)  # mkstemp makes 0600; results are meant to be shared like any other file
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Ctrl-C or a full disk mid-write: drop the partial temp file, the old target stays intact.
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text), mode="w")


def atomic_torch_save(obj: object, path: str | Path) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))
