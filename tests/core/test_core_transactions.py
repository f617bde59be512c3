"""Transactions in proposals and in the finalized log (PROTOCOL.md, Propose;
corner case 12)."""

from __future__ import annotations

from backend.core import GENESIS, Config, Propose, Streamlet, TxMessage
from tests.core.helpers import Network, events, make_block, notarize, sent, tx


def test_transaction_spreads_to_every_peer_and_joins_the_pool():
    """Data: a client's transaction joins the pool, is persisted and is sent
    to every peer; the same id again is ignored."""
    node = Streamlet(Config(5), 2)
    t = tx(1, 1)

    out = node.on_transaction(t)

    assert node.pool == {"1:1": t}
    assert [(s.to, s.message) for s in out.send] == [((1, 3, 4, 5), TxMessage(t))]
    assert events(out, "tx")[0]["tx"] == "1:1"
    assert not node.on_transaction(tx(1, 1, amount=9))


def test_proposal_excludes_transactions_already_in_parent_chain():
    """Propose / corner case 12: the leader leaves out pending transactions
    that the chain it extends already holds."""
    leader = Streamlet(Config(5), 2)
    t1, t2 = tx(1, 1), tx(1, 2)
    leader.on_transaction(t1)
    leader.on_transaction(t2)
    b1 = make_block(GENESIS, 1, txs=[t1])
    notarize(leader, [b1], [1, 3, 4])

    [proposal] = sent(leader.on_epoch(2), Propose)

    assert proposal.block.parent == b1.hash
    assert proposal.block.tx_ids == ["1:2"]


def test_abandoned_fork_transactions_return_to_pool():
    """Corner case 12: a transaction seen only inside a block of a fork that
    lost goes back to the pool and is proposed again on the winning chain."""
    leader = Streamlet(Config(5), 4)
    lost = tx(8, 1)
    b1 = make_block(GENESIS, 1, txs=[lost])
    b2 = make_block(GENESIS, 2)
    b3 = make_block(b2, 3)
    notarize(leader, [b1, b2, b3], [1, 2, 3])

    [proposal] = sent(leader.on_epoch(4), Propose)

    assert proposal.block.parent == b3.hash
    assert proposal.block.tx_ids == ["8:1"]


def test_finalized_transactions_leave_the_pool_and_are_not_taken_again():
    """Corner case 12: once final a transaction leaves the pool, and a client
    resubmitting it does not bring it back."""
    node = Streamlet(Config(5), 5)
    t = tx(2, 7)
    node.on_transaction(t)
    b1 = make_block(GENESIS, 1, txs=[t])
    b2 = make_block(b1, 2)
    notarize(node, [b1, b2], [1, 2, 3])

    assert node.finalized == [b1.hash]
    assert node.pool == {}
    assert not node.on_transaction(t)
    assert node.pool == {}


def test_no_vote_for_block_repeating_a_transaction_of_its_chain():
    """Corner case 12: a block that repeats a transaction already in its
    parent chain, or holds one twice, gets no vote, so it cannot be notarized
    and the finalized log cannot hold the transaction twice."""
    node = Streamlet(Config(5), 5)
    node.on_epoch(2)
    t = tx(3, 3)
    b1 = make_block(GENESIS, 1, txs=[t])
    notarize(node, [b1], [1, 2, 3])

    out = node.on_message(Propose(make_block(b1, 2, txs=[t])), via=2)
    assert events(out, "vote") == []
    assert "repeats" in events(out, "vote_skipped")[0]["reason"]

    node.on_epoch(3)
    twice = make_block(b1, 3, txs=[tx(4, 1), tx(4, 1)])
    out = node.on_message(Propose(twice), via=3)
    assert events(out, "vote") == []
    assert "repeats" in events(out, "vote_skipped")[0]["reason"]


def test_repeated_transaction_check_reaches_below_the_finalized_tip():
    """Corner case 12: the check also covers transactions already final, not
    only those in the unfinalized part of the chain."""
    node = Streamlet(Config(5), 5)
    t = tx(5, 5)
    chain = [GENESIS]
    for epoch, txs in ((1, [t]), (2, []), (3, [])):
        chain.append(make_block(chain[-1], epoch, txs=txs))
    notarize(node, chain[1:], [1, 2, 3])
    assert node.finalized == [chain[1].hash, chain[2].hash]

    node.on_epoch(4)
    out = node.on_message(Propose(make_block(chain[3], 4, txs=[t])), via=4)
    assert events(out, "vote") == []


def test_finalized_log_never_holds_a_transaction_twice():
    """Corner case 12: the same transactions handed to several nodes, some
    twice and some while nodes are out of step, are each final exactly once,
    and every one of them becomes final."""
    net = Network(5, seed=12)
    submitted = set()
    for epoch in range(1, 13):
        for k in range(4):
            t = tx(epoch % 3, k + 4 * (epoch // 2))  # repeats every other epoch
            submitted.add(t.id)
            net.submit(net.rng.randrange(1, 6), t)
            net.submit(net.rng.randrange(1, 6), t)
        net.start_epoch(epoch)
        net.deliver_some(len(net.queue) // 2)
    net.deliver_all()
    net.run(range(13, 17))

    for i in net.nodes:
        final = net.finalized_txs(i)
        assert len(final) == len(set(final))
        assert set(final) == submitted
