"""The run folder, the one module that knows its layout:

    runs/00003-fashion_mnist-vaegan-b64-s0[-name]/
        config.json          the TrainConfig (rewritten when a resume changes the budget)
        status.json          running | finished | interrupted | failed | diverged, with pid, host and a heartbeat
        metrics.jsonl        one strict-JSON object per evaluation (held-out loss, FID) and one at the end of a
                             VAE start (VAE_START_END); non-finite values are null
        checkpoints/         latest.pt, best.pt (vaegan.checkpoint)
        tensorboard/, samples/

Numbers are claimed atomically (see claim_numbered_folder), so two runs never share one, whatever their names;
report folders are numbered the same way.
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from vaegan.atomic import DiskFullError, atomic_write_text, disk_full
from vaegan.config import TrainConfig

SUBFOLDERS = ("checkpoints", "tensorboard", "samples")
STATUSES = ("running", "finished", "interrupted", "failed", "diverged")
NUMBERED = re.compile(r"(\d{5})-")
CLAIM = re.compile(r"\.claim-(\d{5})$")  # root/.claim-NNNNN: an empty file per number ever handed out
HEARTBEAT_SECONDS = 5.0  # at most one heartbeat write per this many seconds: an fsync'd rewrite is not free
STALE_AFTER_SECONDS = 600.0  # a "running" status from another host is stale once its heartbeat is this old


def safe_label(text: str) -> str:
    """text with anything but letters, digits, '_', '.' and '-' replaced by '_', fit for a folder name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def folder_number(path: str | Path) -> int | None:
    """NNNNN of a folder named NNNNN-..., else None."""
    m = NUMBERED.match(Path(path).name)
    return int(m.group(1)) if m else None


def numbered_folders(root: str | Path) -> list[Path]:
    """The NNNNN-... folders under root, by number (ascending); [] when root does not exist."""
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and folder_number(p) is not None), key=folder_number)


def claim_numbered_folder(root: str | Path, label: str) -> Path:
    """Create and return root/NNNNN-label with a number no other folder under root has or had.

    The number is claimed by creating root/.claim-NNNNN exclusively (O_EXCL), a name that holds the number alone:
    two processes racing for a number get it once, whatever their labels; the loser takes the next one. The claims
    are hidden files, so whatever lists the folders under root is unaffected. Folders made before claims existed are
    skipped by starting above every number in use."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    used = [folder_number(p) for p in numbered_folders(root)]
    used += [int(m.group(1)) for p in root.iterdir() if (m := CLAIM.match(p.name))]
    number = max(used, default=-1) + 1
    while True:
        try:
            os.close(os.open(root / f".claim-{number:05d}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            number += 1
            continue
        folder = root / f"{number:05d}-{label}"
        folder.mkdir()
        return folder


def run_folder_label(cfg: TrainConfig) -> str:
    """<dataset>-<kind>-b<batch>-s<seed>[-name]: what follows the number in a run folder's name."""
    label = f"{cfg.data.dataset}-{cfg.kind}-b{cfg.batch_size}-s{cfg.seed}"
    return label + "-" + safe_label(cfg.run_name) if cfg.run_name else label


def create_run_folder(cfg: TrainConfig) -> Path:
    """A new numbered run folder under cfg.runs_dir with its subfolders and cfg saved as config.json."""
    run_dir = claim_numbered_folder(cfg.runs_dir, run_folder_label(cfg))
    for sub in SUBFOLDERS:
        (run_dir / sub).mkdir()
    write_config(run_dir, cfg)
    return run_dir


def config_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / "config.json"


def status_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / "status.json"


def metrics_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / "metrics.jsonl"


def checkpoint_path(run_dir: str | Path, which: str = "latest") -> Path:
    """which: "latest" | "best"."""
    return Path(run_dir) / "checkpoints" / f"{which}.pt"


def tensorboard_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "tensorboard"


def samples_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "samples"


def write_config(run_dir: str | Path, cfg: TrainConfig) -> None:
    atomic_write_text(config_path(run_dir), cfg.to_json())


class ConfigFileError(json.JSONDecodeError):
    """A config.json that is not JSON (a torn copy, an editor's leftovers): one line naming the file. A
    JSONDecodeError still, for the callers that catch that."""

    def __init__(self, path: Path, e: json.JSONDecodeError) -> None:
        super().__init__(e.msg, e.doc, e.pos)
        self.path = path

    def __str__(self) -> str:
        return (f"{self.path} is not valid JSON ({self.msg} at line {self.lineno} column {self.colno}); restore it "
                "from a copy, or pass another run folder")


