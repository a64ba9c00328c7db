"""The coordinate decoder (a CPPN, Ha 2016): z -> an image as a function of position, sampled at pixel centres.

The convolutional Decoder's output grid is fixed by its upsampling layers. This decoder is a function of continuous
position instead, so the network trained on 28x28 images draws the same images on any grid (`render`, e.g.
1024x1024). Per pixel its input is the position (x, y, r), x and y in [-1, 1] at the pixel's centre (x to the right,
y down) and r = sqrt(x^2 + y^2) the distance from the image centre (a round shape is then one unit's work, as in Ha's
networks), and the image's code z:

    h_1 = act(W_c (x, y, r) + U_1 z + b_1)
    h_k = act(W_k h_(k-1) + U_k z + b_k)          k = 2 .. cppn_depth
    a   = to_image(h_depth)                       (C values per pixel, unbounded; the image is tanh(a), as Decoder's)

Ha feeds z to the first layer only; here every layer adds its own projection of z. With z in the first layer alone,
z only shifts where the first layer's units switch, along directions fixed for all images; a projection per layer
lets z reshape the later layers too, at the cost of one (B, width) product per layer and image, not per pixel.
With cppn_modulation, z also scales each layer's input, feature-wise (FiLM, Perez et al. 2018):

    h_k = act((W_k h_(k-1)) * (1 + S_k z + c_k) + U_k z + b_k)

A shift only moves where a unit switches; a scale also sets how steep it is and which way it faces, so one image can
draw a sharp edge where another draws a soft one, at the cost of one more product per layer and image and one
elementwise product per layer and pixel. S_k and c_k start at zero: the decoder starts as the one without scales.
U_k z and W_c (x, y, r) are computed once per image and once per grid, so each (image, pixel) row costs
(depth - 1) width x width products plus the output layer.

With cppn_grid = G (None: half the image size), z also draws a coarse G x G map of first-layer shifts (the
convolutional Decoder's fc and first transposed convs, then a conv to `width` channels), read at each pixel's position
by bicubic interpolation:

    h_1 = act(W_c (x, y, r) + U_1 z + grid(z)[x, y] + b_1)

so the code a pixel sees depends on where it is (a local code, as the feature grids of implicit decoders, Chen et al.
2021): the MLP no longer draws every part of every garment from one global code, and the grid, a smooth function of
(x, y) between its cells, renders at any size as the coordinates do. Its last conv starts at zero: the decoder starts
as the one without a grid. Measured on Fashion-MNIST (10-minute VAE-GAN, benchmarks/latent-tools/README.md): mixture
FID 52.9 over 3 seeds with a 14x14 grid, 358-460 without one, 46.0 for the conv decoder.

No BatchNorm in the MLP: a row is one pixel of one image, and statistics over the rows evaluated together would make a
pixel's value depend on which other pixels were evaluated with it (a chunked render would differ from a whole one) and
on train vs eval mode. Without a grid the decoder is the same function in training and sampling; the grid's convs keep
the conv Decoder's BatchNorm (per image and channel, not per pixel), so with a grid, as the conv Decoder, it is sampled
in eval mode.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vaegan.config import ModelConfig
from vaegan.models.blocks import conv_down
from vaegan.models.decoder import upsampling_layers

# Activations one layer may hold while rendering, in elements: 2**24 fp32 values = 64 MB, whatever the output size.
RENDER_ELEMENTS = 2**24
# Std of the coordinate weights at initialisation. With nn.Linear's default (|w| < 0.58 for 3 inputs) every first-layer
# unit is nearly linear over [-1, 1]^2 and the network starts able to draw only smooth ramps, and learns slowly.
# Measured on Fashion-MNIST (VAE, batch 64, 200 steps, mean reconstruction loss of the last 25): default init 353,
# std 3: 294 (default hidden init), std 8 with TANH_GAIN: 287; the conv decoder 254. In 1-minute runs std 3 and 8 (both
# with TANH_GAIN) reached the same loss, but std 8 draws between the training pixels badly: its steep units make rays
# from the kink of r at the centre in 256x256 renders, which std 3 does not.
COORDINATE_STD = 3.0
# Std of the weights of the Fourier features (sin and cos, each in [-1, 1]): with COORDINATE_STD on all 3 + 4F inputs a
# first-layer unit would sum ~4F steep waves and saturate everywhere.
FOURIER_STD = 1.0
# Gain of the hidden weights (std gain / sqrt(width)): 5/3 keeps the variance of tanh units from shrinking layer by
# layer (nn.Linear's default init shrinks it about 3-fold per layer).
TANH_GAIN = 5 / 3


def fourier_features(coordinates: torch.Tensor, frequencies: int) -> torch.Tensor:
    """(P, 3) rows (x, y, r) -> (P, 3 + 4 * frequencies): the rows followed by sin and cos of 2^k pi x and 2^k pi y for
    k = 0 .. frequencies - 1 (2^k periods across the image). A tanh MLP of (x, y, r) alone draws smooth shapes well and
    fine detail slowly (spectral bias); fixed sinusoids hand it the detail as inputs (Tancik et al. 2020). Being
    functions of position, they render at any size like (x, y, r)."""
    if frequencies == 0:
        return coordinates
    scales = math.pi * 2.0 ** torch.arange(frequencies, device=coordinates.device, dtype=coordinates.dtype)
    angles = (coordinates[:, :2, None] * scales).flatten(1)  # (P, 2 * frequencies): x at every scale, then y
    return torch.cat([coordinates, torch.sin(angles), torch.cos(angles)], dim=1)


def pixel_coordinates(size: int, device: torch.device | str = "cpu",
                      dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The centres of a size x size grid -> (size * size, 3) rows (x, y, r), row-major: pixel (i, j) (row i, column
    j) is row i * size + j.

    x, y in (-1, 1): pixel j's centre is at (2j + 1) / size - 1, so every grid covers the same square [-1, 1]^2 and
    a 1024 grid samples the same function as the 28 grid, only more finely."""
    centres = (torch.arange(size, device=device, dtype=dtype) * 2 + 1) / size - 1
    y, x = torch.meshgrid(centres, centres, indexing="ij")
    x, y = x.reshape(-1), y.reshape(-1)
    return torch.stack([x, y, torch.sqrt(x**2 + y**2)], dim=1)


