"""A small CNN classifier whose penultimate layer serves as a domain-specific feature extractor.

Inception features of upsampled 28x28 grayscale images are a poor fit (ImageNet statistics, 10x
upsampling, minutes per 10k images on a CPU). A classifier trained on the data itself gives
features that respond to the garment details a person would look at, in milliseconds. The bundled
weights are trained on Fashion-MNIST by scripts/dev/train_domain_extractor.py; FIDs with these features
are only comparable with FIDs computed with the same weights, which the extractor id (short sha256)
makes explicit.

Weights file format: a dict {"config": DomainNetConfig as a dict, "state_dict": ...}, loaded with
torch.load(weights_only=True): the network is rebuilt from its config, never unpickled as code.
A json file next to the weights records provenance (sha256, dataset, test accuracy, seed, ...).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from metrics.batching import check_precision, precision_tag, run_batched
from metrics.checks import InputError, check_images
from metrics.files import write_atomically
from metrics.weights_file import WeightsFileError, WeightsHashMismatch, file_sha256, read_weights

BUNDLED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "domain_fashion_mnist.pt"
BUNDLED_DATASET = "fashion_mnist"  # the default: what weights_path=None and dataset=None load
# sha256 of BUNDLED_WEIGHTS; retraining the bundled file must come with an update of this constant.
BUNDLED_WEIGHTS_SHA256 = "8ac9f7ce3360342cbe6e816370b98dc60fbac9757c379d85e401a9bf10c25eb4"


@dataclass(frozen=True)
class BundledWeights:
    """A weights file shipped in metrics/weights/, the dataset it was trained on and its pinned sha256."""

    dataset: str
    path: Path
    sha256: str


# dataset name -> its bundled network, beside the default Fashion-MNIST one above. Retraining a file must come with
# an update of its hash here.
BUNDLED: dict[str, BundledWeights] = {
    # scripts/dev/train_domain_extractor.py --dataset mnist --epochs 10 --seed 0, on the 4,000 training digits of
    # the 5,000-digit subset (vaegan/data/mnist_subset.py); 98.5% on its 1,000 held-out digits.
    "mnist": BundledWeights("mnist", BUNDLED_WEIGHTS.with_name("domain_mnist.pt"),
                            "141d6924b60933caaa66b567fbc5bb64f71ada4de3af1f82532dee5cff8acd0e"),
}
# Datasets read by another's network: full MNIST and its subset are the same digits.
BUNDLED_ALIASES = {"mnist_5k_subset": "mnist"}


def bundled_weights(dataset: str | None) -> BundledWeights:
    """The bundled network for data named `dataset` (an ImageDataset.name); Fashion-MNIST's for None or any
    dataset without one of its own (which then reads only 28x28x1 images, as before)."""
    key = BUNDLED_ALIASES.get(dataset, dataset)
    if key in BUNDLED:
        return BUNDLED[key]
    # The module constants are read at call time, so pointing BUNDLED_WEIGHTS elsewhere (tests do) is obeyed.
    return BundledWeights(BUNDLED_DATASET, BUNDLED_WEIGHTS, BUNDLED_WEIGHTS_SHA256)


class DomainWeightsNotFound(FileNotFoundError):
    """The domain extractor weights file does not exist."""


class DomainWeightsError(WeightsFileError):
    """A file that does not hold domain extractor weights in the expected format."""


class DomainInputError(InputError):
    """Images whose size or channel count the domain network was not trained on."""


@dataclass(frozen=True)
class DomainNetConfig:
    """Architecture of DomainNet. Each width adds a conv-BN-ReLU-maxpool(2) stage; image_size is the
    side of the square images it takes; feature_dim is the width of the penultimate (feature) layer."""

    in_channels: int = 1
    image_size: int = 28
    widths: tuple[int, ...] = (32, 64, 128)
    feature_dim: int = 128
    num_classes: int = 10

    @classmethod
    def from_dict(cls, d: dict) -> "DomainNetConfig":
        return cls(**{**d, "widths": tuple(d["widths"])})


def to_network_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) in [0, 255] -> float32 in [-1, 1], the scaling used in training and for features."""
    return images.to(torch.float32) / 127.5 - 1.0


class DomainNet(nn.Module):
    """Conv stages -> linear feature layer -> ReLU -> dropout -> linear classifier."""

    def __init__(self, config: DomainNetConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        channels, side = config.in_channels, config.image_size
        for width in config.widths:
            layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                       nn.MaxPool2d(2)]
            channels, side = width, side // 2
        if side < 1:
            raise ValueError(f"{len(config.widths)} pooling stages leave nothing of a {config.image_size}px image")
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.embed = nn.Linear(channels * side * side, config.feature_dim)
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.3), nn.Linear(config.feature_dim, config.num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, S, S) float32 in [-1, 1] -> (B, feature_dim) float32.

        Taken before the ReLU: pre-activations have no dead (constant-zero) units, so their covariance
        is better conditioned and closer to the Gaussian that FID assumes."""
        return self.embed(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, S, S) float32 in [-1, 1] -> class logits (B, num_classes)."""
        return self.head(self.features(x))


