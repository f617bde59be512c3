"""A flood of well-formed but pointless messages leaves a node's memory bounded.

Found by bench/fuzz_node.py: 200,000 votes for blocks nobody proposed (half of
them from epochs a million ahead) and 200,000 proposals from non-leaders, sent
to one node, grew its resident memory from 31 to 69 MiB and left it behind the
others. The tally table was bounded (max_vote_entries), but every such message
was first recorded in the echo filter and echoed to every peer, and the filter
is only cleared as epochs pass, which a swamped node's epochs do slowly.
"""

from __future__ import annotations

import os

from backend.core import GENESIS, Block, Config, Propose, Streamlet, Vote

CONFIG = Config(n=4, leader="round-robin", max_vote_entries=500)


def _flood(node: Streamlet, count: int) -> int:
    """Send ``count`` of each kind; return how many copies the node echoed."""
    echoed = 0
    epoch = node.epoch
    for i in range(count):
        messages = [
            Vote(2 + i % 3, epoch, os.urandom(32).hex()),
            Vote(2 + i % 3, epoch + 10**6, os.urandom(32).hex()),
            # Epoch 1's leader is n1 (round-robin): n2 does not lead it.
            Propose(Block(os.urandom(32).hex(), epoch, 3, (), 2)),
        ]
        for message in messages:
            out = node.on_message(message, via=2 + i % 3)
            echoed += sum(len(s.to) for s in out.send)
    return echoed


def test_votes_for_unknown_blocks_and_far_future_are_not_kept_or_echoed():
    node = Streamlet(CONFIG, 1)
    node.on_epoch(1)
    echoed = _flood(node, 20_000)
    limit = CONFIG.max_vote_entries
    assert len(node.votes) <= limit + 1
    # The echo filter holds no more than the tally table admits.
    assert len(node._seen) <= limit + 1
    # Only the votes that fit in the table went on to the two other peers.
    assert echoed <= 2 * (limit + 1)
    # The only proposal kept is n1's own, as epoch 1's leader.
    assert [b.proposer for b in node.first_proposal.values()] == [1]


def test_a_real_proposal_and_its_votes_still_count_after_a_flood():
    node = Streamlet(CONFIG, 1)
    node.on_epoch(1)
    _flood(node, 5_000)
    # n1 leads epoch 1 and proposed; now n2 leads epoch 2.
    node.on_epoch(2)
    block = Block(node.longest_notarized_tips()[0], 2, 2, (), 2)
    if block.parent == GENESIS.hash:
        block = Block(GENESIS.hash, 2, 1, (), 2)
    node.on_message(Propose(block), via=2)
    assert node.voted.get(2) == block.hash
    for voter in (2, 3):
        node.on_message(Vote(voter, 2, block.hash), via=voter)
    assert block.hash in node.notarized
