"""A finished (or interrupted) run loaded back for sampling and evaluation: config + networks in eval mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from vaegan.checkpoint import CheckpointError, load_checkpoint, load_state_into, train_seconds
from vaegan.config import TrainConfig
from vaegan.data import ImageDataset, load_dataset
from vaegan.models.build import build_networks
from vaegan.run_folder import checkpoint_path


@dataclass
class TrainedRun:
    run_dir: Path
    which: str  # "latest" | "best"
    cfg: TrainConfig
    nets: dict[str, nn.Module]  # encoder, decoder (and discriminator for a VAE-GAN), in eval mode
    ema: bool  # whether nets' encoder and decoder hold the run's weight averages rather than its last weights
    step: int
    wall_seconds: float  # all elapsed time up to the checkpoint, training and measuring
    train_seconds: float  # the part spent in training steps (what a time budget counts)
    extra: dict

    def dataset(self, split: str) -> ImageDataset:
        """A split of the data the run's config names, at its image size and channels; "train" also keeps the
        config's limit (the images it was trained on), "test" is the whole split."""
        d = self.cfg.data
        return load_dataset(d.dataset, split, root=d.root, download=d.download, image_size=d.image_size,
                            channels=d.channels, limit=d.limit if split == "train" else None)


def load_trained_run(run_dir: str | Path, which: str = "latest", device: str = "cpu", use_ema: bool = True) -> TrainedRun:
    """Rebuild the networks of `run_dir` from the config inside its checkpoint and load their weights.
    which="best" falls back to "latest" when the run kept no best checkpoint. use_ema: a run that kept weight averages
    (ema_decay > 0) is sampled and evaluated with them, as it was meant to be."""
    run_dir = Path(run_dir)
    if run_dir.is_file():
        raise CheckpointError(f"{run_dir} is a file, not a run folder; pass a folder made by training (e.g. "
                              "runs/00001-...)")
    if not run_dir.is_dir():
        raise CheckpointError(f"run folder {run_dir} does not exist")
    path = checkpoint_path(run_dir, which)
    if which == "best" and not path.exists():
        which, path = "latest", checkpoint_path(run_dir, "latest")
    ckpt = load_checkpoint(path)
    cfg = TrainConfig.from_dict(ckpt["config"])
    cfg.device = device
    nets = build_networks(cfg, tuple(ckpt["nets"]))
    averages = ckpt.get("ema", {}) if use_ema else {}
    for name, net in nets.items():
        if name in averages:  # AveragedModel's state: the averaged network under "module.", and a counter
            weights = {k.removeprefix("module."): v for k, v in averages[name].items() if k.startswith("module.")}
            load_state_into(net, weights, f"weight average of '{name}'", path)
        else:
            load_state_into(net, ckpt["nets"][name], f"network '{name}'", path)
        net.eval()
    return TrainedRun(run_dir, which, cfg, nets, bool(averages), ckpt["step"], ckpt["wall_seconds"],
                      train_seconds(ckpt), ckpt["extra"])
