"""Leaders, proposals, echo and whole-cluster behaviour on the in-memory
network (PROTOCOL.md, Epochs, Propose, Echo, Guarantees; corner cases 7, 8
and 14)."""

from __future__ import annotations

import random

import pytest

from backend.core import (
    GENESIS,
    HASH,
    POLICIES,
    ROUND_ROBIN,
    Config,
    Propose,
    Streamlet,
    TxMessage,
    Vote,
    leader_of,
    snapshot_from_records,
)
from tests.core.helpers import Network, events, make_block, sent, tx


def test_round_robin_leaders_follow_the_seed():
    """Epochs: round-robin as in the seed, epoch 1 led by node 1."""
    assert [leader_of(e, 5) for e in range(1, 12)] == [1, 2, 3, 4, 5, 1, 2, 3, 4,
                                                       5, 1]


@pytest.mark.parametrize("policy", POLICIES)
def test_leader_of_is_pure_function_of_epoch(policy):
    """Epochs / corner case 8: the leader depends on the epoch alone, so asking
    in any order, on a fresh node or on a restarted one, gives the same answer."""
    epochs = list(range(1, 300))
    forward = [leader_of(e, 7, policy) for e in epochs]
    shuffled = epochs[:]
    random.Random(8).shuffle(shuffled)
    by_epoch = {e: leader_of(e, 7, policy) for e in shuffled}
    assert [by_epoch[e] for e in epochs] == forward

    config = Config(7, leader=policy)
    late = Streamlet(config, 3)
    late.on_epoch(250)
    restarted = Streamlet.restore(config, 3, snapshot_from_records([]))
    assert [late.leader(e) for e in epochs] == forward
    assert [restarted.leader(e) for e in epochs] == forward
    assert set(forward) == set(range(1, 8))


def test_leader_of_rejects_unknown_policy_and_empty_cluster():
    with pytest.raises(ValueError, match="unknown leader policy"):
        leader_of(1, 5, "random")
    with pytest.raises(ValueError, match="at least 1"):
        leader_of(1, 0)


def test_leader_proposes_on_longest_notarized_chain_at_epoch_start():
    """Propose: at the start of its epoch the leader extends a longest
    notarized chain and multicasts the block; other nodes do not propose."""
    leader = Streamlet(Config(5), 4)
    b1 = make_block(GENESIS, 1)
    fork = make_block(GENESIS, 2)
    b3 = make_block(b1, 3, txs=[tx(4, 4)])
    for block in (b1, fork, b3):
        leader.on_message(Propose(block), via=block.proposer)
        for voter in (1, 2, 3):
            leader.on_message(Vote(voter, block.epoch, block.hash), via=voter)

    out = leader.on_epoch(4)

    [proposal] = sent(out, Propose)
    assert proposal.block.parent == b3.hash
    assert (proposal.block.epoch, proposal.block.height) == (4, 3)
    assert proposal.block.proposer == 4
    targets = [s.to for s in out.send if isinstance(s.message, Propose)]
    assert targets == [(1, 2, 3, 5)]
    assert events(out, "propose")[0]["block"]["hash"] == proposal.block.hash
    assert sent(Streamlet(Config(5), 5).on_epoch(4), Propose) == []


def test_epochs_only_move_forward():
    """Model: each node's epoch only increases; an older epoch is ignored."""
    node = Streamlet(Config(5), 2)
    node.on_epoch(7)
    assert not node.on_epoch(7) and not node.on_epoch(2)
    assert node.epoch == 7


def test_echo_forwards_each_distinct_message_once():
    """Echo / corner case 14: each distinct message is forwarded once, by id,
    to every peer but the link it came from and its original sender."""
    node = Streamlet(Config(5), 5)
    b1 = make_block(GENESIS, 1)
    vote = Vote(2, 1, b1.hash)

    first = node.on_message(vote, via=2)
    assert [(s.to, s.message) for s in first.send] == [((1, 3, 4), vote)]
    assert node.on_message(vote, via=3).send == []
    assert node.on_message(Vote(2, 1, b1.hash), via=4).send == []

    relayed = node.on_message(Vote(1, 1, b1.hash), via=3)  # first seen via 3
    assert [s.to for s in relayed.send] == [(2, 4)]

    proposal = node.on_message(Propose(b1), via=4)
    assert [s.to for s in proposal.send if s.message == Propose(b1)] == [(2, 3)]
    assert node.on_message(Propose(b1), via=1).send == []

    transaction = TxMessage(tx(7, 1))
    assert [s.to for s in node.on_message(transaction, via=1).send] == [(2, 3, 4)]
    assert node.on_message(transaction, via=2).send == []


