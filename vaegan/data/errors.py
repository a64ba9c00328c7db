"""Errors raised while locating or reading a dataset; both carry a message that says what to do."""

from __future__ import annotations


class DatasetNotFoundError(FileNotFoundError):
    """The dataset files are not in any searched place; the message lists the paths tried and how to get them."""


class DatasetFormatError(ValueError):
    """A dataset file exists but is wrong or corrupt; the message names the file and the problem."""
