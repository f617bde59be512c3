"""A node killed before it stored any block or vote keeps the transactions
it acknowledged.

Found by the chaos campaign: "1 acknowledged transaction never finalized"
after a full minute of calm (run 23, transaction 1:1, one of the first). A
node acknowledged a transaction in the first epochs and was killed before it
had stored a block or a vote; its store held the transaction, but a store
without blocks and votes counted as empty, so the restarted node began afresh,
without its pool, and the transaction was lost.
"""

from __future__ import annotations

import asyncio

from backend.core import Transaction
from backend.core.output import TxRecord
from backend.node.process import NodeProcess
from backend.node.store import Store


def test_a_store_holding_only_a_transaction_is_not_empty(tmp_path):
    store = Store(tmp_path / "n1.sqlite")
    assert store.is_empty()
    store.write([TxRecord(Transaction(1, 2, 1, 5))])
    assert not store.is_empty()
    store.close()


async def _restart(path: str) -> tuple[bool, list[str]]:
    node = NodeProcess(1, 3, 0.05, "round-robin", path, control_port=1)
    try:
        return node.restored, sorted(node.core.pool)
    finally:
        node.store.close()


def test_the_restarted_node_has_the_transaction_in_its_pool(tmp_path):
    path = str(tmp_path / "n1.sqlite")
    store = Store(path)
    store.write([TxRecord(Transaction(1, 2, 1, 5))])
    store.close()
    restored, pool = asyncio.run(_restart(path))
    assert restored
    assert pool == ["1:1"]
