"""Read the nodes' stores after a run and check what they promise.

Used by the headless runner's report and by the tests: finalized chains are
prefixes of one another (Theorem 12, consistency), no node recorded two votes
in one epoch or two proposals in one epoch, no transaction is final twice,
and every acknowledged transaction is final exactly once.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.core.chain import GENESIS, Block
from backend.node.store import Store


@dataclass
class NodeRecord:
    """What one node's store says, in the report's shape."""

    id: int
    finalized: list[Block] = field(default_factory=list)
    finalized_epoch: dict[str, int] = field(default_factory=dict)
    notarized: list[Block] = field(default_factory=list)
    votes: list[tuple[int, str]] = field(default_factory=list)
    proposals: list[tuple[int, str]] = field(default_factory=list)
    blocks: dict[str, Block] = field(default_factory=dict)


def read_store(node_id: int, path: str | Path) -> NodeRecord:
    """Everything the report needs from one node's SQLite file."""
    record = NodeRecord(node_id)
    if not Path(path).exists():
        return record
    store = Store(path, readonly=True)
    try:
        record.blocks = {b.hash: b for b in store.blocks()}
        record.blocks[GENESIS.hash] = GENESIS
        for rec in store.finalized():
            block = record.blocks.get(rec.block)
            if block is not None:
                record.finalized.append(block)
                record.finalized_epoch[block.hash] = rec.epoch
        record.notarized = sorted(
            (record.blocks[r.block] for r in store.notarized()
             if r.block in record.blocks and r.block != GENESIS.hash),
            key=lambda b: (b.height, b.epoch))
        record.votes = [(v.epoch, v.block) for v in store.votes()]
        record.proposals = [(p.epoch, p.block) for p in store.proposals()]
    finally:
        store.close()
    return record


def check_safety(records: list[NodeRecord], acknowledged: list[str] | None = None,
                 require_final: bool = False) -> list[str]:
    """Every broken promise found in ``records``, as sentences (empty: none)."""
    violations = []
    chains = {r.id: [b.hash for b in r.finalized] for r in records}
    ids = sorted(chains)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            shorter = min(len(chains[a]), len(chains[b]))
            if chains[a][:shorter] != chains[b][:shorter]:
                at = next(k for k in range(shorter) if chains[a][k] != chains[b][k])
                violations.append(f"finalized chains of n{a} and n{b} differ at "
                                  f"height {at + 1}")
    for r in records:
        previous = GENESIS.hash
        for block in r.finalized:
            if block.parent != previous:
                violations.append(f"n{r.id}'s finalized log does not link at "
                                  f"b{block.epoch}")
                break
            previous = block.hash
        epochs = [e for e, _ in r.votes]
        if len(epochs) != len(set(epochs)):
            violations.append(f"n{r.id} voted twice in one epoch")
        proposed = [e for e, _ in r.proposals]
        if len(proposed) != len(set(proposed)):
            violations.append(f"n{r.id} proposed twice in one epoch")
        tx_ids = [t for b in r.finalized for t in b.tx_ids]
        if len(tx_ids) != len(set(tx_ids)):
            violations.append(f"n{r.id}'s finalized log holds a transaction twice")
    if acknowledged is not None and require_final and records:
        longest = max(records, key=lambda r: len(r.finalized))
        final = [t for b in longest.finalized for t in b.tx_ids]
        missing = set(acknowledged) - set(final)
        if missing:
            violations.append(f"{len(missing)} acknowledged transaction(s) never "
                              f"finalized, e.g. {sorted(missing)[0]}")
    return violations


def justification(record: NodeRecord) -> dict[str, Any] | None:
    """For the last finalized block: the parent and notarized child that made it
    final (the middle of three consecutive epochs)."""
    if not record.finalized:
        return None
    last = record.finalized[-1]
    parent = record.blocks.get(last.parent)
    notarized = {b.hash for b in record.notarized}
    child = next((b for b in record.notarized
                  if b.parent == last.hash and b.epoch == last.epoch + 1
                  and b.hash in notarized), None)
    return {
        "block": {"hash": last.hash, "epoch": last.epoch},
        "parent": {"hash": parent.hash, "epoch": parent.epoch} if parent else None,
        "child": {"hash": child.hash, "epoch": child.epoch} if child else None,
    }


def node_report(record: NodeRecord, status: str, restarts: int) -> dict[str, Any]:
    return {
        "id": record.id,
        "status": status,
        "restarts": restarts,
        "finalized": [{**b.summary(), "finalized_epoch": record.finalized_epoch[b.hash]}
                      for b in record.finalized],
        "notarized": [b.summary() for b in record.notarized],
        "votes": [{"epoch": e, "block": h} for e, h in record.votes],
        "justification": justification(record),
    }


def metrics(records: list[NodeRecord], epochs: int) -> dict[str, Any]:
    latencies = [r.finalized_epoch[b.hash] - b.epoch
                 for r in records for b in r.finalized]
    notarized_epochs = {b.epoch for r in records for b in r.notarized
                        if b.epoch <= epochs}
    return {
        "finalized_height": {str(r.id): len(r.finalized) for r in records},
        "finality_latency_epochs_median": statistics.median(latencies)
        if latencies else None,
        "finality_latency_epochs_max": max(latencies) if latencies else None,
        "epochs_with_notarized_block": len(notarized_epochs),
        "notarized_fraction": round(len(notarized_epochs) / epochs, 4)
        if epochs else None,
    }


def epoch_ranges(blocks: list[Block]) -> str:
    """``b1-b7 b9 b10-b12``: a finalized chain written compactly by epoch."""
    parts: list[str] = []
    run: list[int] = []
    for epoch in [b.epoch for b in blocks]:
        if run and epoch == run[-1] + 1:
            run.append(epoch)
            continue
        if run:
            parts.append(_run(run))
        run = [epoch]
    if run:
        parts.append(_run(run))
    return " ".join(parts) if parts else "(nothing final)"


def _run(run: list[int]) -> str:
    return f"b{run[0]}" if len(run) == 1 else f"b{run[0]}-b{run[-1]}"
