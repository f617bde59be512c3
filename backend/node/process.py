"""One Streamlet node as an operating-system process.

The process owns: a TCP listener for its peers, one outgoing link per peer
(with reconnection and injected faults), its epoch clock, its SQLite store and
a control link to the supervisor. A single asyncio loop feeds the pure core
(:mod:`backend.core`) and carries out each Output: persist, then send, then
report. There are no threads, so the core is never touched concurrently.

Epochs come from a genesis time every node is given at launch:
``epoch = floor((now - genesis) / (2 * delta)) + 1``. There is no central
ticker: a node whose supervisor is slow still moves on by its own clock.

The process exits when the control link to its supervisor closes, so a
supervisor that dies takes its nodes with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import re
import time
import zlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from backend.core import (
    Config,
    Streamlet,
    SyncRequest,
    SyncResponse,
    Transaction,
    TxMessage,
    WireError,
    message_from_wire,
)
from backend.core.chain import check_amount
from backend.core.messages import ECHOED, MAX_SYNC_BLOCKS
from backend.core.output import Output, Send

from .framing import FrameDecoder, FrameTooLarge, encode, parse
from .store import Store

log = logging.getLogger("streamlet.node")

#: A link that only ever sends garbage is closed after this many bad frames.
MAX_BAD_FRAMES = 16
#: Messages waiting for a peer that is down; the oldest go first past this.
MAX_QUEUED = 20_000
#: A peer that lets this much pile up unread in its link is disconnected.
MAX_BUFFER_BYTES = 16 * 1024 * 1024
#: Events a quiet node does not report (the headless runner needs none of them).
CHATTY_EVENTS = frozenset({"tally", "block", "vote", "vote_skipped", "epoch",
                           "propose", "notarize", "tx", "synced", "orphan"})
#: ``rejected`` events reported per epoch; past this a flood is only counted.
MAX_REJECTED_EVENTS_PER_EPOCH = 32
#: Seconds between two reports of the message counters.
STATS_EVERY_S = 1.0
#: An incoming connection must introduce itself within this time.
HELLO_TIMEOUT_S = 5.0
#: Bytes of validated messages kept to recognise their echoed copies. Copies
#: arrive within an epoch or two of the original; 512 KiB holds about 200
#: epochs of 15 nodes' proposals and votes. The oldest are forgotten first.
MAX_KNOWN_BYTES = 512 * 1024
#: With echo traces sampled automatically (``echo_trace_every=0``): about how
#: many echo sends, and as many deliveries, a node traces per second. The page
#: hides echoes unless asked and draws a few hundred messages at a time, while
#: at n = 15 and Δ = 0.05 s every node forwards about 2,000 a second.
ECHO_TRACES_PER_S = 100
#: Past this many nodes the budgets shrink as 1/n, so that the whole cluster
#: sends the dashboard about as many traces at n = 15 as at n = 7: the server
#: decodes and records every one, and at n = 15 on two shared cores it could
#: not (docs/PERFORMANCE.md, Pipeline).
TRACE_BUDGET_NODES = 7
#: With traces sampled automatically: about how many direct sends, and as
#: many deliveries, a node traces per second (n ≤ TRACE_BUDGET_NODES). The
#: page draws at most a hundred traces a batch; direct messages alone are
#: 2(n² − 1)/2Δ traces a second, 4,480 at n = 15 and Δ = 0.05 s.
DIRECT_TRACES_PER_S = 40

_FRAME_HEAD = b'{"m":'
_FRAME_TAIL = b',"st":'
_JSON_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def _split_frame(body: bytearray) -> tuple[bytes, bytes] | None:
    """The bytes of ``m`` and of ``st`` in a body ``{"m":M,"st":T}``, or None.

    T must be a JSON number, so ``"st"`` is the object's last member and
    everything before it is M's: two bodies with the same M and a number as
    T parse to the same ``m``, each with its own ``st``.
    """
    if not (body.startswith(_FRAME_HEAD) and body.endswith(b"}")):
        return None
    cut = body.rfind(_FRAME_TAIL)
    if cut < len(_FRAME_HEAD):
        return None
    number = bytes(body[cut + len(_FRAME_TAIL):-1])
    if not _JSON_NUMBER.fullmatch(number):
        return None
    return bytes(memoryview(body)[len(_FRAME_HEAD):cut]), number


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _Known:
    """A frame carrying a message this node has validated before (a copy)."""

    __slots__ = ("message", "sent_t")

    def __init__(self, message: Any, sent_t: float) -> None:
        self.message = message
        self.sent_t = sent_t


@dataclass
class Faults:
    """Faults injected into this node's outgoing links, set by the supervisor."""

    delay_ms: dict[int, float] = field(default_factory=dict)
    loss: dict[int, float] = field(default_factory=dict)
    groups: list[set[int]] = field(default_factory=list)
    #: Extra random delay on every link (the asynchrony knob, before GST).
    jitter_ms: float = 0.0

    def blocked(self, src: int, dst: int) -> bool:
        if not self.groups:
            return False
        for group in self.groups:
            if src in group:
                return dst not in group
        return True  # a node in no group is cut off from every group


