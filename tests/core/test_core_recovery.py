"""Crash-recovery and catch-up (PROTOCOL.md, Crash-recovery; corner case 11).

A node's records are whatever its outputs asked to persist; a restart
rebuilds it from exactly those, as the node process does from its store.
"""

from __future__ import annotations

from backend.core import (
    GENESIS,
    Config,
    Output,
    Propose,
    Snapshot,
    Streamlet,
    SyncRequest,
    SyncResponse,
    TxMessage,
    Vote,
    snapshot_from_records,
)
from backend.core.messages import MAX_SYNC_BLOCKS
from backend.core.output import (
    NotarizedRecord,
    ProposalRecord,
    VoteRecord,
)
from tests.core.helpers import Network, deliver_votes, events, make_block, sent, tx


class Recorded:
    """A node plus the records its outputs asked to persist, in order."""

    def __init__(self, config: Config, node_id: int) -> None:
        self.config = config
        self.node = Streamlet(config, node_id)
        self.records: list = []

    def __call__(self, out: Output) -> Output:
        self.records.extend(out.persist)
        return out

    def restart(self) -> Streamlet:
        snap = snapshot_from_records(self.records)
        self.node = Streamlet.restore(self.config, self.node.id, snap)
        return self.node


def test_vote_and_proposal_are_persisted_in_the_same_output_that_sends_them():
    """Crash-recovery: the record of a vote or proposal comes in the very
    output that sends it, so a caller that persists before sending keeps it."""
    leader = Streamlet(Config(5), 1)
    out = leader.on_epoch(1)
    [proposal] = sent(out, Propose)
    assert ProposalRecord(1, proposal.block.hash) in out.persist
    assert VoteRecord(1, proposal.block.hash, 0) in out.persist
    assert [v.voter for v in sent(out, Vote)] == [1]


def test_restored_node_does_not_vote_twice_in_epoch():
    """Corner case 11: a node that voted in epoch 1 and restarted during it
    does not vote again in epoch 1 when the proposal reaches it again."""
    node = Recorded(Config(5), 5)
    b1 = make_block(GENESIS, 1)
    node(node.node.on_epoch(1))
    assert events(node(node.node.on_message(Propose(b1), via=1)), "vote")

    restored = node.restart()
    restored.on_epoch(1)
    out = restored.on_message(Propose(b1), via=2)

    assert [v for v in sent(out, Vote) if v.voter == 5] == []
    assert restored.voted == {1: b1.hash}


def test_restored_node_does_not_vote_for_shorter_block():
    """Crash-recovery / corner case 11: the persisted height its last vote
    extended stops a restarted node from voting for a block on a lower chain,
    even when its store holds no record of that higher chain's notarization."""
    b1 = make_block(GENESIS, 1)
    promise = VoteRecord(epoch=3, block="ab" * 32, extended_height=2)
    snap = Snapshot(blocks=[b1], notarized=[NotarizedRecord(b1.hash, (1, 2, 3))],
                    votes=[promise])
    restored = Streamlet.restore(Config(5), 5, snap)
    restored.on_epoch(4)
    shorter = make_block(b1, 4)  # height 2, extends height 1 < 2

    out = restored.on_message(Propose(shorter), via=4)

    assert events(out, "vote") == []
    assert "before restarting" in events(out, "vote_skipped")[0]["reason"]


def test_restored_node_does_not_propose_twice():
    """Corner case 11: a leader that proposed in its epoch and restarted in it
    does not propose a second block there, even with new transactions."""
    leader = Recorded(Config(5), 1)
    assert sent(leader(leader.node.on_epoch(1)), Propose)

    restored = leader.restart()
    restored.on_transaction(tx(3, 1))
    assert sent(restored.on_epoch(1), Propose) == []
    assert sent(restored.on_epoch(6), Propose)  # its next epoch as leader


def test_restarted_node_sends_pending_transactions_again():
    """Crash-recovery: a transaction acknowledged just before a crash may sit
    only in the store; after restarting, the node sends its whole pool to
    every peer again, final transactions aside."""
    node = Recorded(Config(5), 3)
    pending, final = tx(1, 1), tx(1, 2)
    node(node.node.on_transaction(pending))
    node(node.node.on_transaction(final))
    b1 = make_block(GENESIS, 1, txs=[final])
    b2 = make_block(b1, 2)
    for block in (b1, b2):
        node(node.node.on_message(Propose(block), via=block.proposer))
        node(deliver_votes(node.node, block, [1, 2, 4]))
    assert node.node.finalized == [b1.hash]

    out = node.restart().rebroadcast_pool()

    assert [(s.to, s.message) for s in out.send] == [((1, 2, 4, 5),
                                                      TxMessage(pending))]


