"""The coordinate (CPPN) decoder: a drop-in for the convolutional one in every method, rendered at any size in chunks of
bounded memory; scripts/render.py and scripts/morph.py."""

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch.nn import functional as F
from script_runner import run_script

from vaegan.checkpoint import load_checkpoint
from vaegan.cli import train_main
from vaegan.config import DECODERS, DataConfig, TrainConfig
from vaegan.budget import Budget
from vaegan.experiment import comparable, comparison_configs
from vaegan.models import PRESETS
from vaegan.models.build import DECODER_CLASSES, build_decoder
from vaegan.models.cppn import RENDER_ELEMENTS, CPPNDecoder, ShiftGrid, fourier_features, pixel_coordinates
from vaegan.morph import walk_codes
from vaegan.recipes import CPPN_DECODER
from vaegan.run_folder import checkpoint_path, numbered_folders
from vaegan.training.loop import resume, train

CPPN = {"decoder": "cppn", "cppn_frequencies": 0, "cppn_grid": 0}  # Ha's network: (x, y, r) and z only


def cppn(preset: str = "small28", **fields) -> CPPNDecoder:
    torch.manual_seed(0)
    return build_decoder(dataclasses.replace(PRESETS[preset], **{**CPPN, **fields}))


def test_every_decoder_name_has_a_class():
    assert set(DECODER_CLASSES) == set(DECODERS)
    with pytest.raises(ValueError, match="unknown model.decoder 'mlp'"):
        TrainConfig(model=dataclasses.replace(PRESETS["small28"], decoder="mlp")).validate()


@pytest.mark.parametrize("preset", ["small28", "small32"])
def test_the_cppn_is_a_drop_in_decoder(preset):
    cfg = PRESETS[preset]
    dec = cppn(preset)
    z = torch.randn(5, cfg.latent_dim) * 3
    a = dec.preactivation(z)
    assert a.shape == (5, cfg.channels, cfg.image_size, cfg.image_size)
    torch.testing.assert_close(dec(z), torch.tanh(a), rtol=0, atol=0)
    assert dec(z).abs().max() <= 1.0 and a.std() > 0
    assert dec.to_image.weight.shape == (cfg.channels, cfg.cppn_width)  # where the adaptive gamma looks
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in dec.modules())
    dec.eval()  # no BatchNorm: the same function in training and sampling
    torch.testing.assert_close(dec(z), torch.tanh(a), rtol=0, atol=0)
    # Images differ by z, and each image varies over the plane.
    assert (a[0] - a[1]).abs().max() > 1e-3 and a[0].std() > 1e-3


def test_modulation_starts_as_the_shift_only_decoder_and_its_scales_learn():
    plain, modulated = cppn(), cppn(cppn_modulation=True)
    missing = modulated.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["scale_from_z.bias", "scale_from_z.weight"]
    z = torch.randn(4, 32)
    torch.testing.assert_close(modulated(z), plain(z), rtol=0, atol=0)  # scales start at exactly 1
    modulated(z).square().sum().backward()
    assert modulated.scale_from_z.weight.grad.abs().sum() > 0 and modulated.scale_from_z.bias.grad.abs().sum() > 0
    with torch.no_grad():
        modulated.scale_from_z.weight.normal_(std=0.3)
        # once the scales depend on z, the images do too
        assert (modulated(z) - plain(z)).abs().max() > 0.05
        a = modulated.preactivation(z)
        assert a.shape == (4, 1, 28, 28) and torch.equal(modulated.render(z, 28), torch.tanh(a))


@pytest.mark.parametrize("size", [7, 14, 28])
def test_the_grid_is_read_bicubically_as_grid_sample_reads_it(size):
    g = torch.randn(3, 5, size, size, dtype=torch.float64)
    inside = pixel_coordinates(28, dtype=torch.float64)
    anywhere = torch.rand(500, 3, dtype=torch.float64) * 2.4 - 1.2  # beyond the border cells' centres too
    for c in (inside, anywhere):
        expected = F.grid_sample(g, c[:, :2].expand(3, 1, -1, 2), mode="bicubic", padding_mode="border",
                                 align_corners=False).squeeze(2).transpose(1, 2)
        torch.testing.assert_close(ShiftGrid.sample(g, c), expected, rtol=0, atol=1e-12)
    # At the cells' own centres it reads the cells.
    at_centres = ShiftGrid.sample(g, pixel_coordinates(size, dtype=torch.float64))
    torch.testing.assert_close(at_centres, g.flatten(2).transpose(1, 2), rtol=0, atol=1e-12)


