"""The run folder without training: numbers claimed once under concurrency, status.json and its staleness, strict
metrics.jsonl, and how the compare driver treats a run whose process is gone."""

import dataclasses
import json
import math
import socket
import subprocess
import sys
import threading
import time

import pytest

from vaegan.config import TrainConfig
from vaegan.experiment import plan_run
from vaegan.evaluation.curves import fid_curves
from vaegan.models import resolve_model_config
from vaegan.run_folder import (STALE_AFTER_SECONDS, append_metrics, checkpoint_path, claim_numbered_folder,
                               create_run_folder, read_metrics, read_status, status_path, write_status)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_concurrent_runs_with_different_names_get_distinct_numbers(tmp_path):
    (tmp_path / "00004-made-before-claims").mkdir()  # numbers in use without a claim are skipped too
    n = 24
    barrier, names, errors = threading.Barrier(n), [], []

    def make(i: int) -> None:
        try:
            cfg = TrainConfig(runs_dir=str(tmp_path), run_name=f"name{i}")
            barrier.wait()
            names.append(create_run_folder(cfg).name)
        except Exception as e:  # reported below, not lost in a thread
            errors.append(e)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(int(name[:5]) for name in names)
    assert numbers == list(range(5, 5 + n))
    assert all((tmp_path / name / "config.json").is_file() for name in names)


def test_a_deleted_folder_s_number_is_never_handed_out_again(tmp_path):
    first = claim_numbered_folder(tmp_path, "a")
    first.rmdir()
    assert claim_numbered_folder(tmp_path, "b").name == "00001-b"


def test_status_round_trips_with_pid_host_and_heartbeat(tmp_path):
    write_status(tmp_path, "failed", 40, 12.3456, 30, "OSError: disk full\nmore detail")
    status = read_status(tmp_path)
    assert (status.status, status.step, status.wall_seconds, status.checkpoint_step) == ("failed", 40, 12.346, 30)
    assert status.message == "OSError: disk full" and status.host == socket.gethostname()
    assert status.heartbeat is not None and abs(status.heartbeat - time.time()) < 60 and status.stale == ""
    assert status.summary == "failed at step 40 (OSError: disk full), last checkpoint step 30"
    assert read_status(tmp_path / "nowhere").status == "unknown"


def test_a_running_status_whose_process_is_gone_is_stale(tmp_path):
    write_status(tmp_path, "running", 40, 1.0, 30)
    assert read_status(tmp_path).stale == ""  # this very process: alive
    record = json.loads(status_path(tmp_path).read_text())
    status_path(tmp_path).write_text(json.dumps({**record, "pid": dead_pid()}))
    status = read_status(tmp_path)
    assert status.stale == "stale: process gone"
    assert status.summary == "running (stale: process gone) at step 40, last checkpoint step 30"
    # another host: judged by the heartbeat's age alone
    status_path(tmp_path).write_text(json.dumps({**record, "host": "elsewhere"}))
    assert read_status(tmp_path).stale == ""
    assert read_status(tmp_path, now=record["heartbeat"] + STALE_AFTER_SECONDS + 60).stale.startswith(
        "stale: no heartbeat from elsewhere")


def test_metrics_are_strict_json_with_null_for_non_finite_values(tmp_path):
    append_metrics(tmp_path, {"step": 2, "test/neg_elbo": float("nan"), "fid/domain": 50.0})
    append_metrics(tmp_path, {"step": 4, "test/neg_elbo": 200.0, "fid/domain": float("inf")})

    def refuse(name):
        raise ValueError(f"{name} in metrics.jsonl")

    lines = [json.loads(line, parse_constant=refuse) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines[0]["test/neg_elbo"] is None and lines[1]["fid/domain"] is None
    records = read_metrics(tmp_path)
    assert records[2]["test/neg_elbo"] is None
    curve = fid_curves(records)["fid/domain"]  # the null point is left out, not a crash
    assert (curve.steps, curve.values) == ([2], [50.0]) and all(math.isfinite(v) for v in curve.values)


def test_compare_resumes_a_stale_running_run_and_leaves_a_live_one_alone(tmp_path):
    cfg = dataclasses.replace(TrainConfig(steps=10), runs_dir=str(tmp_path), model=resolve_model_config("auto", 28, 1))
    run = create_run_folder(cfg)
    checkpoint_path(run).write_bytes(b"a checkpoint")
    write_status(run, "running", 7, 1.0, 5)
    plan = plan_run(cfg)
    assert plan.action == "train" and "another process may be training it, pid" in plan.skipped[0]
    record = json.loads(status_path(run).read_text())
    status_path(run).write_text(json.dumps({**record, "pid": dead_pid()}))
    plan = plan_run(cfg)
    assert (plan.action, plan.run_dir, plan.status) == ("resume", run, "running (stale: process gone)")
    write_status(run, "failed", 7, 1.0, 5, "OSError: disk full")
    assert plan_run(cfg).action == "resume"


def test_resume_refuses_a_live_writer_and_clears_the_temp_files_of_killed_writes(tiny_config):
    from vaegan.training.loop import resume, train

    run = train(tiny_config(steps=2))
    torn = run / "checkpoints" / ".latest.pt.k1ll3d.tmp"  # what a SIGKILL during atomic_write leaves behind
    torn.write_bytes(b"half a checkpoint")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_status(run, "running", 2, 1.0, 2)
        record = json.loads(status_path(run).read_text())
        status_path(run).write_text(json.dumps({**record, "pid": live.pid}))  # another process, alive, training it
        with pytest.raises(ValueError, match=f"being trained by process {live.pid}"):
            resume(run, {"steps": 3})
        assert torn.exists()  # a live writer's temp file is not ours to delete
    finally:
        live.kill()
        live.wait()
    resume(run, {"steps": 3})  # the process is gone: the run is stale, and resuming it is safe
    assert not torn.exists() and read_status(run).status == "finished"
