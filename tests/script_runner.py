"""Running a script of scripts/ inside the test's process: faster than a subprocess, torch is imported once."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_script(name: str, *argv: str) -> None:
    """scripts/NAME.py with argv as its command line, as `python scripts/NAME.py ARGV` would run it."""
    saved = sys.argv
    sys.argv = [name, *argv]
    try:
        runpy.run_path(str(REPO / "scripts" / name), run_name="__main__")
    finally:
        sys.argv = saved