def test_no_echo_when_echo_is_off():
    """Echo: the no-echo configuration forwards nothing it receives."""
    node = Streamlet(Config(5, echo=False), 5)
    b1 = make_block(GENESIS, 1)
    assert node.on_message(Vote(2, 1, b1.hash), via=2).send == []


def _epoch_messages(net: Network, epoch: int) -> int:
    before = len(net.sends)
    net.run([epoch])
    new = net.sends[before:]
    assert all(isinstance(m, (Propose, Vote)) for _, _, m in new)
    return len(new)


@pytest.mark.parametrize("n", [3, 4, 5, 7])
def test_good_case_messages_per_epoch(n):
    """Guarantees, good case: without echo n^2 - 1 messages per epoch (the
    leader's proposal to n - 1 peers, n votes to n - 1 peers each). With echo
    the paper counts n^3 - n; this core skips the link a message came from and
    its original sender (README), which gives (n - 1)(n^2 - 1) (n = 5: 96)."""
    for epoch in (1, 2, 3):
        plain = Network(n, echo=False, order="fifo")
        plain.run(range(1, epoch))
        assert _epoch_messages(plain, epoch) == n * n - 1

        echoed = Network(n, order="fifo")
        echoed.run(range(1, epoch))
        count = _epoch_messages(echoed, epoch)
        assert count == (n - 1) * (n * n - 1)
        assert count <= n ** 3 - n


def test_good_case_block_final_in_the_epoch_after_its_proposal():
    """Guarantees, good case: with prompt delivery the block of epoch e is
    notarized in e and final once e + 1's block is notarized, during epoch
    e + 1 (within the paper's "about two epochs" of its proposal)."""
    net = Network(5, seed=3)
    net.run(range(1, 10))

    for node in net.nodes.values():
        assert len(node.finalized) == 8
        for h in node.finalized:
            assert node.finalized_epoch[h] == node.blocks[h].epoch + 1
    assert len({tuple(net.finalized(i)) for i in net.nodes}) == 1


def test_round_robin_with_nodes_1_and_3_of_5_crashed_never_finalizes():
    """Corner case 7: round-robin leaders with nodes 1 and 3 of 5 crashed never
    give three consecutive epochs with live leaders, so blocks are notarized
    but none is ever final."""
    net = Network(5, seed=7, crashed={1, 3})
    net.run(range(1, 61))

    for i in net.live():
        node = net.nodes[i]
        assert node.finalized == []
        assert node.best_height >= 30  # the chain does grow, without finality


def test_hash_leaders_finalize_with_nodes_1_and_3_of_5_crashed():
    """Corner case 7: hash leaders give runs of live leaders even with nodes 1
    and 3 of 5 crashed, so blocks become final, the same on every live node."""
    net = Network(5, seed=7, leader=HASH, crashed={1, 3})
    net.run(range(1, 31))

    finals = {tuple(net.finalized(i)) for i in net.live()}
    assert len(finals) == 1
    assert len(finals.pop()) >= 3


def test_crashed_leader_epoch_has_no_block():
    """Corner case 7: the epoch of a crashed leader produces no block, and the
    next live leader extends the longest notarized chain past the gap."""
    net = Network(5, seed=1, crashed={3})
    net.run(range(1, 6))

    node = net.nodes[1]
    [tip] = node.longest_notarized_tips()
    assert [b.epoch for b in node.chain(tip)] == [1, 2, 4, 5]


def test_five_consecutive_live_leaders_after_gst_give_new_final_block():
    """Liveness (Theorem 13): after a stretch of delayed, reordered delivery,
    once messages arrive promptly five consecutive epochs with live leaders
    give every live node a new final block by the start of the sixth."""
    net = Network(7, seed=11, crashed={7})
    rng = random.Random(11)
    for epoch in range(1, 8):  # before GST: most messages stay in flight
        net.start_epoch(epoch)
        net.deliver_some(rng.randrange(len(net.queue) // 3 + 1))
    net.deliver_all()  # GST: everything still in flight arrives
    before = {i: len(net.finalized(i)) for i in net.live()}

    net.run(range(8, 13))  # leaders 1..5, all live

    for i in net.live():
        assert len(net.finalized(i)) > before[i]


@pytest.mark.parametrize("policy", [ROUND_ROBIN, HASH])
def test_nodes_agree_on_finalized_chain_under_random_delivery(policy):
    """Consistency (Theorem 12) on one fixed schedule: with every message
    delivered in a seeded random order, all nodes finalize the same chain."""
    net = Network(5, seed=5, leader=policy)
    net.run(range(1, 16))

    finals = {tuple(net.finalized(i)) for i in net.nodes}
    assert len(finals) == 1 and len(finals.pop()) >= 5
