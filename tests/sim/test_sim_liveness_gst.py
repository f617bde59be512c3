"""Liveness right after GST: the four swarm seeds that once broke the
Theorem 13 bound, and one small scenario for each of their causes.

- Seeds 3097 and 7441 (the core): a proposal lost before GST, whose votes
  arrived, was never fetched; the nodes lacking it led the next epochs and
  kept extending a shorter chain that the others refused.
- Seed 9345 (the core): the same with the proposal received and some of its
  votes lost: three of six nodes held the block one vote short of a quorum,
  the others had it notarized, and the three led the next epochs.
- Seed 9281 (the simulator): at GST a node's new clock offset started its
  epoch, and its proposal met a link that was still down from a reset,
  because links were refreshed after the clocks. A restart had the same
  order: the first tick came before the links were up.
"""

from __future__ import annotations

import dataclasses

import pytest

from backend.core import Propose, Vote
from backend.sim import (
    DROP,
    OK,
    Simulation,
    finish,
    quiet_params,
    run_seed,
    stop_faults,
)


def _block_of_epoch(sim: Simulation, node: int, epoch: int) -> str:
    core = sim.nodes[node]
    assert core is not None
    return next(h for h, b in core.blocks.items() if b.epoch == epoch)


@pytest.mark.parametrize("seed", [3097, 7441, 9281, 9345])
def test_swarm_seeds_that_broke_the_bound_now_finalize_in_time(seed: int) -> None:
    result = run_seed(seed)
    assert result.status == OK, result.report()
    assert result.epochs_to_final is not None and result.epochs_to_final <= 5


def test_a_lost_proposal_whose_votes_arrived_is_fetched_next_epoch() -> None:
    # n4 and n5 lose b3 and n3's vote for it, but get the votes of n1 and n2
    # (2 of the 3 needed). They lead epochs 4 and 5: without b3 notarized
    # they would propose at b3's height, and n1..n3 would refuse (the vote
    # rule: strictly longer than every notarized chain seen).
    sim = Simulation(quiet_params(5, echo=False, delay_ticks=300))
    sim.network.rules.append(
        lambda src, dst, msg, now: DROP if dst in (4, 5) and (
            isinstance(msg, Propose) and msg.block.epoch == 3
            or isinstance(msg, Vote) and msg.epoch == 3 and msg.voter == 3)
        else None)
    sim.start()
    sim.run_through_epoch(3)
    b3 = _block_of_epoch(sim, 1, 3)
    assert b3 not in sim.nodes[5].blocks and len(sim.nodes[5].votes[b3]) == 2

    sim.run_through_epoch(5)
    # Asked for at the start of epoch 4, b3 is notarized at n5 before it
    # leads epoch 5, so b5 extends b3 and the others vote for it.
    b5 = sim.nodes[5].blocks[_block_of_epoch(sim, 5, 5)]
    assert b5.parent == b3
    assert b5.hash in sim.nodes[1].notarized
    assert finish(sim)


def test_a_block_whose_votes_were_partly_lost_is_fetched_in_time() -> None:
    # n = 7, quorum 4. n4, n5 and n6 receive b3 but lose the votes of n1,
    # n2, n3 and n7 for it: each holds 3 votes, while the other four have b3
    # notarized. The three lead epochs 4, 5 and 6; without b3 notarized each
    # proposes at b3's height and the other four refuse (the vote rule), and
    # no child of b3 is proposed that would make them ask for its voters.
    sim = Simulation(quiet_params(7, echo=False, delay_ticks=300))
    sim.network.rules.append(
        lambda src, dst, msg, now: DROP if dst in (4, 5, 6)
        and isinstance(msg, Vote) and msg.epoch == 3 and msg.voter in (1, 2, 3, 7)
        else None)
    sim.start()
    sim.run_through_epoch(3)
    b3 = _block_of_epoch(sim, 1, 3)
    assert b3 in sim.nodes[6].blocks and b3 not in sim.nodes[6].notarized
    assert len(sim.nodes[6].votes[b3]) == 3 and b3 in sim.nodes[1].notarized

    sim.run_through_epoch(6)
    # Votes still in flight at the end of epoch 3 are normal, so they ask
    # at the start of epoch 5 (after n5 has proposed): b3 is notarized at
    # n6 before it leads epoch 6, b6 extends b3 and is notarized.
    assert all(b3 in sim.nodes[i].notarized for i in (4, 5, 6))
    core = sim.nodes[1]
    b6 = core.blocks[_block_of_epoch(sim, 6, 6)]
    assert b6.hash in core.notarized
    ancestor = b6
    while ancestor.epoch > 3:
        ancestor = core.blocks[ancestor.parent]
    assert ancestor.hash == b3
    assert finish(sim)


def test_a_proposal_sent_at_gst_crosses_a_link_that_was_reset() -> None:
    # n2 leads epoch 5 (echo off: only n2 sends b5). Its link to n3 is down
    # from a reset when the faults stop, 50 ticks before epoch 5, and its new
    # clock offset (+100) starts epoch 5 at once: the proposal is sent after
    # GST and must arrive.
    params = dataclasses.replace(quiet_params(3, echo=False, delay_ticks=300),
                                 liveness_skew_ticks=(0, 100, 0))
    sim = Simulation(params)
    sim.start()
    sim.at_epoch(4, lambda s: s.reset_link(2, 3, 5000), offset_ticks=500)
    sim.run_until(sim.cluster_epoch_start(5) - 50)
    stop_faults(sim)
    assert sim.nodes[2].epoch == 5 and sim.nodes[2].last_proposed_epoch == 5
    sim.run_through_epoch(5)
    assert _block_of_epoch(sim, 2, 5) in sim.nodes[3].blocks
    assert (3, 5) in sim.safety.sent_vote


def test_a_node_restarted_in_its_own_epoch_proposes_to_everyone() -> None:
    # n3 leads epoch 6; it is down from epoch 5 and restarts early in epoch
    # 6, when its first tick makes it propose: its links must be up by then
    # (the node process keeps such frames until the peer is connected).
    sim = Simulation(quiet_params(3, delay_ticks=300))
    sim.start()
    sim.at_epoch(5, lambda s: s.crash(3), offset_ticks=500)
    sim.at_epoch(6, lambda s: s.restart(3), offset_ticks=100)
    sim.run_through_epoch(6)
    b6 = _block_of_epoch(sim, 3, 6)
    assert (1, 6) in sim.safety.sent_vote and (2, 6) in sim.safety.sent_vote
    assert b6 in sim.nodes[1].notarized
    assert finish(sim)
