"""Networks shared by the VAE and the VAE-GAN."""

from vaegan.models.cppn import CPPNDecoder
from vaegan.models.decoder import Decoder
from vaegan.models.discriminator import Discriminator, DiscriminatorOutput
from vaegan.models.encoder import Encoder
from vaegan.models.presets import PRESETS, resolve_model_config

__all__ = ["Encoder", "Decoder", "CPPNDecoder", "Discriminator", "DiscriminatorOutput", "PRESETS", "resolve_model_config"]
