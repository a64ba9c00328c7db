"""Weights files named by their content (the sha256 that extractor ids carry), and read without running code."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch


class WeightsHashMismatch(RuntimeError):
    """A weights file does not have the sha256 it is supposed to have."""


class WeightsFileError(RuntimeError):
    """A file given as extractor weights that torch cannot read as plain tensors: another format, or damaged."""


def file_sha256(path: str | Path) -> str:
    """Full sha256 hex digest of a file, read in chunks so large weights files stay out of memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_weights(path: str | Path, what: str, error: type[WeightsFileError] = WeightsFileError) -> object:
    """The object torch saved at `path`, loaded on the CPU with weights_only=True (tensors and containers only).

    what: the file's kind for the message, e.g. "domain extractor weights file (as written by ...)". An unreadable
    file raises `error` with one line: torch's own messages span lines and advise weights_only=False, which would
    run code from the file."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling, zip and EOF errors come in many types; all mean "not such a file"
        raise error(f"{str(path)!r} is not a {what} or is damaged (torch cannot read it as weights)") from exc
