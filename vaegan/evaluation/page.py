"""The content of a report, independent of its format: the Markdown and the HTML page render the same Page."""

from __future__ import annotations

from dataclasses import dataclass, field

from vaegan.evaluation.curves import STABILITY_TARGET
from vaegan.evaluation.scoring import EvalConfig, Reference, RunResult
from vaegan.evaluation.figures import SAMPLE_LINES
from vaegan.evaluation.summary import kind_label, run_labels, score_rows, summarize, verdict
from vaegan.evaluation.table import Table, kinds_table, runs_table
from vaegan.latent_sampler import SAMPLERS

EXPLANATIONS = (
    ("N(0,I) and GMM", "where the decoded z come from. N(0, I) is the prior both models are trained towards, but "
     "the codes the encoder actually uses (the aggregate posterior) leave holes in it, and prior samples that land "
     "there decode badly. The GMM samples where the training codes are: it isolates the decoder's quality from "
     "that mismatch."),
    ("FID", "Fréchet distance between Gaussians fitted to extractor features of real and generated images; lower is "
     "closer to the data. Only comparable between reports with the same extractor id (hash) and N."),
    ("KID", "Kernel Inception Distance: unbiased MMD² with a cubic kernel on the same features, mean ± std over "
     "random subsets; about 0 for two samples of one distribution."),
    ("recon FID", "FID of the reconstructions Dec(μ(x)) of the first N test images."),
    ("sharpness", "variance of the Laplacian and share of spectral energy above 0.25 cycles/pixel, each divided by "
     "the same quantity on real images: 1.0 = as sharp as real, below 1 = blurrier (above 1: noisier than real)."),
    ("MSE / PSNR / SSIM", "pixel error of the reconstructions on the [0, 1] scale; a blurry mean image can score "
     "well here, which is why FID and sharpness sit next to them."),
    ("FID rise in 2nd half", "from the FID logged during training (the EMA decoder's where the run kept one, with the "
     "row's sampler): the highest FID over the second half of the logged steps relative to the final FID. Above "
     f"{STABILITY_TARGET:.0%} the curve had not settled, and the final score depends on where training stopped."),
)


@dataclass(frozen=True)
class Picture:
    title: str
    file: str  # PNG in the report folder
    caption: str


@dataclass(frozen=True)
class Grid:
    caption: str
    file: str


@dataclass
class Page:
    title: str
    headline: str  # the verdict: the report's first line
    setup: str  # how everything was scored, one paragraph
    runs: Table
    kinds: Table | None  # mean ± std per kind, when some kind has several runs
    notes: list[str]  # per-run warnings (diverged, interrupted)
    sample_grids: list[Grid]
    recon_grids: list[Grid]
    figures: list[Picture] = field(default_factory=list)  # in page order, after the grids
    top_figure: Picture | None = None  # the score bars under the headline
    explanations: tuple = EXPLANATIONS
    edits: "Edits | None" = None  # the "Attribute edits" section, when the runs were edited


@dataclass(frozen=True)
class Edits:
    """Attribute edits: what they are, per edit the runs' grids side by side, and the probability curves."""

    caption: str
    grids: list[tuple[str, list[Grid]]]  # (edit title, a grid per run)
    figure: Picture | None  # probability of the target per strength; None without a classifier


