"""The vote rule and its edges (PROTOCOL.md, Vote; corner cases 4, 5 and 9).

Node 5 of 5 with round-robin leaders is the node under test unless stated:
it leads epoch 5 only, so it never proposes in the epochs used here.
"""

from __future__ import annotations

from backend.core import (
    GENESIS,
    Block,
    Config,
    Propose,
    Streamlet,
    SyncRequest,
    SyncResponse,
    Vote,
)
from tests.core.helpers import (
    deliver_votes,
    events,
    make_block,
    notarize,
    sent,
    tx,
)


def node_in_epoch(epoch: int, node_id: int = 5, n: int = 5, **config) -> Streamlet:
    node = Streamlet(Config(n, **config), node_id)
    node.on_epoch(epoch)
    return node


def voted_for(out) -> list[str]:
    """Blocks this node voted for in ``out`` (echoes of others' votes aside)."""
    return [e["block"] for e in events(out, "vote")]


def test_vote_for_first_proposal_extending_longest_notarized_chain():
    """Vote rule: the first proposal of the epoch's leader, longer than every
    notarized chain, gets this node's vote, sent to every peer."""
    node = node_in_epoch(1)
    b1 = make_block(GENESIS, 1)

    out = node.on_message(Propose(b1), via=1)

    assert voted_for(out) == [b1.hash]
    assert [s.to for s in out.send if isinstance(s.message, Vote)] == [(1, 2, 3, 4)]
    assert node.voted == {1: b1.hash}
    assert events(out, "vote")[0]["height"] == 1


def test_vote_ignores_second_proposal_in_same_epoch():
    """Corner case 5: only the first proposal of the epoch's leader counts.

    The first proposal cannot be voted yet (its parent is not notarized); a
    second one that could be voted at once must still be refused, and the vote
    goes to the first once its parent is notarized.
    """
    node = node_in_epoch(2)
    b1 = make_block(GENESIS, 1)
    first = make_block(b1, 2)
    second = make_block(GENESIS, 2, txs=[tx(9, 1)])
    node.on_message(Propose(b1), via=1)

    assert voted_for(node.on_message(Propose(first), via=2)) == []
    out = node.on_message(Propose(second), via=2)
    assert voted_for(out) == []
    assert "second proposal" in events(out, "rejected")[0]["reason"]
    assert second.hash not in node.blocks

    out = deliver_votes(node, b1, [1, 2, 3])
    assert voted_for(out) == [first.hash]
    assert node.voted == {2: first.hash}


def test_at_most_one_vote_per_epoch_even_if_proposal_repeats():
    """Vote rule: at most one vote per epoch, however often the proposal comes."""
    node = node_in_epoch(1)
    b1 = make_block(GENESIS, 1)

    first = node.on_message(Propose(b1), via=1)
    again = node.on_message(Propose(b1), via=2)  # an echo of the same proposal

    assert voted_for(first) == [b1.hash]
    assert voted_for(again) == []


def test_proposal_from_non_leader_rejected():
    """Corner case 5: a block proposed by a node that does not lead its epoch
    is rejected, and does not use up the leader's first proposal."""
    node = node_in_epoch(1)
    forged = make_block(GENESIS, 1, proposer=2)

    out = node.on_message(Propose(forged), via=2)

    assert voted_for(out) == []
    assert forged.hash not in node.blocks
    assert "not the leader of epoch 1" in events(out, "rejected")[0]["reason"]
    genuine = make_block(GENESIS, 1, txs=[tx(1, 1)])
    assert voted_for(node.on_message(Propose(genuine), via=1)) == [genuine.hash]


def test_no_vote_outside_the_proposal_epoch():
    """Corner case 5: a vote is cast only during the proposal's own epoch.

    A proposal that arrives after its epoch is stored but not voted; one whose
    parent became notarized only after the epoch ended is not voted either.
    """
    late = node_in_epoch(3)
    b2 = make_block(GENESIS, 2)
    out = late.on_message(Propose(b2), via=2)
    assert voted_for(out) == [] and b2.hash in late.blocks

    node = node_in_epoch(2)
    b1 = make_block(GENESIS, 1)
    b2_on_b1 = make_block(b1, 2)
    node.on_message(Propose(b1), via=1)
    node.on_message(Propose(b2_on_b1), via=2)  # waits for b1's notarization
    node.on_epoch(3)
    out = deliver_votes(node, b1, [1, 2, 3])
    assert b1.hash in node.chained
    assert voted_for(out) == []
    assert 2 not in node.voted


def test_no_vote_on_tie_with_equally_long_notarized_fork():
    """Corner case 5: a block only as long as a notarized chain already seen
    (here a fork of the same height) gets no vote."""
    node = node_in_epoch(2)
    b1 = make_block(GENESIS, 1)
    notarize(node, [b1], [1, 2, 3])
    fork = make_block(GENESIS, 2)  # height 1, like b1

    out = node.on_message(Propose(fork), via=2)

    assert voted_for(out) == []
    skipped = events(out, "vote_skipped")
    assert skipped and "height 1" in skipped[0]["reason"]
    assert 2 not in node.voted


def test_vote_for_block_longer_than_every_notarized_chain():
    """Vote rule: a block one longer than the longest notarized chain is voted,
    even when a shorter notarized fork exists beside it."""
    node = node_in_epoch(3)
    b1 = make_block(GENESIS, 1)
    fork = make_block(GENESIS, 2)
    notarize(node, [b1, fork], [1, 2, 3])
    b3 = make_block(b1, 3)

    assert voted_for(node.on_message(Propose(b3), via=3)) == [b3.hash]


