"""The training loop shared by the VAE and the VAE-GAN: budget, logging, checkpoints, resume, stop and NaN handling.

`train(cfg)` starts a new run folder; `resume(run_dir)` continues one exactly where its last checkpoint left off.
Which networks learn what is not decided here but by the method's step (vaegan/methods.py names it,
vaegan/training/methods.py loads it).

Under torchrun every process runs this loop on its rows of each global batch (vaegan/distributed.py); the processes
agree after every step on the clock, a stop signal and a non-finite loss, so they always stop together. Only rank 0
writes: run folder, status, TensorBoard, samples, checkpoints, progress lines.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

import torch
from torch.utils.tensorboard import SummaryWriter

from vaegan.checkpoint import load_checkpoint, load_state_into, save_checkpoint
from vaegan.config import TrainConfig
from vaegan.data import ImageDataset, to_model_range
from vaegan.distributed import SINGLE, Processes, Silent
from vaegan.precision import resolve_precision, to_layout
from vaegan.resolve import check_data_fits_model, load_data, resolve, resumed_config, validate
from vaegan.training.ema import recalibrate_batchnorm, update_ema
from vaegan.training.fid_monitor import FIDMonitor, fid_monitor_for
from vaegan.training.heldout import heldout_losses
from vaegan.methods import METHODS
from vaegan.training.methods import TRAINING
from vaegan.training.progress import Progress, Rate
from vaegan.run_folder import (VAE_START_END, StatusWriter, append_metrics, check_no_live_writer, checkpoint_path,
                                create_run_folder, remove_torn_writes, samples_dir, tensorboard_dir, write_config)
from vaegan.training.signals import StoppedBySignal, stop_on_signals
from vaegan.budget import Budget
from vaegan.training.schedule import checks_due, in_vae_start
from vaegan.training.state import TrainState, build_state, set_learning_rates
from vaegan.training.tensorboard import log_scalars, write_run_header
from vaegan.training.visuals import fixed_inputs, log_visuals


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or inf: the run stops and keeps its last good checkpoint."""


def train(cfg: TrainConfig, model_overrides: dict | None = None, out: TextIO = sys.stdout,
          processes: Processes = SINGLE) -> Path:
    """Train a new run; returns its folder. The model config is resolved from the data when not given.
    processes: the torchrun group this process is part of (every process calls train with the same cfg)."""
    out = out if processes.is_main else Silent()
    given_precision = cfg.precision
    cfg, train_data, test_data = resolve(dataclasses.replace(cfg, world_size=processes.world_size), model_overrides)
    state = build_state(cfg, TRAINING[cfg.kind].optimizer_groups, train_data.images, processes)
    if cfg.init_from:
        init_from_run(state, cfg.init_from)
    run_dir = Path(processes.broadcast(str(create_run_folder(cfg)) if processes.is_main else None))
    print(f"run folder: {run_dir}", file=out, flush=True)
    print(f"precision: {cfg.precision} ({resolve_precision(given_precision, cfg.device)[1]})", file=out, flush=True)
    print(f"data: {', '.join(cfg.data.files)}", file=out, flush=True)
    if processes.is_distributed:
        print(f"processes: {processes.world_size} (global batch {cfg.batch_size}, "
              f"{cfg.batch_size // processes.world_size} per process)", file=out, flush=True)
    return run_loop(state, run_dir, test_data, out)


