"""One folder per run, named so that two runs never overwrite each other:
`runs/00003-fashion_mnist-vaegan-b64-s0[-tag]/` holding config.json, checkpoints/, tensorboard/, samples/."""

from __future__ import annotations

import re
from pathlib import Path

from vaegan.atomic import atomic_write_text
from vaegan.config import TrainConfig

SUBFOLDERS = ("checkpoints", "tensorboard", "samples")


def run_folder_name(index: int, cfg: TrainConfig) -> str:
    name = f"{index:05d}-{cfg.data.dataset}-{cfg.kind}-b{cfg.batch_size}-s{cfg.seed}"
    if cfg.run_name:
        name += "-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", cfg.run_name)
    return name


def create_run_dir(cfg: TrainConfig) -> Path:
    """Make the next numbered run folder under cfg.runs_dir and save cfg as config.json in it."""
    root = Path(cfg.runs_dir)
    root.mkdir(parents=True, exist_ok=True)
    while True:
        taken = [int(m.group(1)) for p in root.iterdir() if (m := re.match(r"(\d{5})-", p.name))]
        run_dir = root / run_folder_name(max(taken, default=-1) + 1, cfg)
        try:
            run_dir.mkdir()  # fails if a concurrent run took the same index: then try the next one
            break
        except FileExistsError:
            continue
    for sub in SUBFOLDERS:
        (run_dir / sub).mkdir()
    atomic_write_text(run_dir / "config.json", cfg.to_json())
    return run_dir
