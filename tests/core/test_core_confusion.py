"""The course's fork demonstration (PROTOCOL.md, "confusion"): held-back
messages, then late votes, give notarized siblings; the chain converges."""

from __future__ import annotations

from collections import Counter

from backend.core import Config, Propose, Streamlet
from tests.core.helpers import Network, is_prefix, make_block


def _confused_network(seed: int = 1) -> Network:
    net = Network(5, seed=seed)
    config = Config(5, confusion_start=6, confusion_duration=4)
    net.config = config
    net.nodes = {i: Streamlet(config, i) for i in range(1, 6)}
    return net


def test_confusion_period_notarizes_siblings_then_one_chain_is_final():
    net = _confused_network()
    net.run(range(1, 26))
    node = net.nodes[1]
    siblings = Counter(node.blocks[h].parent for h in node.notarized
                       if h in node.blocks and node.blocks[h].height > 0)
    assert max(siblings.values()) >= 2, "no fork was notarized"
    finals = [net.finalized(i) for i in net.nodes]
    longest = max(finals, key=len)
    assert all(is_prefix(f, longest) for f in finals)
    assert node.blocks[longest[-1]].epoch > 20


def test_messages_are_held_during_the_period_and_released_after():
    config = Config(5, confusion_start=6, confusion_duration=4)
    node = Streamlet(config, 2)
    node.on_epoch(6)
    parent = node.blocks[node.longest_notarized_tips()[0]]
    held = node.on_message(Propose(make_block(parent, 6)), via=1)
    assert held.send == [] and held.events == []
    for epoch in range(7, 10):
        node.on_epoch(epoch)
    released = node.on_epoch(10)
    kinds = [e["type"] for e in released.events]
    assert "confusion_over" in kinds
    assert "vote" in kinds, "the held proposal got no late vote"


def test_node_behind_holds_messages_of_confusion_epochs_too():
    """Its clock is still before the period; what belongs to it is held."""
    config = Config(5, confusion_start=6, confusion_duration=4)
    node = Streamlet(config, 2)
    node.on_epoch(5)
    parent = node.blocks[node.longest_notarized_tips()[0]]
    out = node.on_message(Propose(make_block(parent, 6)), via=1)
    assert out.events == []
    assert len(node._held) == 1


def test_leaders_take_turns_during_confusion_even_with_hash_leaders():
    config = Config(5, leader="hash", confusion_start=6, confusion_duration=4)
    node = Streamlet(config, 1)
    assert [node.leader(e) for e in range(6, 10)] == [1, 2, 3, 4]
