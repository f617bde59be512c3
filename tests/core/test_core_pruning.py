"""Long runs: old finalized blocks leave memory, nothing needed is forgotten."""

from __future__ import annotations

from backend.core import Config, Propose, Streamlet, TxMessage, snapshot_from_records
from backend.core.chain import GENESIS, Block, Transaction


def test_memory_holds_a_bounded_window_of_blocks_in_a_long_run():
    node = Streamlet(Config(n=1, keep_heights=64), 1)
    sizes = []
    for epoch in range(1, 1001):
        node.on_epoch(epoch)
        sizes.append(len(node.blocks))
    assert node.finalized_height == 999
    assert node.pruned_height > 900
    assert max(sizes[500:]) <= 64 + 32 + 3
    assert len(node.votes) <= 64 + 32 + 3
    assert len(node._seen) < 100


def test_pruned_node_keeps_proposing_and_finalizing_on_its_chain():
    config = Config(n=1, keep_heights=8)
    node = Streamlet(config, 1)
    for epoch in range(1, 101):
        out = node.on_epoch(epoch)
    final = [e for e in out.events if e["type"] == "finalize"]
    assert final and final[-1]["blocks"][-1]["epoch"] == 99
    assert node.chain(node.finalized_tip)[-1].epoch == 99


def test_proposal_from_long_past_epoch_is_ignored():
    node = Streamlet(Config(n=3), 1)
    for epoch in range(1, 40):
        node.on_epoch(epoch)
    before = len(node.blocks)
    stale = Block(parent=GENESIS.hash, epoch=2, height=1, txs=(), proposer=2)
    out = node.on_message(Propose(stale), via=2)
    assert len(node.blocks) == before
    assert [e["reason"] for e in out.events if e["type"] == "rejected"] == [
        "epoch 2 is long past"]


def test_finalized_log_tx_ids_and_votes_stay_bounded_in_a_long_run():
    # A long run used to keep every finalized hash, every finalized
    # transaction id and every vote in memory: entries, not bytes, counted.
    node = Streamlet(Config(n=1, keep_heights=64), 1)
    sizes = []
    for epoch in range(1, 2001):
        for nonce in range(3):
            node.on_transaction(Transaction(1, 2, epoch * 10 + nonce, 1))
        node.on_epoch(epoch)
        sizes.append((len(node.finalized), len(node.finalized_txs),
                      len(node._final_tx_heights), len(node.voted)))
    assert node.finalized_height == 1999
    assert node.finalized_offset + len(node.finalized) == node.finalized_height
    assert node.finalized_tip == node.chain(node.finalized_tip)[-1].hash
    window = 64 + 32 + 1
    assert max(s[0] for s in sizes[500:]) <= window
    assert max(s[1] for s in sizes[500:]) <= 3 * window
    assert max(s[2] for s in sizes[500:]) <= window
    assert max(s[3] for s in sizes[500:]) <= node.config.late_proposal_epochs + 1
    assert len(node.pool) <= 2 * 3


def test_recent_finalized_transaction_is_not_taken_again():
    node = Streamlet(Config(n=1, keep_heights=8), 1)
    tx = Transaction(1, 2, 7, 5)
    node.on_transaction(tx)
    for epoch in range(1, 6):
        node.on_epoch(epoch)
    assert tx.id in node.finalized_txs
    out = node.on_transaction(tx)
    assert not out.persist and tx.id not in node.pool


def test_restart_does_not_put_finalized_transactions_back_in_the_pool():
    # The store keeps every acknowledged transaction; after a long run most of
    # them are final, long below what the core remembers (finalized_txs).
    config = Config(n=1, keep_heights=8)
    node = Streamlet(config, 1)
    records = []
    for epoch in range(1, 201):
        records += node.on_transaction(Transaction(1, 2, epoch, 1)).persist
        records += node.on_epoch(epoch).persist
    pending = set(node.pool)
    assert pending and len(pending) < 3

    again = Streamlet.restore(config, 1, snapshot_from_records(records))

    assert set(again.pool) == pending
    assert again.finalized_height == node.finalized_height
    assert len(again.finalized) <= 8 + 32 + 1


def test_echo_filter_forgets_old_epochs_but_not_a_message_seen_again():
    node = Streamlet(Config(n=3, stale_vote_epochs=4), 1)
    node.on_epoch(1)
    old, again = Transaction(2, 3, 1, 5), Transaction(2, 3, 2, 5)
    node.on_message(TxMessage(old), via=2)
    node.on_message(TxMessage(again), via=2)
    node.on_epoch(3)
    node.rebroadcast_pool()  # records both ids again, in epoch 3
    node.pool.pop(old.id)
    for epoch in range(4, 8):
        node.on_epoch(epoch)
    # Epoch 1's records are forgotten; epoch 3's are still within the horizon.
    assert TxMessage(again).id in node._seen
    assert all(epoch >= 7 - 4 for epoch in node._seen.values())
    assert min(node._seen_by_epoch) >= 3
    for epoch in range(8, 12):
        node.on_epoch(epoch)
    assert TxMessage(again).id not in node._seen
    assert min(node._seen_by_epoch, default=8) >= 11 - 4
