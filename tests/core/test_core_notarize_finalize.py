"""Notarization and finalization (PROTOCOL.md, Notarize, Finalize; corner
cases 1, 2, 3 and 6).

The node under test never enters an epoch here (it stays in epoch 0), so it
never votes itself: every vote it counts is one the test handed it.
"""

from __future__ import annotations

import pytest

from backend.core import (
    GENESIS,
    Config,
    Propose,
    Streamlet,
    SyncResponse,
    Vote,
)
from tests.core.helpers import deliver_votes, events, make_block, notarize, tx


def observer(n: int = 5) -> Streamlet:
    return Streamlet(Config(n), n)


@pytest.mark.parametrize(("n", "needed"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3),
                                           (6, 4), (7, 4)])
def test_threshold_is_strictly_more_than_half(n, needed):
    """Corner case 3: notarized with votes of more than n/2 distinct nodes;
    n = 4 needs 3, exactly half is not enough."""
    node = observer(n)
    b1 = make_block(GENESIS, 1, n=n)

    deliver_votes(node, b1, range(1, needed))
    assert b1.hash not in node.notarized

    out = deliver_votes(node, b1, [needed])
    assert b1.hash in node.notarized
    assert events(out, "notarize")[0]["voters"] == list(range(1, needed + 1))


def test_echoed_vote_counts_for_original_voter_not_echoer():
    """Corner case 3: a vote forwarded by other nodes counts once, for the
    node that cast it, never for the nodes that echoed it."""
    node = observer()
    b1 = make_block(GENESIS, 1)

    node.on_message(Vote(2, 1, b1.hash), via=3)
    node.on_message(Vote(2, 1, b1.hash), via=4)
    assert node.votes[b1.hash] == {2}

    node.on_message(Vote(3, 1, b1.hash), via=3)
    assert node.votes[b1.hash] == {2, 3}
    assert b1.hash not in node.notarized


def test_duplicate_votes_count_distinct_voters():
    """Corner case 3: the same voters again, here relayed in a catch-up answer
    after their own votes arrived, do not add to the tally."""
    node = observer()
    b1 = make_block(GENESIS, 1)
    deliver_votes(node, b1, [1, 2])

    out = node.on_message(SyncResponse(4, (), ((b1.hash, (1, 2, 2)),)), via=4)

    assert events(out, "tally") == []
    assert b1.hash not in node.notarized


def test_votes_counted_before_proposal_arrives_notarize_block():
    """Corner case 1: votes that overtake the proposal are counted by block id;
    notarization completes before the body, which joins the chain on arrival."""
    node = observer()
    b1 = make_block(GENESIS, 1)

    out = deliver_votes(node, b1, [1, 2, 3])
    [note] = events(out, "notarize")
    assert note["block"] == b1.hash and note["block_epoch"] is None
    assert b1.hash in node.notarized and b1.hash not in node.chained

    node.on_message(Propose(b1), via=1)
    assert b1.hash in node.chained
    assert node.longest_notarized_tips() == [b1.hash]


def test_vote_hash_independent_of_tx_bodies():
    """Corner case 2: a vote names its block by hash alone (no transactions on
    the wire), so a tally and a notarization need no block body; the hash still
    commits to the transactions, so a different body is a different block."""
    with_tx = make_block(GENESIS, 1, txs=[tx(1, 1)])
    other_tx = make_block(GENESIS, 1, txs=[tx(1, 2)])
    assert with_tx.hash != other_tx.hash
    assert "hash" not in with_tx.to_wire()  # recomputed by the receiver

    vote = Vote(1, 1, with_tx.hash)
    assert set(vote.to_wire()) == {"type", "voter", "epoch", "block"}

    node = observer()
    deliver_votes(node, with_tx, [1, 2, 3])
    assert with_tx.hash in node.notarized
    assert with_tx.hash not in node.blocks


def test_notarized_chain_needs_every_block_notarized():
    """Notarize: a chain is notarized only when all its blocks but genesis are;
    a notarized block over an unnotarized parent is not on a notarized chain."""
    node = observer()
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)
    node.on_message(Propose(b1), via=1)
    notarize(node, [b2], [1, 2, 3])

    assert b2.hash in node.notarized and b2.hash not in node.chained
    assert node.longest_notarized_tips() == [GENESIS.hash]

    deliver_votes(node, b1, [1, 2, 3])
    assert node.longest_notarized_tips() == [b2.hash]


