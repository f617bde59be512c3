"""No node process outlives its supervisor: SIGTERM, Ctrl-C or a hard kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import pid_alive, wait_for

ROOT = Path(__file__).resolve().parents[2]


def _start_runner():
    proc = subprocess.Popen(
        [sys.executable, "run.py", "--headless", "--nodes", "3", "--epochs", "100000",
         "--delta", "0.05"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True)
    pids: list[int] = []
    for line in proc.stdout:
        if line.startswith("pids: "):
            pids = [int(p.split("=")[1]) for p in line.split()[1:]]
        if line.startswith("epoch") and pids:
            return proc, pids
    proc.kill()
    proc.wait()
    pytest.fail("the runner never reached epoch 1")


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_stopping_the_runner_leaves_no_node_process(how):
    proc, pids = _start_runner()
    try:
        assert all(pid_alive(p) for p in pids)
        proc.send_signal(how)
        proc.wait(timeout=30)
        # After a hard kill the nodes notice their control link closed and exit.
        wait_for(lambda: not any(pid_alive(p) for p in pids), timeout_s=15,
                 what="node processes to exit")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
