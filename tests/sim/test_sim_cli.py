"""``python -m backend.sim``: output and exit codes (0, 1, 2, 3, 64)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backend.sim.cli import main, parse_seeds

ROOT = Path(__file__).resolve().parents[2]
BROKEN = "tests.sim.sim_broken_cores"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backend.sim", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_passing_seed_prints_its_parameters_and_exits_0() -> None:
    done = _run("--seeds", "4", "--epochs", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "seed=4" in done.stdout and "clock_skew_ticks=" in done.stdout
    assert "seeds run: 1  ok: 1" in done.stdout


def test_cli_safety_violation_exits_1_with_every_parameter() -> None:
    done = _run("--seeds", "3", "--core", f"{BROKEN}:VotesTwice", "--quiet")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "SAFETY" in done.stdout and "voted twice" in done.stdout
    for name in ("n=", "leader=", "echo=", "delay_max_ticks=", "crash_probability=",
                 "network_seed="):
        assert name in done.stdout


@pytest.mark.parametrize(("core", "code"), [
    ("NeverProposes", 2), ("CrashesInEpoch5", 3), ("VotesTwice", 1)])
def test_cli_exit_code_names_the_kind_of_failure(core, code, capsys) -> None:
    assert main(["--seeds", "1-2", "--epochs", "8", "--quiet",
                 "--core", f"{BROKEN}:{core}"]) == code
    out = capsys.readouterr().out
    assert "seeds run: 2  ok: 0" in out


@pytest.mark.parametrize("args", [
    ["--seeds", "5-1"], ["--seeds", "x"], ["--n", "2"], ["--n", "10"],
    ["--epochs", "0"], ["--max-delay", "0"], ["--core", "nosuch.module:X"],
    ["--core", "backend.core:GENESIS"], ["--leader", "random"], ["--bogus"],
])
def test_cli_bad_usage_exits_64(args, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(args)
    assert stop.value.code == 64
    assert "error:" in capsys.readouterr().err


def test_cli_summary_counts_seeds_and_epochs(capsys) -> None:
    assert main(["--seeds", "1,3-4", "--epochs", "6", "--no-wire"]) == 0
    out = capsys.readouterr().out
    assert out.count("\nseed ") + out.startswith("seed ") == 3
    assert "seeds run: 3  ok: 3" in out
    assert "epochs to a new final block after faults stop: median" in out
    assert "epochs/s" in out


def test_seed_lists_and_ranges() -> None:
    assert parse_seeds("7") == [7]
    assert parse_seeds("1-3,9") == [1, 2, 3, 9]
