import dataclasses

import pytest
import torch

from vaegan.models import PRESETS, Decoder, Discriminator, Encoder, resolve_model_config


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_map_images_to_latents_and_back(name):
    cfg = PRESETS[name]
    x = torch.rand(3, cfg.channels, cfg.image_size, cfg.image_size) * 2 - 1
    mu, logvar = Encoder(cfg)(x)
    assert mu.shape == logvar.shape == (3, cfg.latent_dim)
    out = Decoder(cfg)(mu)
    assert out.shape == x.shape
    assert out.abs().max() <= 1.0  # tanh output in [-1, 1]
    d = Discriminator(cfg)(out)
    assert d.logits.shape == (3,)


def test_larsen64_matches_the_paper():
    cfg = PRESETS["larsen64"]
    enc, dec, dis = Encoder(cfg), Decoder(cfg), Discriminator(cfg)
    convs = [m for m in enc.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256] and all(c.kernel_size == (5, 5) for c in convs)
    assert enc.hidden[0].out_features == 2048 and cfg.latent_dim == 128
    assert dec.fc[0].out_features == 8 * 8 * 256
    assert [m.out_channels for m in dec.modules() if isinstance(m, torch.nn.ConvTranspose2d)] == [256, 128, 32]
    assert [c.out_channels for c in dis.convs] == [32, 128, 256, 256]
    # Dis_l of the paper: the 4th conv's output, 256 x 8 x 8 = 16,384 features, before BN/ReLU (may be negative).
    features = dis(torch.rand(2, 3, 64, 64) * 2 - 1).features
    assert features.shape == (2, 256 * 8 * 8)
    assert (features < 0).any()


def test_feature_layer_is_selectable():
    cfg = dataclasses.replace(PRESETS["small28"], dis_feature_layer=3)
    assert Discriminator(cfg)(torch.zeros(2, 1, 28, 28)).features.shape == (2, 128 * 7 * 7)
    with pytest.raises(ValueError, match="dis_feature_layer"):
        Discriminator(dataclasses.replace(cfg, dis_feature_layer=9))


def test_spectral_norm_bounds_the_discriminator_layers():
    cfg = dataclasses.replace(PRESETS["small28"], dis_spectral_norm=True)
    dis = Discriminator(cfg)
    for _ in range(20):  # power iterations converge in training mode
        dis(torch.randn(4, 1, 28, 28))
    w = dis.convs[1].weight.detach().flatten(1)
    assert torch.linalg.matrix_norm(w, ord=2) == pytest.approx(1.0, rel=0.05)


def test_resolve_model_config_picks_presets_and_explains_mismatches():
    assert resolve_model_config("auto", 28, 1).enc_channels == PRESETS["small28"].enc_channels
    assert resolve_model_config("auto", 32, 3).channels == 3
    assert resolve_model_config("larsen64", 64, 1).channels == 1
    with pytest.raises(ValueError, match="--image-size"):
        resolve_model_config("auto", 50, 3)
    with pytest.raises(ValueError, match="built for 64x64"):
        resolve_model_config("larsen64", 28, 1)
    with pytest.raises(ValueError, match="divisible"):
        Decoder(dataclasses.replace(PRESETS["small28"], image_size=30))
