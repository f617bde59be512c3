"""Replaying a recorded run in the dashboard, with no cluster running.

A recording (``backend.cluster.recording``) is untrusted: a teacher may open a
file from anywhere. :func:`clean_event` lets through only the fields the
dashboard knows, each with the type the page expects; an event with a known
field of the wrong type is dropped whole (and counted), so nothing odd ever
reaches the observer or a page's model.

:class:`RecordedRun` stands where the dashboard keeps its cluster: it answers
the read-only part of the cluster's API from the recording and refuses every
control with a clear message. :meth:`RecordedRun.batches` folds the events
into an observer and cuts them into the same ``batch`` messages a live run
sends, so a page builds its timeline of a replay exactly as it does live.

Message traces (``send``/``deliver``) and per-vote ``tally`` events are left
out of a replay: they are animation and the n² vote counting, and most of a
recording's bulk; the state the page shows does not depend on them.
"""

from __future__ import annotations

import math
from typing import Any

from backend.cluster import ClusterError
from backend.cluster.recording import RecordingError
from backend.core.leader import POLICIES
from backend.core.state import Config, leader_in

from .observer import MESSAGE_TYPES, Observer

#: Largest integer a page's JavaScript numbers hold exactly.
MAX_SAFE_INT = 2**53 - 1
MAX_TEXT = 500
MAX_LIST = 100_000
#: A batch of a replay covers this much recorded time, or this many events.
BATCH_WINDOW_S = 0.25
BATCH_EVENTS = 2_000

INT_FIELDS = frozenset({
    "node", "epoch", "leader", "height", "proposer", "block_epoch", "voter",
    "count", "peer", "learned", "finalized_height", "pid", "port", "restarts",
    "to", "via", "origin", "held", "sender", "receiver", "total", "votes",
    "sent", "received", "from", "weight"})
NUMBER_FIELDS = frozenset({"t", "amount", "delay_ms", "sent_t", "genesis",
                           "epoch_seconds", "rate", "ms", "seconds", "loss"})
TEXT_FIELDS = frozenset({"block", "parent", "hash", "tx", "msg", "kind", "reason",
                         "ref", "detail", "status", "text", "action"})
BOOL_FIELDS = frozenset({"echo", "dropped", "paused", "more", "restored",
                         "asynchrony", "on"})


class Malformed(ValueError):
    """One event of a recording does not have the shape the dashboard needs."""


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or \
            abs(value) > MAX_SAFE_INT:
        raise Malformed("not an integer")
    return value