def test_a_grid_decoder_starts_as_the_one_without_and_its_grid_learns():
    plain, gridded = cppn(cppn_frequencies=2), cppn(cppn_frequencies=2, cppn_grid=14)
    missing = gridded.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("grid.") for k in missing)
    z = torch.randn(4, 32)
    torch.testing.assert_close(gridded(z), plain(z), rtol=0, atol=0)  # its last conv starts at zero
    gridded(z).square().sum().backward()
    assert gridded.grid.to_shift.weight.grad.abs().sum() > 0
    with torch.no_grad():
        gridded.grid.to_shift.weight.normal_(std=0.05)
    gridded.zero_grad()
    gridded(z).square().sum().backward()  # now the gradient reaches the grid's first layer too
    assert gridded.grid.fc[0].weight.grad.abs().sum() > 0
    gridded.eval()  # its BatchNorm, as the conv decoder's: sampled in eval mode
    with torch.no_grad():
        assert (gridded(z) - plain(z)).abs().max() > 0.05
        assert gridded.grid(z).shape == (4, gridded.width, 14, 14)
        assert torch.equal(gridded.render(z, 28), gridded(z))
        whole = gridded.render(z, 45, max_rows=10**9)
        torch.testing.assert_close(gridded.render(z, 45, max_rows=97), whole, rtol=0, atol=1e-5)
        # The interpolation weights are pixels x G^2 values: chunks keep them within RENDER_ELEMENTS too.
        images, pixels = gridded.render_rows(1, max_rows=10**9)
        assert pixels * 14**2 <= RENDER_ELEMENTS
        assert gridded.render(z[:1], 300).shape == (1, 1, 300, 300)


def test_a_grid_that_does_not_fit_the_decoder_layers_is_refused_with_the_sizes_that_do():
    with pytest.raises(ValueError, match="grid of 10 does not fit 28x28 images.*--cppn-grid .* 7 or 14 or 28, or 0"):
        cppn(cppn_grid=10)
    with pytest.raises(ValueError, match="grid of 15 does not fit 30x30 images"):  # None: half the image size
        cppn(cppn_grid=None, image_size=30)
    assert cppn("small32", cppn_grid=None).grid.size == 16


def test_pixel_coordinates_are_centres_of_the_same_square_at_every_size():
    c = pixel_coordinates(2)
    expected = torch.tensor([[-0.5, -0.5], [0.5, -0.5], [-0.5, 0.5], [0.5, 0.5]])  # row-major: x runs fastest
    torch.testing.assert_close(c[:, :2], expected)
    torch.testing.assert_close(c[:, 2], expected.norm(dim=1))
    big = pixel_coordinates(1024)
    assert big.shape == (1024**2, 3) and -1 < big[:, :2].min() < -0.99 and 0.99 < big[:, :2].max() < 1
    assert pixel_coordinates(1).abs().max() == 0  # one pixel: the centre


def test_fourier_features_are_sines_and_cosines_of_octaves_of_x_and_y():
    c = pixel_coordinates(8)
    assert torch.equal(fourier_features(c, 0), c)
    f = fourier_features(c, 3)
    assert f.shape == (64, 3 + 12) and torch.equal(f[:, :3], c)
    x, y = c[:, 0], c[:, 1]
    for k in range(3):
        w = torch.pi * 2**k
        torch.testing.assert_close(f[:, 3 + k], torch.sin(w * x))  # sin of x at every scale, then of y
        torch.testing.assert_close(f[:, 6 + k], torch.sin(w * y))
        torch.testing.assert_close(f[:, 9 + k], torch.cos(w * x))
        torch.testing.assert_close(f[:, 12 + k], torch.cos(w * y))


