"""Fixtures for the web layer: the app around a FakeCluster, in threading mode.

The tests run in an unpatched process (no eventlet): Flask-SocketIO is built
with ``async_mode="threading"`` and driven by its test clients. The relay task
sleeps for an hour, so each test folds and emits batches itself with
``dashboard.relay_once()`` and sees exactly what one batch carries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from backend.web.app import create_app
from tests.web.fakes import FakeCluster

SETTINGS = {"nodes": 5, "delta": 0.5, "leader": "round-robin"}


class Rig:
    """An app, its dashboard and every FakeCluster the app has made."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.dashboard = app.extensions["streamlet"]
        self.socketio = app.extensions["socketio"]
        self.http = app.test_client()

    @property
    def cluster(self) -> FakeCluster:
        return self.dashboard.cluster

    def socket(self) -> Any:
        return self.socketio.test_client(self.app)


@pytest.fixture
def make_rig() -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(settings: dict[str, Any] | None = None,
             factory: Callable[[dict], Any] = FakeCluster, **options: Any) -> Rig:
        options.setdefault("batch_interval_s", 3600.0)
        app = create_app(factory, {**SETTINGS, **(settings or {})},
                         async_mode="threading", **options)
        rig = Rig(app)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.dashboard.shutdown()


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()