def resume(run_dir: str | Path, changes: dict | None = None, out: TextIO = sys.stdout,
           processes: Processes = SINGLE) -> Path:
    """Continue a run from its latest checkpoint, on any number of processes (every one reads the same checkpoint;
    the data order does not depend on how many there are).

    changes: what a resume may change (vaegan/resolve.py `resumed_config`), e.g. {"steps": 2000} (a budget replaces
    the saved one as a whole: epochs and minutes then no longer apply, so it can extend a run as well as shorten
    it) or {"log_every": 10, "device": "cuda"}.
    """
    run_dir = Path(run_dir)
    out = out if processes.is_main else Silent()
    if processes.is_main:
        check_no_live_writer(run_dir)
    path = checkpoint_path(run_dir)
    ckpt = load_checkpoint(path)
    saved = TrainConfig.from_dict(ckpt["config"])
    cfg = dataclasses.replace(resumed_config(saved, changes), world_size=processes.world_size)
    validate(cfg)
    train_data, test_data = load_data(cfg.data)
    check_data_fits_model(cfg, train_data)
    state = build_state(cfg, TRAINING[cfg.kind].optimizer_groups, train_data.images, processes)
    state.restore(ckpt, path)
    # Only once the checkpoint is known to fit: config.json must keep describing latest.pt.
    if processes.is_main and cfg != saved:
        write_config(run_dir, cfg)
    if processes.is_main and (removed := remove_torn_writes(run_dir)):
        print(f"removed {removed} temp file(s) of writes cut short in {run_dir}", file=out, flush=True)
    print(f"resuming {run_dir} at step {state.step}", file=out, flush=True)
    return run_loop(state, run_dir, test_data, out)


def init_from_run(state: TrainState, source_run: str | Path) -> None:
    """Start encoder and decoder from another run's latest checkpoint (e.g. a VAE before its VAE-GAN)."""
    path = checkpoint_path(source_run)
    ckpt = load_checkpoint(path)
    for name in ("encoder", "decoder"):
        load_state_into(state.nets[name], ckpt["nets"][name], f"network '{name}'", path)


def due_at(cfg: TrainConfig, step: int, before: float, after: float, last: bool, stopped: bool) -> set[str]:
    """What the loop does after the step that took the run to `step` (progress `before` -> `after`): the one statement
    of its cadence. last: the run ends after this step (its budget is spent, or it was stopped by a signal, stopped).

    The last step always logs, draws, checkpoints and (unless stopped: an interrupted run is scored when it resumes)
    checks FID, so every curve ends at the weights the run ends with. With fid_checks the FID checks are spaced over
    the budget (schedule.checks_due), else every fid_every steps."""
    due = {name for name, every in (("log", cfg.log_every), ("images", cfg.image_every),
                                    ("checkpoint", cfg.checkpoint_every)) if last or step % every == 0}
    if cfg.fid_checks > 0:
        fid = checks_due(before, after, cfg.fid_checks)
    else:
        fid = cfg.fid_every > 0 and (last or step % cfg.fid_every == 0)
    if fid and not stopped:
        due.add("fid")
    return due


