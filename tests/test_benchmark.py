"""scripts/dev/benchmark.py --quick, in process: every row of the table is there and filled (no timing is checked)."""

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "dev" / "benchmark.py"
ROWS = [
    "VAE training, img/s",
    "VAE-GAN training, img/s",
    "VAE-GAN (CPPN decoder) training, img/s",
    "VAE-GAN step in VAE steps",
    "VAE step, GFLOP/s (share of matmul peak)",
    "VAE-GAN step, GFLOP/s (share of matmul peak)",
    "Matmul peak, GFLOP/s",
    "Inception features, img/s (ours)",
    "Inception features, img/s (pytorch-fid)",
    "FID, 2 test images vs blurred (ours)",
    "Fréchet distance D=64, s",
    "Main job (scripts/compare.py defaults), wall",
]


@pytest.fixture
def benchmark(monkeypatch):
    spec = importlib.util.spec_from_file_location("benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "benchmark", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_quick_run_prints_every_row(benchmark, fashion_mnist, capsys):
    pytest.importorskip("pytorch_fid", reason="the table compares with pytorch-fid (a dev dependency)")
    table = benchmark.main(["--quick"])
    assert table in capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0] == "| Measurement | fp32 | bf16 | Notes |"
    cells = {line.split(" | ")[0].removeprefix("| "): line.split(" | ")[1:3] for line in lines[2:]}
    assert list(cells) == ROWS
    for name, (fp32, bf16) in cells.items():
        assert fp32 and bf16, name
        assert "nan" not in fp32 + bf16 and "inf" not in fp32 + bf16, name
    assert cells["Main job (scripts/compare.py defaults), wall"][0] == "not run (use --main-job)"
