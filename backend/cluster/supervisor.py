"""The supervisor: spawns, crashes, restarts and wires the node processes.

Each node is a real process (``python -m backend.node``). It binds port 0,
dials the supervisor's control port on 127.0.0.1, says hello with its pid and
port, and from then on streams its events. The supervisor hands every node
the genesis time and the peers' ports, relays events to subscribers, carries
client transactions to a live node and sets the nodes' injected faults.

Written with plain threads and blocking sockets so that it runs unchanged in
a plain process (headless runner, tests) and under eventlet's monkey-patching
(the dashboard), where the same calls become green.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import math
import os
import queue
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from backend.core.chain import MAX_ACCOUNT, check_amount
from backend.core.leader import POLICIES
from backend.core.state import Config, leader_in
from backend.node.framing import FrameDecoder, FrameTooLarge, encode

log = logging.getLogger("streamlet.cluster")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_NODES = 15
#: How long a node may take from spawn to hello before it counts as failed.
START_TIMEOUT_S = 20.0
#: How long a node may take to acknowledge a transaction.
ACK_TIMEOUT_S = 3.0
#: Time between wiring the nodes and epoch 1, so every node starts epoch 1.
#: Every hello is in by then: only the start commands (a few hundred bytes
#: on an open link each) have to arrive, and a node that gets its command a
#: little late still enters epoch 1, only later in it.
GENESIS_MARGIN_S = 0.1


class ClusterError(Exception):
    """A request the cluster cannot carry out; ``status`` is an HTTP-like code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ClusterConfig:
    nodes: int = 5
    delta: float = 1.0
    leader: str = "round-robin"
    echo: bool = True
    seed: int = 0
    host: str = "127.0.0.1"
    tx_rate: float = 0.0
    trace_messages: bool = False
    #: With trace_messages: each node traces 1 in this many of its echo sends
    #: and deliveries (each trace weighted by those left out; direct messages
    #: always traced). 1: every one; 0: chosen from n and Δ by each node.
    echo_trace_every: int = 1
    #: Nodes report each vote they count (``tally``: n² events a good epoch,
    #: the most numerous kind after the message traces).
    tallies: bool = True
    #: Nodes report only finalizations, status and counters (headless runs).
    quiet: bool = False
    data_dir: str | None = None
    #: Heights of finalized blocks each node keeps in memory (the store keeps all).
    keep_heights: int = 256
    #: The course's fork demonstration: held-back messages from this epoch on,
    #: for this many epochs (PROTOCOL.md, "confusion"). 0: off.
    confusion_start: int = 0
    confusion_duration: int = 0

    def validate(self) -> None:
        if isinstance(self.nodes, bool) or not isinstance(self.nodes, int):
            raise ClusterError("nodes must be an integer")
        if not 1 <= self.nodes <= MAX_NODES:
            raise ClusterError(f"nodes must be between 1 and {MAX_NODES}")
        if isinstance(self.delta, bool) or not isinstance(self.delta, (int, float)):
            raise ClusterError("delta must be a number of seconds")
        if not (math.isfinite(self.delta) and 0.001 <= self.delta <= 60):
            raise ClusterError("delta must be between 0.001 and 60 seconds")
        if isinstance(self.keep_heights, bool) or not isinstance(
                self.keep_heights, int) or not 8 <= self.keep_heights <= 1_000_000:
            raise ClusterError("keep_heights must be an integer of at least 8")
        if self.leader not in POLICIES:
            raise ClusterError(f"leader must be one of {', '.join(POLICIES)}")
        for name in ("confusion_start", "confusion_duration"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ClusterError(f"{name} must be a whole number")
        if isinstance(self.echo_trace_every, bool) or not isinstance(
                self.echo_trace_every, int) or not 0 <= self.echo_trace_every <= 10_000:
            raise ClusterError("echo_trace_every must be a whole number up to 10000")
        if not isinstance(self.tallies, bool):
            raise ClusterError("tallies must be true or false")
        if self.confusion_duration > 15:
            raise ClusterError("confusion_duration must be at most 15 epochs")
        if not (math.isfinite(self.tx_rate) and 0 <= self.tx_rate <= 1000):
            raise ClusterError("tx_rate must be between 0 and 1000 per second")

    @property
    def epoch_seconds(self) -> float:
        return 2 * self.delta

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("data_dir")
        return out


@dataclass
class NodeHandle:
    id: int
    store: Path
    log_path: Path
    status: str = "crashed"
    proc: subprocess.Popen[bytes] | None = None
    conn: socket.socket | None = None
    pid: int | None = None
    port: int | None = None
    restarts: int = 0
    started_at: float | None = None
    finalized_height: int = 0
    stats: dict[str, int] = field(default_factory=dict)
    hello: threading.Event = field(default_factory=threading.Event)
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "pid": self.pid,
                "port": self.port, "finalized_height": self.finalized_height,
                "restarts": self.restarts, "started_at": self.started_at}


