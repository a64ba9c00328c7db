"""Data-parallel training on 2 CPU processes (gloo): the same weights on every process after every step, equal to one
process with the same global batch; the FID of 2 processes equals that of 1; a 2-process run resumes on 1 process;
a signal stops all processes after one save; a process that dies makes the other stop with a clear error.

Workers run under torch.multiprocessing (spawned) or torchrun (the real CLI); each uses one thread, so the two do
not fight over this machine's cores.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from vaegan.config import DataConfig, TrainConfig
from vaegan.data import load_dataset, to_model_range
from vaegan import distributed
from vaegan.distributed import Processes, SINGLE
from vaegan.models import resolve_model_config
from vaegan.run_folder import checkpoint_path, read_status
from vaegan.training.fid_monitor import FIDMonitor
from vaegan.training.methods import TRAINING
from vaegan.training.state import build_state
from metrics import get_extractor

REPO = Path(__file__).resolve().parents[1]
STEPS = 4
GLOBAL_BATCH = 16
ADAM_EPS = 1e-2


def small_config(kind: str, **changes) -> TrainConfig:
    model = dataclasses.replace(resolve_model_config("auto", 28, 1), enc_channels=(8, 16, 16), enc_fc=32,
                                dec_base_channels=16, dec_channels=(16, 8), dis_first_channels=8,
                                dis_channels=(16, 16, 16), dis_fc=32)
    return dataclasses.replace(TrainConfig(kind=kind, batch_size=GLOBAL_BATCH, model=model, fid_every=0,
                                           precision="fp32"), **changes)  # the same arithmetic on every CPU kind


def real_images(n: int = 64) -> torch.Tensor:
    return load_dataset("fashion_mnist", "train", limit=n).images


def flat_weights(state) -> torch.Tensor:
    """Every floating-point parameter and buffer of every network, one vector."""
    return torch.cat([t.detach().reshape(-1).float() for name in sorted(state.nets)
                      for t in state.nets[name].state_dict().values() if t.is_floating_point()])


def train_steps(cfg: TrainConfig, processes: Processes, images: torch.Tensor, steps: int) -> list[torch.Tensor]:
    """The weights after each of `steps` steps of cfg.kind's step on this process's rows of each global batch."""
    state = build_state(cfg, TRAINING[cfg.kind].optimizer_groups, images, processes)
    for optimizer in state.optimizers.values():
        # Adam's first step is lr * g / (|g| + eps): a gradient that is zero up to round-off (a bias right before a
        # BatchNorm: ~1e-5 here, beside gradients of 1 to 100) would become a full step of random sign. With a large
        # eps the update is a smooth function of the gradient, so the comparison measures the distributed
        # gradients, not Adam's conditioning. (They agree to ~1e-5 relative before the optimizer.)
        for group in optimizer.param_groups:
            group["eps"] = ADAM_EPS
    after = []
    for _ in range(steps):
        x = to_model_range(processes.rows(next(state.batches))).contiguous(memory_format=torch.channels_last)
        TRAINING[cfg.kind].train_step(state, x)
        state.step += 1
        after.append(flat_weights(state))
    return after


def relative_gap(a: torch.Tensor, b: torch.Tensor, start: torch.Tensor) -> float:
    """|a - b| / |b - start|: how far two runs' weights are apart, relative to how far training moved them."""
    return float((a - b).norm() / (b - start).norm())


def join(rank: int, world_size: int, rendezvous: Path) -> Processes:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(seconds=120))
    return Processes(rank, world_size)


def worker_train(rank: int, kind: str, out_dir: str) -> None:
    processes = join(rank, 2, Path(out_dir) / "rendezvous")
    cfg = small_config(kind, sync_batchnorm=True, world_size=2)
    after = train_steps(cfg, processes, real_images(), STEPS)
    for step, weights in enumerate(after, 1):
        mine, other = processes.gather(weights)
        # Bit for bit: both apply the same averaged gradients to the same weights.
        assert torch.equal(mine, other), f"rank 0 and rank 1 differ after step {step}"
    if rank == 0:
        torch.save(after, Path(out_dir) / "two_processes.pt")
    dist.destroy_process_group()


def spawn(fn, *args, timeout: float = 300) -> list[int]:
    """Run fn(rank, *args) in 2 fresh processes; their exit codes. (Not mp.spawn: it kills the others as soon as one
    fails, and a test here needs to see what the survivor does.)"""
    context = mp.get_context("spawn")
    procs = [context.Process(target=fn, args=(rank, *args)) for rank in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout)
        if p.is_alive():
            p.kill()
    return [p.exitcode for p in procs]