def read_config(run_dir: str | Path) -> dict:
    """config.json as a dict. FileNotFoundError when absent (also when run_dir is a file, said so), and
    ConfigFileError (a json.JSONDecodeError naming the file) when it is not JSON."""
    path = config_path(run_dir)
    if Path(run_dir).is_file():
        raise FileNotFoundError(f"{run_dir} is a file, not a run folder; pass a folder made by training "
                                 "(e.g. runs/00001-...)")
    text = path.read_text()
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigFileError(path, e) from None


def saved_model_config(run_dir: str | Path) -> dict | None:
    """The "model" section of config.json, to check a request against before any checkpoint or data is loaded;
    None when there is no config.json (the loader that follows says what is wrong). A run_dir that is a file, or a
    config.json that is not JSON, raises read_config's one-line errors."""
    if not config_path(run_dir).is_file() and not Path(run_dir).is_file():
        return None
    model = read_config(run_dir).get("model")
    return model if isinstance(model, dict) else None


@dataclass(frozen=True)
class RunStatus:
    """status.json, plus what a reader concluded about it (stale)."""

    status: str  # one of STATUSES, or "unknown" for a folder without a readable status.json
    step: int | None = None  # training step when written (diverged: where it diverged)
    wall_seconds: float | None = None  # training time summed over all sessions
    checkpoint_step: int | None = None  # step of checkpoints/latest.pt when written; None: none saved yet
    message: str = ""  # failed: the error's first line; diverged: why
    pid: int | None = None  # process that wrote it
    host: str | None = None  # socket.gethostname() of that process
    heartbeat: float | None = None  # time.time() of the last write, seconds since the epoch
    stale: str = ""  # set by read_status for a "running" run nobody runs any more, e.g. "stale: process gone"

    @property
    def summary(self) -> str:
        """One phrase for a person, e.g. "running (stale: process gone) at step 400, last checkpoint step 300"."""
        text = f"{self.status} ({self.stale})" if self.stale else self.status
        if self.step is not None:
            text += f" at step {self.step}"
        if self.status == "failed" and self.message:
            text += f" ({self.message})"
        if self.status != "finished" and self.checkpoint_step is not None:
            text += f", last checkpoint step {self.checkpoint_step}"
        return text


def write_status(run_dir: str | Path, status: str, step: int, wall_seconds: float, checkpoint_step: int | None,
                 message: str = "") -> None:
    """Write status.json for this process (pid, host, heartbeat now). message: one line."""
    if status not in STATUSES:
        raise ValueError(f"unknown run status {status!r}; one of {', '.join(STATUSES)}")
    record = RunStatus(status, step, round(wall_seconds, 3), checkpoint_step, message.strip().split("\n")[0],
                       os.getpid(), socket.gethostname(), round(time.time(), 3))
    fields = asdict(record)
    del fields["stale"]  # a reader's conclusion, never stored
    text = json.dumps(fields, indent=2)
    try:
        atomic_write_text(status_path(run_dir), text)
    except DiskFullError:
        # A full disk has no room for the temp file, but status.json itself has room: the new record is about as
        # long as the last one, and rewriting a file's own blocks takes no new ones. Not atomic (a crash now could
        # tear it: read_status then says "unknown"), which beats leaving a "running" that is not true.
        if not _overwrite_in_place(status_path(run_dir), text):
            raise


def _overwrite_in_place(path: Path, text: str) -> bool:
    """Rewrite an existing file's bytes without a temp file; False when it does not exist or cannot be written."""
    try:
        with open(path, "r+b") as f:
            f.write(text.encode())
            f.truncate()
            f.flush()
            os.fsync(f.fileno())
        return True
    except OSError:
        return False


def read_status(run_dir: str | Path, now: float | None = None) -> RunStatus:
    """status.json; RunStatus("unknown") when absent or unreadable. A "running" status is marked stale when its
    process is gone (same host) or its heartbeat is older than STALE_AFTER_SECONDS (another host)."""
    try:
        record = json.loads(status_path(run_dir).read_text())
        known = {k: v for k, v in record.items() if k in RunStatus.__dataclass_fields__ and k != "stale"}
        status = RunStatus(**known)
    except (OSError, ValueError, TypeError):
        return RunStatus("unknown")
    if status.status == "running":
        return RunStatus(**{**asdict(status), "stale": _staleness(status, time.time() if now is None else now)})
    return status


