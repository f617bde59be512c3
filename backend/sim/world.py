"""The simulated cluster: n copies of the core under one discrete-event clock.

Everything happens through a heap of ``(time, seq, kind, a, b)`` entries: a
message arriving, a node's epoch clock ticking, or an action (a fault, a
client transaction, a scripted step). ``seq`` breaks ties in insertion order,
so a run is a pure function of its parameters: there is no wall clock, no
thread and no randomness but the seeded streams.

Each node is exactly what a real node runs, :class:`backend.core.Streamlet`
(or a subclass under test). The simulator carries out its outputs in the
order the core asks for: records are persisted (appended to the node's
record list, which survives crashes), then messages sent, then events
reported to the checkers. A step is atomic, so a crash loses only messages in
flight, never half a step; a crash in the middle of a broadcast is modelled
by losing part of the crashed node's messages still in flight.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Callable
from random import Random
from typing import Any

from backend.core import (
    Config,
    Message,
    Output,
    Send,
    Streamlet,
    Transaction,
    message_from_wire,
    snapshot_from_records,
)
from backend.core.output import Record, TxRecord

from .checkers import LivenessChecker, SafetyChecker
from .network import Network
from .params import EPOCH_TICKS, Params

# Heap entries are tuples that start with (time, seq, kind); seq is unique,
# so comparison never looks further. The rest depends on the kind:
#   DELIVER: src, dst, link generation, receiver's life, message, fate
#   TICK:    node, clock generation
#   ACTION:  callable(sim)
DELIVER, TICK, ACTION = 0, 1, 2
#: Fate of a message whose sender crashed while it was in flight: it already
#: sat in the receiver's socket buffer, or it never left the sender.
IN_FLIGHT, BUFFERED, LOST = 0, 1, 2

# Module-level coders with default settings: json reuses them, which is
# measurably faster than building an encoder per call.
_encode = json.JSONEncoder(separators=(",", ":")).encode
_decode = json.JSONDecoder().decode

Action = Callable[["Simulation"], Any]


class CoreError(Exception):
    """The core raised, or produced something no caller can carry out."""


class Simulation:
    """A seeded, deterministic cluster of ``params.n`` simulated nodes."""

    def __init__(self, params: Params, core: type[Streamlet] = Streamlet, *,
                 digest: bool = False,
                 trace: Callable[[str], None] | None = None) -> None:
        n = params.n
        self.params = params
        self.n = n
        self.config = Config(n=n, leader=params.leader, echo=params.echo)
        self.core_class = core
        self.wire = params.wire
        self.network = Network(n, Random(params.network_seed))
        self.network.set_delays(params.delay_min_ticks, params.delay_mean_ticks,
                                params.delay_max_ticks)
        self.network.loss_probability = params.loss_probability
        self.network.loss_resets_link = params.loss_resets_link
        self.network.silent_partitions = params.partition_silent
        self.network.duplicate_probability = params.duplicate_probability
        self.crash_send_loss = params.crash_send_loss

        self.now = 0
        self._queue: list[tuple[Any, ...]] = []
        self._seq = 0
        # Index 0 is unused everywhere: node ids are 1..n as in the paper.
        self.nodes: list[Streamlet | None] = [None] * (n + 1)
        self.alive = [False] * (n + 1)
        #: Bumped at every crash and restart; messages to an old life are lost.
        self.life = [0] * (n + 1)
        #: Bumped whenever a node's clock is replaced; stale ticks are ignored.
        self.clock_gen = [0] * (n + 1)
        self.skew = [0, *params.clock_skew_ticks]
        #: What each node persisted, over all its lives: its durable store.
        self.records: list[list[Record]] = [[] for _ in range(n + 1)]

        self.safety = SafetyChecker(n)
        self.liveness: LivenessChecker | None = None
        self.acknowledged: dict[str, Transaction] = {}
        self.deliveries = 0
        self.crashes = 0
        self.restarts = 0
        self._digest = hashlib.sha256() if digest else None
        self.trace = trace

    # --- clock ---------------------------------------------------------------

    def epoch_start(self, node: int, epoch: int) -> int:
        """Simulated time at which ``node``'s clock enters ``epoch``."""
        return (epoch - 1) * EPOCH_TICKS - self.skew[node]

    def clock_epoch(self, node: int) -> int:
        """The epoch ``node``'s clock shows now (0 before epoch 1 starts)."""
        local = self.now + self.skew[node]
        return local // EPOCH_TICKS + 1 if local >= 0 else 0

    def cluster_epoch_start(self, epoch: int) -> int:
        """The time by which every node's clock has entered ``epoch``."""
        return max(self.epoch_start(i, epoch) for i in range(1, self.n + 1))

    def set_skew(self, node: int, skew_ticks: int) -> None:
        """Replace a node's clock offset; its epoch still never goes back."""
        self.skew[node] = skew_ticks
        self.clock_gen[node] += 1
        if self.alive[node]:
            self._tick(node, self.clock_gen[node])

    # --- the event loop -----------------------------------------------------

    def schedule(self, time: int, action: Action) -> None:
        """Run ``action(sim)`` at simulated ``time`` (not before now)."""
        self._seq += 1
        heapq.heappush(self._queue, (max(time, self.now), self._seq, ACTION, action))

    def at_epoch(self, epoch: int, action: Action, offset_ticks: int = 0) -> None:
        """Run ``action(sim)`` ``offset_ticks`` after every clock entered ``epoch``."""
        self.schedule(self.cluster_epoch_start(epoch) + offset_ticks, action)

    def start(self) -> None:
        """Boot every node at time 0 and connect the links."""
        for node in range(1, self.n + 1):
            self.nodes[node] = self._call(node, "start", self.core_class,
                                          self.config, node)
            self.alive[node] = True
            self._schedule_tick(node, 1)
        self.refresh_links()

    def run_until(self, end: int) -> None:
        """Process every event up to and including time ``end``."""
        queue = self._queue
        pop = heapq.heappop
        deliver, tick = self._deliver, self._tick
        while queue and queue[0][0] <= end:
            entry = pop(queue)
            self.now = entry[0]
            kind = entry[2]
            if kind == DELIVER:
                deliver(*entry[3:])
            elif kind == TICK:
                tick(entry[3], entry[4])
            else:
                entry[3](self)
        self.now = max(self.now, end)

    def run_through_epoch(self, epoch: int) -> None:
        """Run until every node's clock has left ``epoch`` (an absolute epoch)."""
        self.run_until(self.cluster_epoch_start(epoch + 1))

    # --- steps ----------------------------------------------------------------

    def _call(self, node: int, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            raise CoreError(f"n{node} raised during {what} at t={self.now}: "
                            f"{type(exc).__name__}: {exc}") from exc

    def _deliver(self, src: int, dst: int, gen: int, life: int, message: Message,
                 fate: int) -> None:
        # A message dies with the connection it was sent on, or with the
        # receiver's life; one already buffered only needs the receiver.
        if life != self.life[dst] or fate == LOST or (fate == IN_FLIGHT and not (
                self.network.up[src][dst] and self.network.gen[src][dst] == gen)):
            self.network.dropped += 1
            return
        core = self.nodes[dst]
        self.deliveries += 1
        try:
            out = core.on_message(message, src)
        except Exception as exc:
            raise CoreError(f"n{dst} raised on a message from n{src} at "
                            f"t={self.now}: {type(exc).__name__}: {exc}") from exc
        self._apply(dst, core, out, "m")

    def _tick(self, node: int, gen: int) -> None:
        if not self.alive[node] or gen != self.clock_gen[node]:
            return
        core = self.nodes[node]
        assert core is not None
        epoch = self.clock_epoch(node)
        if epoch > core.epoch:
            out = self._call(node, f"epoch {epoch}", core.on_epoch, epoch)
            self._apply(node, core, out, "e")
        self._schedule_tick(node, max(epoch, core.epoch) + 1)

    def _schedule_tick(self, node: int, epoch: int) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (max(self.epoch_start(node, epoch), self.now),
                                     self._seq, TICK, node, self.clock_gen[node]))

    def _apply(self, node: int, core: Streamlet, out: Output, step: str) -> None:
        """Carry out one output: persist, then send, then report events."""
        if out.persist:
            self.records[node].extend(out.persist)
        for send in out.send:
            self._send(node, send)
        safety = self.safety
        if out.events:
            liveness = self.liveness
            for event in out.events:
                safety.on_event(node, event)
                if liveness is not None:
                    liveness.on_event(node, core.epoch, event)
        safety.after_step(node, core)
        if self._digest is not None:
            text = (f"{self.now}|{node}|{step}|{out.persist!r}|{out.send!r}|"
                    f"{out.events!r}")
            self._digest.update(text.encode())

    def _send(self, src: int, send: Send) -> None:
        message = send.message
        self.safety.on_send(src, message)
        if self.wire:
            # The round trip a real frame makes, once per send: the receivers
            # share the decoded message, which is immutable.
            try:
                message = message_from_wire(_decode(_encode(message.to_wire())),
                                            self.n)
            except Exception as exc:
                raise CoreError(f"n{src} sent a message that does not survive the "
                                f"wire at t={self.now}: {type(exc).__name__}: "
                                f"{exc}") from exc
        network, now, n, queue = self.network, self.now, self.n, self._queue
        up, gen, life = network.up[src], network.gen[src], self.life
        faulty = network.faulty
        for dst in send.to:
            if not 1 <= dst <= n or dst == src:
                raise CoreError(f"n{src} addressed a message to n{dst}")
            if not up[dst]:
                network.dropped += 1
                continue
            if faulty:
                delays = network.route(src, dst, message, now)
                if delays is None:
                    self.reset_link(src, dst, network.rng.randint(
                        1, self.params.link_down_ticks_max))
                    continue
            else:
                network.sent += 1
                delays = (network.draw_delay(),)
            for delay in delays:
                self._seq += 1
                heapq.heappush(queue, (now + delay, self._seq, DELIVER, src, dst,
                                       gen[dst], life[dst], message, IN_FLIGHT))

    # --- links, faults and clients (public: scripted scenarios use them) -----

    def note(self, text: str) -> None:
        if self.trace is not None:
            epoch = self.now // EPOCH_TICKS + 1
            self.trace(f"t={self.now} e{epoch} {text}")

    def hurry_in_flight(self) -> None:
        """Make every message in flight arrive within the current delay bound.

        Used at GST: the paper's network delivers a message sent at t by
        max(GST, t + Δ), whatever was promised before.
        """
        queue, network = self._queue, self.network
        for index, entry in enumerate(queue):
            if entry[2] == DELIVER and entry[0] > self.now + network.delay_max_ticks:
                queue[index] = (self.now + network.draw_delay(), *entry[1:])
        heapq.heapify(queue)

    def refresh_links(self) -> None:
        """Bring links in line with crashes, partitions and resets; tell both
        ends of each link that came up."""
        for a, b in self.network.refresh(self.alive, self.now):
            for x, y in ((a, b), (b, a)):
                core = self.nodes[x]
                out = self._call(x, f"peer {y} connected", core.on_peer_connected, y)
                self._apply(x, core, out, f"c{y}")

    def crash(self, node: int) -> None:
        """Stop ``node`` abruptly: its memory is gone, its records stay."""
        if not self.alive[node]:
            raise ValueError(f"n{node} is already down")
        self.alive[node] = False
        self.nodes[node] = None
        self.life[node] += 1
        self.clock_gen[node] += 1
        self.crashes += 1
        # Its messages still in flight: some never left the machine (lost),
        # the others already sit in the receiver's socket buffer. Rewriting
        # an entry in place keeps (time, seq), so the heap stays valid.
        rng, queue = self.network.rng, self._queue
        for index, entry in enumerate(queue):
            if entry[2] == DELIVER and entry[3] == node and entry[8] == IN_FLIGHT:
                fate = LOST if rng.random() < self.crash_send_loss else BUFFERED
                queue[index] = (*entry[:8], fate)
        self.note(f"crash n{node}")
        self.refresh_links()

    def restart(self, node: int) -> None:
        """Rebuild ``node`` from exactly the records it persisted, then run
        the steps the node process runs: its clock, its links, its pool."""
        if self.alive[node]:
            raise ValueError(f"n{node} is already up")
        snapshot = snapshot_from_records(self.records[node])
        core = self._call(node, "restore", self.core_class.restore, self.config,
                          node, snapshot)
        self.nodes[node] = core
        self.alive[node] = True
        self.life[node] += 1
        self.clock_gen[node] += 1
        self.restarts += 1
        self.note(f"restart n{node} ({len(self.records[node])} records)")
        self.safety.on_restore(node, core)
        # Links first, then the clock: the first epoch tick may make it
        # propose, and the node process keeps such frames in a backlog until
        # the peer is connected, where a link still down would lose them.
        self.refresh_links()
        self._tick(node, self.clock_gen[node])
        # As the node process does once it runs again: a transaction it
        # acknowledged just before the crash may never have left it.
        out = self._call(node, "rebroadcast", core.rebroadcast_pool)
        self._apply(node, core, out, "r")

    def reconnect_all(self) -> None:
        """Re-establish every link: what is in flight is lost, and both ends of
        each link are told it came up (and ask each other what they missed)."""
        self.network.drop_all()
        self.note("every link reconnects")
        self.refresh_links()

    def partition(self, groups: list[list[int]]) -> None:
        """Cut the links between groups (unnamed nodes form one more group)."""
        self.network.split(groups)
        self.note(f"partition {groups}")
        self.refresh_links()

    def heal(self) -> None:
        self.network.heal()
        self.note("heal")
        self.refresh_links()

    def reset_link(self, a: int, b: int, down_ticks: int) -> None:
        """Break the link a-b (losing what is in flight) for ``down_ticks``."""
        self.network.break_link(a, b, self.now + down_ticks)
        self.note(f"reset n{a}-n{b} for {down_ticks} ticks")
        self.schedule(self.now + down_ticks, Simulation.refresh_links)

    def submit(self, node: int, tx: Transaction) -> bool:
        """A client hands ``tx`` to ``node``; True if the node acknowledged it."""
        core = self.nodes[node]
        if core is None:
            return False
        out = self._call(node, f"tx {tx.id}", core.on_transaction, tx)
        self._apply(node, core, out, "t")
        accepted = any(isinstance(r, TxRecord) and r.tx.id == tx.id
                       for r in out.persist)
        known = tx.id in core.pool or tx.id in core.finalized_txs
        if accepted or known:
            self.acknowledged.setdefault(tx.id, tx)
            return True
        return False

    # --- results ---------------------------------------------------------------

    def digest(self) -> str:
        """A hash of every step's outputs (empty unless built with digest=True)."""
        return self._digest.hexdigest() if self._digest is not None else ""

    @property
    def pending(self) -> int:
        return len(self._queue)
