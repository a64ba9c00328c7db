"""Ctrl-C / SIGTERM become a request to stop at the next step boundary, so the loop can save first."""

from __future__ import annotations

import signal
import threading
import time
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


# A second signal this soon after the first is the same request: Ctrl-C reaches torchrun's workers both from the
# terminal and forwarded by torchrun. Later, a second signal means "stop now, without saving".
REPEAT_WINDOW_SECONDS = 1.0


class StopRequest:
    def __init__(self) -> None:
        self.signal_name: str | None = None
        self.at = 0.0  # time.monotonic() of the first signal

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
        now = time.monotonic()
        if request.requested:
            if now - request.at < REPEAT_WINDOW_SECONDS:
                return  # the same stop delivered twice: by the terminal and by a launcher that forwards it (torchrun)
            raise KeyboardInterrupt
        request.signal_name, request.at = signal.Signals(signum).name, now

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
