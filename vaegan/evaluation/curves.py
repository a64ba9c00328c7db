"""A run's metrics.jsonl read back as FID curves, one per logged variant, and how steady each ended.

The loop appends one JSON object per evaluation (read back by vaegan.run_folder.read_metrics: after a resume a step
may be logged twice, and the last value of each (step, key) wins; a value not finite when logged is None). An FID
key names what was scored: fid[_ema][_gmm]/<extractor>, i.e. the live or the EMA decoder, on samples from N(0, I)
or from the latent GMM (vaegan.latent_sampler).
"""

from __future__ import annotations

from dataclasses import dataclass

from vaegan.checkpoint import train_seconds
from vaegan.fid_key import FIDKey
from vaegan.latent_sampler import SAMPLERS
from vaegan.run_folder import VAE_START_END

STABILITY_TARGET = 0.15  # a curve that still rises more than 15% above its final FID late in training has not settled
# Fewest FID checks for the stability measure: with 2 or 3 the "second half" holds one or two points and the rise is
# 0% or noise, which would read as a settled curve.
STABILITY_POINTS = 4


@dataclass(frozen=True)
class Curve:
    key: str  # e.g. "fid_ema_gmm/domain"
    steps: list[int]
    wall_seconds: list[float | None]  # None where a record lacked wall_seconds
    train_seconds: list[float | None]  # the training part of wall_seconds (vaegan.checkpoint.train_seconds)
    values: list[float]

    @property
    def ema(self) -> bool:
        """Scored with the EMA of the decoder's weights (else the live weights)."""
        return FIDKey.parse(self.key).ema

    @property
    def sampler(self) -> str:
        """A name in vaegan.latent_sampler.SAMPLERS: where the scored samples' z came from."""
        return FIDKey.parse(self.key).sampler

    @property
    def extractor(self) -> str:
        return FIDKey.parse(self.key).extractor

    @property
    def variant(self) -> str:
        """For legends: "N(0,I)", "EMA · N(0,I)", "GMM", "EMA · GMM"."""
        return ("EMA · " if self.ema else "") + SAMPLERS[self.sampler].label


@dataclass(frozen=True)
class HandOff:
    """Where a VAE-GAN run's VAE start ended: its last step, and the training seconds by then (None in records
    without them)."""

    step: int
    train_seconds: float | None


def vae_start_end(records: dict[int, dict]) -> HandOff | None:
    """The hand-off the training loop recorded (vaegan.run_folder.VAE_START_END); None for a run without a VAE start
    or one that has not reached its end. records: vaegan.run_folder.read_metrics."""
    ends = [(s, r) for s, r in records.items() if r.get(VAE_START_END)]
    return HandOff(ends[0][0], train_seconds(ends[0][1])) if ends else None


def fid_curves(records: dict[int, dict]) -> dict[str, Curve]:
    """{key: Curve} for every FID key (vaegan.fid_key.FIDKey) logged during training, sorted by key; {} when none was.
    records: vaegan.run_folder.read_metrics; a null value (not finite when logged) is no point of the curve."""
    keys = sorted({k for r in records.values() for k in r if FIDKey.parse(k) is not None})
    curves = {}
    for key in keys:
        points = [(s, r.get("wall_seconds"), train_seconds(r), float(r[key]))
                  for s, r in records.items() if r.get(key) is not None]
        if points:
            curves[key] = Curve(key, *map(list, zip(*points)))
    return curves


def sampler_curve(curves: dict[str, Curve], sampler: str | None) -> Curve | None:
    """The curve of what the report scores for this sampler: the EMA decoder's when the run logged one (evaluation
    then loads the EMA weights), else the live decoder's; None when the run logged neither."""
    matching = [c for c in curves.values() if c.sampler == sampler]
    return next((c for c in matching if c.ema), next(iter(matching), None))


def stability(curve: Curve) -> float | None:
    """The highest FID in the second half of training (steps >= half the last logged step) over the final FID,
    minus 1: 0.08 = the curve was at most 8% above where it ended. None with fewer than STABILITY_POINTS points or a
    final FID <= 0, where the ratio means nothing."""
    final = curve.values[-1]
    if len(curve.values) < STABILITY_POINTS or final <= 0:
        return None
    late = [v for s, v in zip(curve.steps, curve.values) if s >= curve.steps[-1] / 2]
    return max(late) / final - 1
