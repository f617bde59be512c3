"""Checks for everything a browser or an HTTP client sends to the dashboard.

Each function takes the decoded JSON value as it came (anything at all) and
either returns clean values or raises :class:`InputError` whose text says
which field is wrong and why, in words fit to show beside a form field.
Booleans are refused where numbers are expected: JSON ``true`` is a Python
``bool``, which is also an ``int``, and a transfer of ``true`` coins is a
client bug, not a request.
"""

from __future__ import annotations

import math
from typing import Any

from backend.core.chain import MAX_ACCOUNT, check_amount
from backend.core.leader import POLICIES

#: Cluster sizes the dashboard accepts: three is the smallest cluster that
#: survives a crash (f < n/2), fifteen the most a projector ring shows legibly.
MIN_NODES, MAX_NODES = 3, 15
#: Δ bounds, in seconds: below 50 ms the local TCP and the Python event loop
#: dominate the delay; above 10 s a demonstration stalls.
MIN_DELTA_S, MAX_DELTA_S = 0.05, 10.0
#: Random transactions per second the whole cluster may be asked to create.
MAX_TX_RATE = 50.0
MAX_SEED = 2**32 - 1


class InputError(ValueError):
    """A request body that is not acceptable; the text names the field."""


def _object(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError(f"{what} must be a JSON object")
    return body


def _no_extra(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(str(k) for k in body.keys() - allowed)
    if extra:
        raise InputError(f"unknown field(s): {', '.join(extra)}")


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name} must be an integer")
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low} and {high}")
    return value


def _number(value: Any, name: str, low: float, high: float) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{name} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{name} must be a finite number")
    if not low <= value <= high:
        raise InputError(f"{name} must be between {low:g} and {high:g}")
    return value


def transaction(body: Any) -> tuple[int, int, float | int]:
    """``{"sender", "receiver", "amount"}`` as (sender, receiver, amount)."""
    body = _object(body, "a transaction")
    fields = {"sender", "receiver", "amount"}
    missing = sorted(fields - body.keys())
    if missing:
        raise InputError(f"missing field(s): {', '.join(missing)}")
    _no_extra(body, fields)

    sender = _integer(body["sender"], "sender", 0, MAX_ACCOUNT)
    receiver = _integer(body["receiver"], "receiver", 0, MAX_ACCOUNT)
    if sender == receiver:
        raise InputError("sender and receiver must be different accounts")

    try:
        amount = check_amount(body["amount"])  # the nodes' own rule for amounts
    except ValueError as exc:
        raise InputError(str(exc)) from None
    return sender, receiver, amount


def cluster_settings(body: Any) -> dict[str, Any]:
    """The cluster settings ``body`` changes, checked; the others stay as they are."""
    body = _object(body, "cluster settings")
    _no_extra(body, {"nodes", "delta", "leader", "echo", "seed", "tx_rate"})
    if not body:
        raise InputError("give at least one of nodes, delta, leader, echo, seed, "
                         "tx_rate")

    settings: dict[str, Any] = {}
    if "nodes" in body:
        settings["nodes"] = _integer(body["nodes"], "nodes", MIN_NODES, MAX_NODES)
    if "delta" in body:
        settings["delta"] = float(_number(body["delta"], "delta",
                                          MIN_DELTA_S, MAX_DELTA_S))
    if "leader" in body:
        if body["leader"] not in POLICIES:
            raise InputError(f"leader must be one of {', '.join(POLICIES)}")
        settings["leader"] = body["leader"]
    if "echo" in body:
        if not isinstance(body["echo"], bool):
            raise InputError("echo must be true or false")
        settings["echo"] = body["echo"]
    if "seed" in body:
        settings["seed"] = _integer(body["seed"], "seed", 0, MAX_SEED)
    if "tx_rate" in body:
        settings["tx_rate"] = float(_number(body["tx_rate"], "tx_rate", 0,
                                            MAX_TX_RATE))
    return settings


def tx_rate(body: Any) -> float:
    """``{"rate": r}``: random transactions per second, 0 to switch them off."""
    body = _object(body, "the rate")
    if "rate" not in body:
        raise InputError("missing field(s): rate")
    _no_extra(body, {"rate"})
    return float(_number(body["rate"], "rate", 0, MAX_TX_RATE))


def node_id(body: Any) -> int:
    """``{"node": id}`` from a Socket.IO control message."""
    body = _object(body, "the request")
    if "node" not in body:
        raise InputError("missing field(s): node")
    _no_extra(body, {"node"})
    return _integer(body["node"], "node", 0, MAX_ACCOUNT)


def block_hash(body: Any) -> str:
    """``{"block": hash}``: 64 lowercase hex digits."""
    body = _object(body, "the request")
    if "block" not in body:
        raise InputError("missing field(s): block")
    _no_extra(body, {"block"})
    value = body["block"]
    if not (isinstance(value, str) and len(value) == 64
            and all(c in "0123456789abcdef" for c in value)):
        raise InputError("block must be 64 lowercase hex digits")
    return value


CLOCK_ACTIONS = ("pause", "step", "resume")


def clock_action(body: Any) -> str:
    """``{"action": "pause" | "step" | "resume"}``."""
    body = _object(body, "the request")
    if "action" not in body:
        raise InputError("missing field(s): action")
    _no_extra(body, {"action"})
    if body["action"] not in CLOCK_ACTIONS:
        raise InputError(f"action must be one of {', '.join(CLOCK_ACTIONS)}")
    return body["action"]


def delta(body: Any) -> float:
    """``{"delta": seconds}``: Δ from the next epoch on."""
    body = _object(body, "the request")
    if "delta" not in body:
        raise InputError("missing field(s): delta")
    _no_extra(body, {"delta"})
    return float(_number(body["delta"], "delta", MIN_DELTA_S, MAX_DELTA_S))


def scenario_id(body: Any) -> str:
    """``{"id": name}``: a scenario file's name without ``.json``."""
    body = _object(body, "the request")
    if "id" not in body:
        raise InputError("missing field(s): id")
    _no_extra(body, {"id"})
    if not isinstance(body["id"], str):
        raise InputError("id must be a string")
    return body["id"]
