"""A node process with a meter: runs ``python -m backend.node`` and reports its CPU.

Started by bench/node_cpu.py in place of ``-m backend.node`` (same arguments).
When the node exits it writes a JSON file to ``$STREAMLET_PROBE_DIR`` with the
CPU seconds spent before the event loop started (imports, store set-up) and
in it, and the node's message counters; with ``STREAMLET_PROBE_PROFILE=1``
it also runs the node under cProfile and dumps the statistics next to it.
Not part of the lab: a benchmark tool only.
"""

from __future__ import annotations

import cProfile
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


def main() -> int:
    out_dir = Path(os.environ["STREAMLET_PROBE_DIR"])
    node_id = sys.argv[sys.argv.index("--id") + 1]
    seen: list[NodeProcess] = []
    original_run = NodeProcess.run

    async def run(self: NodeProcess) -> None:
        seen.append(self)
        await original_run(self)

    NodeProcess.run = run  # type: ignore[method-assign]
    # System calls on the peers' sockets, counted where asyncio makes them:
    # one send per transport write (when nothing is buffered), one recv per
    # data_received.
    calls = {"socket_writes": 0, "socket_reads": 0}
    transport_write = _SelectorSocketTransport.write
    data_received = PeerConnection.data_received

    def counted_write(self: Any, data: Any) -> None:
        calls["socket_writes"] += 1
        transport_write(self, data)

    def counted_received(self: PeerConnection, data: bytes) -> None:
        calls["socket_reads"] += 1
        data_received(self, data)

    _SelectorSocketTransport.write = counted_write  # type: ignore[method-assign]
    PeerConnection.data_received = counted_received  # type: ignore[method-assign]
    # CPU time is counted per process: what it spent on imports and the
    # interpreter's start-up so far, then in the node's life.
    profiler = None
    if os.environ.get("STREAMLET_PROBE_PROFILE"):
        profiler = cProfile.Profile(time.process_time)
    loop_cpu = time.process_time()
    if profiler is not None:
        profiler.enable()
    try:
        code = node_main.main(sys.argv[1:])
    finally:
        if profiler is not None:
            profiler.disable()
        ended = time.process_time()
        stats = dict(seen[0].stats) if seen else {}
        epoch = seen[0].core.epoch if seen else 0
        # The figures first: the supervisor kills a node that takes more than
        # two seconds to exit, and dumping a profile can take a while.
        (out_dir / f"node-{node_id}.json").write_text(json.dumps({
            "node": int(node_id), "cpu_start_s": loop_cpu,
            "cpu_run_s": ended - loop_cpu, "epoch": epoch, **calls, **stats}))
        if profiler is not None:
            profiler.dump_stats(str(out_dir / f"node-{node_id}.prof"))
    return code


if __name__ == "__main__":
    sys.exit(main())
