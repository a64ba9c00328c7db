"""Files the package writes (statistics, results, weights) are replaced in one step, never left half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Callable


def write_atomically(path: str | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Call write(handle) on a temporary file beside path, fsync it, then rename it over path in one step.

    The folder of path must exist. On any error (a full disk, Ctrl-C) the temporary file is removed and an
    existing file at path is left as it was."""
    path = Path(path)
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False)
    try:
        # NamedTemporaryFile makes 0600; results are meant to be read like any other file.
        os.fchmod(handle.fileno(), 0o644)
        with handle:
            write(handle)
            handle.flush()
            # Without fsync a crash soon after the rename can leave an empty file under the final name.
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
