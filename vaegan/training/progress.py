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


class Rate:
    """Training images per second between two calls."""

    def __init__(self, step: int, batch_size: int) -> None:
        self.step, self.time, self.batch_size = step, time.monotonic(), batch_size

    def images_per_sec(self, step: int) -> float:
        now = time.monotonic()
        rate = (step - self.step) * self.batch_size / max(now - self.time, 1e-9)
        self.step, self.time = step, now
        return rate


class Progress:
    def __init__(self, start_step: int, total_steps: int | None, batch_size: int, every_seconds: float,
                 out: TextIO = sys.stdout):
        self.total_steps, self.batch_size, self.every, self.out = total_steps, batch_size, every_seconds, out
        self.rate, self.last_time = Rate(start_step, batch_size), time.monotonic()
        self.images_per_sec = 0.0

    def update(self, step: int, seconds_left: float | None = None, summary: str = "", force: bool = False) -> bool:
        """Print a line if `every_seconds` passed (or force). seconds_left: until a time budget runs out (None: no
        time budget). Returns whether it printed."""
        now = time.monotonic()
        if not force and now - self.last_time < self.every:
            return False
        if step > self.rate.step:
            self.images_per_sec = self.rate.images_per_sec(step)
        self.last_time = now
        etas = []
        if self.total_steps is not None and self.images_per_sec > 0:
            etas.append((self.total_steps - step) * self.batch_size / self.images_per_sec)
        if seconds_left is not None:
            etas.append(max(seconds_left, 0.0))
        where = f"step {step}/{self.total_steps} ({100 * step / max(self.total_steps, 1):.0f}%)" if self.total_steps else f"step {step}"
        eta = f" | ETA {format_seconds(min(etas))}" if etas else ""
        print(f"{where} | {self.images_per_sec:.0f} img/s{eta} | {summary}", file=self.out, flush=True)
        return True
