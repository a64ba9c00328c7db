"""Default folders for downloaded datasets and decoded-image caches.

Both live under ~/.cache/vaegan unless overridden by an environment variable, the same convention as
TORCH_HOME, so tests and shared machines can redirect them without code changes.
"""

from __future__ import annotations

import os
from pathlib import Path


def download_root() -> Path:
    """Where `download=True` stores datasets when no root is given ($VAEGAN_DATA_ROOT or ~/.cache/vaegan/data)."""
    return Path(os.environ.get("VAEGAN_DATA_ROOT", "~/.cache/vaegan/data")).expanduser()


def decode_cache_dir() -> Path:
    """Where decoded image folders are cached as .npy ($VAEGAN_DECODE_CACHE or ~/.cache/vaegan/decoded)."""
    return Path(os.environ.get("VAEGAN_DECODE_CACHE", "~/.cache/vaegan/decoded")).expanduser()
