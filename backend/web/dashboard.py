"""The dashboard's service: one cluster, its observer, and the relay to the pages.

The cluster calls back from its own relay thread once per node event. Those
callbacks only append to an inbox; one background task of the Socket.IO
server wakes every ``batch_interval_s``, folds what arrived into the observer
and emits it to every page as one ``batch`` (never one emit per event: a page
doing one D3 update per event falls behind by seconds at a few thousand
events per second, see STACK.md).

Batches carry a sequence number, and so does the ``snapshot`` a page gets when
it connects. Both are produced under the same lock, so a page applies the
snapshot and then exactly the batches that follow it; one that sees a gap asks
for a new snapshot.

Every run is recorded to disk as it happens (``runs.py``) and can be exported;
a recording can be opened again instead of a cluster (``replay.py``): its
batches are all made at once and pages fetch them to build their timeline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from socketio.packet import Packet

from .launch import DEFAULT_SETTINGS, Launched
from .observer import MESSAGE_TYPES, Observer
from .replay import RecordedRun
from .runs import RECORDING, RunRecording, RunStore
from .scenarios import LoadedScenario, ScenarioPlayer, play_step

log = logging.getLogger(__name__)

#: The cluster's relay thread lets the others run once per this many events.
YIELD_EVERY = 256
#: Packets waiting to go to one page before it counts as stalled: about five
#: seconds of batches.
MAX_QUEUED_PACKETS = 100
#: Message traces per batch, at most. The page draws a few hundred messages
#: at a time, each for half a second or more, so 100 a batch (2,000 a second at
#: 20 batches) is more than it can show; at n = 15, Δ = 0.05 s the nodes trace
#: over 4,000 direct messages a second, and encoding, sending and decoding
#: them all took the CPU the server needed to keep up (docs/PERFORMANCE.md).
MESSAGES_PER_BATCH = 100
#: Settings that belong to one scenario (the course's fork demonstration) and
#: are dropped when the cluster is restarted with other settings.
SCENARIO_ONLY = {"confusion_start": 0, "confusion_duration": 0}


def make_cluster(settings: dict[str, Any]) -> Any:
    """Build the real cluster of node processes (not started)."""
    from backend.cluster import Cluster, ClusterConfig

    return Cluster(ClusterConfig(**settings))


class Inbox:
    """Events handed over from the cluster's thread, bounded.

    Protocol events are needed to keep the view right, so they get a large
    cap and an overflow counter, and every one of them is relayed; message
    traces ("send"/"deliver") are only animation, so only the newest
    ``max_messages`` are kept, echoes (a node forwarding what it received,
    PROTOCOL.md's echo rule) in a queue of their own. A batch carries at most
    a budget of traces: direct ones and echoes are each sampled evenly over
    the batch's period, the direct ones first (the page hides echoes unless
    asked) but echoes keep a quarter of the room when they have that many.
    Every trace left out is counted, and the one kept for a stretch of the
    period carries in its ``weight`` the traces it stands for (their own
    weights: nodes already sample their echo traces), so the weights a page
    receives add up to the traces the nodes reported.
    """

    def __init__(self, max_events: int = 200_000, max_messages: int = 4_000) -> None:
        self._events: deque[tuple[int, dict[str, Any]]] = deque()
        self._messages: deque[tuple[int, dict[str, Any]]] = deque(
            maxlen=max_messages)
        self._echoes: deque[tuple[int, dict[str, Any]]] = deque(
            maxlen=max_messages)
        self.max_events = max_events
        #: Weight of the traces pushed out of a full queue (direct, echo),
        #: added to the next trace of that queue that a batch carries.
        self._lost = [0, 0]
        self.overflow = 0
        self.dropped_messages = 0
        #: Every event ever pushed (the pipeline benchmark compares it with
        #: what reached the page).
        self.received = 0

    def push(self, generation: int, event: dict[str, Any]) -> None:
        self.received += 1
        if event.get("type") in MESSAGE_TYPES:
            echo = bool(event.get("echo"))
            queue = self._echoes if echo else self._messages
            if len(queue) == queue.maxlen:
                self.dropped_messages += 1
                self._lost[echo] += _weight(queue[0][1])
            queue.append((generation, event))
        elif len(self._events) < self.max_events:
            self._events.append((generation, event))
        else:
            self.overflow += 1

    def drain(self, generation: int, most_messages: int
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        """Take everything queued for ``generation``.

        Returns (events, message traces, message traces dropped): every
        event, and at most ``most_messages`` traces, each queue sampled
        evenly over the period, weighted by what it stands for.
        """
        events = _take(self._events, generation)
        direct = _take(self._messages, generation)
        echoes = _take(self._echoes, generation)
        room = max(most_messages, 0)
        echo_room = min(len(echoes), room // 4)
        direct_room = min(len(direct), room - echo_room)
        kept = self._sample(direct, direct_room, echo=False)
        sampled = self._sample(echoes, room - direct_room, echo=True)
        dropped = len(direct) + len(echoes) - len(kept) - len(sampled)
        self.dropped_messages += dropped
        return events, kept + sampled, dropped

    def _sample(self, items: list[dict[str, Any]], room: int, *, echo: bool
                ) -> list[dict[str, Any]]:
        kept = _spread(items, room)
        if kept and self._lost[echo]:
            # Traces a full queue pushed out still count, on the first kept.
            first = kept[0]
            kept[0] = {**first, "weight": _weight(first) + self._lost[echo]}
            self._lost[echo] = 0
        return kept


def _weight(trace: dict[str, Any]) -> int:
    """How many of a node's traces this one stands for (unsampled: 1)."""
    weight = trace.get("weight")
    return weight if isinstance(weight, int) and weight > 0 else 1