def _kind(message: Any) -> str:
    return message.to_wire()["type"]


def auto_echo_trace_every(n: int, epoch_s: float) -> int:
    """1 in how many echo traces a node emits so that it stays near the budget.

    With echo on, each of the n² - 1 messages of a good epoch (a proposal and
    n votes, each to n - 1 peers) is forwarded by the n - 2 nodes that are
    neither its sender nor the one it came from: (n - 2)(n² - 1) / n echo
    sends per node and epoch, and as many deliveries. Every node computes
    the same value, so sender and receiver pick the same links to trace.
    """
    per_s = (n - 2) * (n * n - 1) / n / max(epoch_s, 1e-6)
    return _one_in(per_s, ECHO_TRACES_PER_S, n)


def auto_direct_trace_every(n: int, epoch_s: float) -> int:
    """1 in how many direct traces a node emits when traces are sampled.

    A good epoch has n² - 1 direct messages (a proposal and n votes, each to
    n - 1 peers): (n² - 1) / n sends per node and epoch, as many deliveries.
    """
    per_s = (n * n - 1) / n / max(epoch_s, 1e-6)
    return _one_in(per_s, DIRECT_TRACES_PER_S, n)


def _one_in(per_s: float, budget_per_s: float, n: int) -> int:
    budget = budget_per_s * min(1.0, TRACE_BUDGET_NODES / max(n, 1))
    return max(1, math.ceil(per_s / budget))


def traced_echo(msg_id: str, src: int, dst: int, every: int) -> bool:
    """Whether the echo of ``msg_id`` on the link ``src`` → ``dst`` is traced.

    (Direct messages too, when they are sampled.)
    A hash of the message and the link rather than a counter, so that the
    sender's ``send`` and the receiver's ``deliver`` of one hop are both kept
    or both left out (the page then animates whole hops), whatever the order
    in which each node sees its messages.
    """
    if every <= 1:
        return True
    return zlib.crc32(f"{msg_id}|{src}|{dst}".encode()) % every == 0


class Link:
    """The outgoing half of a connection to one peer, redialled when it drops.

    While connected, the frames sent during one turn of the event loop are
    written to the socket together at the end of that turn: one system call
    per peer and turn instead of one per message, which is most of what a
    small message costs on loopback (bench/node_cpu.py). No task switch per
    message. While the peer is down, frames wait in a bounded backlog and the
    oldest go first.
    """

    def __init__(self, node: NodeProcess, peer: int) -> None:
        self.node = node
        self.peer = peer
        self.port: int | None = None
        self.backlog: deque[bytes] = deque(maxlen=MAX_QUEUED)
        #: Frames of this turn of the loop, written by :meth:`_flush`.
        self.pending: list[bytes] = []
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None
        self._port_changed = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self.writer is not None

    def start(self) -> None:
        self._port_changed.set()
        if self.task is None:
            self.task = asyncio.ensure_future(self._run())

    def send(self, frame: bytes) -> None:
        if self.writer is None:
            self.backlog.append(frame)
            return
        if not self.pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self.pending.append(frame)

    def _flush(self) -> None:
        frames, self.pending = self.pending, []
        writer = self.writer
        if writer is None:
            # The link dropped within this turn: these frames go first when
            # it is back, before the ones sent since.
            self.backlog.extendleft(reversed(frames))
            return
        writer.write(b"".join(frames))
        if writer.transport.get_write_buffer_size() > MAX_BUFFER_BYTES:
            # The peer stopped reading; drop the link rather than grow memory.
            writer.transport.abort()

    async def _run(self) -> None:
        backoff = 0.02
        while True:
            port = self.port
            if port is None:
                await self._port_changed.wait()
                self._port_changed.clear()
                continue
            try:
                reader, writer = await asyncio.open_connection(self.node.host, port)
            except OSError:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._port_changed.wait(), backoff)
                self._port_changed.clear()
                backoff = min(backoff * 2, 1.0)
                continue
            backoff = 0.02
            writer.write(encode({"type": "hello", "node": self.node.id}))
            while self.backlog:
                writer.write(self.backlog.popleft())
            self.writer = writer
            self.node.peer_connected(self.peer)
            try:
                # The peer never writes on this connection: read() returns only
                # when it closes (it crashed, or restarted on a new port).
                await reader.read(1)
            except (OSError, ConnectionError):
                pass
            finally:
                self.writer = None
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()


