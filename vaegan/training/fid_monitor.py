"""FID during training: the same fixed latent noise decoded and scored against the test split every `fid_every` steps,
or at `fid_checks` points spaced over the budget.

Each check scores the live decoder on N(0, I) samples ("fid/<extractor>") and, when the run keeps a weight average,
the average decoder ("fid_ema/<extractor>"). With cfg.fid_gmm_images > 0 it also fits cfg.fid_gmm_fits latent
mixtures, from different k-means starts, to the training codes of the generator that will be evaluated (the average
if there is one) and scores their samples, averaged ("fid_gmm/..." or "fid_ema_gmm/..."): that last key is the
headline, which picks best.pt.

Real-data statistics are computed once per session; the noise comes from generators of its own, so monitoring
neither moves the training noise (resume stays exact) nor adds sampling noise to the curve.

With several processes, each extracts the features of its share of the samples and all gather them in order
(vaegan.distributed.ShardedExtractor): every process gets the scores of all samples, those one process gets. The
latent mixture is fitted by rank 0 and sent to the others; rank 0 computes and caches the real statistics first.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import torch
from torch import nn

from metrics import FeatureExtractor, cached_statistics, get_extractor, score_samples
from vaegan.config import TrainConfig
from vaegan.data import ImageDataset
from vaegan.distributed import SINGLE, Processes, ShardedExtractor
from vaegan.fid_key import FIDKey
from vaegan.latent_sampler import fit_gmms
from vaegan.sampling import decode


class FIDMonitor:
    def __init__(self, cfg: TrainConfig, extractor: FeatureExtractor, test_data: ImageDataset,
                 train_images: torch.Tensor, processes: Processes = SINGLE):
        """extractor: one that takes the images of test_data (see FeatureExtractor.input_shape). With several
        processes, every one constructs it (rank 0 first: fid_monitor_for) and calls it at the same steps."""
        self.cfg = cfg
        self.extractor = extractor
        self.sharded = ShardedExtractor(extractor, processes)
        self.processes = processes
        # Cached beside the runs, keyed by what was measured with what: every run on this data reuses it.
        key = re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{test_data.identity}-{self.extractor.id}")
        self.real_stats = cached_statistics(Path(cfg.runs_dir) / ".fid-reference" / f"{key}.npz", self.extractor,
                                            test_data.identity, lambda: test_data.images)
        self.sharpness_reference = test_data.images[: cfg.fid_samples]
        self.train_images = train_images
        self.z = torch.randn(cfg.fid_samples, cfg.model.latent_dim, generator=torch.Generator().manual_seed(cfg.seed + 4))

    def _score(self, decoder: nn.Module, z: torch.Tensor) -> dict:
        return score_samples(decode(decoder, z), self.real_stats, self.sharded, kid=False,
                             real_images_for_sharpness=self.sharpness_reference)

    def _score_gmm(self, generator: dict[str, nn.Module]) -> dict:
        """Scores of mixture samples, each the mean over cfg.fid_gmm_fits mixtures fitted from different k-means
        starts, each scored on its own fid_samples codes. One fit's score swings with its EM optimum and its
        samples (on one checkpoint: 36-51 over eight fits), so a single fit per check drew spikes the model did not
        make; the mean of k shrinks that spread about sqrt(k)-fold."""
        seeds = tuple(self.cfg.seed + i for i in range(self.cfg.fid_gmm_fits))
        gmms = self.processes.broadcast(
            fit_gmms(generator["encoder"], self.train_images, seeds, max_images=self.cfg.fid_gmm_images)
            if self.processes.is_main else None)
        # One noise stream for all fits: the first draws the codes a single fit always drew.
        noise = torch.Generator().manual_seed(self.cfg.seed + 5)
        each = [self._score(generator["decoder"], gmm.sample(self.cfg.fid_samples, noise)) for gmm in gmms]
        return {key: sum(s[key] for s in each) / len(each) for key in ("fid", "laplacian_ratio", "high_freq_ratio")}

    def __call__(self, nets: dict[str, nn.Module], ema: dict[str, nn.Module]) -> tuple[dict[str, float], str]:
        """nets: the live networks; ema: their averages ({} when off). -> (record, headline key); the sharpness
        ratios in the record are those of the headline's samples."""
        key, scores = FIDKey(self.extractor.name), self._score(nets["decoder"], self.z)
        record = {str(key): scores["fid"]}
        if ema:
            key, scores = FIDKey(self.extractor.name, ema=True), self._score(ema["decoder"], self.z)
            record[str(key)] = scores["fid"]
        if self.cfg.fid_gmm_images > 0:
            key, scores = dataclasses.replace(key, sampler="gmm"), self._score_gmm(ema or nets)
            record[str(key)] = scores["fid"]
        record["sharpness/laplacian_ratio"] = scores["laplacian_ratio"]
        record["sharpness/high_freq_ratio"] = scores["high_freq_ratio"]
        return record, str(key)


def fid_monitor_for(cfg: TrainConfig, test_data: ImageDataset, train_images: torch.Tensor, out,
                    processes: Processes = SINGLE) -> FIDMonitor | None:
    """A monitor, or None (with a note) when FID is off or the extractor cannot read this data."""
    if cfg.fid_every <= 0 and cfg.fid_checks <= 0:
        return None
    # the domain network bundled for this data (MNIST's for MNIST), Fashion-MNIST's by default
    options = {"dataset": test_data.name} if cfg.fid_extractor == "domain" else {}
    extractor = get_extractor(cfg.fid_extractor, device=cfg.device, **options)
    shape = tuple(test_data.images.shape[1:])
    if extractor.input_shape is not None and extractor.input_shape != shape:
        print(f"note: FID during training is off: the {extractor.name} extractor reads {extractor.input_shape} "
              f"images, this data is {shape}; pass --fid-extractor inception (slow on CPU) or --fid-every 0",
              file=out, flush=True)
        return None
    if test_data.images.shape[0] < 2:  # a covariance needs two images; a tiny folder's test split may hold one
        print(f"note: FID during training is off: the test split has {test_data.images.shape[0]} image(s), a Fréchet distance "
              "needs at least 2", file=out, flush=True)
        return None
    return processes.main_first(lambda: FIDMonitor(cfg, extractor, test_data, train_images, processes))
