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


def _only(body: Any, field: str, what: str = "the request") -> Any:
    """The value of a one-field object ``{field: value}``."""
    body = _object(body, what)
    if field not in body:
        raise InputError(f"missing field(s): {field}")
    _no_extra(body, {field})
    return body[field]


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
    return float(_number(_only(body, "rate", "the rate"), "rate", 0, MAX_TX_RATE))


def node_id(body: Any) -> int:
    """``{"node": id}`` from a Socket.IO control message."""
    return _integer(_only(body, "node"), "node", 0, MAX_ACCOUNT)


def block_hash(body: Any) -> str:
    """``{"block": hash}``: 64 lowercase hex digits."""
    value = _only(body, "block")
    if not (isinstance(value, str) and len(value) == 64
            and all(c in "0123456789abcdef" for c in value)):
        raise InputError("block must be 64 lowercase hex digits")
    return value


CLOCK_ACTIONS = ("pause", "step", "resume")


def clock_action(body: Any) -> str:
    """``{"action": "pause" | "step" | "resume"}``."""
    action = _only(body, "action")
    if action not in CLOCK_ACTIONS:
        raise InputError(f"action must be one of {', '.join(CLOCK_ACTIONS)}")
    return action


def delta(body: Any) -> float:
    """``{"delta": seconds}``: Δ from the next epoch on."""
    return float(_number(_only(body, "delta"), "delta", MIN_DELTA_S, MAX_DELTA_S))


def scenario_id(body: Any) -> str:
    """``{"id": name}``: a scenario file's name without ``.json``."""
    value = _only(body, "id")
    if not isinstance(value, str):
        raise InputError("id must be a string")
    return value


#: Link delays the page may set, in ms (the cluster's own bound).
MAX_DELAY_MS = 60_000.0


def link(body: Any) -> tuple[int, int, float | None, float | None, bool]:
    """``{"from", "to", "delay_ms"?, "loss"?, "both"?}`` for one link.

    Returns (from, to, delay in ms or None, loss in 0..1 or None, both ways).
    At least one of delay and loss is needed; 0 and 0 clear the link.
    """
    body = _object(body, "the link")
    missing = sorted({"from", "to"} - body.keys())
    if missing:
        raise InputError(f"missing field(s): {', '.join(missing)}")
    _no_extra(body, {"from", "to", "delay_ms", "loss", "both"})
    src = _integer(body["from"], "from", 1, MAX_NODES)
    dst = _integer(body["to"], "to", 1, MAX_NODES)
    if src == dst:
        raise InputError("a link joins two different nodes")
    if "delay_ms" not in body and "loss" not in body:
        raise InputError("give delay_ms, loss or both")
    delay_ms = loss = None
    if "delay_ms" in body:
        delay_ms = float(_number(body["delay_ms"], "delay_ms", 0, MAX_DELAY_MS))
    if "loss" in body:
        loss = float(_number(body["loss"], "loss", 0, 1))
    both = body.get("both", False)
    if not isinstance(both, bool):
        raise InputError("both must be true or false")
    return src, dst, delay_ms, loss, both


def partition(body: Any) -> list[list[int]]:
    """``{"groups": [[ids], ...]}``: nodes in no group are cut off from all."""
    body = _object(body, "the partition")
    if "groups" not in body:
        raise InputError("missing field(s): groups")
    _no_extra(body, {"groups"})
    groups = body["groups"]
    if not isinstance(groups, list) or not 1 <= len(groups) <= MAX_NODES:
        raise InputError(f"groups must be a list of 1 to {MAX_NODES} groups")
    seen: set[int] = set()
    clean = []
    for group in groups:
        if not isinstance(group, list) or not 1 <= len(group) <= MAX_NODES:
            raise InputError("each group must be a list of 1 to "
                             f"{MAX_NODES} node ids")
        members = []
        for value in group:
            node = _integer(value, "a node id", 1, MAX_NODES)
            if node in seen:
                raise InputError(f"node {node} is in two groups")
            seen.add(node)
            members.append(node)
        clean.append(members)
    return clean


def switch(body: Any) -> bool:
    """``{"on": true | false}``."""
    value = _only(body, "on")
    if not isinstance(value, bool):
        raise InputError("on must be true or false")
    return value


#: Times a presenter may scrub to: seconds since 1970, up to the year 2286.
MAX_TIME_S = 1e10


def view(body: Any) -> dict[str, Any]:
    """``{"live": true}`` or ``{"live": false, "t": seconds}``: the presenter's
    position on the timeline, for the viewers to follow."""
    body = _object(body, "the view")
    if "live" not in body:
        raise InputError("missing field(s): live")
    _no_extra(body, {"live", "t"})
    if not isinstance(body["live"], bool):
        raise InputError("live must be true or false")
    if body["live"]:
        if "t" in body:
            raise InputError("t goes only with live false")
        return {"live": True}
    if "t" not in body:
        raise InputError("missing field(s): t")
    return {"live": False, "t": float(_number(body["t"], "t", 0, MAX_TIME_S))}


MAX_NAME, MAX_DESCRIPTION = 100, 2000


def _text(value: Any, name: str, most: int, *, empty: bool) -> str:
    if not isinstance(value, str):
        raise InputError(f"{name} must be text")
    value = value.strip()
    if not value and not empty:
        raise InputError(f"{name} must not be empty")
    if len(value) > most:
        raise InputError(f"{name} must be at most {most} characters")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise InputError(f"{name} must not contain control characters")
    return value


def scenario_text(args: Any) -> tuple[str, str]:
    """``name`` and ``description`` of a scenario to save (query arguments)."""
    args = _object(args, "the request")
    _no_extra(args, {"name", "description"})
    name = _text(args.get("name", "Saved session"), "name", MAX_NAME, empty=False)
    description = _text(args.get("description", ""), "description",
                        MAX_DESCRIPTION, empty=True)
    return name, description