def run_loop(state: TrainState, run_dir: Path, test_data: ImageDataset, out: TextIO) -> Path:
    cfg, processes = state.cfg, state.processes
    train_step = TRAINING[cfg.kind].train_step
    budget = Budget.of(cfg, state.batches.steps_per_epoch)
    # A time budget counts only the time spent in training steps: FID checks, images and checkpoints cost the same
    # whatever is trained, and how often a run is measured must not change how much it trains.
    state.progress = budget.progress(state.step, state.train_seconds)

    # A resumed run starts at its checkpoint. Only rank 0 writes status.json.
    status = StatusWriter(run_dir, checkpoint_step=state.step or None, write=processes.is_main)
    # "running" before any set-up: a crash from here on (e.g. missing FID weights) leaves "failed", never no status.
    status.beat(state.step, state.wall_seconds, force=True)
    writer = None
    try:
        # The handlers cover the final save too: a signal there is noted, and the save still completes.
        with stop_on_signals() as stop:
            # purge_step drops events a crashed session logged after its last checkpoint, so curves do not fork; those
            # at the checkpoint's own step (its FID, held-out loss) describe the weights resumed from and stay.
            if processes.is_main:
                writer = SummaryWriter(str(tensorboard_dir(run_dir)), purge_step=state.step + 1 if state.step else None)
                if state.step == 0:
                    write_run_header(writer, cfg)
            fixed = fixed_inputs(test_data.images, cfg.model.latent_dim, cfg.seed)
            fid_monitor = fid_monitor_for(cfg, test_data, state.batches.images, out, processes)
            progress = Progress(state.step, budget.step_limit, cfg.batch_size, cfg.progress_seconds, out)
            means = ScalarMeans()
            stats: dict[str, torch.Tensor] = {}  # stays empty when a resumed run has no budget left
            rate = Rate(state.step, cfg.batch_size)
            session_start, wall_at_start, train_at_start = time.monotonic(), state.wall_seconds, state.train_seconds

            def seconds_left() -> float | None:
                """Wall seconds until the time budget is spent, at this session's ratio of wall to training time."""
                if budget.seconds is None:
                    return None
                overhead = (state.wall_seconds - wall_at_start) / max(state.train_seconds - train_at_start, 1e-9)
                return (budget.seconds - state.train_seconds) * overhead

            stop_signal = None  # the signal that every process agreed to stop on
            while budget.left(state.step, state.train_seconds) and stop_signal is None:
                before = state.progress
                set_learning_rates(state)
                step_start = time.monotonic()
                x = to_layout(to_model_range(processes.rows(next(state.batches))).to(cfg.device), cfg.channels_last)
                stats = train_step(state, x)
                update_ema(state.ema, state.nets)
                state.step += 1
                now = time.monotonic()
                state.train_seconds += now - step_start
                state.wall_seconds = wall_at_start + now - session_start
                stop_signal = agree_after_step(state, stats, stop.signal_name, run_dir, status.checkpoint_step)
                state.progress = budget.progress(state.step, state.train_seconds)
                if ends_vae_start(cfg, before, state.progress):
                    record_vae_start_end(state, run_dir, writer, out)
                last = stop_signal is not None or not budget.left(state.step, state.train_seconds)
                due = due_at(cfg, state.step, before, state.progress, last, stopped=stop_signal is not None)
                means.add(stats)
                if "log" in due:
                    scalars = means.pop(processes)  # every process takes part: the mean over the global batch
                    if writer:
                        log_scalars(writer, state, scalars, rate.images_per_sec(state.step))
                    status.beat(state.step, state.wall_seconds)
                if state.ema and due & {"images", "fid", "checkpoint"}:
                    refresh_ema_batchnorm(state)  # the average is about to be drawn, scored or saved
                if last and stop_signal:
                    print(f"{stop_signal}: saving a checkpoint at step {state.step} before stopping", file=out, flush=True)
                if fid_monitor and "fid" in due:
                    if last:  # after the last progress line: say what the minutes after "ETA 0m00s" are spent on
                        print(f"step {state.step}: training done; the last FID check, then the last checkpoint",
                              file=out, flush=True)
                    monitor_fid(state, run_dir, writer, fid_monitor, out)
                if "checkpoint" in due:  # before the images: the last step's checkpoint is what must not be lost
                    save_with_heldout(state, run_dir, writer, test_data, status)
                if writer and "images" in due:
                    log_visuals(writer, state.ema or state.nets, fixed, state.step, samples_dir(run_dir))
                if not last and progress.update(state.step, seconds_left(),
                                                summarize(stats) if processes.is_main else ""):
                    status.beat(state.step, state.wall_seconds)
            progress.update(state.step, seconds_left(), summarize(stats) if processes.is_main else "", force=True)
            # Only now, with the last checkpoint on disk: a crash in the final save or visuals must not read "finished".
            stopped_early = budget.left(state.step, state.train_seconds)  # a stop on the very last step still finished
            status.end("interrupted" if stopped_early else "finished", state.step, state.wall_seconds,
                       f"stopped by {stop_signal}" if stop_signal and stopped_early else "")
            if not stopped_early:  # the last line says the run is done, not a progress line's "ETA 0m00s"
                print(f"finished at step {state.step} ({state.train_seconds / 60:.1f} min of training); checkpoint "
                      f"{checkpoint_path(run_dir)}", file=out, flush=True)
            processes.barrier()  # the others wait for rank 0's last save: they exit once the run is on disk
    except NonFiniteLossError as e:
        status.end("diverged", state.step, state.wall_seconds, str(e))
        raise
    except KeyboardInterrupt:  # a second Ctrl-C: stopped at once, without a final save
        status.end("interrupted", state.step, state.wall_seconds, "stopped at once by a second signal")
        raise
    except BaseException as e:
        status.end("failed", state.step, state.wall_seconds, f"{type(e).__name__}: {e}")
        raise
    finally:
        if writer is not None:
            writer.close()
    if stop_signal and stopped_early:
        raise StoppedBySignal(stop_signal, state.step, run_dir)
    return run_dir


