"""End-to-end set-up: the real dashboard server as a subprocess, Debian's Chromium.

The server runs in its own process group (``start_new_session=True``) with
eventlet, as a user would run it; this pytest process stays unpatched, which
is what keeps Playwright from hanging after the tests (STACK.md). The server
is stopped with SIGTERM to its group and always reaped, then the test checks
that none of its node processes survived.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import pid_alive

ROOT = Path(__file__).resolve().parents[2]
#: Δ small enough that a block is final within about a second.
DELTA_S = 0.15
START_TIMEOUT_S = 60.0


@dataclass
class LiveServer:
    """A dashboard server process and the URL it listens on."""

    proc: subprocess.Popen[str]
    url: str
    log_path: Path
    node_pids: set[int] = field(default_factory=set)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as reply:
            return json.loads(reply.read())

    def state(self) -> dict[str, Any]:
        state = self.get("api/state")
        self.node_pids.update(n["pid"] for n in state["nodes"] if n["pid"])
        return state

    def node(self, node_id: int) -> dict[str, Any]:
        return next(n for n in self.state()["nodes"] if n["id"] == node_id)


def start_server(tmp: Path, *extra: str) -> LiveServer:
    """Start ``python -m backend.web`` on a free port; wait for its announcement."""
    log_path = tmp / "server.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend.web", "--port", "0", "--delta",
             str(DELTA_S), "--data-dir", str(tmp / "stores"), *extra],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=log_file, text=True, start_new_session=True)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            line = ""
        if "dashboard on http://" in line:
            url = line.split(" on ", 1)[1].strip()
            server = LiveServer(proc, url, log_path)
            server.state()
            return server
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(LiveServer(proc, "", log_path))
            raise RuntimeError("the dashboard did not start:\n" + log_path.read_text())


def stop_server(server: LiveServer) -> int:
    """SIGTERM the server's group, reap it; SIGKILL if it will not go."""
    proc = server.proc
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("dashboard"))
    try:
        yield server
    finally:
        stop_server(server)
        # A node must not outlive the server. Nodes run in the server's
        # session, so the group kill above reached them as well; the check is
        # that the server's own SIGTERM path left nothing behind.
        survivors = [pid for pid in server.node_pids if pid_alive(pid)]
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
        assert not survivors, f"node processes outlived the server: {survivors}"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium: Playwright must not download a browser of its own."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": path,
            "args": ["--disable-gpu"]}


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(autouse=True)
def server_log_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """When a browser test fails, show the end of the server's log with it."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is None or not report.failed or "live_server" not in request.fixturenames:
        return
    server = request.getfixturevalue("live_server")
    tail = server.log_path.read_text(errors="replace").splitlines()[-40:]
    print("--- end of the server log ---\n" + "\n".join(tail))
