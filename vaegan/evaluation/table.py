"""The report's tables as formatted text cells, shared by the Markdown and the HTML page."""

from __future__ import annotations

from dataclasses import dataclass

from vaegan.evaluation.scoring import RunResult
from vaegan.evaluation.summary import METRICS, Metric, best_runs, kind_label


@dataclass(frozen=True)
class Cell:
    text: str
    sub: str = ""  # secondary text, e.g. "± 0.0010": same line in Markdown, a smaller second line in HTML
    best: bool = False  # the best value of its column
    bad: bool = False  # a warning (diverged run)
    wrap: bool = False  # long text (folder names, ids) that may wrap instead of widening the table


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[Cell]]


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def status_text(r: RunResult) -> str:
    if r.diverged:
        return f"DIVERGED at step {r.status_step}" + ("" if r.scores is None else f" (scored step {r.step})")
    if r.status in ("interrupted", "running"):
        return f"{r.status} at step {r.status_step}"
    return r.status


def metric_cell(m: Metric, value: float | None, spread: float | None = None, best: bool = False) -> Cell:
    if value is None:
        return Cell("–")
    digits = m.digits if abs(value) < 100 else 1  # large values (an untrained model's FID/KID): decimals are noise
    return Cell(f"{value:.{digits}f}", "" if spread is None else f"± {spread:.{digits}f}", best=best)


def runs_table(results: list[RunResult]) -> Table:
    """One row per run: identity, training, then every metric (KID with its spread over subsets); best values flagged."""
    best = best_runs(results)
    header = ["run", "kind", "status", "seed", "steps", "wall time", "N", "extractor", *(m.label for m in METRICS)]
    rows = []
    for i, r in enumerate(results):
        s = r.scores or {}
        row = [Cell(r.name, wrap=True), Cell(kind_label(r.kind)), Cell(status_text(r), bad=r.diverged, wrap=True),
               Cell(str(r.seed)), Cell("–" if r.step is None else str(r.step)), Cell(duration(r.wall_seconds)),
               Cell(str(s.get("n_samples", "–"))), Cell(s.get("extractor", "–"), wrap=True)]
        for m in METRICS:
            spread = s.get("kid_std") if m.key == "kid" else None
            row.append(metric_cell(m, s.get(m.key), spread, best=i in best.get(m.key, ())))
        rows.append(row)
    return Table(header, rows)


def kinds_table(summary: dict[str, dict]) -> Table:
    """One row per kind: mean ± std over its scored, non-diverged runs (seeds)."""
    header = ["kind", "runs (seeds)", "diverged", *(m.label for m in METRICS)]
    rows = []
    for kind, entry in summary.items():
        row = [Cell(kind_label(kind)), Cell(f"{entry['runs']} ({', '.join(map(str, entry['seeds'])) or '–'})"),
               Cell(str(entry["diverged"]), bad=entry["diverged"] > 0)]
        for m in METRICS:
            stats = entry.get(m.key)
            row.append(Cell("–") if stats is None else metric_cell(m, stats["mean"], stats["std"]))
        rows.append(row)
    return Table(header, rows)
