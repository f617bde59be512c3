"""Echo traces sampled at the node (1 in k kept, weights keep the counts right),
and tallies left out when asked: the two largest parts of a traced stream.

With echo on, most of a traced node's events are traces of echoes (a node
forwarding what it received, PROTOCOL.md's echo rule). A node told to trace
1 in k of them emits about 1/k, each carrying the number it stands for, and
still traces every direct message; with k automatic (the dashboard's nodes)
direct messages are sampled too, from n and Δ. Behaviour only: no timing.
"""

from __future__ import annotations

import asyncio

import pytest

from backend.cluster.supervisor import ClusterConfig, ClusterError
from backend.core import Vote
from backend.core.output import Output, Send
from backend.node.process import (
    NodeProcess,
    auto_direct_trace_every,
    auto_echo_trace_every,
    traced_echo,
)

N = 7


def _node(tmp_path, node_id: int, every: int) -> NodeProcess:
    return NodeProcess(node_id, N, 1.0, "round-robin",
                       str(tmp_path / f"n{node_id}.sqlite"), control_port=0,
                       trace=True, echo_trace_every=every)


def _votes(voter: int, count: int) -> list[Vote]:
    return [Vote(voter, 5, f"{i:064x}") for i in range(count)]


def _traces(node: NodeProcess, kind: str) -> list[dict]:
    return [e for e in node._events if e["type"] == kind]


def test_a_node_traces_every_direct_send_and_1_in_k_echo_sends(tmp_path):
    async def scenario() -> None:
        node = _node(tmp_path, 1, every=5)
        try:
            peers = tuple(range(2, N + 1))
            own = _votes(1, 40)  # this node's own votes: direct
            forwarded = _votes(3, 400)  # node 3's votes, forwarded: echoes
            for vote in own + forwarded:
                node.carry_out(Output(send=[Send(peers, vote)]))

            sends = _traces(node, "send")
            direct = [e for e in sends if not e["echo"]]
            echoes = [e for e in sends if e["echo"]]
            assert len(direct) == len(own) * len(peers)
            assert all("weight" not in e for e in direct)
            real = len(forwarded) * len(peers)
            assert real / 5 * 0.7 < len(echoes) < real / 5 * 1.3
            assert all(e["weight"] >= 1 for e in echoes)
            # The weights add up to the real count; the rest waits in the
            # counter for the next echo trace this node emits.
            assert sum(e["weight"] for e in echoes) + node._untraced["send"] == real
            assert node.stats["sent"] == (len(own) + len(forwarded)) * len(peers)
        finally:
            node.store.close()

    asyncio.run(scenario())


def test_a_node_traces_every_direct_delivery_and_1_in_k_echoed_ones(tmp_path):
    async def scenario() -> None:
        node = _node(tmp_path, 2, every=4)
        try:
            direct = _votes(3, 30)  # from their voter: direct
            echoed = _votes(3, 300)  # the same voter's votes, relayed
            for vote in direct:
                node._accept(vote, 1.0, via=3)
            for via in (4, 5):
                for vote in echoed:
                    node._accept(vote, 1.0, via=via)

            delivered = _traces(node, "deliver")
            assert len([e for e in delivered if not e["echo"]]) == len(direct)
            echoes = [e for e in delivered if e["echo"]]
            real = 2 * len(echoed)
            assert real / 4 * 0.7 < len(echoes) < real / 4 * 1.3
            assert sum(e["weight"] for e in echoes) + node._untraced["deliver"] == real
        finally:
            node.store.close()

    asyncio.run(scenario())


