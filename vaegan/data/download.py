"""Find a dataset's files, download them when allowed, or say in one line where it looked and how to get them.

One rule for every dataset that can be downloaded: a root the user names is the only place searched, so a wrong
--data-root is an error rather than a silent fallback to another copy; without a root the standard places are
searched in order (system folders, then the download folder). download=True fetches into the root, or into the
download folder when there is none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from vaegan.data.errors import DatasetNotFoundError
from vaegan.data.locations import download_root

Found = TypeVar("Found")


def find_or_download(
    name: str,
    root: str | None,
    search: Callable[[Path], Found | None],
    looked_for: str,
    fetch: Callable[[Path], object],
    download: bool,
    system_dirs: Sequence[Path] = (),
    other_ways: Sequence[str] = (),
) -> Found:
    """Return search(place) for the first place that holds the files.

    name: how messages call the data, e.g. "mnist (train)". search: looks in one folder and the layouts under it.
    looked_for: the files search wants, for the message. fetch: downloads into a folder (torchvision), raising on
    failure. system_dirs: folders an OS package fills, searched before the download folder when root is None.
    other_ways: further ways to get the data (e.g. an apt package), for the message when root is None.
    Raises DatasetNotFoundError.
    """
    explicit = Path(root).expanduser() if root is not None else None
    places = [explicit] if explicit is not None else [*system_dirs, download_root()]
    for place in places:
        found = search(place)
        if found is not None:
            return found
    if download:
        target = places[-1]  # the root, or the download folder
        try:
            fetch(target)
        except Exception as err:  # network and server errors come in many types; all mean "not downloaded"
            raise DatasetNotFoundError(f"downloading {name} into {target} failed: {err}") from err
        found = search(target)
        if found is not None:
            return found
    if explicit is not None:
        searched = ", ".join(str(p) for p in [*system_dirs, download_root()])
        raise DatasetNotFoundError(
            f"{name} not found in --data-root {explicit} (looked for {looked_for}); put the files there, pass "
            f"--download to fetch them into it, or leave out --data-root to search {searched}"
        )
    ways = [*other_ways, "pass --download (download=True in Python) to fetch it",
            "put the files in a folder and pass it as --data-root (root in Python)"]
    raise DatasetNotFoundError(
        f"{name} not found in {', '.join(str(p) for p in places)} (looked for {looked_for}); {', or '.join(ways)}"
    )
