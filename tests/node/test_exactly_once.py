"""Exactly once for transactions final longer ago than the core remembers.

The core keeps the ids of finalized transactions only for the heights it holds
in memory (``Config.keep_heights``); the node asks its store about older ones
before handing a client's or a peer's transaction to the core (PROTOCOL.md,
case 12: the finalized log never holds a transaction twice).

A node of one finalizes on its own (a new final block every epoch after the
third) and has no links; an event loop runs only for its event reports.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from backend.core import Transaction, TxMessage
from backend.node.process import NodeProcess
from backend.node.store import Store

TX = Transaction(4, 5, 77, 3)
CLIENT_TX = {"type": "tx", "req": 1, "sender": TX.sender, "receiver": TX.receiver,
             "nonce": TX.nonce, "amount": TX.amount}


def _final_tx_counts(store: Store) -> Counter[str]:
    bodies = {b.hash: b for b in store.blocks()}
    return Counter(t for rec in store.finalized() for t in bodies[rec.block].tx_ids)


def _lone_node(tmp_path) -> NodeProcess:
    return NodeProcess(1, 1, 1.0, "round-robin", str(tmp_path / "n1.sqlite"),
                       control_port=0, keep_heights=8)


def _looped(step: Callable[[], Any]) -> Any:
    """Run ``step`` inside an event loop (the node reports events through it)."""
    async def run() -> Any:
        return step()

    return asyncio.run(run())


def _run_epochs(node: NodeProcess, epochs: range) -> None:
    def run() -> None:
        for epoch in epochs:
            node.carry_out(node.core.on_epoch(epoch))

    _looped(run)


def _client_tx(node: NodeProcess, req: int) -> dict[str, Any]:
    return _looped(lambda: node._client_tx({**CLIENT_TX, "req": req}))


@pytest.fixture
def finalized_long_ago(tmp_path) -> Iterator[NodeProcess]:
    """A node that finalized TX over a hundred heights ago."""
    node = _lone_node(tmp_path)
    try:
        _client_tx(node, 1)
        _run_epochs(node, range(1, 120))
        assert TX.id not in node.core.finalized_txs  # long out of the window
        assert _final_tx_counts(node.store)[TX.id] == 1
        yield node
    finally:
        node.store.close()


def test_a_client_retry_after_the_window_is_acknowledged_not_taken_again(
        finalized_long_ago):
    node = finalized_long_ago
    ack = _client_tx(node, 2)
    _run_epochs(node, range(120, 140))

    assert ack == {"type": "tx_ack", "req": 2, "id": TX.id}
    assert TX.id not in node.core.pool
    assert _final_tx_counts(node.store)[TX.id] == 1


def test_a_rebroadcast_of_a_transaction_final_long_ago_is_dropped(
        finalized_long_ago):
    # A peer restarted with an old pool sends it again (rebroadcast_pool).
    node = finalized_long_ago
    _looped(lambda: node._accept(TxMessage(TX), 0.0, 1))
    _run_epochs(node, range(120, 140))

    assert TX.id not in node.core.pool
    assert _final_tx_counts(node.store)[TX.id] == 1


def test_a_restarted_node_does_not_rebroadcast_what_it_finalized(
        finalized_long_ago, tmp_path):
    # Its store keeps every acknowledged transaction; the final ones must not
    # come back into the pool, however far below the window they are.
    finalized_long_ago.store.close()
    again = _lone_node(tmp_path)
    try:
        assert again.restored
        assert again.core.pool == {}
        assert again.core.rebroadcast_pool().send == []
        assert again.core.finalized_height == 118
    finally:
        again.store.close()


def test_store_records_the_ids_of_finalized_transactions(tmp_path):
    node = _lone_node(tmp_path)
    try:
        _client_tx(node, 1)
        assert not node.store.is_final_tx(TX.id)
        _run_epochs(node, range(1, 6))
        assert node.store.is_final_tx(TX.id)
        assert not node.store.is_final_tx("4:78")
    finally:
        node.store.close()
