"""The node's SQLite store: what a restarted node gets back."""

from __future__ import annotations

import sqlite3

import pytest

from backend.core import Config, Streamlet, Transaction
from backend.core.chain import GENESIS, Block
from backend.core.output import (
    BlockRecord,
    FinalizedRecord,
    NotarizedRecord,
    ProposalRecord,
    TxRecord,
    VoteRecord,
)
from backend.node.store import Store


def _block(epoch=1, parent=GENESIS, txs=()):
    return Block(parent=parent.hash, epoch=epoch, height=parent.height + 1,
                 txs=tuple(txs), proposer=1)


def test_records_come_back_as_a_snapshot(tmp_path):
    tx = Transaction(1, 2, 0, 2.5)
    b1 = _block(1, txs=[tx])
    store = Store(tmp_path / "n1.sqlite")
    store.write([BlockRecord(b1), TxRecord(tx), ProposalRecord(1, b1.hash),
                 VoteRecord(1, b1.hash, 0), NotarizedRecord(b1.hash, (1, 2, 3)),
                 FinalizedRecord(b1.hash, 2)])
    store.close()
    snap = Store(tmp_path / "n1.sqlite").snapshot()
    assert snap.blocks == [b1]
    assert snap.blocks[0].hash == b1.hash
    assert snap.txs == [tx]
    assert snap.votes == [VoteRecord(1, b1.hash, 0)]
    assert snap.proposals == [ProposalRecord(1, b1.hash)]
    assert snap.notarized == [NotarizedRecord(b1.hash, (1, 2, 3))]
    assert snap.finalized == [FinalizedRecord(b1.hash, 2)]


def test_store_refuses_a_second_vote_in_the_same_epoch(tmp_path):
    """Crash-recovery: at most one vote per epoch, enforced by the table too."""
    store = Store(tmp_path / "n1.sqlite")
    store.write([VoteRecord(3, "a" * 64, 1)])
    with pytest.raises(sqlite3.IntegrityError):
        store.write([VoteRecord(3, "b" * 64, 1)])
    assert [v.block for v in store.votes()] == ["a" * 64]


def test_a_failed_write_leaves_nothing_half_written(tmp_path):
    store = Store(tmp_path / "n1.sqlite")
    store.write([ProposalRecord(4, "a" * 64)])
    with pytest.raises(sqlite3.IntegrityError):
        store.write([BlockRecord(_block(1)), ProposalRecord(4, "c" * 64)])
    assert store.blocks() == []


def test_restored_core_keeps_its_vote_and_finalized_chain(tmp_path):
    """What the core persisted is enough to rebuild it (crash-recovery)."""
    config = Config(n=1)
    node = Streamlet(config, 1)
    store = Store(tmp_path / "n1.sqlite")
    for epoch in range(1, 5):
        store.write(node.on_epoch(epoch).persist)
    assert node.finalized_height == 3
    store.close()
    again = Streamlet.restore(config, 1, Store(tmp_path / "n1.sqlite").snapshot())
    assert again.finalized == node.finalized
    assert again.voted == node.voted
    assert again.last_proposed_epoch == 4
    assert again.on_epoch(4).send == []  # no second proposal or vote in epoch 4
