"""What a scenario says should happen, checked against the nodes' stores.

A scenario may carry ``"expect": [...]``, a list of checks; the headless
runner reports each as met or not and the tests assert them. Epochs in a
check refer to when blocks were *proposed* unless the check says
``finalized_during``, which looks at when a node *finalized* something.

Checks and their fields:

- ``finalizes_after`` (epoch, nodes?): each node (default: those running at
  the end) finalized a block proposed after ``epoch``;
- ``no_final_after`` (epoch): no node finalized a block proposed after it;
- ``finalized_during`` (nodes, from, to, value): whether those nodes
  finalized anything while in epochs from..to equals ``value``;
- ``fork``: some node saw two notarized blocks with the same parent;
- ``no_notarized_in`` (from, to): no block proposed then was notarized;
- ``caught_up`` (node, lag?): its finalized chain is within ``lag`` (default
  2) blocks of the longest;
- ``no_blocks_from`` (node, after): no notarized block proposed by ``node``
  after epoch ``after``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .audit import NodeRecord

CHECKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "finalizes_after": (("epoch",), ("nodes",)),
    "no_final_after": (("epoch",), ()),
    "finalized_during": (("nodes", "from", "to", "value"), ()),
    "fork": ((), ()),
    "no_notarized_in": (("from", "to"), ()),
    "caught_up": (("node",), ("lag",)),
    "no_blocks_from": (("node", "after"), ()),
}


def parse_expectations(items: Any, where: str, nodes: int) -> list[dict[str, Any]]:
    """Check the shape of a scenario's ``expect`` list; raise ValueError."""
    if not isinstance(items, list):
        raise ValueError(f"{where}: 'expect' must be a list")
    parsed = []
    for i, item in enumerate(items, start=1):
        at = f"{where}: expect {i}"
        if not isinstance(item, dict) or item.get("check") not in CHECKS:
            raise ValueError(f"{at}: field 'check' must be one of {', '.join(CHECKS)}")
        required, optional = CHECKS[item["check"]]
        for key in required:
            if key not in item:
                raise ValueError(f"{at} ({item['check']}): field {key!r} is missing")
        for key in item:
            if key not in ("check", *required, *optional):
                raise ValueError(f"{at} ({item['check']}): unknown field {key!r}")
        for key in ("epoch", "from", "to", "after", "lag", "node"):
            value = item.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{at}: field {key!r} must be a whole number")
        ids = item.get("nodes", [])
        if not isinstance(ids, list) or not all(
                isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= nodes
                for x in ids):
            raise ValueError(f"{at}: field 'nodes' must list node ids 1..{nodes}")
        if "node" in item and not 1 <= item["node"] <= nodes:
            raise ValueError(f"{at}: field 'node' must be a node id 1..{nodes}")
        if "value" in item and not isinstance(item["value"], bool):
            raise ValueError(f"{at}: field 'value' must be true or false")
        parsed.append(dict(item))
    return parsed


def evaluate(expectations: list[dict[str, Any]], records: list[NodeRecord],
             running: set[int]) -> list[dict[str, Any]]:
    """Each expectation with ``met`` and a sentence saying what was seen."""
    by_id = {r.id: r for r in records}
    results = []
    for item in expectations:
        met, detail = _CHECKERS[item["check"]](item, by_id, running)
        results.append({**item, "met": met, "detail": detail})
    return results


def _finalizes_after(item, by_id, running):
    ids = item.get("nodes") or sorted(running)
    late = {i: [b.epoch for b in by_id[i].finalized if b.epoch > item["epoch"]]
            for i in ids}
    stuck = [i for i, epochs in late.items() if not epochs]
    if stuck:
        return False, "no block after epoch {} final at {}".format(
            item["epoch"], ", ".join(f"n{i}" for i in stuck))
    return True, "every node listed finalized blocks proposed after epoch {}".format(
        item["epoch"])


def _no_final_after(item, by_id, running):
    late = sorted({b.epoch for r in by_id.values() for b in r.finalized
                   if b.epoch > item["epoch"]})
    if late:
        return False, f"blocks of epochs {late[:5]} became final"
    return True, f"nothing proposed after epoch {item['epoch']} became final"


def _finalized_during(item, by_id, running):
    seen = {i: any(item["from"] <= e <= item["to"]
                   for e in by_id[i].finalized_epoch.values())
            for i in item["nodes"]}
    wrong = [i for i, did in seen.items() if did != item["value"]]
    verb = "finalized" if item["value"] else "finalized nothing"
    if wrong:
        return False, "n{} did not behave: expected {} in epochs {}..{}".format(
            ", n".join(map(str, wrong)), verb, item["from"], item["to"])
    return True, f"as expected, {verb} in epochs {item['from']}..{item['to']}"


def _fork(item, by_id, running):
    for r in by_id.values():
        parents = Counter(b.parent for b in r.notarized)
        forks = [p for p, c in parents.items() if c > 1]
        if forks:
            kids = [b.epoch for b in r.notarized if b.parent == forks[0]]
            return True, f"n{r.id} saw notarized siblings from epochs {kids}"
    return False, "no two notarized blocks share a parent"


def _no_notarized_in(item, by_id, running):
    hits = sorted({b.epoch for r in by_id.values() for b in r.notarized
                   if item["from"] <= b.epoch <= item["to"]})
    if hits:
        return False, f"blocks of epochs {hits} were notarized"
    return True, f"no block of epochs {item['from']}..{item['to']} was notarized"


def _caught_up(item, by_id, running):
    lag = item.get("lag", 2)
    longest = max(len(r.finalized) for r in by_id.values())
    have = len(by_id[item["node"]].finalized)
    ok = have >= longest - lag
    return ok, f"n{item['node']} has {have} final blocks, the longest chain {longest}"


def _no_blocks_from(item, by_id, running):
    hits = sorted({b.epoch for r in by_id.values() for b in r.notarized
                   if b.proposer == item["node"] and b.epoch > item["after"]})
    if hits:
        return False, f"n{item['node']}'s blocks of epochs {hits} were notarized"
    return True, f"no block of n{item['node']} after epoch {item['after']}"


_CHECKERS = {
    "finalizes_after": _finalizes_after,
    "no_final_after": _no_final_after,
    "finalized_during": _finalized_during,
    "fork": _fork,
    "no_notarized_in": _no_notarized_in,
    "caught_up": _caught_up,
    "no_blocks_from": _no_blocks_from,
}