def test_sender_and_receiver_keep_the_same_hops(tmp_path):
    async def scenario() -> None:
        sender, receiver = _node(tmp_path, 1, every=3), _node(tmp_path, 2, every=3)
        try:
            forwarded = _votes(4, 200)
            for vote in forwarded:
                sender.carry_out(Output(send=[Send((2,), vote)]))
                receiver._accept(vote, 1.0, via=1)

            sent = {e["msg"] for e in _traces(sender, "send")}
            got = {e["msg"] for e in _traces(receiver, "deliver")}
            assert sent == got
            assert 0 < len(sent) < len(forwarded)
        finally:
            sender.store.close()
            receiver.store.close()

    asyncio.run(scenario())


def test_with_k_1_every_echo_is_traced_without_a_weight(tmp_path):
    async def scenario() -> None:
        node = _node(tmp_path, 1, every=1)
        try:
            for vote in _votes(3, 20):
                node.carry_out(Output(send=[Send((2, 4), vote)]))
            sends = _traces(node, "send")
            assert len(sends) == 40
            assert all(e["echo"] and "weight" not in e for e in sends)
        finally:
            node.store.close()

    asyncio.run(scenario())


def test_automatic_k_follows_n_and_delta(tmp_path):
    assert auto_echo_trace_every(5, 2.0) == 1  # the dashboard's defaults
    assert auto_echo_trace_every(7, 0.4) == 1
    assert auto_echo_trace_every(15, 0.1) > auto_echo_trace_every(7, 0.1) > 1
    assert traced_echo("v/1/ab", 2, 3, 1)

    async def scenario() -> None:
        node = _node(tmp_path, 1, every=0)
        try:
            assert node._echo_every == auto_echo_trace_every(N, 2.0)
            node._set_clock({"genesis": None, "epoch_s": 0.1})  # Δ = 0.05 s
            assert node._echo_every == auto_echo_trace_every(N, 0.1) > 1
        finally:
            node.store.close()

    asyncio.run(scenario())


def test_with_automatic_k_direct_traces_are_sampled_and_weighed(tmp_path):
    async def scenario() -> None:
        node = _node(tmp_path, 1, every=0)
        try:
            node._set_clock({"genesis": None, "epoch_s": 0.1})  # Δ = 0.05 s
            every = auto_direct_trace_every(N, 0.1)
            assert node._direct_every == every > 1
            peers = tuple(range(2, N + 1))
            own = _votes(1, 300)
            for vote in own:
                node.carry_out(Output(send=[Send(peers, vote)]))
            for vote in _votes(3, 300):
                node._accept(vote, 1.0, via=3)

            real = len(own) * len(peers)
            sends = [e for e in _traces(node, "send") if not e["echo"]]
            assert real / every * 0.7 < len(sends) < real / every * 1.3
            assert sum(e["weight"] for e in sends) \
                + node._untraced_direct["send"] == real
            delivered = _traces(node, "deliver")
            assert all(not e["echo"] for e in delivered)
            assert sum(e["weight"] for e in delivered) \
                + node._untraced_direct["deliver"] == 300
        finally:
            node.store.close()

    asyncio.run(scenario())


def test_automatic_direct_k_is_1_at_the_defaults_and_grows_with_n():
    assert auto_direct_trace_every(5, 2.0) == 1
    assert auto_direct_trace_every(7, 0.4) == 1
    assert auto_direct_trace_every(15, 0.1) > auto_direct_trace_every(7, 0.1) > 1


def test_a_node_without_tallies_reports_its_votes_but_not_each_count(tmp_path):
    async def scenario() -> None:
        node = NodeProcess(1, N, 1.0, "round-robin", str(tmp_path / "n1.sqlite"),
                           control_port=0, tallies=False)
        try:
            node.emit({"type": "tally", "block": "ab", "voter": 2, "count": 1})
            node.emit({"type": "vote", "block": "ab"})
            assert [e["type"] for e in node._events] == ["vote"]
        finally:
            node.store.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("every", [-1, True, 1.5, 10_001])
def test_cluster_refuses_a_bad_echo_trace_every(every):
    with pytest.raises(ClusterError, match="echo_trace_every"):
        ClusterConfig(echo_trace_every=every).validate()