@pytest.mark.parametrize("frequencies", [0, 4])
def test_render_at_the_training_size_is_forward_and_any_size_has_its_shape(frequencies):
    dec = cppn(cppn_frequencies=frequencies)
    assert dec.from_coordinates.in_features == 3 + 4 * frequencies
    z = torch.randn(3, 32)
    with torch.no_grad():
        assert torch.equal(dec.render(z, 28), dec(z))
    for size in (1, 7, 100):
        x = dec.render(z, size)
        assert x.shape == (3, 1, size, size) and x.abs().max() <= 1.0
    assert not dec.render(z, 40).requires_grad


def test_a_chunked_render_equals_a_whole_one():
    dec = cppn("small32")  # 3 channels
    z = torch.randn(5, 64)
    whole = dec.render(z, 40, max_rows=10**9)
    for max_rows in (1000, 97, 3):  # rows split over pixels, and (3 < 5 images) over images too
        # Rows are independent; only the matrix kernels' blocking may differ with the chunk's row count.
        torch.testing.assert_close(dec.render(z, 40, max_rows=max_rows), whole, rtol=0, atol=1e-6)


def test_render_chunks_never_exceed_max_rows():
    dec = cppn()
    rows = []
    dec.to_image.register_forward_hook(lambda module, inputs, output: rows.append(inputs[0].shape[:-1].numel()))
    z = torch.randn(5, 32)
    for max_rows in (1000, 3, 1):
        rows.clear()
        dec.render(z, 50, max_rows=max_rows)
        assert max(rows) <= max_rows and sum(rows) == 5 * 50 * 50
    # The default bounds one layer's activations at RENDER_ELEMENTS values (64 MB in fp32), whatever the size.
    images, pixels = dec.render_rows(1)
    assert images * pixels * dec.width <= RENDER_ELEMENTS == 2**24
    rows.clear()
    dec.render(torch.randn(1, 32), 1024)
    assert max(rows) * dec.width <= RENDER_ELEMENTS and sum(rows) == 1024**2


def test_the_config_and_its_flags_round_trip(capsys, fashion_mnist, tmp_path):
    train_main("vae", ["--decoder", "cppn", "--cppn-width", "16", "--cppn-depth", "2", "--cppn-frequencies", "3",
                       "--cppn-modulation", "--cppn-grid", "7", "--dry-run", "--runs-dir", str(tmp_path)])
    cfg = TrainConfig.from_dict(json.loads(capsys.readouterr().out))
    assert (cfg.model.decoder, cfg.model.cppn_width, cfg.model.cppn_depth, cfg.model.cppn_frequencies,
            cfg.model.cppn_modulation, cfg.model.cppn_grid) == ("cppn", 16, 2, 3, True, 7)
    assert TrainConfig.from_dict(json.loads(cfg.to_json())) == cfg
    cfg.validate()
    # A config saved before the decoder was selectable still loads: the convolutional decoder.
    old = cfg.to_dict()
    for key in ("decoder", "cppn_width", "cppn_depth", "cppn_frequencies", "cppn_modulation", "cppn_grid"):
        del old["model"][key]
    assert TrainConfig.from_dict(old).model.decoder == "conv"
    assert TrainConfig.from_dict(old).model.cppn_frequencies == 0  # a CPPN saved before them: (x, y, r) only
    assert not TrainConfig.from_dict(old).model.cppn_modulation and TrainConfig.from_dict(old).model.cppn_grid == 0
    # Without the flags: Fourier features and a grid of half the image size, the coordinate decoder measured best.
    train_main("vae", ["--decoder", "cppn", "--dry-run", "--runs-dir", str(tmp_path)])
    default = TrainConfig.from_dict(json.loads(capsys.readouterr().out))
    assert (default.model.cppn_frequencies, default.model.cppn_grid) == (4, 14)  # None resolved: half of 28
    assert build_decoder(default.model).grid.size == 14


