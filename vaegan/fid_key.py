"""The name of an FID logged during training, as a small type: "fid_ema_gmm/domain" and back.

The training records (metrics.jsonl, TensorBoard) key each FID by what was scored: the live decoder or its weight
average, N(0, I) or latent-mixture samples, and the extractor. vaegan/training/fid_monitor.py writes the keys and
vaegan/evaluation/curves.py reads them; both go through FIDKey, so the format lives here only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vaegan.config import TrainConfig

_PATTERN = re.compile(r"^fid(_ema)?(_gmm)?/([a-z0-9_]+)$")


@dataclass(frozen=True)
class FIDKey:
    extractor: str  # a name in metrics.EXTRACTORS
    ema: bool = False  # scored with the weight average of the decoder (else the live weights)
    sampler: str = "prior"  # a name in vaegan.latent_sampler.SAMPLERS: where the samples' z came from

    def __str__(self) -> str:
        return f"fid{'_ema' if self.ema else ''}{'_gmm' if self.sampler == 'gmm' else ''}/{self.extractor}"

    @classmethod
    def parse(cls, text: str) -> "FIDKey | None":
        """The key a record's field name is, or None for a field that is not an FID."""
        match = _PATTERN.match(text)
        if match is None:
            return None
        return cls(match.group(3), match.group(1) is not None, "gmm" if match.group(2) else "prior")

    @classmethod
    def headline(cls, cfg: TrainConfig, extractor: str | None = None) -> "FIDKey":
        """The FID a run's checks are judged by (it picks best.pt): of the weight average if the run keeps one, on
        mixture samples if it fits mixtures."""
        return cls(extractor or cfg.fid_extractor, cfg.ema_horizon > 0 or cfg.ema_decay > 0,
                   "gmm" if cfg.fid_gmm_images > 0 else "prior")