def agree_after_step(state: TrainState, stats: dict[str, torch.Tensor], signal_name: str | None, run_dir: Path,
                     saved_step: int | None) -> str | None:
    """After each step: NonFiniteLossError if any process's loss is not finite; the stop signal any process got
    (None: go on). With several processes they agree in one all-reduce (max of clocks, signal number and a non-finite
    flag), so every one takes the same decision at the same step and none waits forever for another."""
    finite = bool(torch.isfinite(torch.stack([v.float() for v in stats.values()])).all())
    if state.processes.is_distributed:
        number = signal.Signals[signal_name].value if signal_name else 0
        mine = torch.tensor([state.wall_seconds, state.train_seconds, number, 0.0 if finite else 1.0],
                            dtype=torch.float64)
        # The slowest process's clocks: the time budget ends at the same step for all.
        state.wall_seconds, state.train_seconds, number, any_bad = state.processes.max(mine).tolist()
        signal_name = signal.Signals(int(number)).name if number else None
        if any_bad and finite:
            raise diverged_error(state.step, "a non-finite loss on another process", run_dir, saved_step)
    if not finite:
        bad = ", ".join(f"{k}={v.item():.4g}" for k, v in stats.items() if not torch.isfinite(v))
        raise diverged_error(state.step, bad, run_dir, saved_step)
    return signal_name


def diverged_error(step: int, bad: str, run_dir: Path, saved_step: int | None) -> NonFiniteLossError:
    """bad: the non-finite values, e.g. "loss/total=nan"; saved_step: step of the kept latest.pt, None: none."""
    kept = "no checkpoint had been saved yet" if saved_step is None else \
        f"the last good checkpoint (step {saved_step}) is kept in {run_dir / 'checkpoints'}"
    return NonFiniteLossError(
        f"training diverged at step {step}: {bad}. The run stopped; {kept}. "
        "Try a lower learning rate (--lr), a KL warm-up, or (VAE-GAN) the equilibrium rule."
    )


def summarize(stats: dict[str, torch.Tensor]) -> str:
    return " ".join(f"{k.split('/')[-1] if k.startswith('loss/') else k}={v.item():.4g}" for k, v in stats.items() if k.startswith("loss/"))