def test_restored_node_rebuilds_notarized_chain_and_finalized_log():
    """Crash-recovery: a restart rebuilds the notarized chains and re-derives
    the same finalized log, keeping the epoch each block first became final."""
    net = Network(5, seed=2)
    net.run(range(1, 8))
    before = net.nodes[3]

    net.crash(3)
    net.restart(3, epoch=9)  # node 4 leads epoch 9
    after = net.nodes[3]

    assert after.finalized == before.finalized
    assert after.finalized_epoch == before.finalized_epoch
    assert after.longest_notarized_tips() == before.longest_notarized_tips()
    assert after.voted == before.voted


def test_restarted_node_rejoins_and_keeps_finalizing():
    """Crash-recovery: a node down for several epochs restarts from its
    records, catches up what it missed and finalizes the same chain."""
    net = Network(5, seed=4)
    net.run(range(1, 5))
    net.crash(2)
    net.run(range(5, 11))
    net.restart(2, epoch=11)
    net.deliver_all()
    net.run(range(12, 16))

    finals = {tuple(net.finalized(i)) for i in net.nodes}
    assert len(finals) == 1
    assert len(net.finalized(2)) >= 12


def test_catch_up_via_sync_request_response():
    """Crash-recovery / corner case 11: a node that missed more blocks than one
    answer holds asks its peers on connecting, follows "more" answers, and ends
    with the notarized chain and the same finalized log as everyone."""
    net = Network(5, seed=6, crashed={5})
    net.run(range(1, 46))
    assert len(net.finalized(1)) > MAX_SYNC_BLOCKS

    net.restart(5, epoch=46)
    net.deliver_all()
    synced = [e for e in net.events[5] if e["type"] == "synced"]

    assert any(e["more"] for e in synced)
    assert net.finalized(5) == net.finalized(1)
    net.run([47, 48])
    finals = {tuple(net.finalized(i)) for i in net.nodes}
    assert len(finals) == 1


def test_catch_up_after_an_outage_of_hundreds_of_blocks():
    """Crash-recovery: "it then catches up the blocks and notarizations it
    missed from its peers", however long it was down. Here node 5 misses over
    300 blocks, more than its peers keep in memory (Config.keep_heights), so
    the first answers come from their records, as from the node's store; it
    must still rejoin the chain and finalize with the others."""
    net = Network(5, seed=9, wire=False)  # no JSON here: ~40k messages
    net.run(range(1, 5))
    net.crash(5)
    net.run(range(5, 460))
    assert len(net.finalized(1)) > 300
    assert net.nodes[1].pruned_height > len(net.finalized(5))

    net.restart(5, epoch=460)
    net.deliver_all()
    net.run(range(461, 466))

    assert net.nodes[5].best_height == net.nodes[1].best_height
    assert net.finalized(5) == net.finalized(1)


def test_sync_request_answered_with_notarized_blocks_and_their_voters():
    """Catch-up: a peer answers with the notarized blocks above the asker's
    finalized height, oldest first, and the voters that notarized them."""
    peer = Streamlet(Config(5), 1)
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)
    for block in (b1, b2):
        peer.on_message(Propose(block), via=block.proposer)
        deliver_votes(peer, block, [2, 3, 4])

    out = peer.on_message(SyncRequest(5, 1), via=5)

    [answer] = sent(out, SyncResponse)
    assert [s.to for s in out.send] == [(5,)]
    assert [b.hash for b in answer.blocks] == [b2.hash]
    assert answer.voters == ((b2.hash, (2, 3, 4)),)
    assert answer.more is False


def test_a_wanted_blocks_ancestors_stop_at_the_askers_finalized_height():
    """Catch-up: the asker holds its finalized chain, so a peer sends a wanted
    block and only those of its ancestors above the asker's finalized height
    (a run of 32 ancestors for every wanted block made catch-up answers the
    bulk of the traffic whenever votes came late)."""
    peer = Streamlet(Config(5), 1)
    chain = [GENESIS]
    for epoch in range(1, 7):
        block = make_block(chain[-1], epoch)
        peer.on_message(Propose(block), via=block.proposer)
        deliver_votes(peer, block, [2, 3, 4])
        chain.append(block)
    b = {block.epoch: block for block in chain[1:]}

    out = peer.on_message(SyncRequest(5, 4, (b[6].hash,)), via=5)
    [answer] = sent(out, SyncResponse)
    assert [x.hash for x in answer.blocks] == [b[5].hash, b[6].hash]

    # A wanted block at or below that height is still sent, alone.
    out = peer.on_message(SyncRequest(5, 5, (b[3].hash,)), via=5)
    [answer] = sent(out, SyncResponse)
    assert [x.hash for x in answer.blocks] == [b[3].hash, b[6].hash]
