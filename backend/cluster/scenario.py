"""Scenario files: a cluster configuration plus timed steps keyed by epoch.

The same file runs headless (``run.py --headless --scenario F``) and from the
dashboard. A file that does not follow the format is refused with a message
that names the step and the field, before any process is started.

Format::

    {"name": "...", "description": "...",
     "config": {"nodes": 5, "delta": 0.05, "leader": "hash", "epochs": 30,
                "tx_rate": 5, "echo": true, "seed": 1},
     "steps": [{"epoch": 5, "action": "crash", "node": 2}, ...]}

Actions and their fields: ``crash``/``restart`` (node), ``partition``
(groups: list of lists of node ids), ``heal``, ``delay`` (from, to, ms),
``loss`` (from, to, rate in 0..1), ``transaction`` (sender, receiver,
amount, optional node), ``tx_rate`` (rate), ``slow`` (node, ms: delay on all
its links), ``skew`` (node, ms: its clock runs ahead, or behind if negative).
Delays and skews may be given in multiples of Δ instead of ms (``deltas``), so
that a file means the same at any speed.
Also ``asynchrony`` (on: every message slower than Δ until released) and
``delta`` (seconds, from the next epoch on).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.core.chain import MAX_ACCOUNT, MAX_AMOUNT
from backend.core.leader import POLICIES

from .expect import parse_expectations
from .supervisor import MAX_NODES, Cluster

#: Config keys a scenario may set, with their types.
CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {
    "nodes": int, "delta": (int, float), "leader": str, "epochs": int,
    "tx_rate": (int, float), "echo": bool, "seed": int,
    "confusion_start": int, "confusion_duration": int,
}

#: Each action's required fields (and optional ones after the bar).
ACTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "crash": (("node",), ()),
    "restart": (("node",), ()),
    "partition": (("groups",), ()),
    "heal": ((), ()),
    "delay": (("from", "to"), ("ms", "deltas")),
    "loss": (("from", "to", "rate"), ()),
    "transaction": (("sender", "receiver", "amount"), ("node",)),
    "tx_rate": (("rate",), ()),
    "slow": (("node",), ("ms", "deltas")),
    "skew": (("node",), ("ms", "deltas")),
    "asynchrony": (("on",), ()),
    "delta": (("seconds",), ()),
}


class ScenarioError(ValueError):
    """The scenario file is malformed; the message names the step and field."""


@dataclass
class Scenario:
    name: str
    description: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    #: Checks of the outcome (see expect.py), asserted by the tests.
    expect: list[dict[str, Any]] = field(default_factory=list)

    def due(self, epoch: int, done: int) -> list[dict[str, Any]]:
        """Steps not yet applied (after the first ``done``) whose epoch came."""
        return [s for s in self.steps[done:] if s["epoch"] <= epoch]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "config": self.config, "steps": self.steps, "expect": self.expect}


def _number(value: Any) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value))


def _integer(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int)


def parse(data: Any, source: str = "scenario") -> Scenario:
    """Check a decoded scenario and return it, or raise :class:`ScenarioError`."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: the top level must be an object")
    unknown = set(data) - {"name", "description", "config", "steps", "expect"}
    if unknown:
        raise ScenarioError(f"{source}: unknown key {sorted(unknown)[0]!r}")
    name = data.get("name", Path(source).stem)
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise ScenarioError(f"{source}: 'name' must be a short non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > 4000:
        raise ScenarioError(f"{source}: 'description' must be a string")
    config = _parse_config(data.get("config", {}), source)
    nodes = config.get("nodes", MAX_NODES)
    steps_in = data.get("steps", [])
    if not isinstance(steps_in, list):
        raise ScenarioError(f"{source}: 'steps' must be a list")
    steps = [_parse_step(step, i + 1, nodes, source) for i, step in enumerate(steps_in)]
    steps.sort(key=lambda s: s["epoch"])  # stable: same-epoch steps keep file order
    try:
        expect = parse_expectations(data.get("expect", []), source, nodes)
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    return Scenario(name=name, description=description, config=config, steps=steps,
                    expect=expect)


def load(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ScenarioError(f"{path}: not valid JSON: {exc}") from None
    return parse(data, str(path))


def _parse_config(config: Any, source: str) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise ScenarioError(f"{source}: 'config' must be an object")
    for key, value in config.items():
        if key not in CONFIG_KEYS:
            raise ScenarioError(f"{source}: config: unknown field {key!r}")
        kind = CONFIG_KEYS[key]
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            raise ScenarioError(f"{source}: config: {key!r} has the wrong type")
    if "nodes" in config and not 1 <= config["nodes"] <= MAX_NODES:
        raise ScenarioError(f"{source}: config: 'nodes' must be 1..{MAX_NODES}")
    if "epochs" in config and not 1 <= config["epochs"] <= 100_000:
        raise ScenarioError(f"{source}: config: 'epochs' must be 1..100000")
    if "delta" in config and not (_number(config["delta"])
                                  and 0.001 <= config["delta"] <= 60):
        raise ScenarioError(f"{source}: config: 'delta' must be 0.001..60 seconds")
    if "leader" in config and config["leader"] not in POLICIES:
        raise ScenarioError(f"{source}: config: 'leader' must be one of {POLICIES}")
    if "confusion_duration" in config and not 0 <= config["confusion_duration"] <= 15:
        raise ScenarioError(f"{source}: config: 'confusion_duration' must be 0..15")
    if "confusion_start" in config and not 0 <= config["confusion_start"] <= 100_000:
        raise ScenarioError(f"{source}: config: 'confusion_start' must be 0..100000")
    if "tx_rate" in config and not (_number(config["tx_rate"])
                                    and 0 <= config["tx_rate"] <= 1000):
        raise ScenarioError(f"{source}: config: 'tx_rate' must be 0..1000")
    return dict(config)


def _parse_step(step: Any, index: int, nodes: int, source: str) -> dict[str, Any]:
    where = f"{source}: step {index}"
    if not isinstance(step, dict):
        raise ScenarioError(f"{where}: must be an object")
    action = step.get("action")
    if action not in ACTIONS:
        raise ScenarioError(f"{where}: field 'action' must be one of "
                            f"{', '.join(ACTIONS)}")
    where = f"{where} ({action})"
    required, optional = ACTIONS[action]
    allowed = {"epoch", "action", *required, *optional}
    for key in step:
        if key not in allowed:
            raise ScenarioError(f"{where}: unknown field {key!r}")
    for key in ("epoch", *required):
        if key not in step:
            raise ScenarioError(f"{where}: field {key!r} is missing")
    if not _integer(step["epoch"]) or not 1 <= step["epoch"] <= 100_000:
        raise ScenarioError(f"{where}: field 'epoch' must be an integer 1..100000")

    def node_field(key: str) -> None:
        value = step[key]
        if not _integer(value) or not 1 <= value <= nodes:
            raise ScenarioError(f"{where}: field {key!r} must be a node id 1..{nodes}")

    if action in ("crash", "restart"):
        node_field("node")
    elif action in ("delay", "loss"):
        node_field("from")
        node_field("to")
        if step["from"] == step["to"]:
            raise ScenarioError(f"{where}: fields 'from' and 'to' must differ")
        if action == "delay":
            _duration(step, where, low=0)
        elif not _number(step["rate"]) or not 0 <= step["rate"] <= 1:
            raise ScenarioError(f"{where}: field 'rate' must be a number 0..1")
    elif action == "partition":
        groups = step["groups"]
        if not isinstance(groups, list) or not all(isinstance(g, list) for g in groups):
            raise ScenarioError(f"{where}: field 'groups' must be a list of lists")
        seen: set[int] = set()
        for group in groups:
            for node in group:
                if not _integer(node) or not 1 <= node <= nodes or node in seen:
                    raise ScenarioError(f"{where}: field 'groups' must hold distinct "
                                        f"node ids 1..{nodes}")
                seen.add(node)
    elif action == "transaction":
        for key in ("sender", "receiver"):
            if not _integer(step[key]) or not 0 <= step[key] <= MAX_ACCOUNT:
                raise ScenarioError(f"{where}: field {key!r} must be an integer "
                                    f"0..{MAX_ACCOUNT}")
        if step["sender"] == step["receiver"]:
            raise ScenarioError(f"{where}: fields 'sender' and 'receiver' must differ")
        amount = step["amount"]
        if not _number(amount) or not 0 < amount <= MAX_AMOUNT:
            raise ScenarioError(f"{where}: field 'amount' must be a positive number")
        if "node" in step:
            node_field("node")
    elif action == "tx_rate":
        if not _number(step["rate"]) or not 0 <= step["rate"] <= 1000:
            raise ScenarioError(f"{where}: field 'rate' must be a number 0..1000")
    elif action in ("slow", "skew"):
        node_field("node")
        _duration(step, where, low=0 if action == "slow" else -60_000)
    elif action == "asynchrony":
        if not isinstance(step["on"], bool):
            raise ScenarioError(f"{where}: field 'on' must be true or false")
    elif action == "delta":
        if not _number(step["seconds"]) or not 0.001 <= step["seconds"] <= 60:
            raise ScenarioError(f"{where}: field 'seconds' must be 0.001..60")
    return dict(step)


def _duration(step: dict[str, Any], where: str, low: float) -> None:
    """A delay or offset is given in ms, or in multiples of Δ ("deltas")."""
    given = [k for k in ("ms", "deltas") if k in step]
    if len(given) != 1:
        raise ScenarioError(f"{where}: give exactly one of the fields 'ms' and "
                            "'deltas'")
    key = given[0]
    high = 60_000 if key == "ms" else 100
    floor = low if key == "ms" else low / 600
    if not _number(step[key]) or not floor <= step[key] <= high:
        raise ScenarioError(f"{where}: field {key!r} must be a number "
                            f"{floor:g}..{high}")


def milliseconds(cluster: Cluster, step: dict[str, Any]) -> float:
    if "ms" in step:
        return float(step["ms"])
    return float(step["deltas"]) * cluster.epoch_seconds / 2 * 1000


def apply_step(cluster: Cluster, step: dict[str, Any]) -> str:
    """Carry out one step on a running cluster; return a line describing it."""
    action = step["action"]
    if action == "crash":
        cluster.crash(step["node"])
        return f"crashed n{step['node']}"
    if action == "restart":
        cluster.restart(step["node"])
        return f"restarted n{step['node']}"
    if action == "partition":
        cluster.partition(step["groups"])
        return f"partitioned into {step['groups']}"
    if action == "heal":
        cluster.heal()
        return "healed the network"
    if action == "delay":
        ms = milliseconds(cluster, step)
        cluster.set_link(step["from"], step["to"], delay_ms=ms)
        return f"delayed n{step['from']}→n{step['to']} by {ms:g} ms"
    if action == "loss":
        cluster.set_link(step["from"], step["to"], loss=step["rate"])
        return f"loss {step['rate']:.0%} on n{step['from']}→n{step['to']}"
    if action == "transaction":
        tx = cluster.submit(step["sender"], step["receiver"], step["amount"],
                            node=step.get("node"))
        return f"submitted transaction {tx}"
    if action == "tx_rate":
        cluster.set_tx_rate(step["rate"])
        return f"random transactions at {step['rate']}/s"
    if action == "slow":
        node, ms = step["node"], milliseconds(cluster, step)
        for other in cluster.nodes:
            if other != node:
                cluster.set_link(node, other, delay_ms=ms)
                cluster.set_link(other, node, delay_ms=ms)
        return f"n{node} is slow: {ms:g} ms on each of its links"
    if action == "skew":
        ms = milliseconds(cluster, step)
        cluster.set_skew(step["node"], ms)
        return f"n{step['node']}'s clock is off by {ms:g} ms"
    if action == "asynchrony":
        cluster.set_asynchrony(step["on"])
        return "asynchrony: every message takes longer than Δ" if step["on"] else \
            "asynchrony released: messages are timely again (GST)"
    if action == "delta":
        cluster.set_delta(step["seconds"])
        return f"Δ is now {step['seconds']:g} s"
    raise ScenarioError(f"unknown action {action!r}")
