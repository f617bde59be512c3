"""The server's entry point: SIGTERM stops it cleanly and leaves no node behind."""

from __future__ import annotations

import json
import os
import signal
import urllib.request
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


def post(server, path: str, body: dict) -> dict:
    request = urllib.request.Request(server.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def test_new_cluster_and_scenario_replace_every_process(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--nodes", "3")
    try:
        old = [n["pid"] for n in server.state()["nodes"]]

        state = post(server, "api/cluster", {"nodes": 4})
        assert [n["status"] for n in state["nodes"]] == ["running"] * 4
        wait_for(lambda: not any(pid_alive(p) for p in old), 10, "old nodes gone")

        # A second replacement in the same server: under eventlet this is where
        # reused file descriptors used to make the new cluster fail to start.
        state = post(server, "api/scenarios/crash-and-recover", {})
        assert len(state["nodes"]) == 5
        wait_for(lambda: server.node(2)["status"] == "crashed", 30,
                 "the scenario to crash node 2 at epoch 5")
        wait_for(lambda: max(n["finalized_height"] for n in server.state()["nodes"])
                 > 0, 30, "a finalized block in the scenario's cluster")
    finally:
        stop_server(server)
    assert all(not pid_alive(p) for p in server.node_pids)
