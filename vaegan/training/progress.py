"""A periodic progress line with rate and ETA, for runs bounded by steps and/or minutes."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def format_seconds(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


class Progress:
    def __init__(self, start_step: int, total_steps: int | None, seconds_left: float | None, batch_size: int,
                 every_seconds: float, out: TextIO = sys.stdout):
        self.total_steps, self.batch_size, self.every, self.out = total_steps, batch_size, every_seconds, out
        self.deadline = None if seconds_left is None else time.monotonic() + seconds_left
        self.last_time, self.last_step = time.monotonic(), start_step
        self.images_per_sec = 0.0

    def update(self, step: int, summary: str = "", force: bool = False) -> bool:
        """Print a line if `every_seconds` passed (or force). Returns whether it printed."""
        now = time.monotonic()
        if not force and now - self.last_time < self.every:
            return False
        if step > self.last_step:
            self.images_per_sec = (step - self.last_step) * self.batch_size / max(now - self.last_time, 1e-9)
        self.last_time, self.last_step = now, step
        etas = []
        if self.total_steps is not None and self.images_per_sec > 0:
            etas.append((self.total_steps - step) * self.batch_size / self.images_per_sec)
        if self.deadline is not None:
            etas.append(self.deadline - now)
        where = f"step {step}/{self.total_steps} ({100 * step / max(self.total_steps, 1):.0f}%)" if self.total_steps else f"step {step}"
        eta = f" | ETA {format_seconds(min(etas))}" if etas else ""
        print(f"{where} | {self.images_per_sec:.0f} img/s{eta} | {summary}", file=self.out, flush=True)
        return True
