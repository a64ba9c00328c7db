#!/usr/bin/env python3
"""Render a report.html in headless Chromium: save a screenshot, and check the rendered DOM has the table and only
embedded PNG images. Exits 1 with the problems listed when the page is not a complete standalone report.

Needs Chromium (Debian: apt-get install chromium). Nothing is fetched from the network."""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from vaegan.evaluation.html_check import self_contained_problems

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    sys.exit("error: Chromium not found; install it (Debian: apt-get install chromium)")


def chromium(binary: str, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    # A fresh profile each time: no state from earlier runs, nothing written to the user's own profile.
    with tempfile.TemporaryDirectory(prefix="vaegan-chromium-") as profile:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("html", help="report.html to render")
    p.add_argument("--out", default=None, help="screenshot PNG (default: screenshot.png beside the page)")
    p.add_argument("--window-size", default="1400,2400", help="width,height of the viewport in pixels")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per Chromium call")
    args = p.parse_args()
    page = Path(args.html).resolve()
    if not page.is_file():
        sys.exit(f"error: {page} does not exist")
    out = Path(args.out or page.with_name("screenshot.png")).resolve()
    binary = find_chromium()
    url = page.as_uri()

    shot = chromium(binary, [f"--screenshot={out}", f"--window-size={args.window_size}", url], args.timeout)
    if shot.returncode != 0 or not out.is_file():
        sys.exit(f"error: Chromium could not take the screenshot (exit {shot.returncode}):\n{shot.stderr[-2000:]}")
    dom = chromium(binary, ["--dump-dom", url], args.timeout)
    if dom.returncode != 0 or "<html" not in dom.stdout:
        sys.exit(f"error: Chromium could not dump the DOM (exit {dom.returncode}):\n{dom.stderr[-2000:]}")
    problems = self_contained_problems(dom.stdout)
    if problems:
        sys.exit("error: the rendered page is not a complete standalone report:\n  " + "\n  ".join(problems))
    print(f"ok: {page} renders with its table and only embedded PNG images; screenshot: {out}")


if __name__ == "__main__":
    main()