def _staleness(status: RunStatus, now: float) -> str:
    if status.pid is None or status.host is None:
        return ""  # written before pids were recorded: nothing to judge by
    if status.host == socket.gethostname():
        return "" if _pid_alive(status.pid) else "stale: process gone"
    if status.heartbeat is not None and now - status.heartbeat > STALE_AFTER_SECONDS:
        return f"stale: no heartbeat from {status.host} for {(now - status.heartbeat) / 60:.0f} min"
    return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def check_no_live_writer(run_dir: str | Path) -> None:
    """Refuse to touch a run folder that another live process is training (two writers would interleave files)."""
    status = read_status(run_dir)
    if status.status == "running" and not status.stale and status.pid != os.getpid():
        raise ValueError(f"{run_dir} is being trained by process {status.pid} on {status.host} (status.json: running); "
                         "stop that process first, then resume")


def remove_torn_writes(run_dir: str | Path) -> int:
    """Delete the temp files of atomic writes cut short by a SIGKILL (no handler could remove them): they are never
    read, and a run killed often would pile them up beside its checkpoints. Only for a folder with no live writer
    (check_no_live_writer). -> how many were removed."""
    # Only the files the training process writes: a reader (evaluate.py fitting a latent mixture) may be writing its own.
    ours = [config_path(run_dir), status_path(run_dir), checkpoint_path(run_dir, "latest"), checkpoint_path(run_dir, "best")]
    torn = [p for path in ours for p in path.parent.glob(f".{path.name}.*.tmp")]
    for path in torn:
        path.unlink(missing_ok=True)
    return len(torn)


class StatusWriter:
    """status.json of one training session: "running" with a heartbeat at most every HEARTBEAT_SECONDS, then the
    outcome. checkpoint_step follows the saves (set it after each one)."""

    def __init__(self, run_dir: str | Path, checkpoint_step: int | None, write: bool = True) -> None:
        """write: False on the processes of a distributed run other than rank 0, which only track checkpoint_step."""
        self.run_dir, self.checkpoint_step, self.last_beat, self.write = Path(run_dir), checkpoint_step, -math.inf, write

    def beat(self, step: int, wall_seconds: float, force: bool = False) -> None:
        now = time.monotonic()
        if self.write and (force or now - self.last_beat >= HEARTBEAT_SECONDS):
            write_status(self.run_dir, "running", step, wall_seconds, self.checkpoint_step)
            self.last_beat = now

    def end(self, status: str, step: int, wall_seconds: float, message: str = "") -> None:
        """Record the outcome. Called while an error is being handled (the training loop's except clauses), a
        status write that fails must not replace that error: the status stays "running", with this process's pid,
        host and last heartbeat, which read_status marks stale once the process is gone. A full disk is recorded
        as the one line the CLI prints for it, not as the type and text of whatever library hit it."""
        if not self.write:
            return
        in_flight = sys.exc_info()[1]
        full = disk_full(in_flight) if isinstance(in_flight, Exception) else None
        if status == "failed" and full is not None:
            message = str(full)
        try:
            write_status(self.run_dir, status, step, wall_seconds, self.checkpoint_step, message)
        except OSError:
            if in_flight is None:
                raise


def finite_or_null(value):
    """value with every NaN/inf float (nested in dicts, lists) replaced by None: JSON has no NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_null(v) for v in value]
    return value


def append_metrics(run_dir: str | Path, record: dict) -> None:
    """One strict-JSON line per evaluation in metrics.jsonl (non-finite values as null); after a resume a step may
    repeat: readers keep the last."""
    line = json.dumps(finite_or_null(record), allow_nan=False)
    try:
        with open(metrics_path(run_dir), "a+b") as f:
            # A crash mid-append leaves a torn last line: end it, so this record is not glued onto it and lost too.
            torn = f.tell() > 0 and (f.seek(-1, 2), f.read(1))[1] != b"\n"
            f.write((("\n" if torn else "") + line + "\n").encode())
    except OSError as e:
        if disk_full(e) is not None:
            raise DiskFullError(metrics_path(run_dir)) from e
        raise


VAE_START_END = "stage/vae_start_end"  # the key of the record written at a VAE start's last step


def read_metrics(run_dir: str | Path) -> dict[int, dict]:
    """{step: {key: value}} from metrics.jsonl (empty when absent), steps ascending; a key logged twice for a step
    keeps its last value. Values may be None (not finite when logged). A half-written last line (a crash mid-append)
    is skipped, never an error: it holds no complete record."""
    path = metrics_path(run_dir)
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
