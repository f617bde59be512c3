"""Scripted scenarios with the real core: each reaches one corner case of
PROTOCOL.md on purpose, and the checkers (safety at every step, liveness and
transactions at the end) must stay quiet."""

from __future__ import annotations

from backend.core import HASH, Propose, Transaction, Vote
from backend.sim import (
    DROP,
    EPOCH_TICKS,
    Simulation,
    finish,
    quiet_params,
    stop_faults,
)


def _heights(sim: Simulation) -> list[int]:
    return [len(sim.nodes[i].finalized) if sim.nodes[i] else -1
            for i in range(1, sim.n + 1)]


def test_majority_side_of_a_partition_finalizes_and_the_minority_catches_up() -> None:
    sim = Simulation(quiet_params(5, delay_ticks=300))
    sim.start()
    sim.run_through_epoch(2)
    sim.partition([[1, 2], [3, 4, 5]])
    sim.run_through_epoch(14)
    minority, majority = _heights(sim)[:2], _heights(sim)[2:]
    # Round-robin leaders 3, 4, 5 are consecutive: the majority finalizes.
    assert max(minority) < min(majority)
    sim.heal()
    assert finish(sim)
    heights = _heights(sim)
    assert min(heights) > max(majority)
    assert sim.nodes[1].finalized[:max(majority)] == sim.nodes[3].finalized[
        :max(majority)]


def test_f_nodes_crashed_for_good_with_hash_leaders_keep_liveness() -> None:
    sim = Simulation(quiet_params(7, leader=HASH, delay_ticks=400))
    sim.start()
    sim.run_through_epoch(4)
    for node in (2, 5, 6):
        sim.crash(node)
    sim.run_through_epoch(10)
    stop_faults(sim, keep_down=frozenset({2, 5, 6}))
    checker = sim.liveness
    assert checker is not None and checker.live == [1, 3, 4, 7]
    # The bound comes from the actual leader sequence: five live leaders.
    assert all(sim.nodes[1].leader(checker.first_epoch + k) in checker.live
               for k in range(5))
    sim.run_through_epoch(checker.deadline_epoch + 2)
    assert checker.satisfied


def test_round_robin_trap_finalizes_nothing_and_is_not_judged() -> None:
    # PROTOCOL.md corner case 7: n = 5 with nodes 1 and 3 down.
    sim = Simulation(quiet_params(5, delay_ticks=300))
    sim.start()
    sim.run_through_epoch(3)
    sim.crash(1)
    sim.crash(3)
    stop_faults(sim, keep_down=frozenset({1, 3}))
    assert sim.liveness is None
    # Blocks of epochs 2 to 5 may still complete a triple; nothing after.
    sim.run_through_epoch(8)
    before = len(sim.safety.final_chain)
    sim.run_through_epoch(48)
    assert len(sim.safety.final_chain) == before
    assert sim.nodes[2].best_height > before + 10  # blocks are notarized


def test_votes_that_overtake_the_proposal_still_notarize() -> None:
    # Corner case 1: node 5 counts votes by block id before the body arrives.
    sim = Simulation(quiet_params(5, delay_ticks=100))
    sim.network.rules.append(
        lambda src, dst, msg, now: 1500 if isinstance(msg, Propose) and dst == 5
        else None)
    seen_votes_first = []

    def watch(src, dst, msg, now):
        if isinstance(msg, Vote) and dst == 5:
            core = sim.nodes[5]
            seen_votes_first.append(msg.block not in core.blocks)
        return None

    sim.network.rules.append(watch)
    sim.start()
    sim.run_through_epoch(12)
    assert any(seen_votes_first)
    assert len(sim.nodes[5].finalized) >= 8