@pytest.mark.parametrize("decoder, recipe", [("cppn", "paper+slim_dis+r1+late_decay+ema+bias_correction+cppn"),
                                             ("conv", "paper+slim_dis+r1+late_decay+ema+bias_correction")])
def test_the_main_job_reuses_what_the_training_script_trains_with_each_decoder(capsys, fashion_mnist, tmp_path,
                                                                               decoder, recipe):
    """`make report ARGS="--recipes ...,paper+slim_dis+r1+late_decay+ema+bias_correction+cppn"` and `train_vaegan.py --decoder cppn`
    train the same run (a conv run keeps the cppn fields at ModelConfig's values, which the flags' defaults are)."""
    wanted = comparison_configs(Budget(minutes=10), runs_dir=str(tmp_path), recipes=(recipe,))[0]
    train_main("vaegan", ["--decoder", decoder, "--minutes", "10", "--fid-every", str(wanted.fid_every),
                          "--fid-checks", str(wanted.fid_checks), "--fid-gmm-fits", str(wanted.fid_gmm_fits), "--dry-run",
                          "--runs-dir", str(tmp_path)])
    cli = TrainConfig.from_dict(json.loads(capsys.readouterr().out))
    assert comparable(cli) == comparable(wanted)
    assert cli.model.decoder == decoder and (cli.model.cppn_frequencies, cli.model.cppn_grid) == (4, 14)


def small_run(runs_dir: Path, kind: str, **overrides) -> TrainConfig:
    """A fast config on the first 256 Fashion-MNIST images (as tests/conftest.py's tiny_config)."""
    base = TrainConfig(kind=kind, data=DataConfig(limit=256), epochs=None, steps=2, batch_size=32,
                       runs_dir=str(runs_dir), log_every=1, image_every=2, checkpoint_every=2, progress_seconds=3600,
                       eval_batches=1, fid_every=0)
    return dataclasses.replace(base, **overrides)


def weights(run_dir) -> dict[str, dict[str, torch.Tensor]]:
    return load_checkpoint(checkpoint_path(run_dir))["nets"]


@pytest.mark.parametrize("decoder", [CPPN, CPPN_DECODER], ids=["ha", "grid"])
def test_the_vaegan_trains_with_the_cppn_and_resumes_bit_exactly(tmp_path, fashion_mnist, decoder):
    straight = train(small_run(tmp_path, "vaegan", steps=4, run_name="straight"), model_overrides=decoder)
    half = train(small_run(tmp_path, "vaegan", steps=2, run_name="half"), model_overrides=decoder)
    resume(half, {"steps": 4})
    a, b = weights(straight), weights(half)
    assert "to_image.weight" in a["decoder"] and "hidden.0.weight" in a["decoder"]
    assert ("grid.to_shift.weight" in a["decoder"]) == (decoder is CPPN_DECODER)
    assert all(torch.equal(a[n][k], b[n][k]) for n in a for k in a[n])
    records = [json.loads(line) for line in (straight / "metrics.jsonl").read_text().splitlines()]
    assert records and all(v is not None for r in records for v in r.values())  # held-out losses finite (null if not)


@pytest.mark.parametrize("decoder", [CPPN, CPPN_DECODER], ids=["ha", "grid"])
@pytest.mark.parametrize("kind", ["vae", "softintrovae"])
def test_the_other_methods_train_with_the_cppn(tmp_path, fashion_mnist, kind, decoder):
    run = train(small_run(tmp_path, kind), model_overrides=decoder)
    assert TrainConfig.load(run / "config.json").model.decoder == "cppn"
    assert load_checkpoint(checkpoint_path(run))["step"] == 2


@pytest.fixture(scope="module")
def runs(tmp_path_factory, fashion_mnist) -> dict[str, Path]:
    """A 2-step VAE run with each decoder, the cppn one trained through the command line's --decoder flag."""
    root = tmp_path_factory.mktemp("runs")
    common = ["--runs-dir", str(root), "--limit", "256", "--batch-size", "32", "--steps", "2", "--fid-every", "0"]
    train_main("vae", [*common, "--decoder", "cppn", "--cppn-width", "32", "--cppn-depth", "3", "--name", "cppn"])
    train_main("vae", [*common, "--name", "conv"])
    return {p.name.split("-")[-1]: p for p in numbered_folders(root)}