class Cluster:
    """n node processes and the links between them."""

    def __init__(self, config: ClusterConfig) -> None:
        config.validate()
        self.config = config
        self._own_dir = config.data_dir is None
        self.data_dir = Path(config.data_dir or tempfile.mkdtemp(prefix="streamlet-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if any(self.data_dir.glob("node-*.sqlite")):
            # Stores of an earlier cluster hold epochs far ahead of this
            # cluster's new clock: its nodes could not propose until the clock
            # caught up. A cluster starts from empty stores; restarts of a
            # node within it reuse its store.
            raise ClusterError(f"{self.data_dir} already holds node stores of "
                               "another run; give an empty folder", 409)
        self.nodes = {
            i: NodeHandle(i, self.data_dir / f"node-{i}.sqlite",
                          self.data_dir / f"node-{i}.log")
            for i in range(1, config.nodes + 1)
        }
        self.core_config = Config(n=config.nodes, leader=config.leader,
                                  echo=config.echo,
                                  confusion_start=config.confusion_start,
                                  confusion_duration=config.confusion_duration)
        self.genesis: float | None = None
        self.epoch_seconds = config.epoch_seconds
        # When paused, the epoch every node is held in (the supervisor then
        # hands out epochs one at a time instead of the wall clock).
        self.paused_epoch: int | None = None
        self._skew_ms: dict[int, float] = {}
        self._asynchrony = False
        #: Control actions as scenario steps, to save the session as a scenario.
        self.actions: list[dict[str, Any]] = []
        self.random = random.Random(config.seed)
        self.acknowledged: list[str] = []
        self._lock = threading.RLock()
        self._nonces: dict[int, itertools.count[int]] = {}
        self._acks: dict[int, tuple[threading.Event, dict[str, Any]]] = {}
        self._req_ids = itertools.count(1)
        self._subscribers: list[Callable[[dict[str, Any]], None]] = []
        self._events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._links: dict[tuple[int, int], dict[str, float]] = {}
        self._groups: list[list[int]] = []
        self._tx_rate = config.tx_rate
        self._tx_wake = threading.Event()
        self._stopped = threading.Event()
        self._started = False
        self._relay_thread: threading.Thread | None = None
        self._hold_events = False
        self._accept_thread: threading.Thread | None = None
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.control_port = self._server.getsockname()[1]

    # --- life -------------------------------------------------------------

    def start(self, *, hold_events: bool = False) -> None:
        """Spawn every node, wait for their hellos, then give them a genesis.

        With ``hold_events`` the events wait in the queue until the first
        :meth:`subscribe` (a server that starts its cluster before it can
        take the events); otherwise they are relayed from now on.
        """
        if self._started:
            raise ClusterError("the cluster was already started", 409)
        self._started = True
        atexit.register(self.stop)
        self._accept_thread = self._spawn_thread(self._accept_loop, "accept")
        self._hold_events = hold_events and not self._subscribers
        if not self._hold_events:
            self._relay_thread = self._spawn_thread(self._relay_loop, "relay")
        for handle in self.nodes.values():
            self._spawn(handle)
        try:
            for handle in self.nodes.values():
                self._await_hello(handle)
        except ClusterError:
            self.stop()
            raise
        self.genesis = time.time() + GENESIS_MARGIN_S
        self._emit({"node": 0, "type": "cluster", "config": self.config.public(),
                    "genesis": self.genesis,
                    "epoch_seconds": self.config.epoch_seconds})
        for handle in self.nodes.values():
            self._go(handle)
        self._spawn_thread(self._tx_loop, "transactions")

    def stop(self) -> None:
        """Stop every node and reap it; safe to call more than once."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._tx_wake.set()
        for handle in self.nodes.values():
            self._close(handle)
        for handle in self.nodes.values():
            self._reap(handle, grace_s=2.0)
        # Wake the accept loop by shutting the listener down, let it return,
        # and only then close the socket (the same reason as in _close).
        with contextlib.suppress(OSError, ValueError):
            self._server.shutdown(socket.SHUT_RDWR)
        if self._accept_thread is not None:
            self._accept_thread.join(1.0)
        with contextlib.suppress(OSError, ValueError):
            self._server.close()
        self._events.put(None)
        atexit.unregister(self.stop)

    def wait_relayed(self, timeout_s: float = 5.0) -> None:
        """After :meth:`stop`: wait until every event has reached subscribers."""
        if self._relay_thread is not None:
            self._relay_thread.join(timeout_s)

    def cleanup(self) -> None:
        """Remove the stores, if the cluster made its own data directory."""
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- control actions --------------------------------------------------

    def node(self, node_id: Any) -> NodeHandle:
        usable = isinstance(node_id, int) and not isinstance(node_id, bool)
        handle = self.nodes.get(node_id) if usable else None
        if handle is None:
            raise ClusterError(f"no node {node_id!s:.20}", 404)
        return handle

    def crash(self, node_id: int) -> None:
        """Kill the node's process outright (SIGKILL where there are signals)."""
        with self._lock:
            handle = self.node(node_id)
            if handle.status != "running":
                raise ClusterError(f"node {node_id} is {handle.status}", 409)
            handle.status = "crashed"
            if handle.proc is not None:
                handle.proc.kill()
            self._reap(handle, grace_s=5.0)
            self._close(handle)
        self._status_event(handle)
        self._log_action({"action": "crash", "node": node_id})

    def restart(self, node_id: int) -> None:
        """Start the node again with the same id and the same store."""
        with self._lock:
            handle = self.node(node_id)
            if handle.status != "crashed":
                raise ClusterError(f"node {node_id} is {handle.status}", 409)
            if self._stopped.is_set():
                raise ClusterError("the cluster is stopped", 409)
            handle.restarts += 1
            self._spawn(handle)
            try:
                self._await_hello(handle)
            except ClusterError:
                handle.status = "crashed"
                self._status_event(handle)
                raise
            self._go(handle)
            peers = self._peer_ports()
            for other in self.nodes.values():
                if other is not handle and other.status == "running":
                    self._command(other, {"type": "peers", "peers": peers})
        self._log_action({"action": "restart", "node": node_id})

    def submit(self, sender: int, receiver: int, amount: float,
               node: int | None = None, log: bool = True) -> str:
        """Hand a transaction to ``node`` (or any live one) until one acks it.

        An acknowledged transaction has been written to that node's store and
        handed to its links to every peer; retries keep the same id, so a
        transaction taken twice is still one transaction (PROTOCOL.md, case 12).
        """
        for name, value in (("sender", sender), ("receiver", receiver)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ClusterError(f"{name} must be an integer")
            if not 0 <= value <= MAX_ACCOUNT:
                raise ClusterError(f"{name} must be between 0 and {MAX_ACCOUNT}")
        if sender == receiver:
            raise ClusterError("sender and receiver must differ")
        try:
            check_amount(amount)
        except ValueError as exc:
            raise ClusterError(str(exc)) from None
        if node is not None:
            self.node(node)
        with self._lock:
            nonce = next(self._nonces.setdefault(sender, itertools.count()))
        candidates = [h for h in self.nodes.values() if h.id != node]
        self.random.shuffle(candidates)
        if node is not None:
            candidates.insert(0, self.nodes[node])
        command = {"type": "tx", "sender": sender, "receiver": receiver,
                   "nonce": nonce, "amount": amount}
        for handle in candidates:
            if handle.status != "running":
                continue
            reply = self._request(handle, command)
            if reply is not None and "id" in reply:
                with self._lock:
                    self.acknowledged.append(reply["id"])
                self._emit({"node": handle.id, "type": "tx_submitted",
                            "tx": reply["id"], "sender": sender,
                            "receiver": receiver, "amount": amount,
                            "via": handle.id})
                if log:
                    step = {"action": "transaction", "sender": sender,
                            "receiver": receiver, "amount": amount}
                    self._log_action(step if node is None else {**step, "node": node})
                return reply["id"]
        raise ClusterError("no live node accepted the transaction", 503)

    @property
    def tx_rate(self) -> float:
        return self._tx_rate

    def set_tx_rate(self, rate: float) -> None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (
                math.isfinite(rate) and 0 <= rate <= 1000):
            raise ClusterError("rate must be between 0 and 1000 per second")
        self._tx_rate = float(rate)
        self._tx_wake.set()
        self._log_action({"action": "tx_rate", "rate": float(rate)})

    def set_link(self, src: int, dst: int, delay_ms: float | None = None,
                 loss: float | None = None) -> None:
        """Add delay (ms) and/or loss (0..1) to the link from ``src`` to ``dst``."""
        self.node(src)
        self.node(dst)
        if src == dst:
            raise ClusterError("a link joins two different nodes")
        link = self._links.setdefault((src, dst), {})
        if delay_ms is not None:
            if not (math.isfinite(delay_ms) and 0 <= delay_ms <= 60_000):
                raise ClusterError("delay must be between 0 and 60000 ms")
            link["delay_ms"] = float(delay_ms)
        if loss is not None:
            if not (math.isfinite(loss) and 0 <= loss <= 1):
                raise ClusterError("loss must be between 0 and 1")
            link["loss"] = float(loss)
        self._push_faults()
        if delay_ms is not None:
            self._log_action({"action": "delay", "from": src, "to": dst,
                              "ms": float(delay_ms)})
        if loss is not None:
            self._log_action({"action": "loss", "from": src, "to": dst,
                              "rate": float(loss)})

    def partition(self, groups: list[list[int]]) -> None:
        """Cut the cluster into ``groups``; nodes in no group are isolated."""
        seen: set[int] = set()
        for group in groups:
            for node_id in group:
                self.node(node_id)
                if node_id in seen:
                    raise ClusterError(f"node {node_id} is in two groups")
                seen.add(node_id)
        self._groups = [list(g) for g in groups]
        self._push_faults()
        self._log_action({"action": "partition", "groups": self._groups})

    def heal(self) -> None:
        """Remove every partition, delay and loss."""
        self._groups = []
        self._links = {}
        self._asynchrony = False
        self._push_faults()
        self._log_action({"action": "heal"})

    def faults(self) -> dict[str, Any]:
        return {"links": [{"from": s, "to": d, **v} for (s, d), v in
                          sorted(self._links.items())],
                "groups": self._groups, "asynchrony": self._asynchrony}

    # --- observation ------------------------------------------------------

    def subscribe(self, callback: Callable[[dict[str, Any]], None]
                  ) -> Callable[[], None]:
        """Call ``callback(event)`` for every event, from the relay thread."""
        self._subscribers.append(callback)
        if self._hold_events:
            self._hold_events = False
            self._relay_thread = self._spawn_thread(self._relay_loop, "relay")

        def unsubscribe() -> None:
            with contextlib.suppress(OSError, ValueError):
                self._subscribers.remove(callback)
        return unsubscribe

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early if the cluster stops."""
        return self._stopped.wait(seconds)

    def current_epoch(self) -> int:
        if self.paused_epoch is not None:
            return self.paused_epoch
        if self.genesis is None:
            return 0
        elapsed = time.time() - self.genesis
        return max(0, math.floor(elapsed / self.epoch_seconds) + 1)

    def leader(self, epoch: int) -> int:
        return leader_in(self.core_config, epoch)

    def time_left(self) -> float | None:
        """Seconds until the next epoch starts (None when paused)."""
        if self.paused_epoch is not None or self.genesis is None:
            return None
        return self.genesis + self.current_epoch() * self.epoch_seconds - time.time()

    # --- the epoch clock: pause, step, resume, change Δ -------------------

    def pause(self) -> int:
        """Hold every node in the current epoch; returns that epoch."""
        with self._lock:
            if self.paused_epoch is not None:
                raise ClusterError("the cluster is already paused", 409)
            epoch = self.current_epoch()
            left = self.time_left() or 0.0
            if left < min(0.05, self.epoch_seconds / 4):
                # Too close to the boundary: some nodes may already be in the
                # next epoch, and epochs never go back, so pause in that one.
                epoch += 1
            self.paused_epoch = max(epoch, 1)
            self._push_clock()
            return self.paused_epoch

    def step(self) -> int:
        """While paused, move every node to the next epoch; returns it."""
        with self._lock:
            if self.paused_epoch is None:
                raise ClusterError("step needs the cluster to be paused", 409)
            self.paused_epoch += 1
            self._push_clock()
            return self.paused_epoch

    def resume(self) -> None:
        """Back to wall-clock epochs; the next epoch starts at once."""
        with self._lock:
            if self.paused_epoch is None:
                raise ClusterError("the cluster is not paused", 409)
            epoch, self.paused_epoch = self.paused_epoch, None
            self.genesis = time.time() + 0.02 - epoch * self.epoch_seconds
            self._push_clock()

    def set_delta(self, delta: float) -> None:
        """Change Δ from the next epoch on (the current one keeps its length)."""
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not (
                math.isfinite(delta) and 0.001 <= delta <= 60):
            raise ClusterError("delta must be between 0.001 and 60 seconds")
        with self._lock:
            new = 2 * float(delta)
            if self.paused_epoch is None and self.genesis is not None:
                epoch = self.current_epoch()
                boundary = self.genesis + epoch * self.epoch_seconds
                self.genesis = boundary - epoch * new
            self.epoch_seconds = new
            self._push_clock()
            self._log_action({"action": "delta", "seconds": float(delta)})
            if self._asynchrony:
                self._push_faults()

    def set_skew(self, node_id: int, skew_ms: float) -> None:
        """Make one node's clock run ahead (or behind, negative) of the others."""
        self.node(node_id)
        if isinstance(skew_ms, bool) or not isinstance(skew_ms, (int, float)) or \
                not (math.isfinite(skew_ms) and abs(skew_ms) <= 60_000):
            raise ClusterError("skew must be between -60000 and 60000 ms")
        with self._lock:
            self._skew_ms[node_id] = float(skew_ms)
            self._push_clock()
            self._log_action({"action": "skew", "node": node_id, "ms": skew_ms})

    def set_asynchrony(self, on: bool) -> None:
        """Make every message take longer than Δ (before GST), or stop that."""
        if not isinstance(on, bool):
            raise ClusterError("asynchrony is on (true) or off (false)")
        self._asynchrony = on
        self._push_faults()
        self._log_action({"action": "asynchrony", "on": on})

    def _clock_spec(self, node_id: int) -> dict[str, Any]:
        return {"genesis": self.genesis, "epoch_s": self.epoch_seconds,
                "manual_epoch": self.paused_epoch,
                "skew_ms": self._skew_ms.get(node_id, 0.0)}

    def _push_clock(self) -> None:
        for handle in self.nodes.values():
            if handle.status == "running":
                self._command(handle, {"type": "clock",
                                       "clock": self._clock_spec(handle.id)})
        self._emit({"node": 0, "type": "clock", "paused": self.paused_epoch is not None,
                    "epoch": self.current_epoch(), "genesis": self.genesis,
                    "epoch_seconds": self.epoch_seconds})

    def _log_action(self, step: dict[str, Any]) -> None:
        self.actions.append({"epoch": max(1, self.current_epoch()), **step})

    def scenario(self, name: str, description: str = "") -> dict[str, Any]:
        """The current setup and every action taken so far, as a scenario."""
        config = {"nodes": self.config.nodes, "delta": self.config.delta,
                  "leader": self.config.leader, "echo": self.config.echo,
                  "seed": self.config.seed, "tx_rate": self.config.tx_rate,
                  "epochs": max(self.current_epoch() + 5, 10)}
        if self.config.confusion_duration:
            config["confusion_start"] = self.config.confusion_start
            config["confusion_duration"] = self.config.confusion_duration
        return {"name": name, "description": description, "config": config,
                "steps": list(self.actions)}

    def status(self) -> dict[str, Any]:
        epoch = self.current_epoch()
        return {
            "config": self.config.public(),
            "epoch": epoch,
            "leader": self.leader(epoch) if epoch else None,
            "genesis": self.genesis,
            "epoch_seconds": self.epoch_seconds,
            "delta": self.epoch_seconds / 2,
            "paused": self.paused_epoch is not None,
            "time_left": self.time_left(),
            "asynchrony": self._asynchrony,
            "skew_ms": {str(k): v for k, v in self._skew_ms.items() if v},
            "nodes": [h.public() for h in self.nodes.values()],
            "faults": self.faults(),
            "tx_rate": self._tx_rate,
        }

    # --- processes ----------------------------------------------------------

    def _spawn(self, handle: NodeHandle) -> None:
        cmd = [sys.executable, "-m", "backend.node", "--id", str(handle.id),
               "--nodes", str(self.config.nodes), "--delta", repr(self.config.delta),
               "--leader", self.config.leader, "--store", str(handle.store),
               "--control-port", str(self.control_port), "--host", self.config.host,
               "--seed", str(self.config.seed),
               "--keep-heights", str(self.config.keep_heights)]
        if not self.config.echo:
            cmd.append("--no-echo")
        if self.config.trace_messages:
            cmd += ["--trace", "--echo-trace-every",
                    str(self.config.echo_trace_every)]
        if self.config.quiet:
            cmd.append("--quiet")
        if not self.config.tallies:
            cmd.append("--no-tallies")
        if self.config.confusion_duration:
            cmd += ["--confusion", str(self.config.confusion_start),
                    str(self.config.confusion_duration)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
        handle.hello.clear()
        handle.status = "starting"
        with open(handle.log_path, "ab") as log_file:
            handle.proc = subprocess.Popen(
                cmd, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL,
                stdout=log_file, stderr=subprocess.STDOUT)
        handle.pid = handle.proc.pid
        self._status_event(handle)

    def _await_hello(self, handle: NodeHandle) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not handle.hello.wait(0.05):
            proc = handle.proc
            if proc is not None and proc.poll() is not None:
                raise ClusterError(
                    f"node {handle.id} exited with code {proc.returncode} while "
                    f"starting: {self._log_tail(handle)}", 500)
            if time.monotonic() > deadline:
                if proc is not None:
                    proc.kill()
                    self._reap(handle, 5.0)
                raise ClusterError(f"node {handle.id} did not start within "
                                   f"{START_TIMEOUT_S:g} s", 500)

    def _go(self, handle: NodeHandle) -> None:
        handle.status = "running"
        handle.started_at = time.time()
        self._command(handle, {"type": "start", "clock": self._clock_spec(handle.id),
                               "peers": self._peer_ports()})
        self._command(handle, self._faults_command(handle.id))
        self._status_event(handle)

    def _reap(self, handle: NodeHandle, grace_s: float) -> None:
        proc = handle.proc
        if proc is None:
            return
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _close(self, handle: NodeHandle) -> None:
        # Only shut the link down: its reader thread then sees the end of the
        # stream and closes the socket itself. Closing it under a blocked
        # reader leaves that read registered under eventlet, and the next
        # socket to get the same descriptor number cannot be read.
        conn, handle.conn = handle.conn, None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                conn.shutdown(socket.SHUT_RDWR)

    def _log_tail(self, handle: NodeHandle) -> str:
        try:
            text = handle.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        lines = [line for line in text.strip().splitlines() if line.strip()]
        return lines[-1][:300] if lines else "(empty log)"

    def _peer_ports(self) -> dict[str, int]:
        return {str(h.id): h.port for h in self.nodes.values() if h.port}

    # --- the control links ----------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._server.accept()
            except (OSError, EOFError):
                return
            if self._stopped.is_set():
                conn.close()
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn_thread(lambda c=conn: self._read_loop(c), "control")

    def _read_loop(self, conn: socket.socket) -> None:
        decoder = FrameDecoder()
        handle: NodeHandle | None = None
        try:
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    return
                for frame in decoder.feed(data):
                    if handle is None:
                        handle = self._on_hello(conn, frame)
                        if handle is None:
                            return
                    else:
                        self._on_frame(handle, frame)
        except (OSError, EOFError, FrameTooLarge):
            return  # eventlet reports a socket closed under a reader as EOF
        finally:
            with contextlib.suppress(OSError, ValueError):
                conn.close()

    def _on_hello(self, conn: socket.socket, frame: Any) -> NodeHandle | None:
        if not (isinstance(frame, dict) and frame.get("type") == "hello"):
            return None
        handle = self.nodes.get(frame.get("node"))
        if handle is None or handle.status != "starting" or \
                handle.proc is None or frame.get("pid") != handle.proc.pid:
            return None
        handle.conn = conn
        handle.port = frame.get("port")
        handle.pid = frame.get("pid")
        handle.finalized_height = frame.get("finalized_height", 0)
        handle.hello.set()
        return handle

    def _on_frame(self, handle: NodeHandle, frame: Any) -> None:
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "events":
            for event in frame.get("events", ()):
                self._events.put(event)
        elif kind == "tx_ack":
            waiter = self._acks.get(frame.get("req"))
            if waiter is not None:
                waiter[1].update(frame)
                waiter[0].set()

    def _command(self, handle: NodeHandle, command: dict[str, Any]) -> bool:
        conn = handle.conn
        if conn is None:
            return False
        try:
            with handle.send_lock:
                conn.sendall(encode(command))
            return True
        except OSError:
            return False

    def _request(self, handle: NodeHandle, command: dict[str, Any]
                 ) -> dict[str, Any] | None:
        req = next(self._req_ids)
        waiter: tuple[threading.Event, dict[str, Any]] = (threading.Event(), {})
        self._acks[req] = waiter
        try:
            if not self._command(handle, {**command, "req": req}):
                return None
            deadline = time.monotonic() + ACK_TIMEOUT_S
            while not waiter[0].wait(0.05):
                if handle.status != "running" or time.monotonic() > deadline:
                    return None
            return waiter[1]
        finally:
            self._acks.pop(req, None)

    def _faults_command(self, node_id: int) -> dict[str, Any]:
        return {
            "type": "faults",
            "delay_ms": {str(d): v["delay_ms"] for (s, d), v in self._links.items()
                         if s == node_id and "delay_ms" in v},
            "loss": {str(d): v["loss"] for (s, d), v in self._links.items()
                     if s == node_id and "loss" in v},
            "groups": self._groups,
            # The asynchrony knob: every message takes 1.2Δ to 2.4Δ more.
            "jitter_ms": 1200 * self.epoch_seconds / 2 if self._asynchrony else 0.0,
        }

    def _push_faults(self) -> None:
        for handle in self.nodes.values():
            if handle.status == "running":
                self._command(handle, self._faults_command(handle.id))
        self._emit({"node": 0, "type": "faults", **self.faults()})

    # --- events ---------------------------------------------------------------

    def _emit(self, event: dict[str, Any]) -> None:
        event.setdefault("t", time.time())
        event.setdefault("epoch", self.current_epoch())
        self._events.put(event)

    def _status_event(self, handle: NodeHandle) -> None:
        self._emit({"node": handle.id, "type": "node_status", "status": handle.status,
                    "pid": handle.pid, "port": handle.port,
                    "restarts": handle.restarts})

    def _relay_loop(self) -> None:
        while True:
            event = self._events.get()
            if event is None:
                return
            self._observe(event)
            for callback in list(self._subscribers):
                try:
                    callback(event)
                except Exception:  # a broken subscriber must not stop the relay
                    log.exception("event subscriber failed")

    def _observe(self, event: dict[str, Any]) -> None:
        handle = self.nodes.get(event.get("node"))
        if handle is None:
            return
        kind = event.get("type")
        if kind == "finalize":
            handle.finalized_height = event.get("height", handle.finalized_height)
        elif kind == "stats":
            handle.stats = {k: v for k, v in event.items()
                            if isinstance(v, int) and k not in ("node", "epoch")}

    # --- random transactions ------------------------------------------------

    def _tx_loop(self) -> None:
        """Submit random transactions at the configured rate (seeded)."""
        draw = random.Random(self.config.seed + 1)
        accounts = max(self.config.nodes, 5)
        while not self._stopped.is_set():
            rate = self._tx_rate
            if rate <= 0:
                self._tx_wake.wait()
                self._tx_wake.clear()
                continue
            self._tx_wake.wait(draw.expovariate(rate))
            self._tx_wake.clear()
            if self._stopped.is_set() or self._tx_rate <= 0:
                continue
            sender = draw.randint(1, accounts)
            receiver = draw.choice([a for a in range(1, accounts + 1) if a != sender])
            try:
                self.submit(sender, receiver, draw.randint(1, 100), log=False)
            except ClusterError as exc:
                log.info("random transaction not placed: %s", exc)

    def _spawn_thread(self, target: Callable[[], None], name: str
                      ) -> threading.Thread:
        thread = threading.Thread(target=target, name=f"cluster-{name}", daemon=True)
        thread.start()
        return thread