def save_domain_net(model: DomainNet, path: str | os.PathLike) -> str:
    """Write `model` to `path` atomically (temp file beside it, then rename) -> the file's sha256 hex."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"config": asdict(model.config), "state_dict": model.state_dict()}
    write_atomically(path, lambda f: torch.save(payload, f))
    return file_sha256(path)


def load_domain_net(path: str | os.PathLike) -> DomainNet:
    """DomainNet in eval mode, rebuilt from the config stored in `path` and loaded with its weights."""
    what = "domain extractor weights file (as written by scripts/dev/train_domain_extractor.py)"
    payload = read_weights(path, what, DomainWeightsError)
    try:
        model = DomainNet(DomainNetConfig.from_dict(payload["config"]))
        model.load_state_dict(payload["state_dict"])
    except Exception as exc:  # key, type and shape errors all mean: not what save_domain_net writes
        raise DomainWeightsError(f"{str(path)!r} is not a {what} or is damaged ({type(exc).__name__} "
                                 "reading its config and state_dict)") from exc
    return model.eval().requires_grad_(False)


def read_provenance(weights_path: Path) -> dict:
    """The json next to a weights file (same name, .json), or {} when there is none."""
    sidecar = weights_path.with_suffix(".json")
    if not sidecar.is_file():
        return {}
    try:
        provenance = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise DomainWeightsError(f"cannot read the provenance file {str(sidecar)!r} ({exc}); fix or delete it") from exc
    if not isinstance(provenance, dict):
        raise DomainWeightsError(f"{str(sidecar)!r} must hold a json object, got {type(provenance).__name__}")
    return provenance


class DomainExtractor:
    """Penultimate-layer features of a DomainNet; the bundled ones (Fashion-MNIST, MNIST) take uint8 (N, 1, 28, 28).

    Images of another size or channel count raise DomainInputError: no implicit resize, since
    resampling would change the very detail that the features are meant to judge."""

    name = "domain"

    def __init__(self, weights_path: str | os.PathLike | None = None, device: str = "cpu",
                 precision: str = "fp32", dataset: str | None = None) -> None:
        """precision: "fp32" (default) or "bf16" (autocast; named in the id). dataset: with weights_path None, the
        name of the data to be scored (ImageDataset.name), which picks the bundled network (bundled_weights);
        None: Fashion-MNIST's. Ignored when weights_path is given."""
        self.precision = check_precision(precision)
        bundled = bundled_weights(dataset)
        path = bundled.path if weights_path is None else Path(weights_path)
        if not path.is_file():
            fix = ("restore metrics/weights/ from git or reinstall vaegan" if weights_path is None else
                   "train them with scripts/dev/train_domain_extractor.py --out PATH, or leave weights_path unset "
                   "for the bundled Fashion-MNIST weights")
            raise DomainWeightsNotFound(f"domain extractor weights {str(path)!r} not found; {fix}")
        self.weights_sha256 = file_sha256(path)
        if weights_path is None:
            expected, source = bundled.sha256, f"BUNDLED[{bundled.dataset!r}] in metrics/domain.py"
            self.dataset = bundled.dataset
        else:
            provenance = read_provenance(path)
            expected, source = provenance.get("sha256", self.weights_sha256), str(path.with_suffix(".json"))
            self.dataset = provenance.get("dataset", "custom")
        if self.weights_sha256 != expected:
            raise WeightsHashMismatch(
                f"domain extractor weights {str(path)!r} have sha256 {self.weights_sha256}, but {source} expects "
                f"{expected}: the file is corrupt or was replaced. Restore it (git checkout, or retrain with "
                "scripts/dev/train_domain_extractor.py, which writes both), or update the expected hash if the change "
                "is intended")
        self.weights_path = path
        self.id = f"domain-{self.dataset}{precision_tag(precision)}@{self.weights_sha256[:8]}"
        self.device = torch.device(device)
        # channels_last: oneDNN's native conv layout, measured 1.7x the images/s of NCHW on a CPU.
        self.model = load_domain_net(path).to(self.device, memory_format=torch.channels_last)
        # On a CPU, small batches keep the first layer's activations (32 channels at full size: 100 KB an image)
        # inside the cache: on a 32 MB L3, 200 a batch ran 2.5x slower than 64 (benchmarks/budgets/README.md, section 8).
        self.batch_size = 64 if self.device.type == "cpu" else 1000
        self.config = self.model.config
        self.feature_dim = self.config.feature_dim
        self.input_shape = (self.config.in_channels, self.config.image_size, self.config.image_size)

    def _check(self, images: torch.Tensor) -> None:
        check_images(images, "images for the domain extractor")
        if tuple(images.shape[1:]) != self.input_shape:
            raise DomainInputError(
                f"the domain extractor {self.id} takes {self.input_shape} images, got {tuple(images.shape[1:])}; "
                "use the 'inception' extractor for other image formats, or train a domain extractor on data of "
                "that format (scripts/dev/train_domain_extractor.py --dataset NAME)")

    def _input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 batch -> the network's float input on the extractor's device, channels_last."""
        return to_network_input(images.to(self.device)).contiguous(memory_format=torch.channels_last)

    def features(self, images: torch.Tensor, batch_size: int | None = None) -> np.ndarray:
        """images: uint8 (N, C, S, S) in [0, 255] with the config's C and S -> float64 (N, feature_dim)."""
        self._check(images)
        return run_batched(lambda b: self.model.features(self._input(b)), images, batch_size or self.batch_size,
                           self.id, self.device, self.precision)

    def predict(self, images: torch.Tensor, batch_size: int | None = None) -> np.ndarray:
        """images as for `features` -> predicted class indices, int64 (N,)."""
        self._check(images)
        logits = run_batched(lambda b: self.model(self._input(b)), images, batch_size or self.batch_size, self.id,
                             self.device, self.precision)
        return logits.argmax(axis=1)