def test_a_block_with_an_unknown_parent_waits_and_is_fetched() -> None:
    # Corner case 4: node 5 never gets b3 and b4 directly (echo off), nor
    # the votes for them (which would make it ask for the blocks), so b5
    # arrives as an orphan; it must fetch b4 and b3, never attach b5 to
    # genesis, and end with the same finalized chain as everyone.
    sim = Simulation(quiet_params(5, echo=False, delay_ticks=300))
    sim.network.rules.append(
        lambda src, dst, msg, now: DROP if dst == 5 and (
            isinstance(msg, Propose) and msg.block.epoch in (3, 4)
            or isinstance(msg, Vote) and msg.epoch in (3, 4)) else None)
    orphans = []
    original = sim.safety.on_event

    def record(node, event):
        if node == 5 and event["type"] == "orphan":
            orphans.append(event)
        original(node, event)

    sim.safety.on_event = record
    sim.start()
    sim.run_through_epoch(12)
    assert orphans
    assert sim.nodes[5].finalized == sim.nodes[1].finalized[
        :len(sim.nodes[5].finalized)]
    assert len(sim.nodes[5].finalized) >= 7


def test_a_retried_transaction_is_finalized_once() -> None:
    sim = Simulation(quiet_params(4))
    sim.start()
    tx = Transaction(11, 12, 1, 3.25)
    assert sim.submit(1, tx)
    sim.run_until(sim.now + EPOCH_TICKS // 3)
    assert sim.submit(3, tx)  # the client did not hear back and retried
    assert finish(sim)
    assert "11:1" in sim.safety.final_txs


def test_a_node_down_for_ten_epochs_restarts_from_its_records() -> None:
    sim = Simulation(quiet_params(5, delay_ticks=300))
    sim.start()
    sim.run_through_epoch(5)
    had = len(sim.nodes[2].finalized)
    sim.crash(2)
    sim.run_through_epoch(15)
    sim.restart(2)
    assert len(sim.nodes[2].finalized) == had
    assert finish(sim)
    assert sim.nodes[2].finalized == sim.nodes[1].finalized[
        :len(sim.nodes[2].finalized)]
    assert len(sim.nodes[2].finalized) > 15


def test_clocks_skewed_by_almost_two_deltas_stay_safe() -> None:
    # Corner case 10: skew costs liveness, never safety.
    sim = Simulation(quiet_params(5, delay_ticks=600))
    for node, skew in zip(range(1, 6), (-1900, 0, 1900, -950, 950), strict=True):
        sim.skew[node] = skew
    sim.start()
    sim.run_through_epoch(30)
    assert finish(sim)


def _lose_n4_votes_of_epoch_3_and_slow_the_rest(sim: Simulation) -> None:
    """b3 reaches everyone; then n4's links break while the votes for b3 are
    in flight, and the votes among n1..n3 are slow, so n4's catch-up after
    the reconnect is answered before anyone has notarized b3."""
    sim.network.rules.append(
        lambda src, dst, msg, now: 1500
        if isinstance(msg, Vote) and msg.epoch == 3 and dst != 4 else None)

    def break_links(s: Simulation) -> None:
        for peer in (1, 2, 3):
            s.reset_link(4, peer, 1000)

    sim.at_epoch(3, break_links, offset_ticks=310)


def test_the_lost_votes_scenario_leaves_n4_holding_b3_without_a_quorum() -> None:
    # The scenario below does what it says: n4 has b3 but not its votes when
    # epoch 3 ends (from epoch 4 on it asks for them, the test below).
    sim = Simulation(quiet_params(4, echo=False, delay_ticks=300))
    _lose_n4_votes_of_epoch_3_and_slow_the_rest(sim)
    sim.start()
    sim.run_through_epoch(3)
    b3 = next(h for h, b in sim.nodes[1].blocks.items() if b.epoch == 3)
    assert b3 in sim.nodes[1].notarized
    assert b3 in sim.nodes[4].blocks and b3 not in sim.nodes[4].notarized


def test_votes_lost_on_a_broken_link_are_fetched_again() -> None:
    sim = Simulation(quiet_params(4, echo=False, delay_ticks=300))
    _lose_n4_votes_of_epoch_3_and_slow_the_rest(sim)
    sim.start()
    sim.run_through_epoch(12)
    finish(sim)
