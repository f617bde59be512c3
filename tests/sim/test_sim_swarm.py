"""Many seeds, every fault option: safety must always hold.

Each seed draws its own cluster size, leader policy, echo, delays of up to
10Δ, loss, partitions, crashes, clock skew and client load (swarm testing),
then runs the fault-free liveness phase.
"""

from __future__ import annotations

import pytest

from backend.sim import CRASH, LIVENESS, OK, SAFETY, RunResult, run_seed

SEEDS = range(1, 121)
#: Short safety phases keep 120 seeds within the test budget.
EPOCHS = 24


@pytest.fixture(scope="module")
def results() -> list[RunResult]:
    return [run_seed(seed, epochs=EPOCHS) for seed in SEEDS]


def test_swarm_finds_no_safety_violation_and_no_exception(results) -> None:
    bad = [r.report() for r in results if r.status in (SAFETY, CRASH)]
    assert not bad, "\n\n".join(bad)


def test_swarm_liveness_phase_always_finalizes(results) -> None:
    # Once faults stop, every live node gets a new final block in time
    # (Theorem 13), including nodes that lost votes on a broken link.
    stuck = [r.report() for r in results if r.status == LIVENESS]
    assert not stuck, "\n\n".join(stuck)
    assert all(r.status == OK for r in results)


def test_swarm_exercises_every_fault(results) -> None:
    params = [r.params for r in results]
    assert any(r.crashes for r in results) and any(r.restarts for r in results)
    assert any(p.partition_probability and p.partition_silent for p in params)
    assert any(p.partition_probability and not p.partition_silent for p in params)
    assert any(p.loss_probability and p.loss_resets_link for p in params)
    assert any(max(p.clock_skew_ticks) > 1000 for p in params)
    assert any(p.delay_max_ticks > 8000 for p in params)
    assert {p.n for p in params} == set(range(3, 10))
    assert {p.leader for p in params} == {"round-robin", "hash"}
    assert {p.echo for p in params} == {True, False}
    assert sum(r.txs_finalized for r in results) > 1000
