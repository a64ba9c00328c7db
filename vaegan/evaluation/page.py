"""The content of a report, independent of its format: the Markdown and the HTML page render the same Page."""

from __future__ import annotations

from dataclasses import dataclass, field

from vaegan.evaluation.curves import STABILITY_POINTS, STABILITY_TARGET
from vaegan.evaluation.scoring import EvalConfig, Reference, RunResult
from vaegan.evaluation.figures import SAMPLE_LINES
from vaegan.evaluation.published import PROTOCOL, PROTOCOL_SAMPLES, published_fids
from vaegan.evaluation.summary import (FAIR_STEPS, NOT_LEARNED_FID, budget_text, fidelity_diversity, headline,
                                       kind_label, row_label, run_labels, score_rows, summarize, verdict)
from vaegan.evaluation.table import Cell, Table, kinds_table, runs_table
from vaegan.latent_sampler import SAMPLERS
from vaegan.evaluation.score_table import SCORE_EXPLANATIONS
from vaegan.methods import label

EXPLANATIONS = (
    ("N(0,I) and GMM", "where the decoded z come from. N(0, I) is the prior both models are trained towards, but "
     "the codes the encoder actually uses (the aggregate posterior) leave holes in it, and prior samples that land "
     "there decode badly. The GMM samples where the training codes are: it isolates the decoder's quality from "
     "that mismatch."),
    *SCORE_EXPLANATIONS,
    ("FID rise in 2nd half", "from the FID logged during training (the EMA decoder's where the run kept one, with the "
     "row's sampler): the highest FID over the second half of the logged steps relative to the final FID. Above "
     f"{STABILITY_TARGET:.0%} the curve had not settled, and the final score depends on where training stopped. "
     f"“too few points” below {STABILITY_POINTS} FID checks, where the second half holds one or two and the rise "
     "would read 0% whatever the curve did."),
    ("too short to judge", "a run scored below its method's fewest steps ("
     + ", ".join(f"{label(k)} {n:,}" for k, n in FAIR_STEPS.items()) + "), or a run whose best FID says its samples are noise (above "
     f"{NOT_LEARNED_FID['domain']:,.0f} on the domain features), is not ranked: sharpness or KID of noise is no "
     "merit. The headline says which run and why; train longer (--minutes, --steps) and score again."),
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


GridRow = tuple[str, list[Grid]]  # (row title, grids shown side by side on one line)


@dataclass
class Page:
    title: str
    headline: str  # the verdict in one sentence: the report's first line
    verdict: str  # the verdict in full, under the headline
    setup: str  # how everything was scored, one paragraph
    runs: Table
    kinds: Table | None  # mean ± std per kind, when some kind has several runs
    notes: list[str]  # per-run warnings (diverged, interrupted, too few FID checks)
    sample_grids: list[GridRow]  # the real images, then a row per run: its samplers side by side
    recon_grids: list[GridRow]  # a row per run: the inputs beside its reconstructions of them
    figures: list[Picture] = field(default_factory=list)  # in page order, after the grids
    top_figure: Picture | None = None  # the score bars under the headline
    explanations: tuple = EXPLANATIONS
    edits: "Edits | None" = None  # the "Attribute edits" section, when the runs were edited
    fidelity: list[str] = field(default_factory=list)  # which model wins on fidelity vs diversity, per sampler
    published: "Published | None" = None  # "Against published results", with Inception scores on MNIST-like data


@dataclass(frozen=True)
class Published:
    """Our Inception FIDs beside published ones (vaegan.evaluation.published) and how the protocols differ."""

    caption: str
    table: Table
    differences: list[str]


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
        notes += [f"{label} logged FID {n} time{'s' if n > 1 else ''} during training: too few points to show a "
                  f"trend or whether it settled ({STABILITY_POINTS} or more do; --fid-checks sets how many)."
                  for r, label in zip(results, labels) if r.curves
                  and (n := max(len(c.values) for c in r.curves.values())) < STABILITY_POINTS]
    real = Grid(f"real (test images 1–{min(64, len(reference.test_images))})", files["real"])
    sample_grids: list[GridRow] = [("Real test images", [Grid("real test images", files["real"])])]
    recon_grids: list[GridRow] = []
    for i, (r, label) in enumerate(zip(results, labels)):
        flag = " — diverged run, last good checkpoint" if r.diverged else ""
        if r.samples:
            sample_grids.append((f"{label} (step {r.step}){flag}",
                                 [Grid(f"{SAMPLERS[sampler].label} samples", files[f"samples/{i}/{sampler}"])
                                  for sampler in r.samples]))
        if f"recon/{i}" in files:
            recon_grids.append((f"{label} (step {r.step}){flag}",
                                [real, Grid("its reconstructions", files[f"recon/{i}"])]))
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
    if reference.inception is not None:
        setup += (f" With --inception also TF's FID Inception pool3 ({reference.inception.extractor.id}): "
                  f"{cfg.inception_samples} samples per model and sampler against the first {reference.inception.n} "
                  f"test images, generated images {'min-max stretched per image' if cfg.inception_stretch else 'not stretched'} "
                  f"(--inception-stretch, off by default).")
    return Page(title, headline(rows), verdict(rows), setup, runs_table(rows), kinds, notes, sample_grids, recon_grids,
                figures, Picture("Scores", files["scores"], "") if "scores" in files else None,
                edits=edits_section(results, labels, cfg, files), fidelity=fidelity_diversity(rows),
                published=published_section(rows, summary, reference, cfg))


def published_section(rows, summary: dict, reference: Reference, cfg: EvalConfig) -> Published | None:
    """Our Inception FID per model and sampler (mean ± std over seeds) beside the published rows of the dataset;
    None without Inception scores or published numbers for this data."""
    published = published_fids(reference.dataset)
    ours = [(kind, sampler, stats["inception_fid"]) for kind, entry in summary.items()
            for sampler, stats in entry["samplers"].items() if "inception_fid" in stats]
    if reference.inception is None or not published or not ours:
        return None
    protocol = (f"{cfg.inception_samples} generated vs {reference.inception.n} test images, "
                f"{'stretched' if cfg.inception_stretch else 'not stretched'}")
    table_rows = []
    for kind, sampler, stat in ours:
        n = stat["n"]
        table_rows.append([Cell(f"{row_label(kind, sampler)} (this report)"), Cell(f"{stat['mean']:.1f}",
                           f"± {stat['std']:.1f}" if n > 1 else ""),
                           Cell(f"ours, {n} seed{'s' if n > 1 else ''}: {protocol}", prose=True)])
    for p in published:
        table_rows.append([Cell(p.model), Cell(f"{p.fid:.1f}", "" if p.std is None else f"± {p.std:.1f}"),
                           Cell(p.source, prose=True)])
    n_gen, n_real = cfg.inception_samples, reference.inception.n
    counts = ("the same counts as theirs" if n_gen == PROTOCOL_SAMPLES == n_real else
              "not their 10,000 vs 10,000: FID's estimate is biased upwards at smaller N, so our numbers sit higher "
              "than the same models would score under their protocol")
    from metrics.tf_inception_weights import TF_WEIGHTS_SHA256
    devices = sorted({str(row.run.config.get("device", "cpu")).split(":")[0] for row in rows})
    where = "a CPU" if devices == ["cpu"] else " / ".join(devices)
    official = reference.inception.extractor.weights_sha256 == TF_WEIGHTS_SHA256
    differences = [
        f"Stretch: their code min-max stretches each generated image to [0, 1] before Inception (each sample's darkest "
        f"pixel becomes black and its brightest white); ours {'did the same (--inception-stretch)' if cfg.inception_stretch else 'did not (the default; --inception-stretch does)'}.",
        f"Training: the published models trained for many epochs on GPUs; ours trained for {budget_text(rows)[3:]} on "
        f"{where}, so they are far from converged and the gap says more about the budget than about the methods.",
        f"Samples: {n_gen} generated vs {n_real} test images per model and sampler, {counts}.",
        "Features: " + ("TF's own FID Inception weights (the official file's sha256), pool3, TF's bilinear resize to "
                        "299×299, gray copied to 3 channels, as theirs" if official else
                        f"{reference.inception.extractor.id}, not TF's official weights file: the numbers may move "
                        "against published ones by more than the seed spread") +
        ("; run in bf16 autocast (--inception-precision), which moves FID a little against their fp32 "
         "(benchmarks/RESULTS.md)." if reference.inception.extractor.precision == "bf16" else "."),
        "Their ± is as published (a spread over their repeated runs), ours the standard deviation over our seeds "
        "(none with one seed); the GAN rows are the best of a large search, not a typical run.",
    ]
    caption = (f"Inception FID (lower is better) of our models beside published {reference.dataset} results. "
               f"Published protocol: {PROTOCOL}. Numbers from vaegan/evaluation/published.py.")
    return Published(caption, Table(["model", "Inception FID ↓", "source / protocol"], table_rows), differences)


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
