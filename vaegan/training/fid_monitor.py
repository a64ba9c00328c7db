"""FID during training: the same fixed prior samples scored every `fid_every` steps against the test split.

Real-data statistics are computed once per session; the samples come from a fixed z drawn from a generator of
their own, so monitoring neither moves the training noise (resume stays exact) nor adds sampling noise to the curve.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from metrics import cached_statistics, get_extractor, score_samples
from vaegan.config import TrainConfig
from vaegan.data import ImageDataset
from vaegan.sampling import decode


class FIDMonitor:
    def __init__(self, cfg: TrainConfig, test_data: ImageDataset):
        self.extractor = get_extractor(cfg.fid_extractor, device=cfg.device)
        # Cached beside the runs, keyed by what was measured with what: every run on this data reuses it.
        key = re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{test_data.identity}-{self.extractor.id}")
        self.real_stats = cached_statistics(Path(cfg.runs_dir) / ".fid-reference" / f"{key}.npz", self.extractor,
                                            test_data.identity, lambda: test_data.images)
        self.sharpness_reference = test_data.images[: cfg.fid_samples]
        self.z = torch.randn(cfg.fid_samples, cfg.model.latent_dim, generator=torch.Generator().manual_seed(cfg.seed + 4))

    def __call__(self, decoder: torch.nn.Module) -> dict[str, float]:
        scores = score_samples(decode(decoder, self.z), self.real_stats, self.extractor, kid=False,
                               real_images_for_sharpness=self.sharpness_reference)
        return {
            "fid/domain" if self.extractor.name == "domain" else f"fid/{self.extractor.name}": scores["fid"],
            "sharpness/laplacian_ratio": scores["laplacian_ratio"],
            "sharpness/high_freq_ratio": scores["high_freq_ratio"],
        }


def fid_monitor_for(cfg: TrainConfig, test_data: ImageDataset, out) -> FIDMonitor | None:
    """A monitor, or None (with a note) when FID is off or the extractor cannot read this data."""
    if cfg.fid_every <= 0:
        return None
    if cfg.fid_extractor == "domain" and tuple(test_data.images.shape[1:]) != (1, 28, 28):
        print(f"note: FID during training is off: the domain extractor reads 28x28 grayscale, this data is "
              f"{tuple(test_data.images.shape[1:])}; pass --fid-extractor inception (slow on CPU) or --fid-every 0",
              file=out, flush=True)
        return None
    return FIDMonitor(cfg, test_data)
