"""Issue 29 as a new user meets it: pictures big enough to see (--scale, alpha labels, the render montage, a GIF a
conv run can enlarge), a report that says when runs are too short to judge and reads in one unit and one line, and
command lines whose defaults, messages and help agree with the rest of the tools."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fake_extractor import ProjectionExtractor
from metrics import extractors
from metrics.cli import build_parser, kid_text, main
from vaegan.attributes import EditResult, edit_grid, parse_edits
from vaegan.data.labels import Labels
from vaegan.evaluation.curves import STABILITY_POINTS, Curve
from vaegan.evaluation.html_page import render_html
from vaegan.evaluation.markdown_page import render_markdown
from vaegan.evaluation.page import Page
from vaegan.evaluation.scoring import RunResult
from vaegan.evaluation.summary import FAIR_STEPS, best_rows, headline, score_rows, unjudged, verdict
from vaegan.evaluation.table import Table, duration, runs_table
from vaegan.morph import gif_scale, save_gif
from vaegan.sampling import image_grid, label_columns, montage, montage_tiles, save_png

REPO = Path(__file__).resolve().parents[1]
DOMAIN = "domain-fashion_mnist@8ac9f7ce"


def images(n: int, size: int = 28, value: int = 0) -> torch.Tensor:
    return torch.full((n, 1, size, size), value, dtype=torch.uint8)


def png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


# --- pictures ---------------------------------------------------------------------------------------------------


def test_scale_enlarges_grids_and_pngs_by_whole_pixels(tmp_path):
    tiles = torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8)
    grid = image_grid(tiles, nrow=2, scale=3)
    assert grid.shape[1:] == (2 * 84 + 3 * 2, 2 * 84 + 3 * 2)  # 2 tiles of 84 px and 3 paddings of 2 each way
    assert torch.equal(grid[0, 2:5, 2:5], tiles[0, 0, 0, 0].expand(3, 3))  # one pixel -> a 3x3 block, not smoothed
    save_png(tiles[0], tmp_path / "big.png", scale=4)
    assert png_size(tmp_path / "big.png") == (112, 112)
    with pytest.raises(ValueError, match="--scale must be a whole number of at least 1"):
        image_grid(tiles, scale=0)


def test_edit_grids_label_every_column_with_its_alpha():
    strengths = (0.0, 0.5, 1.0)
    edit = parse_edits(["a:b"], Labels(("a", "b"), torch.zeros(1, 2, dtype=torch.bool), exclusive=True))[0]
    result = EditResult(edit, strengths, images(2 * (1 + len(strengths)), value=128), n_images=2)
    plain = image_grid(result.grid, nrow=1 + len(strengths), scale=2)
    labelled = edit_grid(result, scale=2)
    header = labelled.shape[1] - plain.shape[1]
    assert header > 10 and labelled.shape[2] == plain.shape[2]
    assert torch.equal(labelled[:, header:], plain)  # the images untouched under the strip
    strip = labelled[0, :header]
    for j in range(1 + len(strengths)):  # ink over every column: "input", "α=0", "α=0.5", "α=1"
        column = strip[:, 2 + j * 58: 2 + j * 58 + 56]
        assert (column < 128).any(), j


def test_labels_shrink_to_fit_narrow_columns_and_stay_inside_the_grid():
    grid = image_grid(images(3, value=255), nrow=3)
    labelled = label_columns(grid, ["input", "{alpha}=0.25", "{alpha}=1.5"], tile=28)
    assert labelled.shape[2] == grid.shape[2] and labelled.shape[1] > grid.shape[1]


def test_montage_puts_each_group_on_a_row_of_tiles_at_most_256_px():
    big = torch.randint(0, 256, (3, 1, 1024, 1024), dtype=torch.uint8)
    tiles = montage_tiles(big)
    assert tiles.shape == (3, 1, 256, 256)
    assert abs(tiles.float().mean() - big.float().mean()) < 1  # an area mean, not a crop
    assert montage_tiles(images(2), scale=4).shape == (2, 1, 112, 112)  # enlarged small images stay whole
    picture = montage([tiles, tiles[:2]])
    assert picture.shape == (1, 2 * 256 + 3 * 4, 3 * 256 + 4 * 4)
    assert (picture[:, 4 + 256 + 4:, -260:-4] == 255).all()  # the shorter row ends in white


def test_a_gif_of_a_28_pixel_run_is_enlarged_by_default(tmp_path):
    assert (gif_scale(28), gif_scale(64), gif_scale(256), gif_scale(1024)) == (10, 4, 1, 1)
    frames = torch.stack([images(1, value=v)[0] for v in (0, 255)])
    save_gif(frames, tmp_path / "m.gif", 80, scale=gif_scale(28))
    assert png_size(tmp_path / "m.gif") == (280, 280)


def conv_run_folder(tmp_path: Path) -> Path:
    """A run folder with only its config.json: a tool that checks its arguments first never needs more."""
    run = tmp_path / "00000-fashion_mnist-vae-b64-s0"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"kind": "vae", "model": {"decoder": "conv", "image_size": 28,
                                                                          "channels": 1, "latent_dim": 32}}))
    return run


@pytest.mark.parametrize("script", ["render.py", "morph.py"])
def test_a_conv_run_asked_for_another_size_is_refused_before_anything_loads(tmp_path, script):
    result = subprocess.run([sys.executable, str(REPO / "scripts" / script), str(conv_run_folder(tmp_path)),
                             "--size", "64"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 2
    # The checkpoint does not exist: an error naming the size (not the checkpoint) shows the check came first.
    assert result.stderr.count("\n") == 1 and "draws only the 28x28" in result.stderr
    assert "enlarge with --scale N" in result.stderr


def test_render_help_keeps_its_list_of_files():
    text = subprocess.run([sys.executable, str(REPO / "scripts/render.py"), "--help"], capture_output=True,
                          text=True, cwd=REPO, timeout=120).stdout
    for line in ("  montage.png ", "  reconstructions/NNN.png ", "  inputs/NNN.png "):
        assert any(row.startswith(line) for row in text.splitlines()), line
    assert "--scale" in text


# --- metrics command line -------------------------------------------------------------------------------------


def test_metrics_fid_defaults_to_the_domain_extractor_as_every_other_tool():
    for command in ("fid", "stats", "prdc"):
        args = build_parser().parse_args([command, "a", "b"])
        assert args.extractor == "domain", command
    fid_help = build_parser()._subparsers._group_actions[0].choices["fid"].format_help()
    assert "what training, evaluate.py and the report score with" in " ".join(fid_help.split())


def test_kid_is_printed_to_its_own_precision_and_without_a_meaningless_spread():
    whole = kid_text(8036.47, 0.0, 1000, 1000)
    assert whole.startswith("KID 8036 (std n/a: every subset held all 1000 images of each set)")
    assert "0.000000" not in whole and "not x1e3" in whole
    assert kid_text(0.012345, 0.00123, 5000, 10000).startswith("KID 0.01235 ± 0.00123")
    assert kid_text(8036.47, 589.3, 5000, 10000).startswith("KID 8036 ± 589")


@pytest.fixture
def projection(monkeypatch):
    monkeypatch.setitem(extractors.EXTRACTORS, "projection", lambda **options: ProjectionExtractor())


def test_fid_of_few_samples_warns_like_kid(tmp_path, capsys, projection):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        np.save(tmp_path / f"{name}.npy", rng.integers(0, 256, (60, 1, 28, 28), dtype=np.uint8))
    assert main(["fid", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--extractor", "projection"]) == 0
    err = capsys.readouterr().err
    assert "warning: FID of N=60 generated against N=60 real images: below 1,000" in err


def test_a_missing_extractor_fails_before_the_images_are_read(tmp_path, capsys):
    broken = tmp_path / "real.txt"
    broken.write_text("not images")  # reading it would fail with another message
    code = main(["fid", str(broken), str(broken), "--extractor", "inception", "--inception-weights",
                 str(tmp_path / "none.pth")])
    err = capsys.readouterr().err
    assert code == 2 and "none.pth" in err and "unsupported input" not in err


# --- the report ----------------------------------------------------------------------------------------------


def scored(kind: str, step: int, samples: dict[str, tuple[float, float, float]]) -> RunResult:
    """A scored run of a 1-minute budget without training: samples = {sampler: (FID, KID, sharpness)}."""
    r = RunResult(Path(f"{kind}0"), f"{kind}0", kind, 0, {"steps": None, "minutes": 1.0, "epochs": None},
                  "finished", step, "", step=step, train_seconds=61.0)
    r.scores = {"recon_fid": 10.0, "ssim": 0.5, "extractor": DOMAIN}
    r.sample_scores = {name: {"fid": fid, "kid": kid, "sample_laplacian_ratio": sharp, "extractor": DOMAIN}
                       for name, (fid, kid, sharp) in samples.items()}
    return r


def test_runs_too_short_or_drawing_noise_are_flagged_and_never_praised():
    vae = scored("vae", 1575, {"prior": (650.0, 8000.0, 0.3), "gmm": (420.0, 5000.0, 0.4)})
    noise = scored("vaegan", 132, {"prior": (1723.0, 10539.0, 19.63), "gmm": (1700.0, 10000.0, 15.0)})
    rows = score_rows([vae, noise])
    assert list(unjudged(rows).values()) == [
        f"made 132 steps, fewer than the ~{FAIR_STEPS['vaegan']:,} a VAE-GAN needs, and draws noise, not the data "
        "(best FID 1,700, above 1,000)"]
    line = headline(rows)
    assert line.startswith("At 1 min each (scored at step 1575 for the VAE, 132 for the VAE-GAN): too short to judge")
    assert "VAE-GAN s0 made 132 steps" in line and "\n" not in line
    full = verdict(rows)
    for praise in ("better", "sharper", "nearer 1.0", "lower"):
        assert praise not in line and praise not in full, praise
    assert "FID 1700.0" in full and "train longer" in full
    assert all(i < 2 for ids in best_rows(rows).values() for i in ids)  # only the VAE's rows: noise is never best
    # Enough steps and learnt: ranked, with a one-sentence headline and the numbers in the verdict below it.
    trained = scored("vaegan", 1400, {"prior": (330.0, 2700.0, 1.06), "gmm": (62.0, 1200.0, 0.82)})
    rows = score_rows([vae, trained])
    assert unjudged(rows) == {}
    assert headline(rows).endswith("with GMM samples the VAE-GAN is better on FID, KID and sharpness (details below).")
    assert "62.0 vs 420.0" in verdict(rows)


def test_a_curve_of_few_points_reads_too_few_points_not_plus_zero():
    run = scored("vae", 1575, {"gmm": (420.0, 5000.0, 0.4)})
    run.curves = {"fid_gmm/domain": Curve("fid_gmm/domain", [1000, 1575], [30.0, 60.0], [20.0, 61.0], [430.0, 420.0])}
    cell = runs_table(score_rows([run])).rows[0][-1]
    assert cell.text == "too few points (2)" and f"needs {STABILITY_POINTS}" in cell.sub and "%" not in cell.text


def test_training_time_reads_in_one_unit():
    assert [duration(s) for s in (5, 90, 126, 600)] == ["0.1 min", "1.5 min", "2.1 min", "10.0 min"]


def page(**changes) -> Page:
    table = Table(["run"], [])
    fields = dict(title="VAE vs VAE-GAN", headline="At 1 min each: too short to judge.", verdict="VAE · GMM: FID 420.",
                  setup="setup", runs=table, kinds=None, notes=[], sample_grids=[], recon_grids=[])
    return Page(**{**fields, **changes})


def test_the_headline_is_one_line_and_each_renderer_says_how_it_marks_best_values(tmp_path):
    md = render_markdown(page())
    lines = md.splitlines()
    assert lines[0] == "**At 1 min each: too short to judge.**" and lines[2] == "VAE · GMM: FID 420."
    assert "Best value per column in bold; ⚠ marks a warning" in md and "green" not in md
    html = render_html(page(), tmp_path)
    assert '<p class="headline">At 1 min each: too short to judge.</p><p class="verdict">' in html.replace("\n", "")
    assert "Best value per column in bold on green" in html


def test_n_and_extractor_are_columns_only_where_rows_differ_in_them():
    same = [scored("vae", 1575, {"gmm": (420.0, 5000.0, 0.4)}), scored("vaegan", 1400, {"gmm": (62.0, 1200.0, 0.8)})]
    for r in same:
        r.sample_scores["gmm"]["n_samples"] = 5000
    header = runs_table(score_rows(same)).header
    assert "N" not in header and "extractor" not in header  # the setup line names them once
    same[1].sample_scores["gmm"]["n_samples"] = 1000
    table = runs_table(score_rows(same))
    assert table.header[6:8] == ["N", "extractor"] and table.rows[1][6].text == "1000"


def test_metrics_fid_says_which_extractor_it_used_and_why(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        np.save(tmp_path / f"{name}.npy", rng.integers(0, 256, (40, 1, 28, 28), dtype=np.uint8))
    assert main(["fid", str(tmp_path / "a.npy"), str(tmp_path / "b.npy")]) == 0
    out = capsys.readouterr().out
    assert "extractor domain-" in out and "(extractor domain, the default: the bundled network training" in out
