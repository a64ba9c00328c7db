"""report.html: the Page as one self-contained file (inline CSS, every image a base64 data: URI, nothing external)."""

from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path

from vaegan.evaluation.page import Page, Picture
from vaegan.evaluation.table import Table

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 0; background: #f5f5f7; }
main { max-width: 1360px; margin: 0 auto; padding: 24px 20px 60px; }
h1 { font-size: 26px; margin: 0 0 10px; }
h2 { font-size: 19px; margin: 36px 0 10px; border-bottom: 1px solid #d2d2d7; padding-bottom: 4px; }
.headline { font-size: 21px; font-weight: 600; background: #fff; border-left: 6px solid #0a7f3f; padding: 14px 18px;
  border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.verdict { font-size: 14px; margin: 0 0 18px; }
.setup, .caption, .notes { color: #55555a; font-size: 13.5px; }
.card { background: #fff; border-radius: 8px; padding: 14px 16px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 11.5px; white-space: nowrap; }
th, td { padding: 4px 4px; border-bottom: 1px solid #e5e5ea; text-align: right; }
th { background: #fafafa; position: sticky; top: 0; font-weight: 600; white-space: normal; min-width: 40px;
  vertical-align: bottom; font-size: 11px; }
th:nth-child(-n+3), td:nth-child(-n+3) { text-align: left; }
td.best { background: #d7f5e1; font-weight: 700; color: #05592b; }
td small { display: block; color: #6e6e73; font-size: 11px; font-weight: 400; }
td.wrap { white-space: normal; max-width: 96px; text-align: left; }
td.prose { white-space: normal; min-width: 320px; max-width: 560px; text-align: left; }
td.bad { background: #fde2e1; color: #a1120b; font-weight: 700; }
.grids { display: flex; flex-wrap: wrap; gap: 18px; margin-bottom: 18px; }
.grids figure { margin: 0; background: #fff; padding: 10px; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.grids img { max-width: 100%; image-rendering: pixelated; display: block; }
figcaption { font-size: 12.5px; margin-top: 6px; color: #333; }
h3 { font-size: 16px; margin: 22px 0 8px; }
img.plot { max-width: 100%; display: block; }
ul.notes li { margin: 3px 0; }
dl dt { font-weight: 600; margin-top: 8px; }
dl dd { margin-left: 18px; color: #444; }
"""


def data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def html_table(table: Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    rows = []
    for row in table.rows:
        cells = []
        for c in row:
            flags = (("best", c.best), ("bad", c.bad), ("wrap", c.wrap), ("prose", c.prose))
            cls = " ".join(name for name, on in flags if on)
            sub = f"<small>{escape(c.sub)}</small>" if c.sub else ""
            # <wbr>: long folder names and extractor ids may break after -, _ and @ rather than mid-word
            text = re.sub(r"([-@_])", r"\1<wbr>", escape(c.text)) if c.wrap else escape(c.text)
            cells.append(f'<td class="{cls}">{text}{sub}</td>' if cls else f"<td>{text}{sub}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="card scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _plot(folder: Path, fig: Picture) -> str:
    return f'<div class="card"><img class="plot" alt="{escape(fig.title)}" src="{data_uri(folder / fig.file)}"></div>'


def render_html(page: Page, folder: Path) -> str:
    """folder: where the PNGs named in the page are; they are embedded, so the result stands alone."""
    # The verdict comes first, as in report.md; the title follows as the heading of the details.
    parts = [f'<p class="headline">{escape(page.headline)}</p>', f'<p class="verdict">{escape(page.verdict)}</p>',
             f"<h1>{escape(page.title)}</h1>", f'<p class="setup">{escape(page.setup)}</p>']
    if page.top_figure:
        parts.append(_plot(folder, page.top_figure))
    parts += ["<h2>Scores per run and sampler</h2>",
              '<p class="caption">Best value per column in bold on green; warnings (a diverged run, an FID curve '
              'that had not settled) on red.</p>',
              html_table(page.runs)]
    if page.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{escape(n)}</li>" for n in page.notes) + "</ul>")
    if page.kinds:
        parts += ["<h2>Mean ± std per model and sampler (over seeds)</h2>", html_table(page.kinds)]
    if page.fidelity:
        parts += ["<h2>Fidelity vs diversity</h2>",
                  '<ul class="notes">' + "".join(f"<li>{escape(t)}</li>" for t in page.fidelity) + "</ul>"]
    if page.published:
        parts += ["<h2>Against published results</h2>", f'<p class="caption">{escape(page.published.caption)}</p>',
                  html_table(page.published.table), '<p class="caption">How the protocols differ:</p>',
                  '<ul class="notes">' + "".join(f"<li>{escape(d)}</li>" for d in page.published.differences)
                  + "</ul>"]
    for heading, rows in (("Samples", page.sample_grids), ("Reconstructions of the same inputs", page.recon_grids)):
        if not rows:  # no run had anything scored
            continue
        parts.append(f"<h2>{heading}</h2>")
        for title, grids in rows:  # one line per run: its grids side by side
            figures = "".join(f'<figure><img alt="{escape(title)}: {escape(g.caption)}" '
                              f'src="{data_uri(folder / g.file)}"><figcaption>{escape(g.caption)}</figcaption></figure>'
                              for g in grids)
            parts += [f"<h3>{escape(title)}</h3>", f'<div class="grids">{figures}</div>']
    if page.edits:
        parts += ["<h2>Attribute edits</h2>", f'<p class="caption">{escape(page.edits.caption)}</p>']
        for title, grids in page.edits.grids:
            figures = "".join(f'<figure><img alt="{escape(title)}: {escape(g.caption)}" '
                              f'src="{data_uri(folder / g.file)}"><figcaption>{escape(g.caption)}</figcaption></figure>'
                              for g in grids)
            parts += [f"<h3>{escape(title)}</h3>", f'<div class="grids">{figures}</div>']
        if page.edits.figure:
            fig = page.edits.figure
            parts += [f"<h3>{escape(fig.title)}</h3>", f'<p class="caption">{escape(fig.caption)}</p>',
                      _plot(folder, fig)]
    for fig in page.figures:
        parts += [f"<h2>{escape(fig.title)}</h2>", f'<p class="caption">{escape(fig.caption)}</p>', _plot(folder, fig)]
    parts += ["<h2>How to read the scores</h2>",
              "<dl>" + "".join(f"<dt>{escape(n)}</dt><dd>{escape(t)}</dd>" for n, t in page.explanations) + "</dl>"]
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(page.title)}</title>'
            f"<style>{CSS}</style></head>\n<body><main>\n{body}\n</main></body></html>\n")
