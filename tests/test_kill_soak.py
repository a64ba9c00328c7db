"""scripts/dev/kill_soak.py with 4 kills (`python scripts/dev/kill_soak.py` makes 20): a VAE-GAN run killed with SIGKILL inside
checkpoint writes, in training and while starting, and resumed each time, ends bit for bit where an uninterrupted run
ends. About 35 s of CPU: most of it is starting Python and torch once per session."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "dev" / "kill_soak.py"


def load_script():
    spec = importlib.util.spec_from_file_location("kill_soak", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["kill_soak"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_killed_and_resumed_run_ends_bit_exact(tmp_path, fashion_mnist, capsys):
    soak = load_script()
    result = soak.run_soak(soak.SoakOptions(kills=4, seed=1, work_dir=tmp_path))
    assert [k.number for k in result.kills] == [1, 2, 3, 4]
    assert {k.kind for k in result.kills} == {"write", "training", "start"}
    assert result.resumes_trained >= 1
    assert result.in_write >= 1, "no kill landed inside a checkpoint write"
    assert result.differences == [] and result.bit_exact, result.differences
    assert "in a checkpoint write: yes" in capsys.readouterr().out


def test_comparison_sees_one_flipped_bit_and_ignores_wall_clock():
    soak = load_script()
    a = {"nets": {"w": torch.zeros(3)}, "step": 6, "wall_seconds": 1.0, "extra": {"last_eval": {"wall_seconds": 2.0}}}
    b = {"nets": {"w": torch.tensor([0.0, -0.0, 0.0])}, "step": 6, "wall_seconds": 9.0,
         "extra": {"last_eval": {"wall_seconds": 3.0}}}
    assert soak.differences(a, a) == ([], 1, 1)
    assert soak.differences(a, b)[0] == ["/nets/w: tensors differ"]  # -0.0 == 0.0 numerically, not bitwise
    assert soak.differences(a, {**a, "step": 7})[0] == ["/step: 6 != 7"]
