"""Weights files named by their content: the sha256 that extractor ids carry."""

from __future__ import annotations

import hashlib
from pathlib import Path


class WeightsHashMismatch(RuntimeError):
    """A weights file does not have the sha256 it is supposed to have."""


def file_sha256(path: str | Path) -> str:
    """Full sha256 hex digest of a file, read in chunks so large weights files stay out of memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