def _spread(items: list[dict[str, Any]], room: int) -> list[dict[str, Any]]:
    """At most ``room`` of ``items``, evenly spaced, in their order.

    Each one kept stands for its stretch of ``items`` (up to the next one
    kept): its ``weight`` becomes the sum of theirs, in a copy, so that the
    recorded event is left as the node sent it.
    """
    if len(items) <= room:
        return items
    if room <= 0:
        return []
    out = []
    for i in range(room):
        start, end = i * len(items) // room, (i + 1) * len(items) // room
        weight = sum(_weight(item) for item in items[start:end])
        item = items[start]
        out.append(item if weight == _weight(item) else {**item, "weight": weight})
    return out


def _take(queue: deque[tuple[int, dict[str, Any]]], generation: int
          ) -> list[dict[str, Any]]:
    out = []
    for _ in range(len(queue)):
        gen, event = queue.popleft()  # popleft is atomic: safe across threads
        if gen == generation:
            out.append(event)
    return out


class Dashboard:
    """Owns the running cluster and everything the web layer shows of it."""

    def __init__(self, socketio: Any, cluster_factory: Callable[[dict], Any],
                 settings: dict[str, Any], *, batch_interval_s: float = 0.05,
                 messages_per_batch: int = MESSAGES_PER_BATCH, heartbeat_s: float = 1.0,
                 snapshot_epochs: int = 60, runs: RunStore | None = None) -> None:
        self.socketio = socketio
        self.cluster_factory = cluster_factory
        self.settings = {**DEFAULT_SETTINGS, **settings}
        self.batch_interval_s = batch_interval_s
        self.messages_per_batch = messages_per_batch
        self.heartbeat_s = heartbeat_s
        self.snapshot_epochs = snapshot_epochs

        self.cluster: Any = None
        self.observer = Observer(self.settings["nodes"])
        self.inbox = Inbox()
        self.generation = 0
        self.seq = 0
        self._unsubscribe: Callable[[], None] | None = None
        # _view guards the observer, the sequence number and the emits;
        # _control serialises starting, stopping and reconfiguring clusters.
        self._view = threading.RLock()
        self._control = threading.RLock()
        self._relay_task: Any = None
        #: A scenario being played on the first cluster (server.py sets it).
        self.player: ScenarioPlayer | None = None
        self._stopping = False
        self._last_emit = 0.0
        self._overflow_logged = 0
        #: One folder per run, and the recording of the current one.
        self.runs = runs if runs is not None else RunStore(
            self.settings.get("data_dir"))
        self.recording: RunRecording | None = None
        #: Set while a recorded run is replayed instead of a live cluster.
        self.replay: dict[str, Any] | None = None
        #: Where the presenter is on the timeline; viewers follow it.
        self.presenter_view: dict[str, Any] = {"live": True}
        #: The scenario being played, shown to every page when it starts.
        self.scenario_info: dict[str, str] | None = None
        self.relayed_events = 0
        self.relayed_messages = 0
        #: Batches not sent to a stalled page (one per page and batch).
        self.skipped_batches = 0

    # --- lifecycle -----------------------------------------------------

    def start(self, *, cluster: bool = True,
              launched: Launched | None = None) -> None:
        """Start the cluster (unless replaying) and the relay task (once).

        ``launched``: a cluster already started in a folder of ``self.runs``
        (``launch.py``), taken over instead of starting one.
        """
        with self._control:
            if launched is not None:
                self._start_cluster(launched)
            elif cluster:
                self._start_cluster()
            if self._relay_task is None:
                self._relay_task = self.socketio.start_background_task(
                    self._relay_loop)
            if self.player is not None:
                self.socketio.start_background_task(self._play_loop,
                                                    self.player)

    def _start_cluster(self, launched: Launched | None = None) -> None:
        if launched is None:
            run_dir = self.runs.new_run()
            cluster = self.cluster_factory({**self.settings, "data_dir": str(run_dir)})
        else:
            run_dir, cluster = launched.run_dir, launched.cluster
        recording = RunRecording(run_dir / RECORDING, _public(self.settings))
        with self._view:
            self.generation += 1
            generation = self.generation
            self.observer = Observer(self.settings["nodes"])
            self.cluster = cluster
            self.recording = recording
            self.replay = None
            self.presenter_view = {"live": True}

        def relay(event: dict[str, Any]) -> None:
            # Recorded before it is relayed: the file is the run's full story.
            recording(event)
            self.inbox.push(generation, event)
            if self.inbox.received % YIELD_EVERY == 0:
                # Under eventlet the cluster's relay is a green thread that
                # does not block while its queue holds events: without a
                # pause now and then, the page's batches and HTTP requests
                # wait until a busy cluster's queue runs dry.
                self.socketio.sleep(0)
        self._unsubscribe = cluster.subscribe(relay)
        if launched is None:
            cluster.start()  # a launched one relays from its first subscriber
        self._refresh_nodes()
        log.info("cluster started: %s", _describe(self.settings))

    def _stop_cluster(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            # The events the nodes sent before they stopped still go to the
            # recording: wait for the cluster's relay to hand them over.
            wait = getattr(self.cluster, "wait_relayed", None)
            if wait is not None:
                wait(2.0)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.recording is not None:
            self.recording.close()

    def reconfigure(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Replace the cluster with one built from ``settings``; pages reset."""
        with self._control:
            self.player = None  # a scenario was written for the old cluster
            self.scenario_info = None
            self._stop_cluster()
            self.settings = {**self.settings, **SCENARIO_ONLY, **settings}
            self._start_cluster()
            with self._view:
                self.socketio.emit("snapshot", self.snapshot())
        return self.state()

    def play(self, scenario: LoadedScenario) -> dict[str, Any]:
        """Start a new cluster with the scenario's settings and play its steps."""
        with self._control:
            state = self.reconfigure(scenario.settings)
            self.player = ScenarioPlayer(scenario.steps, scenario.name)
            self.scenario_info = {"name": scenario.name,
                                  "description": scenario.description}
            self.socketio.emit("scenario", self.scenario_info)
            self.inbox.push(self.generation, {
                "node": 0, "type": "scenario", "t": time.time(),
                "text": f"playing '{scenario.name}': {scenario.description}"})
            self.socketio.start_background_task(self._play_loop, self.player)
        return state

    def shutdown(self) -> None:
        """Stop relaying and stop the cluster: no node process is left."""
        self._stopping = True
        with self._control:
            self._stop_cluster()
            self.runs.cleanup()

    # --- controls ------------------------------------------------------

    def crash(self, node_id: int) -> None:
        with self._control:
            self.cluster.crash(node_id)
            self._refresh_nodes()

    def restart(self, node_id: int) -> None:
        with self._control:
            self.cluster.restart(node_id)
            self._refresh_nodes()

    def submit(self, sender: int, receiver: int, amount: float) -> str:
        with self._control:
            tx_id = self.cluster.submit(sender, receiver, amount)
        with self._view:
            self.observer.track_submitted(tx_id, sender, receiver, amount,
                                          time.time())
        return tx_id

    def set_tx_rate(self, rate: float) -> None:
        with self._control:
            self.cluster.set_tx_rate(rate)
            self.settings["tx_rate"] = rate

    def clock_control(self, action: str) -> dict[str, Any]:
        """Pause the epochs, step one epoch while paused, or resume."""
        with self._control:
            if action == "pause":
                self.cluster.pause()
            elif action == "step":
                self.cluster.step()
            else:
                self.cluster.resume()
            status = self.cluster.status()
        return {"epoch": status.get("epoch"), "paused": status.get("paused")}

    def set_delta(self, delta_s: float) -> None:
        """Δ for the epochs to come (the current one keeps its length)."""
        with self._control:
            self.cluster.set_delta(delta_s)
            self.settings["delta"] = delta_s

    def set_link(self, src: int, dst: int, delay_ms: float | None,
                 loss: float | None, both: bool) -> list[dict[str, Any]]:
        """Delay and/or loss on the link from ``src`` to ``dst`` (and back)."""
        with self._control:
            pairs = [(src, dst), (dst, src)] if both else [(src, dst)]
            for a, b in pairs:
                self.cluster.set_link(a, b, delay_ms=delay_ms, loss=loss)
        return [{"from": a, "to": b} for a, b in pairs]

    def partition(self, groups: list[list[int]]) -> None:
        with self._control:
            self.cluster.partition(groups)

    def heal(self) -> None:
        """Remove every partition, delay, loss and the asynchrony."""
        with self._control:
            self.cluster.heal()

    def set_asynchrony(self, on: bool) -> None:
        """Every message slower than Δ (before GST) until switched off."""
        with self._control:
            self.cluster.set_asynchrony(on)

    def scenario_file(self, name: str, description: str) -> dict[str, Any]:
        """The current setup and every action so far, as a scenario file."""
        with self._control:
            return self.cluster.scenario(name, description)

    def set_view(self, view: dict[str, Any]) -> None:
        """The presenter scrubbed or went live: the viewers follow."""
        with self._view:
            self.presenter_view = {**view, "generation": self.generation}
            self.socketio.emit("presenter_view", self.presenter_view)

    # --- recordings and replays ------------------------------------------

    def export(self) -> tuple[bytes, str]:
        """The current run's recording (so far) and a file name for it."""
        with self._control:
            recording = self.recording
        if recording is None:
            raise LookupError("nothing has been recorded yet")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return recording.contents(), f"streamlet-run-{stamp}.jsonl"

    def open_replay(self, header: dict[str, Any], events: list[dict[str, Any]],
                    name: str, data: bytes | None = None) -> dict[str, Any]:
        """Stop the cluster and show a recorded run instead; pages reset.

        ``data`` is the file as it came (kept in a run folder so that the
        replay can be exported again); the header and events are what
        ``read_recording`` made of it. A bad header raises RecordingError.
        """
        with self._control:
            run = RecordedRun(header, events, name)
            self.player = None
            self.scenario_info = None
            self._stop_cluster()
            self.recording = None
            if data is not None:
                folder = self.runs.new_run()
                (folder / RECORDING).write_bytes(data)
                self.recording = _Stored(folder / RECORDING)
            with self._view:
                self.generation += 1
                self.observer = Observer(run.n)
                self.cluster = run
                self.presenter_view = {"live": True}
                if 3 <= run.n:
                    self.settings = {**self.settings, **SCENARIO_ONLY,
                                     **run.settings}
                base = self.snapshot()
                batches = run.batches(self.observer, self.generation,
                                      self.seq + 1)
                self.seq += len(batches)
                self.replay = {"info": run.info(), "base": base,
                               "batches": batches}
                self.socketio.emit("snapshot", self.snapshot())
            log.info("replaying %s: %d events, %d malformed ones left out",
                     name, len(run.events), run.skipped)
            return run.info()

    def replay_page(self, start: int, most_events: int = 20_000
                    ) -> dict[str, Any]:
        """Batches of the replay from index ``start``, up to ``most_events``."""
        with self._view:
            if self.replay is None:
                raise LookupError("no recorded run is being replayed")
            batches = self.replay["batches"]
            page, count = [], 0
            for batch in batches[start:]:
                if page and count + len(batch["events"]) > most_events:
                    break
                page.append(batch)
                count += len(batch["events"])
            after = start + len(page)
            return {"generation": self.generation, "total": len(batches),
                    "base": self.replay["base"] if start == 0 else None,
                    "batches": page,
                    "next": after if after < len(batches) else None}

    def _refresh_nodes(self) -> None:
        """Copy pids and states from the cluster's table into the view."""
        status = self.cluster.status()
        with self._view:
            for node in status.get("nodes", ()):
                self.observer.set_node_status(node)

    # --- queries -------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """GET /api/state: configuration, epoch, leader and every node."""
        status = self.cluster.status()
        now = time.time()
        with self._view:
            nodes = []
            for node in status.get("nodes", ()):
                view = self.observer.nodes.get(node["id"])
                height = max(node.get("finalized_height") or 0,
                             view.finalized_height if view else 0)
                started = node.get("started_at")
                running = node.get("status") == "running" and started
                nodes.append({
                    "id": node["id"], "status": node.get("status"),
                    "pid": node.get("pid"), "port": node.get("port"),
                    "finalized_height": height,
                    "restarts": node.get("restarts", 0), "started_at": started,
                    "uptime_s": round(now - started, 3) if running else None,
                })
            safety = self.observer.safety()
        return {
            "config": status.get("config", {}), "epoch": status.get("epoch"),
            "leader": status.get("leader"), "genesis": status.get("genesis"),
            "epoch_seconds": status.get("epoch_seconds"), "nodes": nodes,
            "safety": safety, "relay": self.relay_stats(),
        }

    def relay_stats(self) -> dict[str, int]:
        """Events taken from the cluster, sent on to the pages, and left out."""
        return {"received": self.inbox.received, "events": self.relayed_events,
                "messages": self.relayed_messages,
                "left_out": self.inbox.dropped_messages + self.inbox.overflow,
                "skipped_batches": self.skipped_batches}

    def transaction(self, tx_id: str) -> dict[str, Any] | None:
        with self._view:
            record = self.observer.txs.get(tx_id)
            return dict(record) if record is not None else None

    def block(self, block_hash: str) -> dict[str, Any] | None:
        with self._view:
            block = self.observer.block_json(block_hash)
            if block is None:
                return None
            return {**block, "why": self.observer.why(block_hash)}

    def clock(self) -> dict[str, Any]:
        """The epoch now and who leads it and the next few epochs."""
        epoch = self.cluster.current_epoch()
        leaders = {e: self.cluster.leader(e) for e in range(max(epoch, 1), epoch + 4)}
        return {"epoch": epoch, "leader": leaders[max(epoch, 1)],
                "leaders": leaders, "t": time.time()}

    def snapshot(self) -> dict[str, Any]:
        """What a page needs when it connects: the whole current picture."""
        status = self.cluster.status()
        clock = self.clock()
        with self._view:
            snap = self.observer.snapshot(epochs=self.snapshot_epochs)
            snap.update(
                seq=self.seq, generation=self.generation,
                config=status.get("config", {}), genesis=status.get("genesis"),
                epoch_seconds=status.get("epoch_seconds"), clock=clock,
                paused=bool(status.get("paused", False)),
                faults=status.get("faults", {"links": [], "groups": []}),
                settings=_public(self.settings), t=time.time(),
                mode="replay" if self.replay is not None else "live",
                replay=self.replay["info"] if self.replay is not None else None,
                presenter_view=self.presenter_view, scenario=self.scenario_info,
            )
            return snap

    def emit_snapshot(self, to: str | None = None) -> None:
        """Send the snapshot to one page (``to`` = its sid) or to all."""
        with self._view:
            snap = self.snapshot()
            self.socketio.emit("snapshot", snap, to=to)

    # --- the scenario player and the relay ------------------------------

    def _play_loop(self, player: ScenarioPlayer) -> None:
        while not self._stopping and not player.finished:
            self.socketio.sleep(self.batch_interval_s)
            with self._control:
                if self.player is not player:
                    return
                for step in player.due(self.cluster.current_epoch()):
                    line = play_step(self.cluster, step)
                    log.info("scenario %s: %s", player.name, line)
                    self.inbox.push(self.generation, {
                        "node": 0, "type": "scenario", "text": line,
                        "action": step["action"], "epoch": step["epoch"],
                        "t": time.time()})
                    self._refresh_nodes()


    def _relay_loop(self) -> None:
        # One batch per period, counted from the start of the last one: the
        # time spent folding and emitting is not added to the wait (it would
        # be added to every event's lag), and a late batch is not followed by
        # others in a burst to catch up.
        started = time.monotonic()
        while not self._stopping:
            wait = self.batch_interval_s - (time.monotonic() - started)
            self.socketio.sleep(max(wait, 0.0))
            started = time.monotonic()
            try:
                self.relay_once()
            except Exception:
                # One bad event must not stop the page updates for good.
                log.exception("relay: batch failed")

    def relay_once(self) -> int:
        """Fold what the inbox holds into the view and emit it as one batch."""
        if self.cluster is None or self.replay is not None:
            return 0  # a replay's batches are all made when it is opened
        clock = self.clock()
        with self._view:
            if self.replay is not None:
                return 0  # opened while this batch waited for the lock
            events, messages, dropped = self.inbox.drain(
                self.generation, self.messages_per_batch)
            if self.inbox.overflow > self._overflow_logged:
                log.warning("relay: %d events lost to a full inbox; the view may "
                            "miss blocks", self.inbox.overflow - self._overflow_logged)
                self._overflow_logged = self.inbox.overflow
            now = time.time()
            if not events and not messages and now - self._last_emit < self.heartbeat_s:
                return 0
            for event in events:
                try:
                    self.observer.apply(event)
                except (KeyError, TypeError, ValueError, IndexError):
                    # A malformed event costs its own update, not the batch.
                    log.exception("relay: could not fold %.200r", event)
            self.seq += 1
            self._last_emit = now
            batch = {
                "seq": self.seq, "generation": self.generation,
                "events": [e for e in events if e.get("type") != "tally"],
                "messages": messages, "dropped_messages": dropped,
                "clock": clock, "safety": self.observer.safety(),
                "pending": {node.id: len(node.pool)
                            for node in self.observer.nodes.values()},
                "t": now,
            }
            stalled = self._stalled_pages()
            self.socketio.emit("batch", batch, skip_sid=stalled or None)
            self.skipped_batches += len(stalled)
            self.relayed_events += len(batch["events"])
            self.relayed_messages += len(messages)
            return len(events) + len(messages)


    def _stalled_pages(self) -> list[str]:
        """Pages with ``MAX_QUEUED_PACKETS`` or more packets waiting for them.

        python-engineio queues a page's packets without limit until its ping
        timeout closes the session: a stalled tab (a laptop lid shut, a starved
        browser) held the server's memory at the height of its backlog. Such a
        page is skipped; once its queue drains, the next batch it gets shows a
        gap in ``seq`` and the page asks for a snapshot (``applyBatch``).
        """
        server = getattr(self.socketio, "server", None)
        sockets = getattr(getattr(server, "eio", None), "sockets", None)
        if not sockets:
            return []
        stalled = []
        for eio_sid, socket in list(sockets.items()):
            queue = getattr(socket, "queue", None)
            if queue is not None and queue.qsize() >= MAX_QUEUED_PACKETS:
                sid = server.manager.sid_from_eio_sid(eio_sid, "/")
                if sid is not None:
                    stalled.append(sid)
        return stalled


class _Stored:
    """An opened recording kept as a file, exported again as it came."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def contents(self) -> bytes:
        return self.path.read_bytes()

    def close(self) -> None:
        """Nothing to close: the file was written whole."""


class JsonPacket(Packet):
    """A Socket.IO packet that is never checked for binary attachments.

    The pages and this server exchange JSON only, yet python-socketio walks
    every value of every packet it emits looking for bytes, in Python: for a
    batch of a few hundred events that walk cost more than the JSON encoding
    (bench/dashboard_pipeline.py, docs/PERFORMANCE.md). ``app.py`` gives it
    to Flask-SocketIO as the serializer.
    """

    uses_binary_events = False


def _public(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in settings.items() if k != "data_dir"}


def _describe(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(_public(settings).items()))