class PeerConnection(asyncio.Protocol):
    """The incoming half of a connection: frames from one peer, checked.

    A protocol object rather than a stream reader: bytes go from the socket to
    the frame decoder with no coroutine switch, which is most of what a small
    message costs. The first frame must be a hello naming a peer; a
    connection that sends too many bad frames, or no hello in time, is closed.
    """

    def __init__(self, node: NodeProcess) -> None:
        self.node = node
        self.decoder = FrameDecoder()
        self.via: int | None = None
        self.bad = 0
        self.transport: asyncio.Transport | None = None
        self._hello_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._hello_timer = asyncio.get_running_loop().call_later(
            HELLO_TIMEOUT_S, self._no_hello)

    def _no_hello(self) -> None:
        if self.via is None and self.transport is not None:
            self.node._drop(1, "connection sent no hello in time")
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._hello_timer is not None:
            self._hello_timer.cancel()
        self.transport = None

    def data_received(self, data: bytes) -> None:
        node = self.node
        if node.stopped:
            # The store is closed: act on nothing more (a message could need
            # a write before its echo, and that write can no longer happen).
            self._close()
            return
        try:
            bodies = self.decoder.frames(data)
        except FrameTooLarge:
            node._drop(1, "frame larger than the cap")
            self._close()
            return
        # Every frame is parsed before any is acted on, so that the bad ones
        # of a read are reported together. A copy of a message this node has
        # validated already (with echo, most frames) is recognised by its
        # bytes and neither parsed nor validated again.
        recall = node._recall if self.via is not None else None
        values: list[tuple[Any, bytearray]] = []
        bad = 0
        for body in bodies:
            known = recall(body) if recall is not None else None
            if known is not None:
                values.append((known, body))
                continue
            try:
                values.append((parse(body), body))
            except (ValueError, RecursionError):  # bad UTF-8 is a ValueError
                bad += 1
        if bad:
            self.bad += bad
            node._drop(bad, "frame is not JSON")
        for value, body in values:
            if self.transport is None:
                return
            if self.via is None:
                self.via = node._hello(value)
                if self.via is None:
                    node._drop(1, "connection did not start with hello")
                    self._close()
                    return
                continue
            if isinstance(value, _Known):
                node._accept(value.message, value.sent_t, self.via)
            elif not node._deliver(value, self.via, body):
                self.bad += 1
                if self.bad >= MAX_BAD_FRAMES:
                    # One read can hold thousands of small frames: stop here
                    # rather than log and report every one of them.
                    break
        if self.bad >= MAX_BAD_FRAMES:
            self._close()

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


