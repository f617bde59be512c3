"""Test doubles for the web layer: a cluster without processes, a core network.

``FakeCluster`` has the API of ``backend.cluster.Cluster`` (CLUSTER_API.md)
and raises the real ``ClusterError``; tests push events into it by hand or
from ``RecordingNetwork``, which runs the real protocol core in memory and
records its events in the order they happened, tagged as a node would.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from backend.cluster import ClusterError
from backend.core import leader_of
from backend.core.output import Output
from tests.core.helpers import Network


class FakeCluster:
    """A cluster that keeps a table of pretend processes and relays test events."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = dict(settings)
        self.n = settings["nodes"]
        self.nodes = {
            i: {"id": i, "status": "crashed", "pid": None, "port": None,
                "finalized_height": 0, "restarts": 0, "started_at": None}
            for i in range(1, self.n + 1)
        }
        self.subscribers: list[Callable[[dict[str, Any]], None]] = []
        self.genesis: float | None = None
        self.epoch = 0
        self.started = False
        self.stopped = False
        self.tx_rate = settings.get("tx_rate", 0.0)
        self.paused = False
        self.submitted: list[tuple[int, int, float]] = []
        self.links: dict[tuple[int, int], dict[str, float]] = {}
        self.groups: list[list[int]] = []
        self.asynchrony = False
        self.actions: list[dict[str, Any]] = []
        self._nonces: dict[int, itertools.count[int]] = {}
        self._pids = itertools.count(40_000)

    def start(self) -> None:
        self.started = True
        self.genesis = time.time()
        for node in self.nodes.values():
            self._run(node)
        self.emit({"node": 0, "type": "cluster", "genesis": self.genesis,
                   "epoch_seconds": 2 * self.settings["delta"],
                   "config": self.status()["config"]})

    def _run(self, node: dict[str, Any]) -> None:
        node.update(status="running", pid=next(self._pids),
                    port=50_000 + node["id"], started_at=time.time())
        self.emit({"node": node["id"], "type": "node_status", "status": "running",
                   "pid": node["pid"], "port": node["port"],
                   "restarts": node["restarts"]})

    def stop(self) -> None:
        self.stopped = True
        for node in self.nodes.values():
            node["status"] = "crashed"

    def _node(self, node_id: int) -> dict[str, Any]:
        if node_id not in self.nodes:
            raise ClusterError(f"no node {node_id}", 404)
        return self.nodes[node_id]

    def crash(self, node_id: int) -> None:
        node = self._node(node_id)
        if node["status"] != "running":
            raise ClusterError(f"node {node_id} is {node['status']}", 409)
        node.update(status="crashed")
        self.emit({"node": node_id, "type": "node_status", "status": "crashed",
                   "pid": node["pid"], "port": node["port"],
                   "restarts": node["restarts"]})

    def restart(self, node_id: int) -> None:
        node = self._node(node_id)
        if node["status"] != "crashed":
            raise ClusterError(f"node {node_id} is {node['status']}", 409)
        node["restarts"] += 1
        self._run(node)

    def submit(self, sender: int, receiver: int, amount: float,
               node: int | None = None) -> str:
        if not any(n["status"] == "running" for n in self.nodes.values()):
            raise ClusterError("no live node accepted the transaction", 503)
        nonce = next(self._nonces.setdefault(sender, itertools.count()))
        tx_id = f"{sender}:{nonce}"
        self.submitted.append((sender, receiver, amount))
        self.emit({"node": 1, "type": "tx_submitted", "tx": tx_id, "sender": sender,
                   "receiver": receiver, "amount": amount, "via": 1})
        return tx_id

    def set_tx_rate(self, rate: float) -> None:
        self.tx_rate = rate

    def pause(self) -> int:
        if self.paused:
            raise ClusterError("the cluster is already paused", 409)
        self.paused = True
        return self.epoch

    def step(self) -> int:
        if not self.paused:
            raise ClusterError("step needs the cluster to be paused", 409)
        self.epoch += 1
        return self.epoch

    def resume(self) -> None:
        if not self.paused:
            raise ClusterError("the cluster is not paused", 409)
        self.paused = False

    def set_delta(self, delta: float) -> None:
        self.settings["delta"] = delta

    # --- network faults and the session as a scenario (teaching tools) -----

    def set_link(self, src: int, dst: int, delay_ms: float | None = None,
                 loss: float | None = None) -> None:
        self._node(src)
        self._node(dst)
        link = self.links.setdefault((src, dst), {})
        if delay_ms is not None:
            link["delay_ms"] = delay_ms
            self.actions.append({"epoch": max(1, self.epoch), "action": "delay",
                                 "from": src, "to": dst, "ms": delay_ms})
        if loss is not None:
            link["loss"] = loss
            self.actions.append({"epoch": max(1, self.epoch), "action": "loss",
                                 "from": src, "to": dst, "rate": loss})
        self.emit({"node": 0, "type": "faults", **self.faults()})

    def partition(self, groups: list[list[int]]) -> None:
        for group in groups:
            for node_id in group:
                self._node(node_id)
        self.groups = [list(g) for g in groups]
        self.actions.append({"epoch": max(1, self.epoch), "action": "partition",
                             "groups": self.groups})
        self.emit({"node": 0, "type": "faults", **self.faults()})

    def heal(self) -> None:
        self.groups, self.links, self.asynchrony = [], {}, False
        self.actions.append({"epoch": max(1, self.epoch), "action": "heal"})
        self.emit({"node": 0, "type": "faults", **self.faults()})

    def set_asynchrony(self, on: bool) -> None:
        self.asynchrony = on
        self.actions.append({"epoch": max(1, self.epoch), "action": "asynchrony",
                             "on": on})
        self.emit({"node": 0, "type": "faults", **self.faults()})

    def faults(self) -> dict[str, Any]:
        return {"links": [{"from": s, "to": d, **v}
                          for (s, d), v in sorted(self.links.items())],
                "groups": self.groups, "asynchrony": self.asynchrony}

    def scenario(self, name: str, description: str = "") -> dict[str, Any]:
        config = {k: self.settings[k] for k in ("nodes", "delta", "leader")}
        return {"name": name, "description": description,
                "config": {**config, "epochs": max(self.epoch + 5, 10)},
                "steps": list(self.actions)}

    def subscribe(self, callback: Callable[[dict[str, Any]], None]
                  ) -> Callable[[], None]:
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def current_epoch(self) -> int:
        return self.epoch

    def leader(self, epoch: int) -> int:
        return leader_of(epoch, self.n, self.settings["leader"])

    def status(self) -> dict[str, Any]:
        public = {k: v for k, v in self.settings.items() if k != "data_dir"}
        return {
            "config": public, "epoch": self.epoch,
            "leader": leader_of(self.epoch, self.n, self.settings["leader"])
            if self.epoch else None,
            "genesis": self.genesis, "epoch_seconds": 2 * self.settings["delta"],
            "paused": self.paused, "nodes": [dict(n) for n in self.nodes.values()],
            "faults": self.faults(),
        }

    # --- test helpers ---------------------------------------------------

    def emit(self, event: dict[str, Any]) -> None:
        event = {"t": time.time(), **event}
        for callback in list(self.subscribers):
            callback(event)

    def emit_all(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self.emit(event)


class RecordingNetwork(Network):
    """The core's in-memory network, recording every event in global order."""

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(n, **kwargs)
        self.stream: list[dict[str, Any]] = []
        self.now = 0.0

    def apply(self, node_id: int, out: Output) -> None:
        super().apply(node_id, out)
        for event in out.events:
            self.stream.append({**event, "node": node_id, "t": self.now})

    def take(self) -> list[dict[str, Any]]:
        """The events recorded since the last call."""
        taken, self.stream = self.stream, []
        return taken

    def run_epochs(self, first: int, last: int) -> list[dict[str, Any]]:
        """Epochs ``first``..``last`` in lock-step; their events."""
        for epoch in range(first, last + 1):
            self.now = float(epoch)
            self.run([epoch])
        return self.take()
