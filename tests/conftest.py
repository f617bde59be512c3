"""Shared test set-up: the project root on sys.path, deadline waits, pids."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def wait_for(condition: Callable[[], object], timeout_s: float = 30.0,
             what: str = "condition") -> object:
    """Poll ``condition`` until it is truthy; fail the test past the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.02)


def pid_alive(pid: int) -> bool:
    """Does a process with this id exist (a zombie counts until reaped)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last.

    Playwright's synchronous API leaves an asyncio loop marked as running in
    the main thread for the rest of the session, after which any test that
    calls ``asyncio.run`` (the node tests do) would fail.
    """
    items.sort(key=lambda item: "tests/e2e/" in item.nodeid.replace("\\", "/")
               or item.nodeid.startswith("e2e/"))