def test_render_script_writes_one_png_per_image_at_the_size_asked(runs, tmp_path):
    out = tmp_path / "render"
    run_script("render.py", str(runs["cppn"]), "--size", "64", "-n", "2", "--steps", "3", "--out", str(out))
    for folder, count in (("gmm", 2), ("reconstructions", 2), ("interpolation", 3)):
        files = sorted((out / folder).glob("*.png"))
        assert len(files) == count and all(Image.open(f).size == (64, 64) for f in files)
    assert Image.open(out / "inputs" / "000.png").size == (28, 28)
    # The montage: a row per group (gmm 2, reconstructions 2, interpolation 3), 64 px tiles 4 px apart.
    assert Image.open(out / "montage.png").size == (3 * 64 + 4 * 4, 3 * 64 + 4 * 4)


def test_render_script_refuses_a_conv_run_in_one_line(runs, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        run_script("render.py", str(runs["conv"]), "--size", "64", "--out", str(tmp_path / "render"))
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "draws only the 28x28 it was trained at" in err and "--decoder cppn" in err and "--scale N" in err


def test_render_fid_scores_native_rendered_and_interpolated_samples(runs, capsys):
    run_script("render_fid.py", str(runs["cppn"]), "--size", "56", "-n", "200")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("rendered 200/200 at 56x56")  # one chunk: a progress line each
    lines = lines[1:]
    assert [line.split()[0] for line in lines] == ["native", "rendered", "interpolated"]
    fids = [float(line.split("FID ")[1].split(",")[0]) for line in lines]
    assert all(f > 0 for f in fids) and "56 -> 28" in lines[1] and all(line.endswith("N=200") for line in lines)
    with pytest.raises(SystemExit) as e:
        run_script("render_fid.py", str(runs["cppn"]), "--size", "20", "-n", "60")
    assert e.value.code == 2 and "below the training size 28" in capsys.readouterr().err


@pytest.mark.parametrize("ease", ["linear", "cosine"])
def test_a_walk_passes_through_its_keys_and_loops_back(ease):
    keys = torch.randn(4, 8)
    codes = walk_codes(keys, 5, ease)
    assert codes.shape == (20, 8)
    assert all(torch.equal(codes[i * 5], keys[i]) for i in range(4))
    # The last leg heads back to the first key: its frames lie on the segment from keys[3] to keys[0].
    t = ((codes[-1] - keys[3]) / (keys[0] - keys[3])).mean()
    torch.testing.assert_close(codes[-1], keys[3] + t * (keys[0] - keys[3]))
    assert 0 < t < 1


def test_morph_script_writes_a_looping_gif_and_its_frames(runs, tmp_path):
    out = tmp_path / "morph"
    run_script("morph.py", str(runs["cppn"]), "--n", "3", "--frames-per-step", "4", "--size", "40", "--ease", "cosine",
               "--out", str(out))
    frames = sorted((out / "frames").glob("*.png"))
    # Drawn at 40x40, enlarged 7x by default (vaegan.morph.gif_scale: at least 256 px).
    assert len(frames) == 12 and Image.open(frames[0]).size == (280, 280)
    gif = Image.open(out / "morph.gif")
    assert gif.n_frames == 12 and gif.size == (280, 280) and gif.info["loop"] == 0
    # The conv run morphs at its training size, and refuses any other.
    run_script("morph.py", str(runs["conv"]), "--through", "prior", "--n", "2", "--frames-per-step", "3",
               "--out", str(tmp_path / "conv"))
    conv_gif = Image.open(tmp_path / "conv" / "morph.gif")
    assert conv_gif.n_frames == 6 and conv_gif.size == (280, 280)  # 28x28 frames, enlarged 10x
    with pytest.raises(SystemExit):
        run_script("morph.py", str(runs["conv"]), "--size", "40", "--out", str(tmp_path / "conv40"))
