"""Published Inception FIDs on Fashion-MNIST and MNIST that the report puts beside ours: the one place these
numbers live (the report's "Against published results" section and metrics.json read them from here).

Their protocol (Dai & Wipf 2019, section 5 and their code github.com/daib13/TwoStageVAE): FID with TensorFlow's
Inception graph, pool3 (2048-d) features, 10,000 generated images against the 10,000 test images, grayscale copied
to 3 channels, each generated image min-max stretched to [0, 1] by their code before the network. Our
`--inception` measures the same features of TF's own weights (metrics/tf_inception_weights.py); the stretch is
`--inception-stretch` (off by default).
"""

from __future__ import annotations

from dataclasses import dataclass

DAI_WIPF = ("Dai & Wipf 2019, “Diagnosing and enhancing VAE models”, ICLR 2019, Table 1")
LUCIC = ("best of the large hyperparameter search of Lucic et al. 2018, “Are GANs created equal?”, NeurIPS 2018, as "
         "reported in " + DAI_WIPF)
PA_GAN = "Zhang & Khoreva 2019, “PA-GAN: improving GAN training by progressive augmentation”, ICLR 2019 submission"

PROTOCOL = ("TF Inception pool3 features, 10,000 generated vs the 10,000 test images, gray copied to 3 channels, "
            "each generated image min-max stretched to [0, 1] (Dai & Wipf's code)")
PROTOCOL_SAMPLES = 10000  # generated images, and test images, in the published protocol


@dataclass(frozen=True)
class PublishedFID:
    model: str
    fid: float
    std: float | None  # ± as published (spread over the authors' repeated runs); None where none was given
    source: str  # the citation


PUBLISHED: dict[str, tuple[PublishedFID, ...]] = {
    "fashion_mnist": (
        PublishedFID("VAE", 43.6, 0.7, DAI_WIPF),
        PublishedFID("2-Stage VAE", 29.3, 1.0, DAI_WIPF),
        PublishedFID("NS GAN", 26.5, 1.6, LUCIC),
        PublishedFID("BEGAN", 22.9, 0.9, LUCIC),
        PublishedFID("WGAN", 21.5, 1.6, LUCIC),
        PublishedFID("PA-GAN", 15.8, 1.1, PA_GAN),
    ),
    "mnist": (
        PublishedFID("VAE", 16.6, None, DAI_WIPF),
        PublishedFID("2-Stage VAE", 12.6, None, DAI_WIPF),
        PublishedFID("WGAN", 6.7, None, LUCIC),
    ),
}


def published_fids(dataset: str) -> tuple[PublishedFID, ...]:
    """The published rows for `dataset` (a name in vaegan.data.DATASETS); () for data without any."""
    return PUBLISHED.get(dataset, ())
