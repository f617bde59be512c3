"""The server's first cluster, started before the web stack and taken over.

``backend.web.launch`` starts the nodes before Flask and Socket.IO are
imported (start-up time, docs/PERFORMANCE.md); the dashboard then adopts the
running cluster. Nothing the nodes said meanwhile may be lost, and the run
folder must be the dashboard's own. Real node processes, reaped at the end.
"""

from __future__ import annotations

import subprocess
import sys

from backend.web.app import create_app
from backend.web.launch import launch_cluster
from backend.web.runs import RECORDING
from tests.conftest import wait_for

SETTINGS = {"nodes": 3, "delta": 0.05}


def test_the_dashboard_takes_over_a_launched_cluster_and_records_it_all(tmp_path):
    launched = launch_cluster({**SETTINGS, "data_dir": str(tmp_path)})
    app = create_app(settings={**SETTINGS, "data_dir": str(tmp_path)},
                     async_mode="threading", start=False, runs=launched.runs)
    dashboard = app.extensions["streamlet"]
    try:
        dashboard.start(launched=launched)
        assert dashboard.cluster is launched.cluster
        assert dashboard.runs is launched.runs
        wait_for(lambda: dashboard.relay_once() >= 0
                 and dashboard.observer.safety()["final_height"] >= 1,
                 timeout_s=20, what="a finalized block in the dashboard's view")
        recording = (launched.run_dir / RECORDING).read_text().splitlines()
        spawned = [line for line in recording[1:4] if '"node_status"' in line]
        assert len(spawned) == 3  # the events from before the takeover
    finally:
        dashboard.shutdown()
    procs = [h.proc for h in launched.cluster.nodes.values()]
    assert all(p is None or p.poll() is not None for p in procs)


def test_launching_imports_neither_the_web_stack_nor_networkx():
    # The point of launching early: these imports overlap the nodes' start.
    code = ("import sys, backend.web.launch\n"
            "slow = {'flask', 'flask_socketio', 'socketio', 'engineio', 'networkx'}\n"
            "print(sorted(slow & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
