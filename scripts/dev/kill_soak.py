#!/usr/bin/env python3
"""Kill soak: SIGKILL a short VAE-GAN run at random moments, some of them inside a checkpoint write, resume it after
each kill, and check that its final checkpoint equals that of an uninterrupted run of the same budget, bit for bit.

  python scripts/dev/kill_soak.py --kills 20

Both runs go through scripts/train_vaegan.py (one thread each, OMP_NUM_THREADS=1); the uninterrupted reference trains
alongside the soak. Each kill is one of three kinds, about half of them `write`, in a seeded random order:
  write    wait for the 1st or 2nd new temp file in checkpoints/ of this session, then kill at a random moment within
           the time a whole write was last seen to take: the kill cuts the atomic write of latest.pt in the middle
           (whether it did is read off a temp file left behind);
  training kill at a random moment inside a step or a save, 0-2 checkpoints into training;
  start    kill at a random moment of start-up (a resume's checkpoint loading included), one kill in eight.
The first kill always cuts the run's first checkpoint write. A kill before the first checkpoint leaves nothing to
resume (`--resume` would say "no checkpoint"): the soak deletes that run folder and starts the run again, which with
the same seed is the same run.

After every kill latest.pt must load with torch.load(weights_only=True). At the end every tensor (networks, EMA,
optimizers, noise generator) and every other value of the two final latest.pt files must be equal, except
the wall-clock seconds and the runs folder. Exits 1 on any failure (no kill inside a write included) and keeps
the work folder for a look.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import torch

TRAIN_SCRIPT = Path(__file__).resolve().parents[1] / "train_vaegan.py"
STEP_LINE = re.compile(r"step (\d+)/\d+ ")
# The only values that legitimately differ between two runs of one config: time taken, and where they were written.
IGNORED_KEYS = frozenset({"wall_seconds", "train_seconds", "runs_dir"})
POLL_SECONDS = 0.002  # temp-file polling period: far shorter than writing a checkpoint of tens of MB
STARTUP_GUESS_SECONDS = 5.0  # start-up time assumed until one has been measured
WRITE_GUESS_SECONDS = 0.005  # how long writing a checkpoint takes, until one has been timed
WRITE_WAIT_SECONDS = 120.0  # no temp file this long: the write detection no longer fits the atomic write


class SoakFailure(RuntimeError):
    """A resume that failed, an unreadable checkpoint after a kill, or a kill that could not be placed."""


@dataclass
class SoakOptions:
    kills: int = 20
    seed: int = 0  # of the kill schedule; the training seed is the trainer's default
    checkpoint_every: int = 3  # steps; frequent, so that kills often land in writes
    steps: int | None = None  # training budget; None: checkpoint_every * (kills + 4), enough to outlast every kill
    limit: int = 256  # training images
    batch_size: int = 16
    work_dir: Path | None = None  # None: a temporary folder

    @property
    def budget(self) -> int:
        return self.steps or self.checkpoint_every * (self.kills + 4)


@dataclass
class Kill:
    number: int
    kind: str  # "write" | "training" | "start"
    step: int | None  # last step the process printed before the kill (it may be saving the next); None: starting
    saved_step: int | None  # step of latest.pt after the kill (where the next session resumes); None: none yet
    in_write: bool  # the kill left a checkpoint temp file behind


@dataclass
class SoakResult:
    kills: list[Kill] = field(default_factory=list)
    resumes: int = 0  # sessions started with --resume
    resumes_trained: int = 0  # of those, the ones that trained (or finished) before being killed
    fresh_starts: int = 0  # sessions started from scratch after a kill before the first checkpoint
    differences: list[str] = field(default_factory=list)
    compared: tuple[int, int] = (0, 0)  # tensors, other values
    seconds: float = 0.0

    @property
    def in_write(self) -> int:
        return sum(k.in_write for k in self.kills)

    @property
    def bit_exact(self) -> bool:
        return not self.differences and self.compared[0] > 0

    @property
    def passed(self) -> bool:
        """Bit-exact, and the atomic write was really cut at least once (every soak has a write kill)."""
        return self.bit_exact and self.in_write > 0

    def summary(self) -> str:
        tensors, values = self.compared
        # A resume that fails raises SoakFailure, so by the time there is a summary every resume succeeded.
        return (f"kill soak: {len(self.kills)} kills, {self.resumes} resumes all succeeded ({self.resumes_trained} "
                f"trained before their kill or to the end, {self.resumes - self.resumes_trained} killed while "
                f"starting; {self.fresh_starts} fresh starts after a kill before the first checkpoint), "
                f"{self.in_write} landed during a checkpoint write, final checkpoint bit-exact: "
                f"{'yes' if self.bit_exact else 'NO'} ({tensors} tensors, {values} other values), {self.seconds:.0f} s")


class Trainer:
    """scripts/train_vaegan.py in a child process; a thread reads its output for the last step it printed."""

    def __init__(self, args: list[str]):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.started = time.monotonic()
        self.process = subprocess.Popen([sys.executable, str(TRAIN_SCRIPT), *args], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=env)
        self.step: int | None = None
        self.first_step_seconds: float | None = None  # start-up time: from launch to the first step printed
        self.tail: deque[str] = deque(maxlen=15)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.tail.append(line.rstrip())
            if m := STEP_LINE.match(line):
                if self.first_step_seconds is None:
                    self.first_step_seconds = time.monotonic() - self.started
                self.step = int(m.group(1))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.running:
            self.process.send_signal(signal.SIGKILL)
        self.wait()

    def wait(self) -> int:
        code = self.process.wait()
        self.reader.join()
        return code

    def output(self) -> str:
        return "\n".join(self.tail)


def train_args(options: SoakOptions, runs_dir: Path) -> list[str]:
    return ["--limit", str(options.limit), "--batch-size", str(options.batch_size), "--steps", str(options.budget),
            "--epochs", "1e6",  # the step budget alone ends the run
            "--checkpoint-every", str(options.checkpoint_every), "--fid-every", "0", "--log-every", "5",
            "--image-every", "10",  # image grids mid-run too: drawing them must not shift the training state
            # so that the weight average and the learning-rate schedule (over the budget and per epoch) must survive
            "--ema-horizon", "0.2", "--lr-final", "0.1", "--lr-decay", "0.9",
            "--progress-seconds", "0.001", "--runs-dir", str(runs_dir)]


def run_folder(runs_dir: Path) -> Path | None:
    folders = [p for p in runs_dir.iterdir() if p.is_dir()] if runs_dir.is_dir() else []
    if len(folders) > 1:
        raise SoakFailure(f"{runs_dir} holds {len(folders)} run folders, expected one")
    return folders[0] if folders else None


def latest_checkpoint(run_dir: Path | None) -> Path | None:
    path = None if run_dir is None else run_dir / "checkpoints" / "latest.pt"
    return path if path is not None and path.is_file() else None


def load(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise SoakFailure(f"{path} does not load after a kill ({type(e).__name__}: {e})") from e


def temp_files(run_dir: Path | None) -> set[tuple[str, int, int]]:
    """Checkpoint temp files as (name, inode, mtime): a name reused for a new write still counts as new."""
    folder = None if run_dir is None else run_dir / "checkpoints"
    if folder is None or not folder.is_dir():
        return set()
    found = set()
    for entry in os.scandir(folder):
        try:
            if entry.name.endswith(".tmp"):
                st = entry.stat()
                found.add((entry.name, st.st_ino, st.st_mtime_ns))
        except FileNotFoundError:  # renamed into place between listing and stat
            pass
    return found


def kill_in_write(trainer: Trainer, runs_dir: Path, budget: int, wanted: int, write_seconds: float,
                  rng: random.Random) -> float:
    """Kill at a random moment within the first `write_seconds` of the `wanted`-th new checkpoint temp file of this
    session (at the last step, at once). Returns how long a whole write took when one was seen, else write_seconds."""
    before: set[str] | None = None  # temp files left by earlier sessions
    appeared: dict[str, float] = {}  # temp files of writes in progress -> when each was first seen
    finished = 0  # writes of this session seen from start to end
    deadline = time.monotonic() + WRITE_WAIT_SECONDS
    while trainer.running:
        run_dir = run_folder(runs_dir)
        if before is None and run_dir is not None:
            before = {name for name, *_ in temp_files(run_dir)}
        if before is not None:
            now, present = time.monotonic(), {name for name, *_ in temp_files(run_dir)} - before
            for name in appeared.keys() - present:  # renamed into place
                finished, write_seconds = finished + 1, now - appeared.pop(name)
            appeared.update({name: now for name in present - appeared.keys()})
        if (trainer.step or 0) >= budget:  # the process may exit any moment
            break
        if appeared and finished + 1 >= wanted:
            time.sleep(rng.uniform(0, 0.9 * write_seconds))
            break
        if time.monotonic() > deadline:
            trainer.kill()
            raise SoakFailure(f"no checkpoint temp file (*.tmp) appeared in checkpoints/ within {WRITE_WAIT_SECONDS:.0f} s;"
                              " has the atomic write's temp naming changed?")
        time.sleep(POLL_SECONDS)
    trainer.kill()
    return write_seconds


def kill_in_training(trainer: Trainer, start_step: int, budget: int, checkpoint_every: int,
                     rng: random.Random) -> None:
    """Kill 0-2 checkpoints into training, at a random moment inside a step or a save."""
    target = min(start_step + rng.randrange(2 * checkpoint_every + 1), budget)
    while trainer.running and (trainer.step is None or trainer.step < target):
        time.sleep(POLL_SECONDS)
    if target < budget:  # at the last step the process may exit any moment: kill at once
        time.sleep(rng.uniform(0, 0.3))
    trainer.kill()


def start_session(options: SoakOptions, runs_dir: Path, result: SoakResult) -> tuple[Trainer, int, bool]:
    """Resume from latest.pt, or start afresh when there is none; returns the trainer, the step it starts at and
    whether it resumes."""
    run_dir = run_folder(runs_dir)
    checkpoint = latest_checkpoint(run_dir)
    if checkpoint is None:
        if run_dir is not None:  # killed before its first checkpoint: nothing to resume
            shutil.rmtree(run_dir)
            result.fresh_starts += 1
        return Trainer(train_args(options, runs_dir)), 0, False
    result.resumes += 1
    return Trainer(["--resume", str(run_dir)]), load(checkpoint)["step"], True


def check_exit(trainer: Trainer, what: str) -> None:
    code = trainer.wait()
    if code != 0:
        raise SoakFailure(f"{what} exited with code {code}; its last output:\n{trainer.output()}")


def soak(options: SoakOptions, runs_dir: Path, result: SoakResult, rng: random.Random, out) -> None:
    # The first kill always cuts the very first checkpoint write, so that a run with nothing to resume is covered.
    rest = options.kills - 1
    starts = -(-rest // 8) if rest >= 3 else 0
    kinds = ["write"] * (rest // 2) + ["start"] * starts + ["training"] * (rest - rest // 2 - starts)
    rng.shuffle(kinds)
    kinds.insert(0, "write")
    startup, write_seconds = STARTUP_GUESS_SECONDS, WRITE_GUESS_SECONDS
    for number, kind in enumerate(kinds, 1):
        if (saved := latest_checkpoint(run_folder(runs_dir))) and load(saved)["step"] >= options.budget:
            raise SoakFailure(f"the run finished after {number - 1} kills; give it more --steps for {options.kills}")
        trainer, start_step, resuming = start_session(options, runs_dir, result)
        temps_before = temp_files(run_folder(runs_dir))
        if kind == "write":
            wanted = 1 if number == 1 else rng.choice((1, 2))
            write_seconds = kill_in_write(trainer, runs_dir, options.budget, wanted, write_seconds, rng)
        elif kind == "training":
            kill_in_training(trainer, start_step, options.budget, options.checkpoint_every, rng)
        else:
            time.sleep(rng.uniform(0, startup))
            trainer.kill()
        if trainer.process.returncode != -signal.SIGKILL:  # it ended by itself before the kill
            check_exit(trainer, f"session {number} ({'resume' if resuming else 'fresh start'})")
            raise SoakFailure(f"session {number} finished before its kill; give the run more --steps")
        if trainer.first_step_seconds is not None:
            startup = trainer.first_step_seconds
        result.resumes_trained += int(resuming and trainer.step is not None)
        run_dir = run_folder(runs_dir)
        checkpoint = latest_checkpoint(run_dir)
        kill = Kill(number, kind, trainer.step, None if checkpoint is None else load(checkpoint)["step"],
                    bool(temp_files(run_dir) - temps_before))
        result.kills.append(kill)
        where = "while starting" if kill.step is None else f"after step {kill.step}"
        print(f"kill {number:2d}/{options.kills} {kind:8s} {where:16s} -> latest.pt at step "
              f"{kill.saved_step if kill.saved_step is not None else '- (none yet)'}; "
              f"in a checkpoint write: {'yes' if kill.in_write else 'no'}", file=out, flush=True)
    trainer, _, resuming = start_session(options, runs_dir, result)
    check_exit(trainer, "the last resume" if resuming else "the last fresh start")
    result.resumes_trained += int(resuming)


def differences(a: object, b: object, path: str = "") -> tuple[list[str], int, int]:
    """Where two checkpoint values differ, bit for bit; also the number of tensors and of other values compared."""
    if isinstance(a, dict) and isinstance(b, dict):
        diffs, tensors, values = [], 0, 0
        for key in sorted(set(a) | set(b), key=str):
            if key in IGNORED_KEYS:
                continue
            if key not in a or key not in b:
                diffs.append(f"{path}/{key}: in one checkpoint only")
                continue
            d, t, v = differences(a[key], b[key], f"{path}/{key}")
            diffs, tensors, values = diffs + d, tensors + t, values + v
        return diffs, tensors, values
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        diffs, tensors, values = [], 0, 0
        for i, (x, y) in enumerate(zip(a, b)):
            d, t, v = differences(x, y, f"{path}/{i}")
            diffs, tensors, values = diffs + d, tensors + t, values + v
        return diffs, tensors, values
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        same = (a.dtype, a.shape) == (b.dtype, b.shape) and torch.equal(as_bytes(a), as_bytes(b))
        return ([] if same else [f"{path}: tensors differ"]), 1, 0
    return ([] if type(a) is type(b) and a == b else [f"{path}: {a!r} != {b!r}"]), 0, 1


def as_bytes(t: torch.Tensor) -> torch.Tensor:
    """The raw bytes of a tensor: NaN payloads and -0.0 count, as they would on disk."""
    return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8)


def run_soak(options: SoakOptions, out=sys.stdout) -> SoakResult:
    """Train the reference and the soak side by side, then compare their final latest.pt. Raises SoakFailure."""
    started = time.monotonic()
    work = options.work_dir or Path(tempfile.mkdtemp(prefix="kill-soak-"))
    reference_runs, soak_runs = work / "reference", work / "soak"
    print(f"kill soak in {work}: {options.kills} kills, budget {options.budget} steps, checkpoint every "
          f"{options.checkpoint_every}", file=out, flush=True)
    result = SoakResult()
    reference = Trainer(train_args(options, reference_runs))
    try:
        soak(options, soak_runs, result, random.Random(options.seed), out)
        check_exit(reference, "the uninterrupted reference run")
    finally:
        reference.kill()
    final = [load(latest_checkpoint(run_folder(runs))) for runs in (reference_runs, soak_runs)]
    if final[0]["step"] != options.budget:
        raise SoakFailure(f"the reference run stopped at step {final[0]['step']}, not {options.budget}")
    diffs, tensors, values = differences(*final)
    result.differences, result.compared = diffs, (tensors, values)
    result.seconds = time.monotonic() - started
    if not options.work_dir and result.passed:
        shutil.rmtree(work)
    return result


def parse_args(argv: list[str] | None = None) -> SoakOptions:
    d = SoakOptions()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kills", type=int, default=d.kills, help="SIGKILLs before the run may finish (default: %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed, help="seed of the kill schedule (default: %(default)s)")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every, help="steps (default: %(default)s)")
    p.add_argument("--steps", type=int, default=None, help="training budget (default: checkpoint-every * (kills + 4))")
    p.add_argument("--limit", type=int, default=d.limit, help="training images (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="(default: %(default)s)")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="where both runs go (default: a temporary folder, deleted when the soak passes)")
    args = p.parse_args(argv)
    for name in ("kills", "checkpoint_every", "limit", "batch_size", "steps"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    return SoakOptions(**vars(args))


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        result = run_soak(options)
    except SoakFailure as e:
        print(f"kill soak FAILED: {e}", file=sys.stderr)
        return 1
    print(result.summary(), flush=True)
    for line in result.differences[:20]:
        print(f"  differs: {line}")
    if not result.in_write:
        print("kill soak FAILED: no kill landed inside a checkpoint write", file=sys.stderr)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