def build_page(results: list[RunResult], reference: Reference, cfg: EvalConfig, files: dict[str, str]) -> Page:
    """files: names of the PNGs written by figures.py: "scores", "zoom", "spectrum", "curves" (absent when no run
    logged FID), "real", and f"samples/{i}/{sampler}", f"recon/{i}" for run i with scores."""
    labels = run_labels(results)
    rows = score_rows(results)
    n_real = len(reference.real)
    samplers = "; ".join(f"{SAMPLERS[name].label}: {SAMPLERS[name].description}" for name in cfg.samplers)
    setup = (f"Each run: N = {cfg.samples} samples from each latent sampler ({samplers}; noise seed {cfg.seed} for "
             f"every run) and the reconstructions of the first {min(cfg.samples, len(reference.test_images))} test "
             f"images, scored with the feature extractor {reference.extractor.id} (sha256 "
             f"{reference.extractor.weights_sha256[:16]}…) against the first {n_real} images of the "
             f"{reference.dataset} test split; {cfg.which} checkpoint.")
    notes = [f"{label}: {r.note}" for r, label in zip(results, labels) if r.note]
    if "curves" not in files:
        notes.append("No run logged FID during training (it was off, or the runs ended before their first FID at "
                     "fid_every steps), so there is no FID-over-training plot.")
    else:
        notes += [f"{label} logged no FID during training; it has no curve." for r, label in zip(results, labels)
                  if not r.curves]
    real = Grid(f"real (test images 1–{min(64, len(reference.test_images))})", files["real"])
    sample_grids, recon_grids = [Grid("real test images", files["real"])], [real]
    for i, (r, label) in enumerate(zip(results, labels)):
        flag = " — diverged run, last good checkpoint" if r.diverged else ""
        for sampler in r.samples:
            sample_grids.append(Grid(f"{label} · {SAMPLERS[sampler].label} samples (step {r.step}){flag}",
                                     files[f"samples/{i}/{sampler}"]))
        if f"recon/{i}" in files:
            recon_grids.append(Grid(f"{label}: reconstructions (step {r.step}){flag}", files[f"recon/{i}"]))
    figures = [Picture("Zoomed in", files["zoom"], "A few images enlarged pixel for pixel (nearest neighbour): blur is "
                      "visible as soft edges and missing texture.")]
    if "curves" in files:
        figures.append(Picture("FID during training", files["curves"], "FID of a fixed set of samples logged by each "
                              "run while it trained, both models on the same axes: one colour per model, one line "
                              "style per variant (live or EMA decoder; N(0,I) or GMM samples). Each run used its own "
                              "extractor and sample count (see the runs' configs)."))
    lines = ", ".join(f"{SAMPLE_LINES[name][1]}: {SAMPLERS[name].label}" for name in cfg.samplers)
    figures.append(Picture("Radial power spectrum", files["spectrum"], "Mean power per spatial frequency band of real "
                          f"images (black), each run's samples ({lines}) and reconstructions (dashed); blur shows as "
                          "power missing at high frequencies."))
    if cfg.attributes and reference.labels_missing:
        notes.append(f"No attribute edits: {reference.labels_missing}")
    summary = summarize(rows)
    kinds = kinds_table(summary) if any(s["runs"] > 1 for s in summary.values()) else None
    title = " vs ".join(dict.fromkeys(kind_label(r.model) for r in results)) + f" on {reference.dataset}"
    return Page(title, verdict(rows), setup, runs_table(rows), kinds, notes, sample_grids, recon_grids,
                figures, Picture("Scores", files["scores"], "") if "scores" in files else None,
                edits=edits_section(results, labels, cfg, files))


def edits_section(results: list[RunResult], labels: list[str], cfg: EvalConfig, files: dict[str, str]) -> Edits | None:
    """The grids f"edit/{i}/{title}" of run i and the figure "edit_curves" as a page section; None without edits."""
    titles = list(dict.fromkeys(e.edit.title for r in results for e in r.edits))
    if not titles:
        return None
    strengths = ", ".join(f"{a:g}" for a in cfg.strengths)
    caption = ("Visual attribute vectors (Larsen et al. 2016, §5): for each label, the mean encoder mean μ(x) of "
               "training images with it minus that of images without it. An edit A → B adds α·(v_B − v_A) to μ(x) "
               "of test images of A (“+ B”: α·v_B, to images without B) and decodes. Each grid: a row per test "
               f"image (the same for every run), the input first, then α = {strengths} (α = 0: the reconstruction).")
    grids = [(title, [Grid(f"{label} (step {r.step})", files[f"edit/{i}/{title}"])
                      for i, (r, label) in enumerate(zip(results, labels)) if f"edit/{i}/{title}" in files])
             for title in titles]
    figure = None
    if "edit_curves" in files:
        figure = Picture("Does the edit do what it says?", files["edit_curves"],
                         "The Fashion-MNIST classifier's (the domain network's) probability of the target class, mean "
                         "over the edited test images, against α: solid, the target; dotted, the source; dashed "
                         "black, real images of the target. A working edit rises towards the dashed level while the "
                         "source's probability falls; one that rises without looking like the target in the grids "
                         "has found a direction the classifier reads, not a garment.")
    return Edits(caption, grids, figure)