class ScalarMeans:
    """Means of each logged scalar since the last log step: smoother curves, and a skip rate for 0/1 flags."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}

    def add(self, stats: dict[str, torch.Tensor]) -> None:
        for k, v in stats.items():
            self.sums[k] = self.sums.get(k, 0.0) + v.float()
            self.counts[k] = self.counts.get(k, 0) + 1

    def pop(self, processes: Processes = SINGLE) -> dict[str, float]:
        """The means since the last pop, averaged over the processes (each saw its rows of the same steps)."""
        keys = list(self.sums)
        means = processes.mean(torch.stack([self.sums[k] / self.counts[k] for k in keys])).tolist() if keys else []
        self.sums, self.counts = {}, {}
        return dict(zip(keys, means))


def refresh_ema_batchnorm(state: TrainState) -> None:
    """BatchNorm statistics for the weight average's own weights (vaegan/training/ema.py), on every process alike (a
    synchronised BatchNorm averages them over the processes); the next update_ema copies the live ones back."""
    recalibrate_batchnorm(state.ema, state.batches.images, state.cfg.batch_size, seed=state.cfg.seed + 6,
                          with_prior=METHODS[state.cfg.kind].decodes_prior)


def save_with_heldout(state: TrainState, run_dir: Path, writer: SummaryWriter, test_data: ImageDataset,
                      status: StatusWriter) -> None:
    """Score the held-out split, log it, and write latest.pt (atomically) with the scores inside.

    A non-finite held-out loss means the last update broke the weights although its training loss was finite: the
    record is logged (null, "diverged": true), latest.pt keeps the previous good weights, NonFiniteLossError.
    Rank 0 alone scores and writes; the others go on (and wait for it at the next step's all-reduce)."""
    if not state.processes.is_main:
        status.checkpoint_step = state.step
        return
    record: dict = {"step": state.step, "wall_seconds": round(state.wall_seconds, 3),
                    "train_seconds": round(state.train_seconds, 3)}
    if state.cfg.eval_batches:
        record.update(heldout_losses(state.nets, test_data.images, state.cfg, state.cfg.eval_batches))
    for tag, value in record.items():
        if tag.startswith("test/"):
            writer.add_scalar(tag, value, state.step)
    bad = ", ".join(f"{k}={v:.4g}" for k, v in record.items() if k.startswith("test/") and not math.isfinite(v))
    if bad:
        append_metrics(run_dir, {**record, "diverged": True})
        raise diverged_error(state.step, f"held-out {bad}", run_dir, status.checkpoint_step)
    state.extra["last_eval"] = record
    save_checkpoint(state.checkpoint_payload(), checkpoint_path(run_dir, "latest"))
    status.checkpoint_step = state.step
    append_metrics(run_dir, record)


def ends_vae_start(cfg: TrainConfig, before: float, after: float) -> bool:
    """Whether the step that took the run's progress from `before` to `after` was the VAE start's last: the next
    one is the three phases' first (vaegan/training/vaegan_step.py)."""
    return METHODS[cfg.kind].has_vae_start and in_vae_start(cfg, before) and not in_vae_start(cfg, after)


def record_vae_start_end(state: TrainState, run_dir: Path, writer: SummaryWriter | None, out: TextIO) -> None:
    """The hand-off, in metrics.jsonl (the report marks it on the FID curves: evaluation/curves.py) and the log."""
    if writer:
        append_metrics(run_dir, {"step": state.step, "wall_seconds": round(state.wall_seconds, 3),
                                 "train_seconds": round(state.train_seconds, 3), VAE_START_END: 1.0})
    print(f"step {state.step}: the VAE start is over ({state.cfg.vaegan.vae_start:.0%} of the budget); the three "
          "phases take over", file=out, flush=True)


def monitor_fid(state: TrainState, run_dir: Path, writer: SummaryWriter, monitor: FIDMonitor, out: TextIO) -> None:
    """Score the fixed prior samples; a new best FID also becomes checkpoints/best.pt. Every process scores its share
    of the samples and gets the same scores (vaegan/training/fid_monitor.py); rank 0 writes."""
    started = time.perf_counter()
    scores, fid_key = monitor(state.nets, state.ema)
    # Its cost beside the training time it interrupts: checks come on top of a --minutes budget.
    took = time.perf_counter() - started
    record = {"step": state.step, "wall_seconds": round(state.wall_seconds, 3),
              "train_seconds": round(state.train_seconds, 3), **scores, "time/fid_check_seconds": round(took, 3)}
    if writer:
        for tag, value in record.items():
            if "/" in tag:
                writer.add_scalar(tag, value, state.step)
        append_metrics(run_dir, record)
    best = state.extra.get("best_fid")
    if best is None or record[fid_key] < best["value"]:
        state.extra["best_fid"] = {"value": record[fid_key], "step": state.step, "key": fid_key}
        if writer:
            save_checkpoint(state.checkpoint_payload(), checkpoint_path(run_dir, "best"))
    print(f"step {state.step}: {fid_key}={record[fid_key]:.3f} (best {state.extra['best_fid']['value']:.3f} at step "
          f"{state.extra['best_fid']['step']}), sharpness ratio {record['sharpness/laplacian_ratio']:.3f}; the check took "
          f"{took:.1f} s", file=out, flush=True)


__all__ = ["train", "resume", "NonFiniteLossError"]
