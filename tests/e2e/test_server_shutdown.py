"""The server's entry point: SIGTERM stops it cleanly and leaves no node behind."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.e2e.conftest import pid_alive, start_server, stop_server


@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_sigterm_to_the_server_alone_reaps_every_node(tmp_path: Path,
                                                      mode: str) -> None:
    server = start_server(tmp_path, "--nodes", "3", "--async-mode", mode)
    try:
        pids = [n["pid"] for n in server.state()["nodes"]]
        assert len(pids) == 3 and all(pid_alive(p) for p in pids)

        # Only the server gets the signal, not its group: stopping the nodes
        # is the server's own job.
        os.kill(server.proc.pid, signal.SIGTERM)
        assert server.proc.wait(timeout=30) == 0  # a requested, clean stop
        wait_for(lambda: not any(pid_alive(p) for p in pids), 10,
                 "every node process to be gone")
    finally:
        stop_server(server)
    assert "every node process reaped" in server.log_path.read_text()


def test_bad_command_line_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="nodes must be between 3 and 15"):
        start_server(tmp_path, "--nodes", "40")