class CPPNDecoder(nn.Module):
    """Dec: z -> x as a coordinate MLP, a drop-in for Decoder (preactivation, forward, a last layer named to_image)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.image_size, self.channels = cfg.image_size, cfg.channels
        self.width, self.depth, self.frequencies = cfg.cppn_width, cfg.cppn_depth, cfg.cppn_frequencies
        # One projection of z per layer, in one matrix; its bias is each layer's bias.
        self.from_z = nn.Linear(cfg.latent_dim, self.width * self.depth)
        self.scale_from_z = nn.Linear(cfg.latent_dim, self.width * self.depth) if cfg.cppn_modulation else None
        if self.scale_from_z is not None:
            nn.init.zeros_(self.scale_from_z.weight)
            nn.init.zeros_(self.scale_from_z.bias)
        self.from_coordinates = nn.Linear(3 + 4 * self.frequencies, self.width, bias=False)
        self.grid = ShiftGrid(cfg, self.width) if cfg.cppn_grid != 0 else None
        self.hidden = nn.ModuleList(nn.Linear(self.width, self.width, bias=False) for _ in range(self.depth - 1))
        # Named as Decoder's last layer: the adaptive gamma of the VAE-GAN balances gradients at to_image.weight.
        self.to_image = nn.Linear(self.width, self.channels)
        nn.init.normal_(self.from_coordinates.weight[:, :3], std=COORDINATE_STD)
        nn.init.normal_(self.from_coordinates.weight[:, 3:], std=FOURIER_STD)
        for layer in self.hidden:
            nn.init.normal_(layer.weight, std=TANH_GAIN / math.sqrt(self.width))

    @staticmethod
    def activation(h: torch.Tensor) -> torch.Tensor:
        # tanh, as Ha's CPPNs: smooth, so a render between the training pixel centres interpolates instead of
        # showing the creases of a piecewise-linear ReLU network, and bounded, so the coordinate features stay
        # well scaled at every layer without normalisation. It also fit best: 200 VAE steps (as for COORDINATE_STD),
        # coordinate std 8, reconstruction loss tanh 287, ReLU 297 (He init); at the default init softplus 362.
        return torch.tanh(h)

    def field(self, z: torch.Tensor, coordinates: torch.Tensor) -> torch.Tensor:
        """z: (B, latent_dim), coordinates: (P, 3) rows (x, y, r) -> a: (B, P, C), the unbounded value at each point."""
        shifts = self.from_z(z).unsqueeze(1).chunk(self.depth, dim=-1)  # depth x (B, 1, width)
        scales = (None if self.scale_from_z is None
                  else (1 + self.scale_from_z(z)).unsqueeze(1).chunk(self.depth, dim=-1))

        def layer_input(u: torch.Tensor, k: int) -> torch.Tensor:  # u: (P, width) or (B, P, width)
            return u + shifts[k] if scales is None else torch.addcmul(shifts[k], u, scales[k])

        inputs = fourier_features(coordinates, self.frequencies)  # (P, 3 + 4 * frequencies)
        u = self.from_coordinates(inputs)  # (P, width)
        if self.grid is not None:
            u = u + self.grid.sample(self.grid(z), coordinates)  # (B, P, width)
        h = self.activation(layer_input(u, 0))  # (B, P, width)
        for k, layer in enumerate(self.hidden, start=1):
            h = self.activation(layer_input(layer(h), k))
        return self.to_image(h)

    def _as_images(self, a: torch.Tensor, size: int) -> torch.Tensor:
        """(B, size * size, C) -> (B, C, size, size), a view (in channels_last memory order)."""
        return a.view(len(a), size, size, self.channels).permute(0, 3, 1, 2)

    def preactivation(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, latent_dim) -> a: (B, C, H, W) at the training size, unbounded; the image is tanh(a) (the Bernoulli
        likelihood takes its BCE on a, see Decoder.preactivation)."""
        coordinates = pixel_coordinates(self.image_size, z.device, z.dtype)
        return self._as_images(self.field(z, coordinates), self.image_size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, latent_dim) -> x: (B, C, H, W) in [-1, 1] at the training size."""
        return torch.tanh(self.preactivation(z))

    def render_rows(self, n_images: int, max_rows: int | None = None) -> tuple[int, int]:
        """(images, pixels) per chunk of `render`: at most max_rows (image, pixel) rows in one pass through the MLP
        (default: RENDER_ELEMENTS // width, so one layer's activations stay within 64 MB in fp32), and with a grid at
        most RENDER_ELEMENTS // G^2 pixels (its interpolation weights)."""
        max_rows = max_rows or max(1, RENDER_ELEMENTS // self.width)
        images = min(n_images, max_rows)
        pixels = max(1, max_rows // images)
        if self.grid is not None:  # the grid's interpolation weights: pixels x G^2 values
            pixels = min(pixels, max(1, RENDER_ELEMENTS // self.grid.size**2))
        return images, pixels

    @torch.no_grad()
    def render(self, z: torch.Tensor, size: int, max_rows: int | None = None) -> torch.Tensor:
        """z: (B, latent_dim) -> x: (B, C, size, size) in [-1, 1] at any size >= 1, without gradients (for images,
        not training). The rows go through the MLP in chunks (render_rows), so memory beyond the output's
        B * C * size^2 values does not grow with size; render(z, image_size) is forward(z)."""
        if size < 1:
            raise ValueError(f"cannot render {size}x{size} images; the size must be at least 1")
        coordinates = pixel_coordinates(size, z.device, z.dtype)
        images, pixels = self.render_rows(len(z), max_rows)
        out = z.new_empty(len(z), size * size, self.channels)
        for i in range(0, len(z), images):
            for p in range(0, len(coordinates), pixels):
                a = self.field(z[i : i + images], coordinates[p : p + pixels])
                out[i : i + images, p : p + pixels] = torch.tanh(a)
        return self._as_images(out, size)


class ShiftGrid(nn.Module):
    """z -> (B, channels, G, G), G = cfg.cppn_grid: the conv Decoder's fc (to base x base,
    base = image_size / 2**len(dec_channels)) and as many of its transposed convs as double base up to G, then a
    stride-1 conv to `channels`, initialised to zero."""

    def __init__(self, cfg: ModelConfig, channels: int):
        super().__init__()
        self.size = cfg.cppn_grid  # never None: ModelConfig resolves None to half the image size
        base = cfg.image_size // 2 ** len(cfg.dec_channels)
        sizes = [base * 2**k for k in range(len(cfg.dec_channels) + 1)]
        if self.size not in sizes:
            raise ValueError(f"a cppn grid of {self.size} does not fit {cfg.image_size}x{cfg.image_size} images "
                             f"with {len(cfg.dec_channels)} decoder upsamplings; pass --cppn-grid (model.cppn_grid) "
                             f"{' or '.join(map(str, sizes))}, or 0 for no grid")
        n_layers = sizes.index(self.size)
        self.fc, self.convs, self.base = upsampling_layers(cfg, n_layers)
        self.base_channels = cfg.dec_base_channels
        c_in = cfg.dec_channels[n_layers - 1] if n_layers else cfg.dec_base_channels
        self.to_shift = conv_down(c_in, channels, cfg.kernel_size, stride=1)
        nn.init.zeros_(self.to_shift.weight)
        nn.init.zeros_(self.to_shift.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """z: (B, latent_dim) -> (B, channels, G, G)."""
        return self.to_shift(self.convs(self.fc(z).view(-1, self.base_channels, self.base, self.base)))

    @staticmethod
    def sample(grid: torch.Tensor, coordinates: torch.Tensor) -> torch.Tensor:
        """grid: (B, channels, G, G), coordinates: (P, 3) rows (x, y, r) -> (B, P, channels), bicubic.

        Cell (i, j)'s value sits at its centre, ((2j + 1) / G - 1, (2i + 1) / G - 1), as pixel_coordinates places
        pixel centres; the same numbers as F.grid_sample(mode="bicubic", padding_mode="border",
        align_corners=False), as one matrix product: grid_sample's CPU backward took 120 ms a VAE-GAN step at width
        64, this 16 ms. Bicubic, not bilinear: bilinear has creases along the lines through the cell centres, which a
        render larger than G shows."""
        size = grid.shape[-1]
        weights_x, weights_y = cubic_weights(coordinates[:, 0], size), cubic_weights(coordinates[:, 1], size)
        weights = (weights_y[:, :, None] * weights_x[:, None, :]).flatten(1)  # (P, G * G), row-major as the grid
        return (grid.flatten(2) @ weights.T).transpose(1, 2)


# The cubic convolution kernel's parameter, as F.interpolate's and F.grid_sample's bicubic modes (Keys 1981).
CUBIC_A = -0.75


def cubic_weights(u: torch.Tensor, size: int) -> torch.Tensor:
    """u: (P,) positions in [-1, 1] -> (P, size): the weight of each of `size` cells (centres at (2j + 1) / size - 1)
    in the bicubic interpolation at u; the four taps around u, clamped to the border cells, so each row sums to 1."""
    s = ((u + 1) * size - 1) / 2  # in cell units: cell j's centre at j
    left = torch.floor(s)
    t = (s - left)[:, None]
    near = torch.cat([t, 1 - t], dim=1)  # distances to the two nearest cells (|d| <= 1)
    far = torch.cat([t + 1, 2 - t], dim=1)  # and to the next two (1 <= |d| <= 2)
    a = CUBIC_A
    w_near = ((a + 2) * near - (a + 3)) * near**2 + 1
    w_far = ((a * far - 5 * a) * far + 8 * a) * far - 4 * a
    w = torch.stack([w_far[:, 0], w_near[:, 0], w_near[:, 1], w_far[:, 1]], dim=1)  # cells left-1 .. left+2
    taps = (left.long()[:, None] + torch.arange(-1, 3, device=u.device)).clamp(0, size - 1)
    return torch.zeros(len(u), size, dtype=u.dtype, device=u.device).scatter_add_(1, taps, w)
