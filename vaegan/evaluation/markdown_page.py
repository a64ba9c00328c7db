"""report.md: the Page as Markdown, images linked as the PNG files beside it."""

from __future__ import annotations

from vaegan.evaluation.page import Page
from vaegan.evaluation.table import Table


BEST_AND_WARNINGS = ("Best value per column in bold; ⚠ marks a warning (a diverged run, an FID curve that had not "
                     "settled).")


def markdown_table(table: Table) -> str:
    """Best values in bold, warnings after ⚠ (BEST_AND_WARNINGS); a pipe inside a cell is escaped so it cannot
    split the column."""
    def cell(c) -> str:
        text = (f"{c.text} {c.sub}" if c.sub else c.text).replace("|", "\\|")
        return f"**{text}**" if c.best else f"⚠ {text}" if c.bad else text

    lines = ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render_markdown(page: Page) -> str:
    # The verdict's headline is the first line: `head -1 report.md` answers the question; the full verdict follows.
    out = [f"**{page.headline}**", "", page.verdict, "", f"# {page.title}", "", page.setup, ""]
    if page.top_figure:
        out += [f"![scores]({page.top_figure.file})", ""]
    out += ["## Scores per run and sampler", "", BEST_AND_WARNINGS, "", markdown_table(page.runs), ""]
    out += [f"- {note}" for note in page.notes]
    if page.notes:
        out.append("")
    if page.kinds:
        out += ["## Mean ± std per model and sampler (over seeds)", "", markdown_table(page.kinds), ""]
    if page.fidelity:
        out += ["## Fidelity vs diversity", ""] + [f"- {sentence}" for sentence in page.fidelity] + [""]
    if page.published:
        out += ["## Against published results", "", page.published.caption, "", markdown_table(page.published.table),
                "", "How the protocols differ:", ""] + [f"- {d}" for d in page.published.differences] + [""]
    for heading, rows in (("Samples", page.sample_grids), ("Reconstructions of the same inputs", page.recon_grids)):
        if not rows:  # no run had anything scored
            continue
        # A table row per run puts its grids side by side, the run's name first.
        width = max(len(grids) for _, grids in rows)
        out += [f"## {heading}", "", "| | " + " | ".join([""] * width) + " |", "|---|" + "---|" * width]
        out += ["| " + " | ".join([title, *(f"{g.caption}<br>![{title}: {g.caption}]({g.file})" for g in grids),
                                   *[""] * (width - len(grids))]) + " |" for title, grids in rows]
        out.append("")
    if page.edits:
        out += ["## Attribute edits", "", page.edits.caption, ""]
        for title, grids in page.edits.grids:
            out += [f"### {title}", "", "| " + " | ".join(g.caption for g in grids) + " |", "|" + "---|" * len(grids),
                    "| " + " | ".join(f"![{title}: {g.caption}]({g.file})" for g in grids) + " |", ""]
        if page.edits.figure:
            fig = page.edits.figure
            out += [f"### {fig.title}", "", fig.caption, "", f"![{fig.title}]({fig.file})", ""]
    for fig in page.figures:
        out += [f"## {fig.title}", "", fig.caption, "", f"![{fig.title}]({fig.file})", ""]
    out += ["## How to read the scores", ""]
    out += [f"- **{name}**: {text}" for name, text in page.explanations]
    return "\n".join(out) + "\n"
