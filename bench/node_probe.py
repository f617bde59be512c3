"""A node process with a meter: runs ``python -m backend.node`` and reports its CPU.

Started by bench/node_cpu.py in place of ``-m backend.node`` (same arguments).
The node's steady state is measured from the moment it enters epoch
``$STREAMLET_PROBE_FROM`` (default 3: links up, catch-up done) to its exit:
CPU time (user and kernel), epochs, message counters, and the system calls
on the peers' sockets and turns of the event loop. When the node exits it
writes them as JSON to ``$STREAMLET_PROBE_DIR/node-<id>.json``; with
``STREAMLET_PROBE_PROFILE=1`` it also profiles that span with cProfile (on
a CPU-time clock) and dumps the statistics next to it.
Not part of the lab: a benchmark tool only.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import json
import os
import sys
import time
from asyncio.selector_events import _SelectorSocketTransport
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.node import __main__ as node_main  # noqa: E402
from backend.node.process import NodeProcess, PeerConnection  # noqa: E402

#: Socket system calls and loop turns, counted where asyncio makes them: one
#: send per transport write (when nothing is buffered), one recv per
#: data_received, one epoll_wait per turn of the loop; and messages handed
#: to links, by kind (``sent_Vote``, ``sent_SyncRequest``...).
CALLS = {"socket_writes": 0, "socket_reads": 0, "loop_turns": 0}


def _count_calls() -> None:
    run_once = asyncio.BaseEventLoop._run_once  # type: ignore[attr-defined]
    carry_out = NodeProcess.carry_out

    def counted_carry_out(self: NodeProcess, out: Any) -> None:
        for item in out.send:
            key = "sent_" + type(item.message).__name__
            CALLS[key] = CALLS.get(key, 0) + len(item.to)
        carry_out(self, out)
    transport_write = _SelectorSocketTransport.write
    data_received = PeerConnection.data_received

    def counted_turn(self: Any) -> None:
        CALLS["loop_turns"] += 1
        run_once(self)

    def counted_write(self: Any, data: Any) -> None:
        CALLS["socket_writes"] += 1
        transport_write(self, data)

    def counted_received(self: PeerConnection, data: bytes) -> None:
        CALLS["socket_reads"] += 1
        data_received(self, data)

    asyncio.BaseEventLoop._run_once = counted_turn  # type: ignore[attr-defined]
    NodeProcess.carry_out = counted_carry_out  # type: ignore[method-assign]
    _SelectorSocketTransport.write = counted_write  # type: ignore[method-assign]
    PeerConnection.data_received = counted_received  # type: ignore[method-assign]


def _time_gc() -> None:
    """Add the time spent in the cyclic garbage collector to CALLS."""
    started = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.process_time()
        else:
            CALLS["gc_s"] = CALLS.get("gc_s", 0.0) + time.process_time() - started[0]
            key = f"gc_gen{info['generation']}"
            CALLS[key] = CALLS.get(key, 0) + 1

    gc.callbacks.append(callback)


def _snapshot(node: NodeProcess) -> dict[str, Any]:
    times = os.times()
    return {"cpu_s": time.process_time(), "user_s": times.user,
            "system_s": times.system, "epoch": node.core.epoch, **CALLS,
            **node.stats}


def main() -> int:
    out_dir = Path(os.environ["STREAMLET_PROBE_DIR"])
    warm_epoch = int(os.environ.get("STREAMLET_PROBE_FROM", "3"))
    node_id = sys.argv[sys.argv.index("--id") + 1]
    profiler = None
    if os.environ.get("STREAMLET_PROBE_PROFILE"):
        profiler = cProfile.Profile(time.process_time)
    report: dict[str, Any] = {"node": int(node_id),
                              "cpu_start_s": time.process_time()}
    nodes: list[NodeProcess] = []
    original_run = NodeProcess.run
    original_enter = NodeProcess._enter

    async def run(self: NodeProcess) -> None:
        nodes.append(self)
        await original_run(self)

    def enter(self: NodeProcess, epoch: int) -> None:
        original_enter(self, epoch)
        if "from" not in report and self.core.epoch >= warm_epoch:
            report["from"] = _snapshot(self)
            if profiler is not None:
                profiler.enable()

    NodeProcess.run = run  # type: ignore[method-assign]
    NodeProcess._enter = enter  # type: ignore[method-assign]
    _count_calls()
    _time_gc()
    try:
        code = node_main.main(sys.argv[1:])
    finally:
        if profiler is not None:
            profiler.disable()
        if nodes:
            report["to"] = _snapshot(nodes[0])
        # The figures first: the supervisor kills a node that takes more than
        # two seconds to exit, and dumping a profile can take a while.
        (out_dir / f"node-{node_id}.json").write_text(json.dumps(report))
        if profiler is not None:
            profiler.dump_stats(str(out_dir / f"node-{node_id}.prof"))
    return code


if __name__ == "__main__":
    sys.exit(main())
