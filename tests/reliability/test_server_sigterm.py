"""SIGTERM to the dashboard server stops it and its nodes while events flow.

Under eventlet every green thread runs in the main OS thread, so a signal
handler may interrupt any of them. When SIGTERM landed in the cluster's
relay (busy at a small Δ with every message traced), the exception ended
that green thread alone: the server went on serving and its nodes outlived
it once it was killed (3 of 8 tries before the fix). Only the server's own
process gets the signal, not its group, so that nothing but the server's
clean-up can stop the nodes.
"""

from __future__ import annotations

import os
import signal
import subprocess

from tests.conftest import pid_alive, wait_for
from tests.e2e.conftest import start_server, stop_server

TRIES = 3


def test_sigterm_during_a_busy_relay_stops_the_server_and_every_node(tmp_path):
    for attempt in range(TRIES):
        folder = tmp_path / f"try-{attempt}"
        folder.mkdir()
        server = start_server(folder, "--nodes", "5", "--delta", "0.05")
        pids: list[int] = []
        try:
            state = wait_for(
                lambda s=server: (st := s.state()) and st["relay"]["received"]
                > 2_000 and all(n["pid"] for n in st["nodes"]) and st,
                timeout_s=60, what="a busy relay and every node's pid")
            pids = [n["pid"] for n in state["nodes"]]

            server.proc.send_signal(signal.SIGTERM)
            try:
                server.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"try {attempt}: the server ignored "
                                     "SIGTERM") from None
            assert server.proc.returncode == 0
            # The server reaped its nodes before it exited.
            assert not [p for p in pids if pid_alive(p)]
        finally:
            stop_server(server)
            for pid in pids:
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)
