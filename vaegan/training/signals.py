"""Ctrl-C / SIGTERM become a request to stop at the next step boundary, so the loop can save first."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from pathlib import Path


class StoppedBySignal(Exception):
    """Training stopped on SIGINT/SIGTERM after saving its checkpoint. A CLI exits with exit_code (128 + the
    signal's number, as a shell reports a process the signal killed) so that schedulers see the stop."""

    def __init__(self, signal_name: str, step: int, run_dir: Path) -> None:
        super().__init__(f"stopped by {signal_name} at step {step}; the checkpoint is saved, continue with "
                         f"--resume {run_dir}")
        self.signal_name, self.step, self.run_dir = signal_name, step, run_dir

    @property
    def exit_code(self) -> int:
        return 128 + signal.Signals[self.signal_name].value


class StopRequest:
    def __init__(self) -> None:
        self.signal_name: str | None = None

    @property
    def requested(self) -> bool:
        return self.signal_name is not None


@contextmanager
def stop_on_signals():
    """Yield a StopRequest set by SIGINT/SIGTERM; a second signal interrupts at once. Handlers are restored after."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request  # signals can only be caught in the main thread
        return

    def handler(signum, frame):
        if request.requested:
            raise KeyboardInterrupt
        request.signal_name = signal.Signals(signum).name

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