def spawn_ok(fn, *args) -> None:
    assert spawn(fn, *args) == [0, 0], "a worker failed: its traceback is in the captured stderr"


@pytest.mark.parametrize("kind", ["vae", "vaegan"])
def test_two_processes_keep_equal_weights_and_train_as_one_process_with_the_global_batch(kind, tmp_path, fashion_mnist):
    spawn_ok(worker_train, kind, str(tmp_path))
    two = torch.load(tmp_path / "two_processes.pt")
    torch.manual_seed(0)
    one = train_steps(small_config(kind, sync_batchnorm=True), SINGLE, real_images(), STEPS)
    start = flat_weights(build_state(small_config(kind), TRAINING[kind].optimizer_groups, real_images()))
    for step, (a, b) in enumerate(zip(two, one), 1):
        assert (b - start).abs().max() > 1e-3, "the weights did not move: the comparison would prove nothing"
        # Relative to how far the weights moved: round-off (other batch splits, other thread counts) gives ~1e-4,
        # a dropped or doubled gradient or per-process BatchNorm statistics give 1e-2 and more (the test below).
        assert relative_gap(a, b, start) < 2e-3, f"after step {step}: {relative_gap(a, b, start):.2e}"


def worker_train_without_sync(rank: int, out_dir: str) -> None:
    processes = join(rank, 2, Path(out_dir) / "rendezvous")
    after = train_steps(small_config("vae", world_size=2), processes, real_images(), 2)
    if rank == 0:
        torch.save(after, Path(out_dir) / "two_processes.pt")
    dist.destroy_process_group()


def test_without_sync_batchnorm_each_process_normalises_its_own_rows(tmp_path, fashion_mnist):
    """The flag's effect, and the check that the equality above could fail: per-process BatchNorm statistics give
    other weights than one process with the global batch."""
    spawn_ok(worker_train_without_sync, str(tmp_path))
    two = torch.load(tmp_path / "two_processes.pt")
    one = train_steps(small_config("vae"), SINGLE, real_images(), 2)
    start = flat_weights(build_state(small_config("vae"), TRAINING["vae"].optimizer_groups, real_images()))
    assert relative_gap(two[-1], one[-1], start) > 2e-2


def worker_fid(rank: int, out_dir: str) -> None:
    processes = join(rank, 2, Path(out_dir) / "rendezvous")
    torch.save(monitor_scores(processes, out_dir), Path(out_dir) / f"fid_rank{rank}.pt")
    dist.destroy_process_group()


def monitor_scores(processes: Processes, out_dir: str) -> dict:
    cfg = small_config("vae", fid_every=1, fid_samples=301, fid_gmm_images=200, runs_dir=str(Path(out_dir) / "runs"),
                       data=DataConfig(limit=256))
    test = load_dataset("fashion_mnist", "test")
    state = build_state(cfg, TRAINING["vae"].optimizer_groups, real_images(256))
    # rank 0 first: it computes and caches the real statistics
    monitor = processes.main_first(lambda: FIDMonitor(cfg, get_extractor("domain"), test, state.batches.images,
                                                      processes))
    return monitor(state.nets, state.ema)[0]


