"""The dashboard's merged view of every node, kept from their events.

Each node reports only what it did and saw. The observer folds those reports
into one picture: a block tree across all nodes (a networkx ``DiGraph`` whose
edges go from parent to child), which node has notarized and finalized which
block, how far each transaction has got, and a live safety check.

Safety (Theorem 12 of the paper): the finalized chains of any two nodes are
prefixes of one another. Every finalized chain is parent-linked and starts at
genesis, so that holds exactly when all nodes agree on the block at each
height; the observer keeps the first block seen finalized at each height and
checks every later finalization against it. That costs one dictionary look-up
per finalized block instead of a comparison of every pair of chains.

Memory is bounded: blocks older than ``keep_epochs`` epochs behind the newest
are dropped from the graph, the height index keeps the last ``keep_heights``
heights, and transaction records, logs and pools have caps. Known shortcoming:
a node that lags more than ``keep_heights`` blocks behind and then catches up
finalizes heights the index no longer holds; those heights go unchecked and
are counted in ``safety()["unchecked"]``. The index was 50,000 heights: in an
hour-long run at Δ = 0.1 s (15,000 heights) it grew by about 3 MiB without
ever filling; 4,096 heights are about 14 minutes there, several hours at the
default Δ, far more than any node here lags and catches up.

Not thread-safe: the caller holds one lock around every call.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from backend.core.chain import GENESIS
from backend.core.quorum import quorum

GENESIS_HASH = GENESIS.hash
STATUS_RANK = {"pending": 0, "proposed": 1, "notarized": 2, "finalized": 3}
#: Message traces are relayed to the page but never folded into the view.
MESSAGE_TYPES = frozenset({"send", "deliver"})
#: Events kept for the log: everything but message traces and the per-vote
#: tallies (n² of them per epoch; the voters already come with "vote").
QUIET_TYPES = MESSAGE_TYPES | {"tally"}


def short(block_hash: str, epoch: int | None) -> str:
    """The name the page and the log use for a block: b<epoch>."""
    if block_hash == GENESIS_HASH:
        return "genesis"
    return f"b{epoch}" if epoch is not None else f"block {block_hash[:8]}"


@dataclass
class NodeView:
    """What the observer knows about one node."""

    id: int
    status: str = "starting"
    pid: int | None = None
    port: int | None = None
    restarts: int = 0
    started_at: float | None = None
    epoch: int = 0
    finalized_height: int = 0
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=12))
    #: Height of ``tail[-1]``; 0 while the tail is empty.
    tail_height: int = 0
    last_vote: dict[str, Any] | None = None
    pool: set[str] = field(default_factory=set)
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=40))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": self.status, "pid": self.pid,
            "port": self.port, "restarts": self.restarts,
            "started_at": self.started_at, "epoch": self.epoch,
            "finalized_height": self.finalized_height, "tail": list(self.tail),
            "last_vote": self.last_vote, "pending": len(self.pool),
        }


class Observer:
    """Folds node events into one block tree and checks safety as it goes."""

    def __init__(self, n: int, *, keep_epochs: int = 150,
                 keep_heights: int = 4_096, keep_txs: int = 5_000,
                 keep_events: int = 300, pool_cap: int = 20_000) -> None:
        self.n = n
        self.quorum = quorum(n)
        self.keep_epochs = keep_epochs
        self.keep_heights = keep_heights
        self.keep_txs = keep_txs
        self.pool_cap = pool_cap

        self.graph = nx.DiGraph()
        self.graph.add_node(GENESIS_HASH, **_block_attrs(
            GENESIS.summary(), known=True, first_t=None))
        self.graph.nodes[GENESIS_HASH]["notarized_by"] = set(range(1, n + 1))
        self.graph.nodes[GENESIS_HASH]["finalized_by"] = set(range(1, n + 1))

        self.epoch = 0
        self.leader = 0
        self.nodes = {i: NodeView(i) for i in range(1, n + 1)}
        self.final_at_height: dict[int, str] = {}
        self._lowest_height = 1
        self.unchecked = 0
        self.violations: deque[dict[str, Any]] = deque(maxlen=50)
        self.violation_count = 0
        self.txs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep_events)
        self._pruned_at = 0

    # --- input ---------------------------------------------------------

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event (a dict with "type", "node" and "t") into the view."""
        kind = event.get("type")
        if kind in QUIET_TYPES:
            return
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(event, self.nodes.get(event.get("node", 0)))
        self.recent.append(event)
        node = self.nodes.get(event.get("node", 0))
        if node is not None:
            node.log.append(event)

    def track_submitted(self, tx_id: str, sender: int, receiver: int,
                        amount: float, t: float, via: int | None = None) -> None:
        """Record a transaction handed to the cluster, before any node reports it."""
        record = self._tx(tx_id)
        record.update(sender=sender, receiver=receiver, amount=amount)
        record["submitted_t"] = record["submitted_t"] or t
        if via is not None:
            record["via"] = via

    def set_node_status(self, status: dict[str, Any]) -> None:
        """Take pid, port, status and restarts from the cluster's own table."""
        node = self.nodes.get(status.get("id"))
        if node is None:
            return
        for key in ("status", "pid", "port", "restarts", "started_at"):
            if status.get(key) is not None:
                setattr(node, key, status[key])

    # --- handlers, one per event type ----------------------------------

    def _on_epoch(self, ev: dict[str, Any], node: NodeView | None) -> None:
        epoch = ev.get("epoch", 0)
        if node is not None:
            node.epoch = max(node.epoch, epoch)
        if epoch > self.epoch:
            self.epoch = epoch
            self.leader = ev.get("leader", 0)
            # Pruning walks the whole graph: do it every tenth of the window.
            if epoch - self._pruned_at >= max(1, self.keep_epochs // 10):
                self._prune()

    def _on_propose(self, ev: dict[str, Any], node: NodeView | None) -> None:
        self._add_block(ev["block"], ev.get("t"))

    def _on_block(self, ev: dict[str, Any], node: NodeView | None) -> None:
        self._add_block(ev["block"], ev.get("t"))

    def _on_vote(self, ev: dict[str, Any], node: NodeView | None) -> None:
        if node is None:
            return
        node.last_vote = {"epoch": ev.get("epoch"), "block": ev.get("block"),
                          "height": ev.get("height")}
        attrs = self._placeholder(ev["block"], ev.get("epoch"))
        attrs["voters"].add(node.id)

    def _on_notarize(self, ev: dict[str, Any], node: NodeView | None) -> None:
        attrs = self._placeholder(ev["block"], ev.get("block_epoch"))
        attrs["voters"].update(ev.get("voters", ()))
        if node is not None:
            attrs["notarized_by"].add(node.id)
        for tx_id in attrs["txs"]:
            self._tx_progress(tx_id, "notarized", attrs, ev.get("t"))

    def _on_finalize(self, ev: dict[str, Any], node: NodeView | None) -> None:
        justification = list(ev.get("justification", ()))
        for summary in ev.get("blocks", ()):
            attrs = self._add_block(summary, ev.get("t"))
            if attrs.get("justification") is None:
                attrs["justification"] = justification
            if node is not None:
                attrs["finalized_by"].add(node.id)
                self._extend_final_chain(node, summary)
            self._check_height(summary, node)
            for tx_id in attrs["txs"]:
                self._tx_progress(tx_id, "finalized", attrs, ev.get("t"))
        if node is not None:
            node.finalized_height = max(node.finalized_height,
                                        ev.get("height", 0))

    def _on_tx(self, ev: dict[str, Any], node: NodeView | None) -> None:
        record = self._tx(ev["tx"])
        for key in ("sender", "receiver", "amount"):
            if record.get(key) is None:
                record[key] = ev.get(key)
        if node is not None and len(node.pool) < self.pool_cap:
            if record["status"] != "finalized":
                node.pool.add(ev["tx"])

    def _on_tx_submitted(self, ev: dict[str, Any], node: NodeView | None) -> None:
        self.track_submitted(ev["tx"], ev.get("sender"), ev.get("receiver"),
                             ev.get("amount"), ev.get("t"), ev.get("via"))

    def _on_safety_violation(self, ev: dict[str, Any],
                             node: NodeView | None) -> None:
        self._violation(ev.get("node"), ev.get("detail", "reported by the node"),
                        ev.get("block"))

    def _on_started(self, ev: dict[str, Any], node: NodeView | None) -> None:
        if node is None:
            return
        node.pid = ev.get("pid", node.pid)
        node.port = ev.get("port", node.port)
        node.started_at = ev.get("t", node.started_at)
        node.finalized_height = max(node.finalized_height,
                                    ev.get("finalized_height", 0))

    def _on_caught_up(self, ev: dict[str, Any], node: NodeView | None) -> None:
        if node is not None:
            node.finalized_height = max(node.finalized_height,
                                        ev.get("finalized_height", 0))

    _on_synced = _on_caught_up
    _on_store_reloaded = _on_caught_up

    def _on_node_status(self, ev: dict[str, Any], node: NodeView | None) -> None:
        if node is None:
            return
        if ev.get("status") == "running" and node.status != "running":
            node.started_at = ev.get("t")
        self.set_node_status({**ev, "id": node.id, "started_at": None})

    # --- the block tree ------------------------------------------------

    def _placeholder(self, block_hash: str, epoch: int | None) -> dict[str, Any]:
        """The graph entry of a block, made bare if only its hash is known yet.

        Votes can arrive before the proposal (echo reorders them, PROTOCOL.md
        corner case 1), so a block may be voted for before its body is seen.
        """
        if block_hash not in self.graph:
            self.graph.add_node(block_hash, **_block_attrs(
                {"hash": block_hash, "epoch": epoch}, known=False, first_t=None))
        attrs = self.graph.nodes[block_hash]
        if attrs["epoch"] is None and epoch is not None:
            attrs["epoch"] = epoch
        return attrs

    def _add_block(self, summary: dict[str, Any], t: float | None) -> dict[str, Any]:
        block_hash = summary["hash"]
        attrs = self._placeholder(block_hash, summary.get("epoch"))
        if attrs["known"]:
            return attrs
        for key in ("parent", "epoch", "height", "proposer"):
            attrs[key] = summary.get(key)
        attrs.update(txs=list(summary.get("txs", ())), known=True, first_t=t)
        self._placeholder(summary["parent"], None)
        self.graph.add_edge(summary["parent"], block_hash)
        # The body may come after its votes and notarizations: catch the
        # transactions up with what the block has already reached.
        status = "proposed"
        if attrs["notarized_by"]:
            status = "notarized"
        if attrs["finalized_by"]:
            status = "finalized"
        for tx_id in attrs["txs"]:
            self._tx_progress(tx_id, status, attrs, t)
        return attrs

    def _prune(self) -> None:
        """Drop blocks (and bare hashes) from epochs the page no longer shows."""
        horizon = self.epoch - self.keep_epochs
        old = [h for h, a in self.graph.nodes(data=True)
               if h != GENESIS_HASH and (a["epoch"] or 0) < horizon]
        self.graph.remove_nodes_from(old)
        self._pruned_at = self.epoch

    # --- finality and safety -------------------------------------------

    def _extend_final_chain(self, node: NodeView, summary: dict[str, Any]) -> None:
        """Append to a node's finalized tail; the log only grows by extension."""
        height = summary["height"]
        if height <= node.finalized_height:
            return  # known already, e.g. restored from the node's store
        if (node.tail and node.tail_height == height - 1
                and summary["parent"] != node.tail[-1]):
            self._violation(node.id, f"n{node.id} finalized "
                            f"{short(summary['hash'], summary['epoch'])}, which "
                            "does not extend its own finalized chain",
                            summary["hash"])
        node.tail.append(summary["hash"])
        node.tail_height = node.finalized_height = height

    def _check_height(self, summary: dict[str, Any], node: NodeView | None) -> None:
        height = summary["height"]
        if height < self._lowest_height:
            self.unchecked += 1
            return
        first = self.final_at_height.setdefault(height, summary["hash"])
        if first != summary["hash"]:
            other = self.graph.nodes[first]["epoch"] if first in self.graph else None
            who = f"n{node.id}" if node is not None else "a node"
            self._violation(
                node.id if node else None,
                f"{who} finalized {short(summary['hash'], summary['epoch'])} at "
                f"height {height}, where {short(first, other)} is already final",
                summary["hash"])
        while len(self.final_at_height) > self.keep_heights:
            self.final_at_height.pop(self._lowest_height, None)
            self._lowest_height += 1

    def _violation(self, node: int | None, detail: str, block: str | None) -> None:
        self.violation_count += 1
        self.violations.append({"node": node, "detail": detail, "block": block})

    def safety(self) -> dict[str, Any]:
        """The live safety check: are all finalized chains prefix-consistent?"""
        return {
            "ok": self.violation_count == 0,
            "violations": list(self.violations),
            "violation_count": self.violation_count,
            "final_height": max(self.final_at_height, default=0),
            "unchecked": self.unchecked,
        }

    def why(self, block_hash: str) -> str:
        """Why a block is, or is not yet, final, in the paper's terms."""
        if block_hash == GENESIS_HASH:
            return "genesis is final by definition"
        if block_hash not in self.graph:
            return ("no node has reported this block, or it is older than the "
                    f"{self.keep_epochs} epochs the dashboard keeps")
        a = self.graph.nodes[block_hash]
        name = short(block_hash, a["epoch"])
        if a["finalized_by"]:
            return self._why_final(name, a)

        height = a.get("height")
        rival = self.final_at_height.get(height) if height else None
        if rival is not None and rival != block_hash:
            return (f"{name} is on an abandoned fork: "
                    f"{short(rival, self._epoch_of(rival))} is final at height "
                    f"{height}")
        if not a["known"]:
            return (f"{name} has {len(a['voters'])} vote(s) but no node has "
                    "reported its body yet")
        if not a["notarized_by"] and len(a["voters"]) < self.quorum:
            votes = f"{len(a['voters'])} of the {self.quorum} votes"
            if self.epoch > a["epoch"]:
                return (f"{name} is not notarized: its epoch ended with {votes} "
                        "needed (more than n/2), and nodes vote only during the "
                        "block's epoch")
            return f"{name} is not notarized yet: {votes} needed so far"
        return self._why_notarized_not_final(name, block_hash, a)

    def _why_final(self, name: str, a: dict[str, Any]) -> str:
        by = ", ".join(f"n{i}" for i in sorted(a["finalized_by"]))
        text = f"{name} is final on {by}"
        triple = a.get("justification") or []
        if len(triple) == 3:
            names = ", ".join(short(h, self._epoch_of(h)) for h in triple)
            text += (f"; justified by the notarized blocks {names} of three "
                     "consecutive epochs (the middle one and its prefix become "
                     "final)")
        missing = sorted(set(self.nodes) - a["finalized_by"])
        if missing:
            text += "; not yet on " + ", ".join(f"n{i}" for i in missing)
        return text

    def _why_notarized_not_final(self, name: str, block_hash: str,
                                 a: dict[str, Any]) -> str:
        epoch = a["epoch"]
        parent = self.graph.nodes.get(a["parent"], {})
        parent_epoch = parent.get("epoch")
        if parent_epoch is not None and parent_epoch != epoch - 1:
            return (f"{name} is notarized, but its parent is from epoch "
                    f"{parent_epoch}, not {epoch - 1}: it can become final only "
                    "as the prefix of a later final block")
        kids = [c for c in self.graph.successors(block_hash)
                if self.graph.nodes[c]["epoch"] == epoch + 1]
        notarized_kids = [c for c in kids if self._is_notarized(c)]
        if notarized_kids:
            return (f"{name} is notarized and so is its child from epoch "
                    f"{epoch + 1}; final as soon as the nodes process it")
        if self.epoch > epoch + 1:
            return (f"{name} is notarized, but epoch {epoch + 1} produced no "
                    "notarized child of it: it can become final only as the "
                    "prefix of a later final block")
        return (f"{name} is notarized; it becomes final when a child from epoch "
                f"{epoch + 1} is notarized (three consecutive epochs)")

    def _is_notarized(self, block_hash: str) -> bool:
        a = self.graph.nodes[block_hash]
        return bool(a["notarized_by"]) or len(a["voters"]) >= self.quorum

    def _epoch_of(self, block_hash: str) -> int | None:
        if block_hash in self.graph:
            return self.graph.nodes[block_hash]["epoch"]
        return None

    # --- transactions --------------------------------------------------

    def _tx(self, tx_id: str) -> dict[str, Any]:
        record = self.txs.get(tx_id)
        if record is None:
            record = {"id": tx_id, "sender": None, "receiver": None,
                      "amount": None, "status": "pending", "block": None,
                      "epoch": None, "submitted_t": None, "via": None,
                      "updated_t": None}
            self.txs[tx_id] = record
            while len(self.txs) > self.keep_txs:
                self.txs.popitem(last=False)
        return record

    def _tx_progress(self, tx_id: str, status: str, block: dict[str, Any],
                     t: float | None) -> None:
        record = self._tx(tx_id)
        if STATUS_RANK[status] <= STATUS_RANK[record["status"]]:
            return
        record.update(status=status, block=block["hash"], epoch=block["epoch"],
                      updated_t=t)
        if status == "finalized":
            for node in self.nodes.values():
                node.pool.discard(tx_id)

    # --- output --------------------------------------------------------

    def block_json(self, block_hash: str) -> dict[str, Any] | None:
        if block_hash not in self.graph:
            return None
        a = self.graph.nodes[block_hash]
        return {
            "hash": block_hash, "parent": a["parent"], "epoch": a["epoch"],
            "height": a["height"], "proposer": a["proposer"],
            "txs": a["txs"][:16], "tx_count": len(a["txs"]), "known": a["known"],
            "voters": sorted(a["voters"]),
            "notarized_by": sorted(a["notarized_by"]),
            "finalized_by": sorted(a["finalized_by"]),
            "justification": a.get("justification"),
        }

    def recent_blocks(self, epochs: int) -> list[dict[str, Any]]:
        """Blocks of the last ``epochs`` epochs, oldest first."""
        low = self.epoch - epochs
        chosen = [h for h, a in self.graph.nodes(data=True)
                  if h != GENESIS_HASH and (a["epoch"] or 0) >= low]
        chosen.sort(key=lambda h: (self.graph.nodes[h]["epoch"] or 0, h))
        return [self.block_json(h) for h in chosen]

    def snapshot(self, *, epochs: int = 60, txs: int = 200) -> dict[str, Any]:
        """Everything a page that connects now needs to draw the current state."""
        return {
            "n": self.n, "quorum": self.quorum, "genesis_hash": GENESIS_HASH,
            "epoch": self.epoch, "leader": self.leader,
            "nodes": [node.to_json() for node in self.nodes.values()],
            "node_events": {node.id: list(node.log) for node in self.nodes.values()},
            "blocks": self.recent_blocks(epochs),
            "txs": list(self.txs.values())[-txs:],
            "events": list(self.recent),
            "safety": self.safety(),
        }


def _block_attrs(summary: dict[str, Any], *, known: bool,
                 first_t: float | None) -> dict[str, Any]:
    return {
        "hash": summary["hash"], "parent": summary.get("parent"),
        "epoch": summary.get("epoch"), "height": summary.get("height"),
        "proposer": summary.get("proposer"), "txs": list(summary.get("txs", ())),
        "known": known, "first_t": first_t, "voters": set(),
        "notarized_by": set(), "finalized_by": set(), "justification": None,
    }