def test_genesis_may_be_first_of_triple():
    """Finalize / corner case 6: genesis (epoch 0) followed by blocks of epochs
    1 and 2 is a triple; the epoch-1 block becomes final."""
    node = observer()
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)

    out = notarize(node, [b1, b2], [1, 2, 3])

    assert node.finalized == [b1.hash]
    [final] = events(out, "finalize")
    assert final["justification"] == [GENESIS.hash, b1.hash, b2.hash]


def test_finalize_middle_of_three_consecutive_epochs_not_third():
    """Finalize / corner case 6: with epochs 2, 3, 4 in a row, the epoch-3
    block and its prefix are final, the epoch-4 block is not."""
    node = observer()
    b2 = make_block(GENESIS, 2)
    b3 = make_block(b2, 3)
    b4 = make_block(b3, 4)

    notarize(node, [b2, b3], [1, 2, 3])
    assert node.finalized == []  # genesis (0), 2, 3 are not consecutive

    out = notarize(node, [b4], [1, 2, 3])
    assert node.finalized == [b2.hash, b3.hash]
    assert b4.hash not in node.finalized
    [final] = events(out, "finalize")
    assert [b["hash"] for b in final["blocks"]] == [b2.hash, b3.hash]
    assert final["justification"] == [b2.hash, b3.hash, b4.hash]
    assert final["height"] == 2


def test_finalize_requires_parent_links_in_one_chain():
    """Corner case 6: notarized blocks of epochs 1, 2 and 3 on two forks are
    not a triple; only three adjacent blocks of one chain count."""
    node = observer()
    a1 = make_block(GENESIS, 1)
    b2 = make_block(GENESIS, 2)  # a fork: not a child of a1
    b3 = make_block(b2, 3)

    notarize(node, [a1, b2, b3], [1, 2, 3])

    assert {a1.hash, b2.hash, b3.hash} <= node.chained
    assert node.finalized == []


def test_finalize_needs_consecutive_epochs_not_only_adjacency():
    """Finalize: adjacent blocks with an epoch gap (1, 2, 4) finalize only
    through the genesis triple, not b2."""
    node = observer()
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)
    b4 = make_block(b2, 4)

    notarize(node, [b1, b2, b4], [1, 2, 3])

    assert node.finalized == [b1.hash]
    assert "parent" not in node.why_not_final(b2.hash)
    assert "epoch 3" in node.why_not_final(b2.hash)


def test_finalization_triggered_when_late_notarization_completes_chain():
    """Finalize: notarizations arriving newest first finalize nothing until
    the chain reaches genesis, then every triple on it counts at once."""
    node = observer()
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)
    b3 = make_block(b2, 3)
    for block in (b1, b2, b3):
        node.on_message(Propose(block), via=block.proposer)

    deliver_votes(node, b3, [1, 2, 3])
    deliver_votes(node, b2, [1, 2, 3])
    assert node.finalized == []

    out = deliver_votes(node, b1, [1, 2, 3])
    assert node.finalized == [b1.hash, b2.hash]
    assert len(events(out, "finalize")) == 2


def test_finalized_log_only_extends():
    """Finalize: the finalized log grows only by extension; a later triple
    appends the blocks between the old final tip and the new middle block."""
    node = observer()
    chain = [GENESIS]
    for epoch in (1, 2, 4, 5, 6):
        chain.append(make_block(chain[-1], epoch))
    history = []
    for block in chain[1:]:
        notarize(node, [block], [1, 2, 3])
        history.append(list(node.finalized))

    for before, after in zip(history, history[1:], strict=False):
        assert after[:len(before)] == before
    assert node.finalized == [b.hash for b in chain[1:5]]


def test_conflicting_finalization_reported_not_applied():
    """Finalize / Theorem 12: a fork that would finalize a block conflicting
    with the finalized log (impossible with crash faults) leaves the log as it
    is and is reported as a safety violation."""
    node = observer()
    b1 = make_block(GENESIS, 1)
    b2 = make_block(b1, 2)
    notarize(node, [b1, b2], [1, 2, 3])
    assert node.finalized == [b1.hash]

    c4 = make_block(GENESIS, 4)
    c5 = make_block(c4, 5)
    c6 = make_block(c5, 6)
    out = notarize(node, [c4, c5, c6], [1, 2, 3])

    assert node.finalized == [b1.hash]
    assert events(out, "safety_violation")
    assert events(out, "finalize") == []


def test_why_not_final_names_missing_votes():
    """Notarize: the explanation counts the votes still missing."""
    node = observer()
    b1 = make_block(GENESIS, 1)
    node.on_message(Propose(b1), via=1)
    deliver_votes(node, b1, [1])

    assert node.why_not_final(b1.hash) == "not notarized: 1 of 3 votes needed"
    assert node.why_not_final(GENESIS.hash) == "final"
