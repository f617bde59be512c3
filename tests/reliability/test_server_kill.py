"""A hard kill of the dashboard server itself leaves no node process behind.

Nothing in the server runs when it is killed with SIGKILL: no handler, no
``finally``. Each node must notice on its own that its control link to the
supervisor (inside the server) closed, and exit (backend/node/process.py).
The server is started as a user would (``python -m backend.web``, eventlet)
and only its own process is killed, not its process group, so that nothing
but the nodes' own exit can make them go.
"""

from __future__ import annotations

import os
import signal

from tests.conftest import pid_alive, wait_for
from tests.e2e.conftest import start_server, stop_server

NODES = 3


def test_a_sigkill_of_the_dashboard_server_leaves_no_node_process(tmp_path):
    server = start_server(tmp_path, "--nodes", str(NODES), "--tx-rate", "2")
    pids: list[int] = []
    try:
        state = wait_for(
            lambda: (s := server.state()) and all(n["pid"] for n in s["nodes"])
            and s, timeout_s=60, what="every node to report its pid")
        pids = [n["pid"] for n in state["nodes"]]
        assert len(pids) == NODES and all(pid_alive(p) for p in pids)

        server.proc.kill()  # SIGKILL on POSIX: the server runs no code at all
        server.proc.wait(timeout=30)

        wait_for(lambda: not any(pid_alive(p) for p in pids), timeout_s=30,
                 what="node processes to exit after the server was killed")
    finally:
        stop_server(server)
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