def _number(value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Malformed("not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise Malformed("not finite")
    if abs(value) > 1e15:
        raise Malformed("out of range")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise Malformed("not text")
    return value[:MAX_TEXT]


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Malformed("not true or false")
    return value


def _list(value: Any, item: Any) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise Malformed("not a list")
    return [item(v) for v in value]


def _summary(value: Any) -> dict[str, Any]:
    """A block summary: hash, parent, epoch, height, proposer, txs."""
    if not isinstance(value, dict):
        raise Malformed("not a block summary")
    out: dict[str, Any] = {"hash": _text(value.get("hash"))}
    if value.get("parent") is not None:
        out["parent"] = _text(value["parent"])
    for key in ("epoch", "height", "proposer"):
        if value.get(key) is not None:
            out[key] = _int(value[key])
    out["txs"] = _list(value.get("txs", []), _text)
    return out


def _link(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed("not a link")
    out: dict[str, Any] = {"from": _int(value.get("from")),
                           "to": _int(value.get("to"))}
    for key in ("delay_ms", "loss"):
        if value.get(key) is not None:
            out[key] = _number(value[key])
    return out


def _config(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > 50:
        raise Malformed("not a configuration")
    return {str(k)[:40]: v for k, v in value.items()
            if v is None or isinstance(v, (bool, int, str))
            or (isinstance(v, float) and math.isfinite(v))}


#: Fields whose type depends on the event's type.
TYPED_FIELDS: dict[str, dict[str, Any]] = {
    "propose": {"block": _summary},
    "block": {"block": _summary},
    "finalize": {"blocks": lambda v: _list(v, _summary),
                 "justification": lambda v: _list(v, _text)},
    "store_reloaded": {"blocks": _int},
    "notarize": {"voters": lambda v: _list(v, _int)},
    "faults": {"links": lambda v: _list(v, _link),
               "groups": lambda v: _list(v, lambda g: _list(g, _int))},
    "cluster": {"config": _config},
}


def clean_event(event: Any) -> dict[str, Any]:
    """The event with only known fields of the right types, or :class:`Malformed`."""
    if not isinstance(event, dict):
        raise Malformed("not an object")
    kind = event.get("type")
    if not isinstance(kind, str) or not 0 < len(kind) <= 40:
        raise Malformed("no type")
    typed = TYPED_FIELDS.get(kind, {})
    out: dict[str, Any] = {"type": kind, "node": _int(event.get("node")),
                           "t": _number(event.get("t"))}
    for key, value in event.items():
        if key in out or not isinstance(key, str):
            continue
        if key in typed:
            out[key] = typed[key](value)
        elif value is None:
            continue
        elif key in INT_FIELDS:
            out[key] = _int(value)
        elif key in NUMBER_FIELDS:
            out[key] = _number(value)
        elif key in TEXT_FIELDS:
            out[key] = _text(value)
        elif key in BOOL_FIELDS:
            out[key] = _bool(value)
        elif kind == "stats" and isinstance(value, int) and not isinstance(
                value, bool):
            out[key[:40]] = _int(value)
    if kind in ("propose", "block") and "block" not in out:
        raise Malformed("a proposal without its block")
    if kind in ("vote", "notarize") and not isinstance(out.get("block"), str):
        raise Malformed("a vote without its block")
    if kind == "tx" and "tx" not in out:
        raise Malformed("a transaction without its id")
    return out


#: Controls refused during a replay, with the reason.
REPLAY_REFUSAL = ("this is a replay of a recorded run: no cluster is running "
                  "(restart the cluster from 'Cluster settings' to go live)")


class RecordedRun:
    """A recorded run in the place of a cluster: read-only, no processes."""

    def __init__(self, header: dict[str, Any], events: list[dict[str, Any]],
                 name: str) -> None:
        config = header.get("config")
        if not isinstance(config, dict):
            raise RecordingError("the header has no config")
        nodes = config.get("nodes")
        if isinstance(nodes, bool) or not isinstance(nodes, int) or \
                not 1 <= nodes <= 15:
            raise RecordingError("the header's config must give 1 to 15 nodes")
        self.name = name
        self.n = nodes
        self.settings = _settings(config)
        try:
            self.core_config = Config(
                n=nodes, leader=self.settings["leader"],
                confusion_start=_whole(config.get("confusion_start")),
                confusion_duration=_whole(config.get("confusion_duration")))
        except (TypeError, ValueError):
            self.core_config = Config(n=nodes, leader=self.settings["leader"])
        self.events: list[dict[str, Any]] = []
        self.skipped = 0
        self.traces = 0
        for event in events:
            if event.get("type") in MESSAGE_TYPES or event.get("type") == "tally":
                self.traces += 1
                continue
            try:
                self.events.append(clean_event(event))
            except Malformed:
                self.skipped += 1
        self.events.sort(key=lambda e: e["t"])  # a file may be out of order
        self.epoch = 0
        self.genesis: float | None = None
        self.epoch_seconds = 2 * self.settings["delta"]
        self.paused = False
        self.faults_now: dict[str, Any] = {"links": [], "groups": [],
                                           "asynchrony": False}
        self.table = {i: {"id": i, "status": "starting", "pid": None,
                          "port": None, "finalized_height": 0, "restarts": 0,
                          "started_at": None} for i in range(1, nodes + 1)}

    # --- the cluster's read-only API -----------------------------------------

    def subscribe(self, callback: Any) -> Any:
        return lambda: None

    def start(self) -> None:
        """Nothing to start: a recording has no processes."""

    def stop(self) -> None:
        """Nothing to stop."""

    def current_epoch(self) -> int:
        return self.epoch

    def leader(self, epoch: int) -> int:
        return leader_in(self.core_config, epoch)

    def status(self) -> dict[str, Any]:
        return {
            "config": {**self.settings, "replay": self.name},
            "epoch": self.epoch,
            "leader": self.leader(self.epoch) if self.epoch else None,
            "genesis": self.genesis, "epoch_seconds": self.epoch_seconds,
            "paused": self.paused, "faults": self.faults_now,
            # A recorded pid is no process of this machine: never shown as one.
            "nodes": [{**node, "pid": None} for node in self.table.values()],
        }

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ClusterError(REPLAY_REFUSAL, 409)

    crash = restart = submit = set_tx_rate = pause = step = resume = _refuse
    set_delta = set_link = partition = heal = set_asynchrony = _refuse
    scenario = _refuse

    # --- folding the recording ------------------------------------------------

    def _advance(self, event: dict[str, Any]) -> None:
        """Move the run's "now" past ``event`` (epoch, clock, faults, nodes)."""
        kind = event["type"]
        if isinstance(event.get("epoch"), int) and kind == "epoch":
            self.epoch = max(self.epoch, event["epoch"])
        if kind in ("cluster", "clock"):
            if event.get("genesis") is not None:
                self.genesis = event["genesis"]
            if event.get("epoch_seconds"):
                self.epoch_seconds = event["epoch_seconds"]
            if kind == "clock":
                self.paused = bool(event.get("paused"))
                if self.paused and event.get("epoch") is not None:
                    self.epoch = max(self.epoch, event["epoch"])
        elif kind == "faults":
            self.faults_now = {"links": event.get("links", []),
                               "groups": event.get("groups", []),
                               "asynchrony": bool(event.get("asynchrony"))}
        elif kind == "node_status" and event["node"] in self.table:
            row = self.table[event["node"]]
            for key in ("status", "port", "restarts"):
                if event.get(key) is not None:
                    row[key] = event[key]
        elif kind == "finalize" and event["node"] in self.table:
            row = self.table[event["node"]]
            row["finalized_height"] = max(row["finalized_height"],
                                          event.get("height") or 0)

    def batches(self, observer: Observer, generation: int, first_seq: int
                ) -> list[dict[str, Any]]:
        """Fold every event into ``observer``; the batches a page replays.

        Events the observer cannot fold (a hostile file can be well typed and
        still make no sense) are dropped and counted in ``skipped``.
        """
        out: list[dict[str, Any]] = []
        pending: list[dict[str, Any]] = []
        start_t = 0.0

        def cut() -> None:
            nonlocal pending
            out.append(self._batch(observer, generation, first_seq + len(out),
                                   pending))
            pending = []

        for event in self.events:
            if pending and (event["t"] - start_t > BATCH_WINDOW_S
                            or len(pending) >= BATCH_EVENTS):
                cut()
            if not pending:
                start_t = event["t"]
            try:
                observer.apply(event)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError):
                self.skipped += 1
                continue
            self._advance(event)
            pending.append(event)
        if pending:
            cut()
        return out

    def _batch(self, observer: Observer, generation: int, seq: int,
               events: list[dict[str, Any]]) -> dict[str, Any]:
        t = events[-1]["t"]
        return {
            "seq": seq, "generation": generation, "events": events,
            "messages": [], "dropped_messages": 0, "clock": self.clock(t),
            "safety": observer.safety(),
            "pending": {node.id: len(node.pool) for node in observer.nodes.values()},
            "t": t,
        }

    def clock(self, t: float) -> dict[str, Any]:
        epoch = self.epoch
        leaders = {e: self.leader(e) for e in range(max(epoch, 1), epoch + 4)}
        return {"epoch": epoch, "leader": leaders[max(epoch, 1)],
                "leaders": leaders, "t": t}

    def info(self) -> dict[str, Any]:
        """What the page shows about the replay."""
        return {"name": self.name, "events": len(self.events),
                "skipped": self.skipped, "traces_left_out": self.traces,
                "first_t": self.events[0]["t"] if self.events else None,
                "last_t": self.events[-1]["t"] if self.events else None}


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


def _settings(config: dict[str, Any]) -> dict[str, Any]:
    """The cluster settings of a recording's header, each one checked."""
    from .validation import InputError, cluster_settings

    settings: dict[str, Any] = {"nodes": config["nodes"], "delta": 1.0,
                                "leader": "round-robin", "echo": True, "seed": 0,
                                "tx_rate": 0.0}
    for key in ("delta", "leader", "echo", "seed", "tx_rate"):
        if key in config:
            try:
                settings.update(cluster_settings({key: config[key]}))
            except InputError:
                pass  # keep the default: the replay does not depend on it
    if settings["leader"] not in POLICIES:
        settings["leader"] = "round-robin"
    return settings
