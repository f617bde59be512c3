"""Long runs: old finalized blocks leave memory, nothing needed is forgotten."""

from __future__ import annotations

from backend.core import Config, Propose, Streamlet
from backend.core.chain import GENESIS, Block


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