def test_no_vote_before_parent_chain_notarized():
    """Corner case 4: never vote before the parent chain is notarized locally;
    the vote follows as soon as it is, if the epoch has not moved on."""
    node = node_in_epoch(2)
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)
    node.on_message(Propose(b1), via=1)
    deliver_votes(node, b1, [1])

    out = node.on_message(Propose(b2), via=2)
    assert voted_for(out) == []
    assert events(out, "vote_skipped") == []  # waiting, not refused

    assert voted_for(deliver_votes(node, b1, [2])) == []  # 2 of 3 votes
    assert voted_for(deliver_votes(node, b1, [3])) == [b2.hash]


def test_no_vote_when_grandparent_not_notarized():
    """Corner case 4: the whole parent chain must be notarized, not only the
    parent: a notarized parent over an unnotarized grandparent is not enough."""
    node = node_in_epoch(3)
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)
    b3 = make_block(b2, 3)
    node.on_message(Propose(b1), via=1)
    notarize(node, [b2], [1, 2, 3])

    assert voted_for(node.on_message(Propose(b3), via=3)) == []
    assert b2.hash not in node.chained
    assert voted_for(deliver_votes(node, b1, [1, 2, 3])) == [b3.hash]


def test_block_with_unknown_parent_is_kept_aside_and_fetched_not_attached_to_genesis():
    """Corner case 4: a block whose parent is unknown waits aside, the parent
    is asked from peers, and the block is never hung under genesis."""
    node = node_in_epoch(2)
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)

    out = node.on_message(Propose(b2), via=2)

    assert b2.hash not in node.blocks
    assert b2.hash not in node.children.get(GENESIS.hash, [])
    assert node.orphans == {b1.hash: {b2.hash: b2}}
    assert events(out, "orphan") == [
        {"type": "orphan", "block": b2.hash, "parent": b1.hash}]
    assert voted_for(out) == []
    requests = sent(out, SyncRequest)
    assert requests and b1.hash in requests[0].want

    # A peer that has b1 answers the request with b1 and its voters.
    peer = Streamlet(Config(5), 1)
    notarize(peer, [b1], [1, 2, 3])
    answer = peer.on_message(requests[0], via=5)
    [response] = sent(answer, SyncResponse)
    assert [b.hash for b in response.blocks] == [b1.hash]

    out = node.on_message(response, via=1)
    assert node.blocks[b2.hash].parent == b1.hash
    assert node.children[b1.hash] == [b2.hash]
    assert node.orphans == {}
    assert voted_for(out) == [b2.hash]


def test_orphan_chain_attaches_in_order_when_ancestor_arrives():
    """Corner case 4: several generations kept aside attach together, each
    under its own parent, once the missing ancestor comes."""
    node = node_in_epoch(1, node_id=4)
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)
    b3 = make_block(b2, 3)
    node.on_message(Propose(b3), via=3)
    node.on_message(Propose(b2), via=2)
    assert set(node.orphans) == {b1.hash, b2.hash}

    node.on_message(Propose(b1), via=1)

    assert [b.hash for b in node.chain(b3.hash)] == [b1.hash, b2.hash, b3.hash]
    assert node.orphans == {}


def test_future_epoch_proposal_buffered_until_its_epoch():
    """Corner case 9: a proposal of a later epoch is kept until that epoch
    starts, and it does not hold back the current epoch's proposal."""
    node = node_in_epoch(1)
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)

    early = node.on_message(Propose(b2), via=2)
    assert voted_for(early) == []

    current = node.on_message(Propose(b1), via=1)
    assert voted_for(current) == [b1.hash]
    deliver_votes(node, b1, [1, 2])

    assert voted_for(node.on_epoch(2)) == [b2.hash]
    assert node.voted == {1: b1.hash, 2: b2.hash}


def test_proposal_too_far_in_the_future_is_dropped():
    """Corner case 9 bound: proposals further ahead than max_future_epochs are
    refused, so a flood of future epochs cannot fill memory."""
    node = node_in_epoch(1, max_future_epochs=4)
    near = make_block(GENESIS, 5, proposer=5)
    far = make_block(GENESIS, 6)

    assert events(node.on_message(Propose(near), via=5), "rejected") == []
    out = node.on_message(Propose(far), via=1)
    assert "too far ahead" in events(out, "rejected")[0]["reason"]
    assert 6 not in node.first_proposal


def test_no_vote_for_proposal_whose_height_does_not_follow_its_parent():
    """Vote rule: a proposal is a block extending the chain by one. A block
    that claims a height other than its parent's plus one is rejected when it
    is attached, and must not get a vote either (that vote would also raise
    the height this node promises to extend, blocking honest blocks later).
    """
    node = node_in_epoch(1)
    bad = Block(parent=GENESIS.hash, epoch=1, height=5, txs=(), proposer=1)

    out = node.on_message(Propose(bad), via=1)

    assert events(out, "rejected")
    assert voted_for(out) == []
    assert node.last_vote_extended_height == 0


def test_no_vote_for_proposal_whose_epoch_does_not_follow_its_parent():
    """Vote rule: a block's epoch must be later than its parent's; a block of
    epoch 2 on a parent of epoch 3 is rejected and not voted."""
    node = node_in_epoch(2, node_id=4)
    b3 = make_block(GENESIS, 3)
    notarize(node, [b3], [1, 2, 3])
    backwards = Block(parent=b3.hash, epoch=2, height=2, txs=(), proposer=2)

    out = node.on_message(Propose(backwards), via=2)

    assert voted_for(out) == []
    assert backwards.hash not in node.blocks
