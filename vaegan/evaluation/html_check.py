"""Check that a report page stands alone: it has a table, and every image is an embedded PNG (data: URI)."""

from __future__ import annotations

import base64
import binascii
from html.parser import HTMLParser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DATA_PREFIX = "data:image/png;base64,"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables = 0
        self.images: list[str] = []  # src of every <img>
        self.external: list[str] = []  # other references that would load something: <link href>, <script src>, ...

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "table":
            self.tables += 1
        elif tag == "img":
            self.images.append(values.get("src") or "")
        elif tag in ("link", "script", "iframe", "source", "video", "audio", "embed", "object"):
            target = values.get("href") or values.get("src") or values.get("data")
            if target:
                self.external.append(f"<{tag}> {target[:80]}")


def self_contained_problems(html: str) -> list[str]:
    """Everything that keeps `html` from being a complete, standalone report; [] when there is nothing."""
    page = _Collector()
    page.feed(html)
    problems = [] if page.tables else ["the page has no <table>"]
    if not page.images:
        problems.append("the page has no <img>")
    for i, src in enumerate(page.images, 1):
        if not src.startswith(DATA_PREFIX):
            problems.append(f"<img> {i} is not an embedded PNG data: URI (src={src[:80]!r})")
            continue
        try:
            data = base64.b64decode(src[len(DATA_PREFIX):], validate=True)
        except binascii.Error as e:
            problems.append(f"<img> {i} has invalid base64 ({e})")
            continue
        if not data.startswith(PNG_SIGNATURE):
            problems.append(f"<img> {i} decodes to {len(data)} bytes that are not a PNG")
    problems += [f"external resource {ref}" for ref in page.external]
    if "url(" in html and "url(data:" not in html:
        problems.append("the CSS loads something with url(...)")
    return problems
