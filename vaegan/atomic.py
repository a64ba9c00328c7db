"""Writes that never leave a half-written file: write a temp file beside the target, fsync, then rename.

A write that fails for want of space raises DiskFullError naming the file, whatever library did the writing: torch.save
reports a full disk as "unexpected pos N vs M", which names neither the cause nor the file."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Callable

import torch

NO_SPACE = (errno.ENOSPC, errno.EDQUOT)  # a full disk, or this user's quota spent: the same fix
LOW_SPACE_BYTES = 1 << 20  # a library error on a write with less free space than this is taken for a full disk


class DiskFullError(OSError):
    """No space left writing `path`; str() is the one line the CLI prints and status.json records."""

    def __init__(self, path: str | Path | None) -> None:
        where = f" writing {path}" if path else ""
        super().__init__(errno.ENOSPC, f"no space left on device{where}; free space or pick another folder",
                         None if path is None else str(path))

    def __str__(self) -> str:
        return self.strerror


def free_bytes(folder: str | Path) -> int:
    """Bytes this process can still write under folder (root may use the blocks reserved for it)."""
    st = os.statvfs(folder)
    return (st.f_bfree if os.geteuid() == 0 else st.f_bavail) * st.f_frsize


def disk_full(error: BaseException, folder: str | Path | None = None) -> DiskFullError | None:
    """The DiskFullError `error` amounts to, else None: an OSError with ENOSPC/EDQUOT anywhere on its chain (torch
    wraps the OS error in a RuntimeError), or, with `folder`, a RuntimeError while that folder has (almost) no free
    space left (a library that dropped the OS error)."""
    seen, e = set(), error
    while e is not None and id(e) not in seen:
        if isinstance(e, DiskFullError):
            return e
        if isinstance(e, OSError) and e.errno in NO_SPACE:
            return DiskFullError(e.filename)
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    if folder is not None and isinstance(error, RuntimeError):
        try:
            if free_bytes(folder) < LOW_SPACE_BYTES:
                return DiskFullError(None)
        except OSError:
            pass
    return None


def atomic_write(path: str | Path, write: Callable[[object], None], mode: str = "wb") -> None:
    """Call write(file_object) on a temp file in path's folder, then atomically replace `path` with it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:  # no inode or block left for even an empty file
        if disk_full(e) is not None:
            raise DiskFullError(path) from e
        raise
    os.fchmod(fd, 0o644)  # mkstemp makes 0600; results are meant to be shared like any other file
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        # Ctrl-C or a full disk mid-write: drop the partial temp file, the old target stays intact. Free space is
        # judged before the drop, which frees what the partial file held.
        full = disk_full(e, path.parent) if isinstance(e, Exception) else None
        Path(tmp).unlink(missing_ok=True)
        if full is not None:
            raise DiskFullError(path) from e
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text), mode="w")


def atomic_torch_save(obj: object, path: str | Path) -> None:
    atomic_write(path, lambda f: torch.save(obj, f))
