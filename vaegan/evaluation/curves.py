"""A run's metrics.jsonl read back as curves (e.g. FID over training).

The loop appends one JSON object per evaluation; after a resume a step may be logged twice, so the last value
of each (step, key) wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Curve:
    key: str  # e.g. "fid/domain"
    steps: list[int]
    wall_seconds: list[float | None]  # None where a record lacked wall_seconds
    values: list[float]


def read_metrics_log(run_dir: str | Path) -> dict[int, dict]:
    """{step: {key: value}} from run_dir/metrics.jsonl (empty when the file is absent), steps in ascending order.

    A half-written last line (a crash mid-append) is skipped, never an error: it holds no complete record."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return {}
    by_step: dict[int, dict] = {}
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("step"), int):
            by_step.setdefault(record["step"], {}).update(record)
    return dict(sorted(by_step.items()))


def fid_curve(records: dict[int, dict]) -> Curve | None:
    """The FID logged during training ("fid/<extractor>" keys; the first such key found), or None if none was."""
    key = next((k for r in records.values() for k in r if k.startswith("fid/")), None)
    if key is None:
        return None
    points = [(s, r.get("wall_seconds"), float(r[key])) for s, r in records.items() if key in r]
    return Curve(key, [p[0] for p in points], [p[1] for p in points], [p[2] for p in points])
