"""Property tests with Hypothesis: the quorum arithmetic, the leader function,
and safety of whole clusters under random delivery orders, delays and clock
skew (PROTOCOL.md, Guarantees; corner cases 3, 8, 10 and 12).

Every test is derandomized and uses no example database, so a run is the same
on every machine.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core import (
    GENESIS,
    POLICIES,
    ROUND_ROBIN,
    Streamlet,
    Vote,
    is_quorum,
    leader_of,
    max_faults,
    quorum,
)
from backend.core.chain import MAX_EPOCH
from tests.core.helpers import Network, is_prefix, tx

FIXED = settings(derandomize=True, database=None, deadline=None)


@FIXED
@given(n=st.integers(1, 10_000))
def test_quorum_is_smallest_count_strictly_above_half(n):
    """Corner case 3 against a naive definition: the smallest k with 2k > n."""
    naive = next(k for k in range(n + 2) if 2 * k > n)
    assert quorum(n) == naive
    assert is_quorum(naive, n) and not is_quorum(naive - 1, n)


@FIXED
@given(n=st.integers(1, 10_000))
def test_max_faults_leaves_a_quorum_of_live_nodes(n):
    """Model: f < n/2; the largest such f still leaves a quorum alive."""
    naive = max(f for f in range(n) if 2 * f < n)
    assert max_faults(n) == naive
    assert is_quorum(n - naive, n)


@FIXED
@given(epoch=st.integers(0, MAX_EPOCH), n=st.integers(1, 64),
       policy=st.sampled_from(POLICIES))
def test_leader_of_always_in_range_and_deterministic(epoch, n, policy):
    """Corner case 8: the leader is one of 1..n and the same on every call."""
    leader = leader_of(epoch, n, policy)
    assert 1 <= leader <= n
    assert leader_of(epoch, n, policy) == leader


@FIXED
@given(epoch=st.integers(1, MAX_EPOCH), n=st.integers(1, 64))
def test_round_robin_cycles_through_every_node(epoch, n):
    """Epochs: round-robin visits nodes in order, one per epoch."""
    assert leader_of(epoch + n, n, ROUND_ROBIN) == leader_of(epoch, n, ROUND_ROBIN)
    assert leader_of(epoch + 1, n) == leader_of(epoch, n) % n + 1


def check_chain_queries(node: Streamlet) -> None:
    """The node's chain views agree with each other.

    Every longest notarized tip starts a chain of notarized, parent-linked
    blocks of heights 1..best_height; the finalized log is such a chain up to
    its own tip, and every longest notarized chain extends it.
    """
    final_chain = [b.hash for b in node.chain(node.finalized_tip)]
    assert final_chain == node.finalized
    assert all(h in node.chained for h in node.finalized)
    tips = node.longest_notarized_tips()
    assert tips
    for tip in tips:
        chain = node.chain(tip)
        assert len(chain) == node.best_height
        assert [b.height for b in chain] == list(range(1, node.best_height + 1))
        assert all(b.hash in node.notarized for b in chain)
        links = [GENESIS.hash] + [b.hash for b in chain]
        assert [b.parent for b in chain] == links[:len(chain)]
        assert [b.epoch for b in chain] == sorted({b.epoch for b in chain})
        assert is_prefix(node.finalized, [b.hash for b in chain])


def check_consistency(net: Network) -> None:
    """Theorem 12: finalized chains of any two nodes are prefixes of each
    other; no transaction is final twice (corner case 12)."""
    logs = sorted((net.finalized(i) for i in net.nodes), key=len)
    for shorter, longer in zip(logs, logs[1:], strict=False):
        assert is_prefix(shorter, longer)
    for i in net.nodes:
        txs = net.finalized_txs(i)
        assert len(txs) == len(set(txs))
        assert not any(e["type"] == "safety_violation" for e in net.events[i])


@st.composite
def clusters(draw):
    n = draw(st.integers(3, 7))
    crashed = draw(st.sets(st.integers(1, n), max_size=max_faults(n)))
    return {
        "n": n,
        "crashed": crashed,
        "leader": draw(st.sampled_from(POLICIES)),
        "echo": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**32)),
        "epochs": draw(st.integers(4, 18)),
        "max_lag": draw(st.integers(0, 3)),
        "slow_votes": draw(st.booleans()),
    }


def run_chaos(setup: dict) -> Network:
    """Before GST: nodes enter epochs late by up to ``max_lag`` (clock skew)
    and messages arrive in a random order, many of them epochs late.

    With ``slow_votes``, proposals arrive at once and the votes of a random
    half of the epochs arrive only after the next leader proposed: that is
    what makes notarized forks of equal height. Transactions reach random
    nodes, some of them twice.
    """
    net = Network(setup["n"], seed=setup["seed"], leader=setup["leader"],
                  echo=setup["echo"], crashed=setup["crashed"])
    rng = random.Random(setup["seed"])
    live = net.live()
    slow: set[int] = set()

    def due(message) -> bool:
        if not isinstance(message, Vote):
            return True
        return message.epoch < epoch or message.epoch not in slow

    for epoch in range(1, setup["epochs"] + 1):
        if rng.random() < 0.5:
            slow.add(epoch)
        for node_id in rng.sample(live, len(live)):
            target = epoch - rng.randint(0, setup["max_lag"])
            net.apply(node_id, net.nodes[node_id].on_epoch(target))
            net.deliver_some(int(len(net.queue) * rng.random() ** 3))
        if rng.random() < 0.7:
            t = tx(rng.randrange(4), rng.randrange(12))
            net.submit(rng.choice(live), t)
            net.submit(rng.choice(live), t)
        if setup["slow_votes"]:
            net.deliver_where(lambda m: not isinstance(m, Vote))
            net.deliver_where(due)
        else:
            net.deliver_some(int(len(net.queue) * rng.random() ** 3))
        check_consistency(net)
        for node_id in live:
            check_chain_queries(net.nodes[node_id])
    return net


@settings(FIXED, max_examples=120)
@given(setup=clusters())
def test_finalized_chains_are_prefixes_under_random_delays_and_skew(setup):
    """Consistency (Theorem 12) and corner case 10: whatever the delivery
    order, delays and clock skew, finalized logs of all nodes stay prefixes of
    one another, each only extends (checked by the network after every step),
    and each node's chain queries stay coherent."""
    net = run_chaos(setup)
    net.deliver_all()
    check_consistency(net)
    for node_id in net.live():
        check_chain_queries(net.nodes[node_id])


@settings(FIXED, max_examples=50)
@given(setup=clusters().filter(lambda s: not s["crashed"]))
def test_after_gst_every_node_finalizes_a_new_block(setup):
    """Liveness (Theorem 13): after the chaotic phase, all messages arrive and
    clocks agree; with no crashes, five synchronous epochs with live leaders
    give every node a new final block, and all nodes then agree."""
    net = run_chaos(setup)
    net.deliver_all()
    heights = {i: len(net.finalized(i)) for i in net.nodes}
    gst = setup["epochs"] + 1

    net.run(range(gst, gst + 5))

    for i in net.nodes:
        assert len(net.finalized(i)) > heights[i]
    check_consistency(net)
    assert len({tuple(net.finalized(i)) for i in net.nodes}) == 1
