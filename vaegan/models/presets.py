"""Named architectures. `larsen64` is the 64x64 network of Larsen et al. 2016 (appendix); the small presets
keep its shape (5x5 convs, BN + ReLU, stride 2) at the widths that 28x28 and 32x32 data need."""

from __future__ import annotations

import dataclasses

from vaegan.config import ModelConfig

PRESETS: dict[str, ModelConfig] = {
    # Encoder 64/128/256 + FC 2048 -> z 128; decoder FC 8x8x256, convT 256/128/32, conv to C, tanh;
    # discriminator conv 32, convs 128/256/256 with BN, FC 512, FC 1; Dis_l = 4th conv (256 x 8 x 8).
    "larsen64": ModelConfig(
        image_size=64, channels=3, latent_dim=128, enc_channels=(64, 128, 256), enc_fc=2048,
        dec_base_channels=256, dec_channels=(256, 128, 32), dis_first_channels=32, dis_channels=(128, 256, 256),
        dis_fc=512, dis_feature_layer=4,
    ),
    # 28 -> 14 -> 7 -> 4 in the encoder; decoder starts at 7x7. Dis_l = 4th conv (128 x 4 x 4).
    # The decoder's last layers are kept narrow: at 28x28 a 5x5 transposed conv costs C_in*C_out*25*784
    # multiply-adds per image, and the decoder runs three times per VAE-GAN step on a 2-core CPU.
    "small28": ModelConfig(
        image_size=28, channels=1, latent_dim=32, enc_channels=(32, 64, 128), enc_fc=512,
        dec_base_channels=128, dec_channels=(32, 16), dis_first_channels=32, dis_channels=(64, 128, 128),
        dis_fc=256, dis_feature_layer=4,
    ),
    # 32 -> 16 -> 8 -> 4; decoder starts at 4x4.
    "small32": ModelConfig(
        image_size=32, channels=3, latent_dim=64, enc_channels=(64, 128, 256), enc_fc=512,
        dec_base_channels=256, dec_channels=(128, 64, 32), dis_first_channels=32, dis_channels=(64, 128, 256),
        dis_fc=256, dis_feature_layer=4,
    ),
}

PRESET_NAMES = ("auto", *sorted(PRESETS))  # what --model-preset takes: auto picks by the data's image size
_AUTO = {28: "small28", 32: "small32", 64: "larsen64"}


def resolve_model_config(preset: str, image_size: int, channels: int) -> ModelConfig:
    """The architecture for data of `image_size` x `image_size` x `channels` from a preset name or "auto"."""
    if preset == "auto":
        if image_size not in _AUTO:
            raise ValueError(
                f"no preset for {image_size}x{image_size} images; supported sizes are {sorted(_AUTO)}. "
                f"Resize the data with --image-size {min(_AUTO, key=lambda s: abs(s - image_size))}."
            )
        preset = _AUTO[image_size]
    if preset not in PRESETS:
        raise ValueError(f"unknown model preset {preset!r}; known: {', '.join(sorted(PRESETS))}")
    base = PRESETS[preset]
    if base.image_size != image_size:
        raise ValueError(
            f"preset {preset!r} is built for {base.image_size}x{base.image_size} images but the data is "
            f"{image_size}x{image_size}; pass --image-size {base.image_size} or pick another --model-preset"
        )
    return dataclasses.replace(base, channels=channels)
