"""Shared fixtures. Tests that need the real Fashion-MNIST skip when it is absent on a developer machine, but
fail in CI (CI=true), where `make test` installs Debian's dataset-fashion-mnist first."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from vaegan.config import DataConfig, TrainConfig

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="session")
def fashion_mnist() -> Path:
    if not (FASHION_MNIST / "train-images-idx3-ubyte.gz").exists():
        if os.environ.get("CI"):
            pytest.fail("Fashion-MNIST is missing in CI: `make test` should have installed dataset-fashion-mnist")
        pytest.skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
    return FASHION_MNIST


@pytest.fixture
def tiny_config(tmp_path, fashion_mnist):
    """A factory of fast configs on the first `limit` real Fashion-MNIST images, writing under tmp_path."""

    def make(kind: str = "vae", **overrides) -> TrainConfig:
        base = TrainConfig(
            kind=kind, data=DataConfig(limit=overrides.pop("limit", 512)), epochs=None, steps=6, batch_size=32,
            runs_dir=str(tmp_path / "runs"), log_every=2, image_every=3, checkpoint_every=3, progress_seconds=3600,
            eval_batches=1, fid_every=0,
            precision="fp32",  # the same arithmetic on every CPU kind; "auto" would pick bf16 on some
        )
        return dataclasses.replace(base, **overrides)

    return make
