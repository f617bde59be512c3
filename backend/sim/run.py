"""One seeded run: a safety phase with faults, then a liveness phase without.

Safety phase: the :class:`~backend.sim.faults.FaultDriver` crashes, restarts,
partitions, delays (up to ``delay_max_ticks``, several Δ), loses and
duplicates messages while clients submit transactions; the safety checker
judges every step.

Liveness phase: faults stop (that moment is GST). Every crashed node restarts,
partitions heal, broken links reconnect, delays fall below Δ (messages in
flight arrive by GST + Δ) and the clocks come within Δ/10 of each other. The
liveness checker then applies Theorem 13, and once the cluster runs in step
every node leads once more, so that every acknowledged transaction must end
up finalized exactly once.

The paper assumes no message is ever lost; here messages are lost whenever a
connection breaks, and the core's catch-up on reconnect has to make up for
it. A liveness failure can therefore come from that catch-up, which is
outside the paper: the report says what each node was missing.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

from backend.core import Streamlet, leader_of

from .checkers import LivenessChecker, LivenessFailure, SafetyViolation, live_leader_run
from .faults import FaultDriver
from .params import EPOCH_TICKS, Params, draw_params
from .world import CoreError, Simulation

OK, SAFETY, LIVENESS, CRASH = "ok", "safety", "liveness", "crash"
EXIT_CODES = {OK: 0, SAFETY: 1, LIVENESS: 2, CRASH: 3}
#: Most epochs the liveness phase waits for every node to lead once more.
COVERAGE_EPOCHS_MAX = 500


@dataclass
class RunResult:
    """What a run found; ``status`` is one of ok, safety, liveness, crash."""

    params: Params
    status: str = OK
    detail: str = ""
    where: str = ""
    digest: str = ""
    epochs: int = 0
    deliveries: int = 0
    final_height: int = 0
    crashes: int = 0
    restarts: int = 0
    #: Epochs after GST until the slowest node finalized a new block.
    epochs_to_final: int | None = None
    txs_acknowledged: int = 0
    txs_finalized: int = 0
    #: Whether the liveness phase was long enough to demand every transaction.
    txs_checked: bool = False
    #: A liveness failure where some node never fetched votes it lost (see
    #: :func:`stuck_ancestors`): the core's catch-up, not the paper's rules.
    catch_up_gap: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def report(self) -> str:
        """The failure, every drawn parameter and the figures of the run."""
        lines = [f"seed {self.params.seed}: {self.status.upper()} {self.detail}"]
        if self.where:
            lines.append(self.where)
        lines.append("parameters:")
        lines.append(self.params.describe())
        lines.append(f"figures: epochs={self.epochs} deliveries={self.deliveries} "
                     f"final_height={self.final_height} crashes={self.crashes} "
                     f"restarts={self.restarts} txs={self.txs_finalized}/"
                     f"{self.txs_acknowledged}")
        lines.extend(self.notes)
        return "\n".join(lines)


def stop_faults(sim: Simulation, keep_down: frozenset[int] = frozenset()) -> None:
    """GST: heal, restart, resynchronise clocks, calm the network.

    Links that were down come back, and both ends of each ask the other for
    what they missed. Messages still in flight arrive within the liveness
    delay, the paper's "by max(GST, t + Δ)". Nodes in ``keep_down`` stay
    crashed (a crash-stop fault as in the paper). Sets ``sim.liveness`` to the
    Theorem 13 checker, or leaves it None when no five consecutive epochs with
    live leaders exist.
    """
    params, network = sim.params, sim.network
    network.rules.clear()
    network.loss_probability = network.duplicate_probability = 0.0
    high = params.liveness_delay_max_ticks
    network.set_delays(max(1, high // 10), max(1, high // 2), high)
    network.heal()
    network.reset_until.clear()
    sim.note("faults stop (GST)")
    sim.hurry_in_flight()
    for node in range(1, sim.n + 1):
        if not sim.alive[node] and node not in keep_down:
            sim.restart(node)
        elif sim.alive[node] and node in keep_down:
            sim.crash(node)
    # Links before clocks: a new offset can start a node's next epoch at
    # once, and what it sends then (a leader's proposal) is sent after GST,
    # so it must not meet a link still down from a reset (seed 9281 lost a
    # proposal that way and with it the bound).
    sim.refresh_links()
    for node in range(1, sim.n + 1):
        sim.set_skew(node, params.liveness_skew_ticks[node - 1])
    _install_liveness_checker(sim)


def _install_liveness_checker(sim: Simulation) -> None:
    params = sim.params
    gst = sim.now
    gst_epoch = gst // EPOCH_TICKS + 1
    live = [i for i in range(1, sim.n + 1) if sim.alive[i]]
    # One catch-up round trip after GST before the five-epoch run may begin.
    settle = gst + 2 * params.liveness_delay_max_ticks
    first = gst_epoch
    while min(sim.epoch_start(i, first) for i in live) < settle:
        first += 1
    start = live_leader_run(first, sim.n, params.leader, live)
    if start is None:
        sim.liveness = None
        sim.note("no five consecutive epochs with live leaders: liveness unjudged")
        return
    checker = LivenessChecker(gst_epoch, start, live)
    sim.liveness = checker
    deadline = max(sim.epoch_start(i, checker.deadline_epoch) for i in live)
    sim.note(f"liveness: a block of epoch >= {start} final everywhere by the "
             f"start of epoch {checker.deadline_epoch}")
    sim.schedule(deadline, lambda s: checker.check())


def liveness_phase(sim: Simulation, min_epochs: int) -> bool:
    """Run the fault-free phase; True if transactions could be judged.

    Runs at least ``min_epochs`` epochs and past the Theorem 13 deadline, then
    until every live node has led an epoch after the cluster settled, plus
    three epochs for that block to be notarized and finalized.
    """
    gst_epoch = sim.now // EPOCH_TICKS + 1
    checker = sim.liveness
    if checker is None:
        sim.run_through_epoch(gst_epoch + min_epochs)
        return False
    sim.run_until(max(sim.epoch_start(i, checker.deadline_epoch) for i in checker.live))
    settled = max(checker.done.values())
    led: set[int] = set()
    epoch = settled + 1
    while len(led) < len(checker.live) and epoch - settled <= COVERAGE_EPOCHS_MAX:
        led.add(leader_of(epoch, sim.n, sim.params.leader))
        led &= set(checker.live)
        epoch += 1
    covered = len(led) == len(checker.live)
    sim.run_through_epoch(max(gst_epoch + min_epochs, epoch + 3))
    return covered


def check_transactions(sim: Simulation) -> None:
    """Every acknowledged transaction is final (exactly once: the safety
    checker already refuses a transaction finalized twice)."""
    final = sim.safety.final_txs
    missing = sorted(t for t in sim.acknowledged if t not in final)
    if missing:
        raise LivenessFailure(f"{len(missing)} acknowledged transactions never "
                              f"finalized, first {missing[0]}")


def finish(sim: Simulation, min_epochs: int = 10,
           keep_down: frozenset[int] = frozenset()) -> bool:
    """End a scripted scenario: stop faults, run the liveness phase and check
    the transactions; True if they could be judged. Raises on failure."""
    stop_faults(sim, keep_down)
    covered = liveness_phase(sim, min_epochs)
    if covered:
        check_transactions(sim)
    return covered


def run(params: Params, core: type[Streamlet] = Streamlet, *, digest: bool = False,
        trace: bool = False) -> RunResult:
    """Run both phases of ``params`` and judge them."""
    notes: list[str] = []
    sim = Simulation(params, core, digest=digest,
                     trace=notes.append if trace else None)
    result = RunResult(params=params, notes=notes)
    driver = FaultDriver(sim, params)
    try:
        sim.start()
        driver.start()
        sim.run_until(params.safety_epochs * EPOCH_TICKS)
        driver.stop()
        stop_faults(sim)
        result.txs_checked = liveness_phase(sim, params.liveness_epochs_min)
        if result.txs_checked:
            check_transactions(sim)
    except SafetyViolation as exc:
        result.status, result.detail = SAFETY, str(exc)
    except LivenessFailure as exc:
        result.status, result.detail = LIVENESS, str(exc)
        result.where = diagnose(sim)
        result.catch_up_gap = any(sim.alive[i] and stuck_ancestors(sim, i)
                                  for i in range(1, sim.n + 1))
    except CoreError as exc:
        result.status, result.detail = CRASH, str(exc)
        result.where = "".join(traceback.format_exception(exc.__cause__ or exc))
    except Exception as exc:  # a bug of the simulator itself, reported as such
        result.status = CRASH
        result.detail = f"simulator error: {type(exc).__name__}: {exc}"
        result.where = traceback.format_exc()
    _fill_figures(sim, result)
    return result


def diagnose(sim: Simulation) -> str:
    """Why each live node lags, in the core's own words
    (:meth:`Streamlet.why_not_final`), and which known blocks keep its
    notarized blocks from forming a chain."""
    chain = sim.safety.final_chain
    lines = []
    for node in range(1, sim.n + 1):
        core = sim.nodes[node]
        if core is None:
            lines.append(f"n{node}: down")
            continue
        state = (f"n{node}: epoch {core.epoch}, finalized height "
                 f"{core.finalized_height} of {len(chain)}, longest notarized "
                 f"chain {core.best_height}")
        missing = next((h for h in chain if h not in core.chained), None)
        if missing is not None:
            block = core.blocks.get(missing)
            name = f"b{block.epoch}" if block else missing[:8]
            state += f"; first final block it lacks, {name}: "
            state += core.why_not_final(missing)
        blockers = stuck_ancestors(sim, node)
        if blockers:
            state += "; " + "; ".join(blockers)
        lines.append(state)
    return "\n".join(lines)


def stuck_ancestors(sim: Simulation, node: int) -> list[str]:
    """Blocks ``node`` holds without a quorum of votes although enough votes
    for them were sent (the global tally): votes it lost on a broken or
    silently lossy link and never fetched again. Only the lowest such blocks
    are named, those whose parent is on a notarized chain here."""
    core = sim.nodes[node]
    assert core is not None
    tally = sim.safety.tally
    lacking = [b for h, b in core.blocks.items()
               if h not in core.notarized and b.height > core.finalized_height
               and len(tally.get(h, ())) >= core.quorum]
    lowest = [b for b in lacking if b.parent in core.chained] or sorted(
        lacking, key=lambda b: b.height)[:1]
    out = []
    for block in sorted(lowest, key=lambda b: (b.height, b.epoch)):
        have = len(core.votes.get(block.hash, ()))
        waiting = sum(1 for b in core.blocks.values() if b.parent == block.hash)
        out.append(f"b{block.epoch} (height {block.height}) is notarized elsewhere "
                   f"({len(tally[block.hash])} votes sent) but it holds {have} of "
                   f"{core.quorum} votes, so its {waiting} child block(s) can "
                   f"never join a notarized chain here")
    return out


def _fill_figures(sim: Simulation, result: RunResult) -> None:
    result.digest = sim.digest()
    result.epochs = sim.now // EPOCH_TICKS + 1
    result.deliveries = sim.deliveries
    result.final_height = len(sim.safety.final_chain)
    result.crashes, result.restarts = sim.crashes, sim.restarts
    if sim.liveness is not None and sim.liveness.satisfied:
        result.epochs_to_final = sim.liveness.epochs_to_final()
    result.txs_acknowledged = len(sim.acknowledged)
    result.txs_finalized = sum(1 for t in sim.acknowledged
                               if t in sim.safety.final_txs)


def run_seed(seed: int, core: type[Streamlet] = Streamlet, *, digest: bool = False,
             trace: bool = False, **overrides: object) -> RunResult:
    """Draw the parameters of ``seed`` (with overrides) and run them."""
    return run(draw_params(seed, **overrides), core, digest=digest, trace=trace)
