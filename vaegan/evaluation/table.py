"""The report's tables as formatted text cells, shared by the Markdown and the HTML page."""

from __future__ import annotations

from dataclasses import dataclass

from vaegan.evaluation.curves import STABILITY_POINTS, STABILITY_TARGET, stability
from vaegan.evaluation.scoring import RunResult
from vaegan.evaluation.score_table import Metric, shown_metrics
from vaegan.evaluation.summary import Row, best_rows, kind_label, row_label


@dataclass(frozen=True)
class Cell:
    text: str
    sub: str = ""  # secondary text, e.g. "± 0.0010": same line in Markdown, a smaller second line in HTML
    best: bool = False  # the best value of its column
    bad: bool = False  # a warning (diverged run)
    wrap: bool = False  # long text (folder names, ids) that may wrap instead of widening the table
    prose: bool = False  # a sentence (a citation, a protocol): wraps at a reading width, not a name's


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[Cell]]


def duration(seconds: float | None) -> str:
    """Minutes with one decimal for every run ("0.5 min", "12.0 min"), so a column reads in one unit."""
    if seconds is None:
        return "–"
    return f"{seconds / 60:.1f} min"


def status_text(r: RunResult) -> str:
    if r.diverged:
        return f"DIVERGED at step {r.status_step}" + ("" if r.scores is None else f" (scored step {r.step})")
    if r.stale:  # a "running" run whose process is gone: say so, not "running"
        return f"{r.status} ({r.stale}) at step {r.status_step}"
    if r.status in ("interrupted", "running"):
        return f"{r.status} at step {r.status_step}"
    if r.status == "failed":
        return f"FAILED at step {r.status_step}: {r.message}"
    return r.status


def metric_cell(m: Metric, value: float | None, spread: float | None = None, best: bool = False) -> Cell:
    if value is None:
        return Cell("–")
    digits = m.decimals(value)
    return Cell(f"{value:.{digits}f}", "" if spread is None else f"± {spread:.{digits}f}", best=best)


def stability_cell(row: Row) -> Cell:
    """How far above its final FID the row's training curve rose in the second half (curves.stability); flagged
    above STABILITY_TARGET; "too few points" where the curve has fewer than STABILITY_POINTS."""
    if row.curve is None:
        return Cell("–")
    if len(row.curve.values) < STABILITY_POINTS:
        n = len(row.curve.values)
        return Cell(f"too few points ({n})", f"needs {STABILITY_POINTS} FID checks", wrap=True)
    value = stability(row.curve)
    if value is None:
        return Cell("–")
    return Cell(f"+{value:.0%}", row.curve.key, bad=value > STABILITY_TARGET, wrap=True)


def runs_table(rows: list[Row]) -> Table:
    """One row per run and sampler: identity, training, every metric (KID with its spread over subsets), and how
    steady its FID curve ended; best values flagged. N and extractor columns only where the rows differ in them."""
    best = best_rows(rows)
    metrics = shown_metrics(row.scores for row in rows)
    # N and the extractor are columns only where rows differ in them; else the page's setup line names them once,
    # and the table keeps to a 1,400 px window.
    per_row = len({(row.scores.get("n_samples"), row.scores.get("extractor")) for row in rows}) > 1
    header = ["run", "model · sampler", "status", "seed", "steps", "training time", *(["N", "extractor"] * per_row),
              *(m.label for m in metrics), f"FID rise in 2nd half (≤ {STABILITY_TARGET:.0%})"]
    table = []
    for i, row in enumerate(rows):
        r, s = row.run, row.scores
        cells = [Cell(r.name, wrap=True), Cell(row.label), Cell(status_text(r), bad=r.diverged, wrap=True),
                 Cell(str(r.seed)), Cell("–" if r.step is None else str(r.step)), Cell(duration(r.train_seconds))]
        if per_row:
            cells += [Cell(str(s.get("n_samples", "–"))), Cell(s.get("extractor", "–"), wrap=True)]
        for m in metrics:
            spread = s.get("kid_std") if m.key == "kid" else None
            cells.append(metric_cell(m, s.get(m.key), spread, best=i in best.get(m.key, ())))
        table.append(cells + [stability_cell(row)])
    return Table(header, table)


def kinds_table(summary: dict[str, dict]) -> Table:
    """One row per model and sampler: mean ± std over its scored, non-diverged runs (seeds)."""
    metrics = shown_metrics(stats for entry in summary.values() for stats in entry["samplers"].values())
    header = ["model · sampler", "runs (seeds)", "diverged", *(m.label for m in metrics)]
    rows = []
    for kind, entry in summary.items():
        identity = [Cell(f"{entry['runs']} ({', '.join(map(str, entry['seeds'])) or '–'})"),
                    Cell(str(entry["diverged"]), bad=entry["diverged"] > 0)]
        if not entry["samplers"]:
            rows.append([Cell(kind_label(kind)), *identity, *(Cell("–") for _ in metrics)])
        for sampler, stats in entry["samplers"].items():
            row = [Cell(row_label(kind, sampler)), *identity]
            for m in metrics:
                stat = stats.get(m.key)
                row.append(Cell("–") if stat is None else metric_cell(m, stat["mean"], stat["std"]))
            rows.append(row)
    return Table(header, rows)
