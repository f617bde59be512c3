"""The checkers catch what they claim to catch.

First the safety checker fed by hand, then deliberately broken cores run in
scripted scenarios: each breaks one rule of PROTOCOL.md, and the same
scenario with the real core must pass, so the test shows the scenario really
reaches the rule.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sim_broken_cores import (
    CrashesInEpoch5,
    DropsTransactions,
    FinalizesThird,
    ForgetsNotarizationsOnRestart,
    ForgetsVotesOnRestart,
    NeverProposes,
    SmallQuorum,
    VotesTwice,
)

from backend.core import (
    GENESIS,
    ROUND_ROBIN,
    Block,
    Propose,
    Streamlet,
    SyncResponse,
    Transaction,
    Vote,
    leader_of,
)
from backend.sim import (
    CRASH,
    DROP,
    LIVENESS,
    SAFETY,
    LivenessChecker,
    LivenessFailure,
    SafetyChecker,
    SafetyViolation,
    Simulation,
    finish,
    live_leader_run,
    quiet_params,
    run_seed,
)


def _block(epoch: int, parent: Block = GENESIS, proposer: int = 1,
           txs: tuple[Transaction, ...] = ()) -> Block:
    return Block(parent=parent.hash, epoch=epoch, height=parent.height + 1,
                 txs=txs, proposer=proposer)


def _finalize_event(*blocks: Block) -> dict:
    return {"type": "finalize", "blocks": [b.summary() for b in blocks]}


# --- the safety checker, fed by hand -------------------------------------


def test_checker_flags_two_notarized_blocks_in_one_epoch() -> None:
    checker = SafetyChecker(5)
    a, b = _block(4, proposer=4), _block(4, proposer=4, txs=(
        Transaction(1, 2, 1, 5),))
    # Relayed by node 5, so no single voter is seen voting twice here.
    for voter in (1, 2, 3):
        checker.on_send(5, Vote(voter, 4, a.hash))
    with pytest.raises(SafetyViolation, match="two notarized blocks in epoch 4"):
        for voter in (1, 2, 4):
            checker.on_send(5, Vote(voter, 4, b.hash))


def test_checker_flags_a_node_sending_votes_for_two_blocks_in_one_epoch() -> None:
    checker = SafetyChecker(4)
    checker.on_send(2, Vote(2, 3, "a" * 64))
    checker.on_send(2, Vote(2, 3, "a" * 64))  # the same vote again is harmless
    with pytest.raises(SafetyViolation, match="n2 sent votes for two blocks"):
        checker.on_send(2, Vote(2, 3, "b" * 64))


def test_checker_flags_a_leader_proposing_two_blocks_in_its_epoch() -> None:
    checker = SafetyChecker(4)
    checker.on_send(3, Propose(_block(3, proposer=3)))
    with pytest.raises(SafetyViolation, match="n3 proposed two blocks in epoch 3"):
        checker.on_send(3, Propose(_block(3, proposer=3, txs=(
            Transaction(1, 2, 1, 5),))))


def test_checker_flags_a_second_vote_event_in_one_epoch() -> None:
    checker = SafetyChecker(4)
    checker.on_event(1, {"type": "vote", "epoch": 7})
    with pytest.raises(SafetyViolation, match="n1 voted twice in epoch 7"):
        checker.on_event(1, {"type": "vote", "epoch": 7})


def test_checker_flags_conflicting_finalized_chains() -> None:
    checker = SafetyChecker(4)
    checker.on_event(1, _finalize_event(_block(1)))
    with pytest.raises(SafetyViolation, match="another node finalized"):
        checker.on_event(2, _finalize_event(_block(2, proposer=2)))


def test_checker_flags_a_finalized_log_that_skips_a_height() -> None:
    checker = SafetyChecker(4)
    b1 = _block(1)
    b2 = _block(2, b1, proposer=2)
    with pytest.raises(SafetyViolation, match="must only extend"):
        checker.on_event(1, _finalize_event(b2))


def test_checker_flags_a_transaction_finalized_twice() -> None:
    checker = SafetyChecker(4)
    tx = Transaction(7, 8, 1, 10)
    b1 = _block(1, txs=(tx,))
    checker.on_event(1, _finalize_event(b1))
    with pytest.raises(SafetyViolation, match="transaction 7:1 finalized twice"):
        checker.on_event(1, _finalize_event(_block(2, b1, proposer=2, txs=(tx,))))


def test_checker_flags_a_core_reported_safety_violation() -> None:
    checker = SafetyChecker(3)
    with pytest.raises(SafetyViolation, match="reported a safety violation"):
        checker.on_event(2, {"type": "safety_violation", "block": "x",
                             "detail": "b4 conflicts"})


def _core_with(hashes: list[str], offset: int = 0) -> SimpleNamespace:
    """What the checkers read of a core: its window of the finalized log."""
    return SimpleNamespace(finalized=hashes, finalized_offset=offset,
                           finalized_height=offset + len(hashes),
                           finalized_tip=hashes[-1] if hashes else GENESIS.hash)


def test_checker_flags_finalization_without_an_event() -> None:
    checker = SafetyChecker(3)
    silent = _core_with([_block(1).hash])
    with pytest.raises(SafetyViolation, match="its events reported 0"):
        checker.after_step(1, silent)


def test_checker_flags_a_restart_that_forgets_or_changes_final_blocks() -> None:
    checker = SafetyChecker(3)
    b1 = _block(1)
    b2 = _block(2, b1, proposer=2)
    checker.on_event(1, _finalize_event(b1, b2))
    checker.on_restore(1, _core_with([b1.hash, b2.hash]))
    with pytest.raises(SafetyViolation, match="finalized log shrank"):
        checker.on_restore(1, _core_with([b1.hash]))
    other = _block(1, proposer=1, txs=(Transaction(1, 1, 1, 1),))
    with pytest.raises(SafetyViolation, match="it had finalized"):
        checker.on_restore(1, _core_with([other.hash]))


def test_checker_judges_a_restored_core_by_the_window_it_keeps() -> None:
    # A long run's core holds only its recent finalized hashes: the heights it
    # still holds are compared, the older ones only counted.
    checker = SafetyChecker(3)
    b1 = _block(1)
    b2 = _block(2, b1, proposer=2)
    b3 = _block(3, b2, proposer=3)
    checker.on_event(1, _finalize_event(b1, b2, b3))
    checker.on_restore(1, _core_with([b2.hash, b3.hash], offset=1))
    checker.after_step(1, _core_with([b3.hash], offset=2))
    with pytest.raises(SafetyViolation, match="it had finalized"):
        checker.on_restore(1, _core_with([b3.hash, b2.hash], offset=1))


# --- the liveness checker and the Theorem 13 bound ---------------------------


def test_round_robin_with_nodes_1_and_3_of_5_down_has_no_live_leader_run() -> None:
    # PROTOCOL.md corner case 7: three consecutive live leaders never occur.
    assert live_leader_run(1, 5, ROUND_ROBIN, live=[2, 4, 5]) is None
    assert live_leader_run(1, 5, ROUND_ROBIN, live=[1, 2, 3, 4, 5]) == 1
    assert live_leader_run(3, 5, ROUND_ROBIN, live=[1, 2, 3, 4, 5]) == 3


def test_live_leader_run_matches_a_naive_search_with_hash_leaders() -> None:
    live = {1, 2, 4, 6, 7}
    start = live_leader_run(10, 7, "hash", live)
    assert start is not None
    naive = next(e for e in range(10, 10_000)
                 if all(leader_of(e + k, 7, "hash") in live for k in range(5)))
    assert start == naive


def test_liveness_checker_names_the_nodes_without_a_new_final_block() -> None:
    checker = LivenessChecker(gst_epoch=10, first_epoch=12, live=[1, 2, 3])
    old = {"type": "finalize", "blocks": [{"epoch": 11}]}
    new = {"type": "finalize", "blocks": [{"epoch": 13}]}
    checker.on_event(1, 15, new)
    checker.on_event(2, 15, old)
    with pytest.raises(LivenessFailure, match="n2, n3 finalized no block"):
        checker.check()
    checker.on_event(2, 16, new)
    checker.on_event(3, 16, new)
    checker.check()
    assert checker.epochs_to_final() == 6


# --- broken cores in scripted scenarios ---------------------------------------


def _third_epoch_votes_only_to_node_1(sim: Simulation) -> None:
    # Node 1's answers to catch-up requests are lost too: the others ask
    # for the voters of a block they hold short of a quorum once its epoch
    # is over, and would otherwise see b3 notarized as well.
    sim.network.rules.append(
        lambda src, dst, msg, now: DROP
        if isinstance(msg, Vote) and msg.epoch == 3 and dst != 1
        or isinstance(msg, SyncResponse) and src == 1 else None)


@pytest.mark.parametrize("core", [Streamlet, FinalizesThird])
def test_finalizing_the_third_block_conflicts_when_only_one_node_saw_it(core) -> None:
    # Votes for b3 reach node 1 only: node 1 alone sees b1 b2 b3 notarized.
    # The next leaders extend b2, so b3 is abandoned; finalizing the middle
    # block (b2) is safe, finalizing the third (b3) is not (corner case 6).
    sim = Simulation(quiet_params(5, echo=False, delay_ticks=300), core)
    _third_epoch_votes_only_to_node_1(sim)
    sim.start()
    if core is Streamlet:
        sim.run_through_epoch(10)
        assert len(sim.safety.final_chain) >= 4
    else:
        with pytest.raises(SafetyViolation, match="another node finalized"):
            sim.run_through_epoch(10)


def _proposal_of_epoch_3_reaches_node_4_late(sim: Simulation) -> None:
    sim.network.rules.append(
        lambda src, dst, msg, now: 800
        if isinstance(msg, Propose) and msg.block.epoch == 3 and dst == 4 else None)


@pytest.mark.parametrize("core", [Streamlet, ForgetsVotesOnRestart])
def test_restart_in_the_epoch_it_voted_must_not_vote_again(core) -> None:
    # n2 votes for b3, crashes and restarts within epoch 3; n4 gets b3 late
    # and echoes it to n2 (PROTOCOL.md, corner case 11).
    sim = Simulation(quiet_params(4, delay_ticks=300), core)
    _proposal_of_epoch_3_reaches_node_4_late(sim)
    sim.start()
    sim.at_epoch(3, lambda s: s.crash(2), offset_ticks=500)
    sim.at_epoch(3, lambda s: s.restart(2), offset_ticks=600)
    if core is Streamlet:
        sim.run_through_epoch(8)
        assert sim.restarts == 1 and len(sim.safety.final_chain) >= 4
    else:
        with pytest.raises(SafetyViolation, match="n2 voted twice in epoch 3"):
            sim.run_through_epoch(8)


@pytest.mark.parametrize("core", [Streamlet, ForgetsNotarizationsOnRestart])
def test_restart_keeps_the_finalized_log(core) -> None:
    sim = Simulation(quiet_params(4), core)
    sim.start()
    sim.run_through_epoch(8)
    sim.crash(1)
    if core is Streamlet:
        sim.restart(1)
        assert sim.nodes[1].finalized == sim.safety.final_chain[:len(
            sim.nodes[1].finalized)]
    else:
        with pytest.raises(SafetyViolation, match="finalized log shrank"):
            sim.restart(1)


@pytest.mark.parametrize("core", [Streamlet, SmallQuorum])
def test_two_halves_must_not_both_notarize(core) -> None:
    # n = 6 split 3/3: with "> n/2" neither half notarizes; with n // 2
    # each half finalizes its own chain (PROTOCOL.md, corner case 3).
    sim = Simulation(quiet_params(6, delay_ticks=300), core)
    sim.partition([[1, 2, 3], [4, 5, 6]])
    sim.start()
    if core is Streamlet:
        sim.run_through_epoch(12)
        assert sim.safety.final_chain == []
        assert finish(sim)  # after the heal, everyone finalizes again
        assert len(sim.safety.final_chain) > 3
    else:
        with pytest.raises(SafetyViolation, match="another node finalized"):
            sim.run_through_epoch(12)


def test_transactions_never_proposed_fail_the_final_check() -> None:
    sim = Simulation(quiet_params(4), DropsTransactions)
    sim.start()
    for node in range(1, 5):
        assert sim.submit(node, Transaction(node, 9, 1, 25))
    with pytest.raises(LivenessFailure, match="4 acknowledged transactions never"):
        finish(sim)


@pytest.mark.parametrize(("core", "status", "text"), [
    (VotesTwice, SAFETY, "voted twice"),
    (NeverProposes, LIVENESS, "finalized no block"),
    (CrashesInEpoch5, CRASH, "deliberate failure in epoch 5"),
])
def test_a_seeded_run_reports_a_broken_core(core, status, text) -> None:
    result = run_seed(3, core)
    assert result.status == status
    assert text in result.detail + result.where
    assert f"seed={result.params.seed}" in result.report()