def test_a_two_process_fid_equals_the_one_process_fid(tmp_path, fashion_mnist):
    """301 samples: the shares are uneven (151 + 150), and the mixture fitted by rank 0 reaches rank 1."""
    spawn_ok(worker_fid, str(tmp_path))
    rank0, rank1 = (torch.load(tmp_path / f"fid_rank{r}.pt") for r in (0, 1))
    one = monitor_scores(SINGLE, str(tmp_path))
    assert rank0 == rank1
    assert set(one) == set(rank0) and "fid_gmm/domain" in one
    for key, value in one.items():
        # Equal up to the round-off of other batch compositions in the extractor (~1e-9 relative seen).
        assert rank0[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def torchrun(args: list[str], nproc: int, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            **kwargs)


def cli(kind: str, *flags: str) -> list[str]:
    return [str(REPO / "scripts" / f"train_{kind}.py"), "--limit", "256", "--batch-size", str(GLOBAL_BATCH),
            "--latent-dim", "8", "--fid-every", "0", "--progress-seconds", "3600", *flags]


def only_run(runs: Path) -> Path:
    (run,) = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return run


def test_torchrun_trains_on_two_processes_writes_once_and_resumes_on_one(tmp_path, fashion_mnist):
    runs = tmp_path / "runs"
    proc = torchrun(cli("vaegan", "--steps", "3", "--runs-dir", str(runs), "--sync-batchnorm"), nproc=2)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    run = only_run(runs)  # one run folder, written by rank 0 alone
    assert out.count("run folder:") == 1
    assert "processes: 2 (global batch 16, 8 per process)" in out
    ckpt = torch.load(checkpoint_path(run), weights_only=False)
    assert ckpt["step"] == 3 and ckpt["config"]["world_size"] == 2 and ckpt["config"]["sync_batchnorm"] is True
    assert read_status(run).status == "finished"

    resume = [str(REPO / "scripts" / "train_vaegan.py"), "--resume", str(run), "--steps", "5"]
    resumed = subprocess.run([sys.executable, *resume], cwd=REPO,
                             capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resuming" in resumed.stdout and "at step 3" in resumed.stdout
    after = torch.load(checkpoint_path(run), weights_only=False)
    assert after["step"] == 5 and after["config"]["world_size"] == 1
    assert json.loads((run / "config.json").read_text())["world_size"] == 1
    # The global batch order does not depend on the number of processes: the iterator went on where it stopped.
    assert after["batches"]["position"] == 5 * GLOBAL_BATCH


def test_sigterm_to_torchrun_saves_once_and_every_process_stops(tmp_path, fashion_mnist):
    runs = tmp_path / "runs"
    proc = torchrun(cli("vae", "--steps", "100000", "--runs-dir", str(runs), "--log-every", "1"), nproc=2,
                    start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(runs.glob("*/tensorboard/*")):
        time.sleep(0.5)
    time.sleep(3)  # a few steps in
    os.killpg(proc.pid, signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    run = only_run(runs)
    status = read_status(run)
    assert status.status == "interrupted" and "SIGTERM" in status.message, status
    ckpt = torch.load(checkpoint_path(run), weights_only=False)
    assert ckpt["step"] == status.step > 0
    assert out.count("saving a checkpoint at step") == 1, out


def worker_dies(rank: int, out_dir: str) -> None:
    processes = join(rank, 2, Path(out_dir) / "rendezvous")
    if rank == 1:
        os._exit(3)  # dies without a word, as a killed process would
    try:
        processes.average_([torch.ones(3)])
    except Exception as e:  # noqa: BLE001 - the test reads what a user would see
        (Path(out_dir) / "error.txt").write_text(f"{type(e).__name__}: {e}")
    finally:
        # As the scripts do (vaegan/cli.py): leaving gloo's group to the interpreter's exit can abort the process
        # ("terminate called without an active exception") instead of exiting with its own code.
        distributed.stop()


def test_a_process_that_dies_makes_the_other_stop_with_a_clear_error(tmp_path):
    assert spawn(worker_dies, str(tmp_path), timeout=150) == [0, 3]
    message = (tmp_path / "error.txt").read_text()
    assert message.startswith("DistributedError: rank 0: could not average gradients: another process died")
    assert "--resume" in message


def test_evaluate_on_two_processes_gives_the_one_process_report_numbers(tiny_config, tmp_path):
    from vaegan.training.loop import train
    run = train(tiny_config("vae", steps=2), out=open(os.devnull, "w"))
    flags = ["--samples", "150", "--reference-size", "301", "--samplers", "prior,gmm"]
    one = subprocess.run([sys.executable, str(REPO / "scripts" / "evaluate.py"), str(run), "--out", str(tmp_path / "one"),
                          *flags], cwd=REPO, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert one.returncode == 0, one.stdout + one.stderr
    proc = torchrun([str(REPO / "scripts" / "evaluate.py"), str(run), "--out", str(tmp_path / "two"), *flags], nproc=2)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert out.count("report:") == 1  # rank 0 alone speaks and writes
    a, b = (json.loads((tmp_path / name / "metrics.json").read_text())["runs"][0] for name in ("one", "two"))
    for sampler in ("prior", "gmm"):
        for key in ("fid", "kid", "sample_laplacian_ratio"):
            assert b["sample_scores"][sampler][key] == pytest.approx(a["sample_scores"][sampler][key], rel=1e-6), \
                (sampler, key)
    assert b["scores"]["recon_fid"] == pytest.approx(a["scores"]["recon_fid"], rel=1e-6)
    for title, edit in a["attribute_edits"].items():  # rank 0 saved the attribute vectors, rank 1 read them back
        assert b["attribute_edits"][title]["p_target"] == pytest.approx(edit["p_target"], rel=1e-6), title