class NodeProcess:
    """Wires the core to the network, the clock, the store and the supervisor."""

    def __init__(self, node_id: int, n: int, delta_s: float, leader: str,
                 store_path: str, control_port: int, host: str = "127.0.0.1",
                 echo: bool = True, trace: bool = False, seed: int = 0,
                 keep_heights: int = 256, quiet: bool = False,
                 confusion: tuple[int, int] = (0, 0),
                 echo_trace_every: int = 1, tallies: bool = True) -> None:
        self.id = node_id
        self.n = n
        self.delta_s = delta_s
        self.epoch_s = 2 * delta_s
        self.host = host
        self.control_port = control_port
        self.trace = trace
        #: Echo traces: 1 in k is emitted (1: all; 0: k from n and Δ, see
        #: auto_echo_trace_every). Direct messages are all traced unless k is
        #: automatic: then 1 in auto_direct_trace_every(n, Δ) of them.
        self.echo_trace_every = echo_trace_every
        self._echo_every, self._direct_every = self._trace_sampling()
        #: Echo traces not emitted since the last one emitted, by kind: the
        #: next emitted one carries them in its ``weight``.
        self._untraced = {"send": 0, "deliver": 0}
        #: The same for direct messages, when they are sampled.
        self._untraced_direct = {"send": 0, "deliver": 0}
        self.quiet = quiet
        #: Event types this node does not report.
        self._unreported = CHATTY_EVENTS if quiet else (
            frozenset() if tallies else frozenset({"tally"}))
        self._stats_at = 0.0
        self.config = Config(n=n, leader=leader, echo=echo,
                             keep_heights=keep_heights,
                             confusion_start=confusion[0],
                             confusion_duration=confusion[1])
        self.store = Store(store_path)
        self.restored = not self.store.is_empty()
        if self.restored:
            snap = self.store.snapshot()
            self.core = Streamlet.restore(self.config, node_id, snap)
        else:
            self.core = Streamlet(self.config, node_id)
        self.links = {p: Link(self, p) for p in range(1, n + 1) if p != node_id}
        self.faults = Faults()
        self.random = random.Random(seed * 1000 + node_id)
        # The epoch clock: wall time from a genesis, or epochs handed out one
        # at a time by the supervisor (paused / stepping).
        self.genesis: float | None = None
        self.manual_epoch: int | None = None
        self.skew_s = 0.0
        self._clock_changed = asyncio.Event()
        self._clock_waiter: asyncio.Future[None] | None = None
        self.stats = {"sent": 0, "received": 0, "dropped_frames": 0,
                      "fault_dropped": 0, "rejected_unreported": 0}
        self._rejected_reported = 0
        self._events: list[dict[str, Any]] = []
        # Messages validated so far, by the bytes of their ``m`` (_recall).
        self._known: OrderedDict[bytes, Any] = OrderedDict()
        self._known_bytes = 0
        self._control_writer: asyncio.StreamWriter | None = None
        self._caught_up = not self.restored
        self._stopping = asyncio.Event()
        #: Set when run() ends: the store is closed, late input is ignored.
        self.stopped = False
        self._clock_task: asyncio.Task[None] | None = None
        self.port = 0

    # --- carrying out the core's outputs ----------------------------------

    def carry_out(self, out: Output) -> None:
        """Persist, then send, then report: the order the core requires."""
        if out.persist:
            self.store.write(out.persist)
        if out.send:
            self._send_all(out.send)
        if not out.events:
            return
        for event in out.events:
            self.emit(event)
        if not self._caught_up:
            for event in out.events:
                if event["type"] == "synced" and not event["more"]:
                    self._caught_up = True
                    self.emit({"type": "caught_up",
                               "finalized_height": self.core.finalized_height})
                    break

    def _send_all(self, sends: list[Send]) -> None:
        """Encode each message once and hand it to the links of its peers."""
        now = time.time()
        faults = self.faults
        # Without injected faults or tracing, nothing is decided per peer: the
        # frame goes straight to each link (the common case, and the hot one).
        plain = not (self.trace or faults.delay_ms or faults.loss or faults.groups
                     or faults.jitter_ms)
        links = self.links
        stats = self.stats
        for send in sends:
            message = send.message
            frame = encode({"m": message.to_wire(), "st": now})
            if plain:
                for peer in send.to:
                    link = links.get(peer)
                    if link is not None:
                        stats["sent"] += 1
                        link.send(frame)
                continue
            echo = getattr(message, "sender", self.id) != self.id
            for peer in send.to:
                self._send(peer, frame, message, echo, now)

    def _send(self, peer: int, frame: bytes, message: Any, echo: bool,
              now: float) -> None:
        link = self.links.get(peer)
        if link is None:
            return
        delay_ms = self.faults.delay_ms.get(peer, 0.0)
        if self.faults.jitter_ms:
            delay_ms += self.faults.jitter_ms * (1 + self.random.random())
        dropped = self.faults.blocked(self.id, peer) or (
            self.random.random() < self.faults.loss.get(peer, 0.0))
        self.stats["sent"] += 1
        if self.trace and hasattr(message, "id"):
            weight = self._trace_weight("send", message.id, self.id, peer, echo)
            if weight >= 0:
                event = {"type": "send", "msg": message.id, "kind": _kind(message),
                         "to": peer, "echo": echo, "delay_ms": delay_ms,
                         "dropped": dropped}
                if weight:
                    event["weight"] = weight
                self.emit(event)
        if dropped:
            self.stats["fault_dropped"] += 1
            return
        if delay_ms > 0:
            asyncio.get_running_loop().call_later(delay_ms / 1000, link.send, frame)
        else:
            link.send(frame)

    def _trace_sampling(self) -> tuple[int, int]:
        """1 in how many (echo, direct) traces this node emits."""
        if self.echo_trace_every >= 1:
            return self.echo_trace_every, 1
        return (auto_echo_trace_every(self.n, self.epoch_s),
                auto_direct_trace_every(self.n, self.epoch_s))

    def _trace_weight(self, kind: str, msg_id: str, src: int, dst: int,
                      echo: bool) -> int:
        """How many traces the one of this hop stands for; -1: left out.

        0 when traces of its sort (echo or direct) are not sampled (the trace
        then has no weight). With 1 in k sampled, an emitted trace carries
        the count of those left out since the last one, itself included, so
        the weights of a node's traces add up to its real count of sends
        (deliveries) of that sort.
        """
        every = self._echo_every if echo else self._direct_every
        if every <= 1:
            return 0
        untraced = self._untraced if echo else self._untraced_direct
        untraced[kind] += 1
        if not traced_echo(msg_id, src, dst, every):
            return -1
        weight, untraced[kind] = untraced[kind], 0
        return weight

    def emit(self, event: dict[str, Any]) -> None:
        if event["type"] in self._unreported:
            return
        if event["type"] == "rejected":
            # A flood of refused messages must not become a flood of events.
            if self._rejected_reported >= MAX_REJECTED_EVENTS_PER_EPOCH:
                self.stats["rejected_unreported"] += 1
                return
            self._rejected_reported += 1
        event.setdefault("epoch", self.core.epoch)
        event["node"] = self.id
        event["t"] = time.time()
        if not self._events:
            asyncio.get_running_loop().call_soon(self._flush_events)
        self._events.append(event)

    def _flush_events(self) -> None:
        events, self._events = self._events, []
        if events and self._control_writer is not None:
            self._control_writer.write(encode({"type": "events", "events": events}))

    def peer_connected(self, peer: int) -> None:
        self.carry_out(self.core.on_peer_connected(peer))

    # --- the peers' side ------------------------------------------------------

    def _hello(self, value: Any) -> int | None:
        if (isinstance(value, dict) and value.get("type") == "hello"
                and isinstance(value.get("node"), int)
                and not isinstance(value.get("node"), bool)
                and 1 <= value["node"] <= self.n and value["node"] != self.id):
            return value["node"]
        return None

    def _deliver(self, value: Any, via: int, body: bytearray | None = None) -> bool:
        """Validate a frame's value and act on its message; False if it is bad.

        ``body``, the frame's bytes, lets a later copy of the same message
        skip parsing and validation (:meth:`_recall`).
        """
        try:
            if not isinstance(value, dict) or len(value) != 2 or "m" not in value \
                    or "st" not in value:
                raise WireError("frame must be {m, st}")
            sent_t = value["st"]
            if isinstance(sent_t, bool) or not isinstance(sent_t, (int, float)):
                raise WireError("st must be a number")
            message = message_from_wire(value["m"], self.n)
        except WireError as exc:
            self._drop(1, str(exc))
            return False
        if body is not None and isinstance(message, ECHOED):
            self._remember(body, message)
        self._accept(message, sent_t, via)
        return True

    def _remember(self, body: bytearray, message: Any) -> None:
        parts = _split_frame(body)
        if parts is None or parts[0] in self._known:
            return
        known = self._known
        known[parts[0]] = message
        self._known_bytes += len(parts[0])
        # Oldest first, a few at a time: clearing the whole map at once let it
        # fill to the cap and back, a slow 15-minute saw in the node's memory.
        while self._known_bytes > MAX_KNOWN_BYTES and known:
            self._known_bytes -= len(known.popitem(last=False)[0])

    def _recall(self, body: bytearray) -> _Known | None:
        """The message of a frame whose ``m`` this node validated before."""
        parts = _split_frame(body)
        if parts is None:
            return None
        message = self._known.get(parts[0])
        if message is None:
            return None
        number = parts[1]
        # As json reads a number: an int unless it has a fraction or exponent.
        sent_t = float(number) if number.strip(b"-0123456789") else int(number)
        return _Known(message, sent_t)

    def _accept(self, message: Any, sent_t: float, via: int) -> None:
        """Act on a valid message: count it, trace it, hand it to the core."""
        self.stats["received"] += 1
        if self.trace and hasattr(message, "id"):
            origin = getattr(message, "sender", via)
            echo = origin != via
            weight = self._trace_weight("deliver", message.id, via, self.id, echo)
            if weight >= 0:
                event = {"type": "deliver", "msg": message.id,
                         "kind": _kind(message), "via": via, "origin": origin,
                         "echo": echo, "sent_t": sent_t}
                if weight:
                    event["weight"] = weight
                self.emit(event)
        if isinstance(message, TxMessage) and self._final_in_store(message.tx.id):
            return  # final long ago; the core no longer remembers it
        if (isinstance(message, SyncRequest)
                and message.from_height < self.core.pruned_height):
            self._sync_from_store(message)
        else:
            self.carry_out(self.core.on_message(message, via))

    def _sync_from_store(self, request: SyncRequest) -> None:
        """Answer a peer that is behind the blocks the core keeps in memory."""
        blocks, voters, more = self.store.finalized_above(request.from_height,
                                                          MAX_SYNC_BLOCKS)
        if not blocks:
            return
        response = SyncResponse(self.id, tuple(blocks), tuple(voters), more)
        out = Output(send=[Send((request.sender,), response)])
        self.carry_out(out)

    def _final_in_store(self, tx_id: str) -> bool:
        """Was ``tx_id`` finalized here longer ago than the core remembers?

        The core keeps the ids of final transactions only for the heights it
        holds in memory (``Config.keep_heights``). An older one can still come
        back: a client retrying, a peer rebroadcasting its pool after a
        restart. It must not enter the pool again, or a later block would
        finalize it twice (PROTOCOL.md, case 12), so the store is asked, once
        per transaction the core does not know. Limit: only this node's own
        finalizations count; a node still catching up takes such a
        transaction into its pool, and drops it when it finalizes the block
        that holds it (its proposals meanwhile extend a chain too short for
        votes).
        """
        core = self.core
        if tx_id in core.pool or tx_id in core.finalized_txs:
            return False  # the core dedupes these itself
        return self.store.is_final_tx(tx_id)

    def _drop(self, count: int, reason: str) -> None:
        if count <= 0:
            return
        self.stats["dropped_frames"] += count
        log.warning("n%d e%d dropped %d frame(s): %s", self.id, self.core.epoch,
                    count, reason)
        self.emit({"type": "dropped_frame", "reason": reason[:200],
                   "total": self.stats["dropped_frames"]})

    # --- the supervisor's side ---------------------------------------------

    async def _control(self, port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1",
                                                       self.control_port)
        self._control_writer = writer
        writer.write(encode({
            "type": "hello", "node": self.id, "pid": os.getpid(), "port": port,
            "restored": self.restored,
            "finalized_height": self.core.finalized_height,
        }))
        if self.restored:
            self.emit({"type": "store_reloaded", "blocks": len(self.core.blocks) - 1,
                       "votes": len(self.core.voted),
                       "finalized_height": self.core.finalized_height})
        decoder = FrameDecoder()
        while True:
            data = await reader.read(65536)
            if not data:
                return
            for command in decoder.feed(data):
                try:
                    reply = self._command(command)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    log.error("n%d bad command from supervisor: %s", self.id, exc)
                    continue
                if reply is not None:
                    writer.write(encode(reply))

    def _command(self, cmd: Any) -> dict[str, Any] | None:
        kind = cmd.get("type") if isinstance(cmd, dict) else None
        if kind == "start":
            self._set_clock(cmd["clock"])
            self._set_peers(cmd["peers"])
            self.emit({"type": "started", "pid": os.getpid(),
                       "port": self.port, "restored": self.restored,
                       "finalized_height": self.core.finalized_height})
            if self._clock_task is None:
                self._clock_task = asyncio.ensure_future(self._clock())
                if self.restored:
                    self.carry_out(self.core.rebroadcast_pool())
        elif kind == "peers":
            self._set_peers(cmd["peers"])
        elif kind == "clock":
            self._set_clock(cmd["clock"])
        elif kind == "tx":
            return self._client_tx(cmd)
        elif kind == "faults":
            self.faults = Faults(
                delay_ms={int(k): float(v) for k, v in cmd["delay_ms"].items()},
                loss={int(k): float(v) for k, v in cmd["loss"].items()},
                groups=[set(g) for g in cmd["groups"]],
                jitter_ms=float(cmd.get("jitter_ms", 0.0)),
            )
        elif kind == "stop":
            self._stopping.set()
        return None

    def _client_tx(self, cmd: dict[str, Any]) -> dict[str, Any]:
        try:
            tx = Transaction(int(cmd["sender"]), int(cmd["receiver"]),
                             int(cmd["nonce"]), check_amount(cmd["amount"]))
        except (KeyError, TypeError, ValueError) as exc:
            return {"type": "tx_ack", "req": cmd.get("req"), "error": str(exc)}
        if self._final_in_store(tx.id):
            # Already final (a retry): acknowledged, never taken again.
            return {"type": "tx_ack", "req": cmd.get("req"), "id": tx.id}
        # Persisted and handed to the peers' links before the ack leaves.
        self.carry_out(self.core.on_transaction(tx))
        return {"type": "tx_ack", "req": cmd.get("req"), "id": tx.id}

    def _set_peers(self, peers: dict[str, int]) -> None:
        for key, port in peers.items():
            link = self.links.get(int(key))
            if link is not None and port != link.port:
                link.port = int(port)
                link.start()

    def _set_clock(self, clock: dict[str, Any]) -> None:
        genesis = clock.get("genesis")
        manual = clock.get("manual_epoch")
        self.genesis = None if genesis is None else float(genesis)
        self.manual_epoch = None if manual is None else int(manual)
        self.epoch_s = float(clock.get("epoch_s", self.epoch_s))
        self.skew_s = float(clock.get("skew_ms", 0.0)) / 1000
        # Δ may have changed
        self._echo_every, self._direct_every = self._trace_sampling()
        self._clock_changed.set()
        if self._clock_waiter is not None:
            _resolve(self._clock_waiter)

    def _enter(self, epoch: int) -> None:
        if epoch > self.core.epoch:
            self._rejected_reported = 0
            self.carry_out(self.core.on_epoch(epoch))
            now = time.time()
            if now - self._stats_at >= STATS_EVERY_S:
                self._stats_at = now
                self.emit({"type": "stats", **self.stats})

    async def _clock(self) -> None:
        """Enter each epoch when its time comes; epochs only ever increase."""
        while True:
            self._clock_changed.clear()
            if self.manual_epoch is not None or self.genesis is None:
                if self.manual_epoch is not None:
                    self._enter(self.manual_epoch)
                await self._clock_changed.wait()
                continue
            # A skewed clock runs ahead (or behind) of the others by skew_s.
            now = time.time() + self.skew_s
            epoch = max(0, math.floor((now - self.genesis) / self.epoch_s) + 1)
            self._enter(epoch)
            wake = self.genesis + epoch * self.epoch_s - self.skew_s
            if not self._clock_changed.is_set():
                await self._sleep_unless_changed(max(0.0, wake - time.time()))

    async def _sleep_unless_changed(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if the supervisor changes the clock.

        A timer and a bare future: waiting for the event with a timeout
        would create, then cancel, a task every epoch (extra loop turns).
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._clock_waiter = waiter
        timer = loop.call_later(seconds, _resolve, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._clock_waiter = None

    # --- life ---------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: PeerConnection(self), self.host, 0)
        self.port = server.sockets[0].getsockname()[1]
        control = asyncio.ensure_future(self._control(self.port))
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({control, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if control.done() and control.exception() is not None:
            log.error("n%d control link failed: %s", self.id, control.exception())
        server.close()
        self.stopped = True
        self.store.close()
