"""A flood of refused messages does not become a flood of events.

Found by bench/fuzz_node.py after the core stopped keeping such messages:
200,000 proposals from non-leaders and from too far ahead at one node still
cost one ``rejected`` event each, every one encoded and written to the
supervisor's control link; the node's memory grew from 26 to 74 MiB while its
supervisor read them, and it fell far behind the others. Past a few per epoch,
refusals are now only counted (``rejected_unreported`` in the node's stats).
"""

from __future__ import annotations

import asyncio
import os

from backend.core import Block, Propose
from backend.node.process import MAX_REJECTED_EVENTS_PER_EPOCH, NodeProcess


async def _flood(store: str, count: int) -> tuple[int, dict]:
    node = NodeProcess(1, 3, 0.05, "round-robin", store, control_port=1)
    node._enter(1)
    for _ in range(count):
        # Epoch 1's leader is n1: a block from n2 in epoch 1 is refused.
        block = Block(os.urandom(32).hex(), 1, 3, (), 2)
        node._deliver({"m": Propose(block).to_wire(), "st": 0}, 2)
    rejected = sum(1 for e in node._events if e["type"] == "rejected")
    node.store.close()
    return rejected, dict(node.stats)


def test_refusals_past_a_few_per_epoch_are_counted_not_reported(tmp_path):
    rejected, stats = asyncio.run(_flood(str(tmp_path / "n1.sqlite"), 2000))
    assert rejected == MAX_REJECTED_EVENTS_PER_EPOCH
    assert stats["rejected_unreported"] == 2000 - MAX_REJECTED_EVENTS_PER_EPOCH
