"""The scores a report shows, each once: its key in the scores, column header, which way is better, decimals, the
name the verdict calls it by, and (EXPLANATIONS) what it measures. Scoring, the verdict, the page and the sweep's
table read them here."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str  # key in Row.scores
    label: str  # column header
    better: str  # "lower" | "higher" | "one" (closest to 1.0, i.e. as sharp as real)
    digits: int  # decimals shown
    name: str = ""  # in sentences, e.g. "sharpness"; "" for metrics the verdict does not name
    aspect: str = ""  # "fidelity" | "diversity" for the nearest-neighbour scores: said in their own sentences
    optional: bool = False  # a column only when some row has it (the Inception scores, with --inception)

    def format(self, value: float) -> str:
        return f"{value:.{self.decimals(value)}f}"

    def decimals(self, value: float) -> int:
        """Decimals to show for values as large as `value`: `digits`, or 1 from 100 up (an untrained model's
        FID/KID), where more are noise."""
        return self.digits if abs(value) < 100 else 1


METRICS = (
    Metric("fid", "FID ↓", "lower", 2, "FID"),
    Metric("kid", "KID ↓", "lower", 4, "KID"),
    # Nearest-neighbour scores on the same features (metrics.precision_recall: k = 3 and k = 5).
    Metric("precision", "precision ↑", "higher", 3, "precision", aspect="fidelity"),
    Metric("recall", "recall ↑", "higher", 3, "recall", aspect="diversity"),
    Metric("density", "density ↑", "higher", 3, "density", aspect="fidelity"),
    Metric("coverage", "coverage ↑", "higher", 3, "coverage", aspect="diversity"),
    # The same on TF's FID Inception pool3 features, with --inception (10,000 samples: the published protocol).
    Metric("inception_fid", "Inception FID ↓", "lower", 2, "Inception FID", optional=True),
    Metric("inception_precision", "Inception precision ↑", "higher", 3, "Inception precision", aspect="fidelity",
           optional=True),
    Metric("inception_recall", "Inception recall ↑", "higher", 3, "Inception recall", aspect="diversity",
           optional=True),
    Metric("inception_density", "Inception density ↑", "higher", 3, "Inception density", aspect="fidelity",
           optional=True),
    Metric("inception_coverage", "Inception coverage ↑", "higher", 3, "Inception coverage", aspect="diversity",
           optional=True),
    Metric("recon_fid", "recon FID ↓", "lower", 2),
    Metric("sample_laplacian_ratio", "sharpness (Laplacian) samples", "one", 2, "sharpness"),
    Metric("sample_high_freq_ratio", "sharpness (high freq.) samples", "one", 2),
    Metric("recon_laplacian_ratio", "sharpness (Laplacian) recon", "one", 2),
    Metric("recon_high_freq_ratio", "sharpness (high freq.) recon", "one", 2),
    Metric("mse", "MSE ↓", "lower", 4),
    Metric("psnr", "PSNR dB ↑", "higher", 2),
    Metric("ssim", "SSIM ↑", "higher", 3),
)
VERDICT_METRICS = tuple(m for m in METRICS if m.name and not m.aspect)
ASPECT_METRICS = tuple(m for m in METRICS if m.aspect)


def shown_metrics(score_dicts) -> tuple[Metric, ...]:
    """The metrics that are columns: every one that is not optional, and the optional ones some scores have."""
    score_dicts = list(score_dicts)
    return tuple(m for m in METRICS if not m.optional or any(m.key in s for s in score_dicts))


def badness(metric: Metric, value: float) -> float:
    """A number to minimise: the value itself, its negative, or the distance from 1.0 on a log scale
    (half as sharp and twice as sharp as real are equally far off)."""
    if metric.better == "lower":
        return value
    if metric.better == "higher":
        return -value
    return abs(math.log(value)) if value > 0 else math.inf


BY_KEY = {m.key: m for m in METRICS}

# (heading, what it measures) for the report's "How to read" list, in METRICS' order.
SCORE_EXPLANATIONS = (
    ("FID", "Fréchet distance between Gaussians fitted to extractor features of real and generated images; lower is "
     "closer to the data. Only comparable between reports with the same extractor id (hash) and N."),
    ("KID", "Kernel Inception Distance: unbiased MMD² with a cubic kernel on the same features, mean ± std over "
     "random subsets; about 0 for two samples of one distribution. Shown as computed, multiplied by nothing (papers "
     "often print KID × 10³): its scale follows the extractor's features, which on the domain network are large, so "
     "a VAE's KID there reads in the thousands. Compare KIDs of one extractor only."),
    ("precision / recall", "improved precision and recall (Kynkäänniemi et al. 2019, k = 3) on the same features: "
     "the share of samples inside the real images' manifold (fidelity), and of real images inside the samples' "
     "manifold (diversity); each manifold is the union of balls reaching each point's 3rd nearest neighbour."),
    ("density / coverage", "Naeem et al. 2020 (k = 5): how many real balls contain a sample on average, divided by "
     "k (fidelity, about 1 for samples like the data, can exceed 1), and the share of real images whose ball holds "
     "a sample (diversity). Unlike precision and recall, outliers cannot inflate them."),
    ("Inception FID / precision / …", "the same scores on TF's FID Inception pool3 features (with --inception): the "
     "features published Fashion-MNIST and MNIST FIDs use; the images are upsampled from 28×28 to 299×299."),
    ("recon FID", "FID of the reconstructions Dec(μ(x)) of the first N test images."),
    ("sharpness", "variance of the Laplacian and share of spectral energy above 0.25 cycles/pixel, each divided by "
     "the same quantity on real images: 1.0 = as sharp as real, below 1 = blurrier (above 1: noisier than real)."),
    ("MSE / PSNR / SSIM", "pixel error of the reconstructions on the [0, 1] scale; a blurry mean image can score "
     "well here, which is why FID and sharpness sit next to them."),
)
