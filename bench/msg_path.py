"""Cost of each step of one message's path through a node, in microseconds.

For a vote and a proposal (no transactions, and one with 64), times each
step alone: reading the frame (length prefix and JSON), validating it into a
message (for a proposal this recomputes the block hash), the core's handling
of a copy it has already seen (what most echoed copies are), a node's whole
handling of such a copy from the bytes of a read to the core, and encoding a
frame to send. Each figure is the
fastest of many repetitions, which is the most stable measure on a machine
shared with other work. No sockets: bench/node_cpu.py measures whole nodes.

    python bench/msg_path.py
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.core import Config, Streamlet, Transaction, Vote  # noqa: E402
from backend.core.chain import GENESIS, Block  # noqa: E402
from backend.core.messages import Propose, message_from_wire  # noqa: E402
from backend.node.framing import FrameDecoder, encode  # noqa: E402
from backend.node.process import NodeProcess, PeerConnection  # noqa: E402

N = 7


def fastest(step: Callable[[], object], batch_ms: float, repeat: int) -> float:
    """Microseconds per call: the fastest of ``repeat`` short batches.

    Batches last about ``batch_ms`` each, short enough that many of them run
    without being interrupted by other work on the machine.
    """
    once = timeit.timeit(step, number=1)
    number = max(1, int(batch_ms / 1e3 / max(once, 1e-7)))
    return 1e6 * min(timeit.repeat(step, number=number, repeat=repeat)) / number


class _NoTransport:
    def close(self) -> None:
        pass


def steps(node: NodeProcess, message: Propose | Vote, batch_ms: float,
          repeat: int) -> dict[str, float]:
    """Time each step for ``message``, which ``node`` has already received."""
    frame = encode({"m": message.to_wire(), "st": 1.5})
    value = FrameDecoder().feed(frame)[0]
    core = Streamlet(Config(n=N), 2)
    core.on_epoch(1)
    core.on_message(message, 1)
    node._deliver(value, 1)
    node._events.clear()
    for link in node.links.values():
        link.backlog.clear()
    decoder = FrameDecoder()
    link = PeerConnection(node)
    link.transport = _NoTransport()  # type: ignore[assignment]
    link.data_received(encode({"type": "hello", "node": 3}))
    return {
        "bytes": float(len(frame)),
        "read frame": fastest(lambda: decoder.feed(frame), batch_ms, repeat),
        "validate": fastest(lambda: message_from_wire(value["m"], N), batch_ms,
                            repeat),
        "core, seen copy": fastest(lambda: core.on_message(message, 3), batch_ms,
                                   repeat),
        "node, seen copy": fastest(lambda: link.data_received(frame), batch_ms,
                                   repeat),
        "encode": fastest(lambda: encode({"m": message.to_wire(), "st": 1.5}),
                          batch_ms, repeat),
    }


async def measure(batch_ms: float, repeat: int) -> list[tuple[str, dict[str, float]]]:
    txs = tuple(Transaction(i % 40, i % 40 + 1, i, 5) for i in range(64))
    block = Block(parent=GENESIS.hash, epoch=1, height=1, txs=(), proposer=1)
    full = Block(parent=GENESIS.hash, epoch=1, height=1, txs=txs, proposer=1)
    cases = [("vote", Vote(3, 1, block.hash)), ("proposal", Propose(block)),
             ("proposal, 64 txs", Propose(full))]
    with tempfile.TemporaryDirectory() as tmp:
        node = NodeProcess(2, N, 1.0, "round-robin", str(Path(tmp) / "n2.sqlite"),
                           control_port=0)
        node.carry_out(node.core.on_epoch(1))
        try:
            return [(name, steps(node, message, batch_ms, repeat))
                    for name, message in cases]
        finally:
            node.store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-ms", type=float, default=2.0, dest="batch_ms")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    rows = asyncio.run(measure(args.batch_ms, args.repeat))
    columns = list(rows[0][1])
    print(f"{'µs per call':18s}" + "".join(f"{c:>17s}" for c in columns))
    for name, got in rows:
        print(f"{name:18s}" + "".join(
            f"{got[c]:>17.0f}" if c == "bytes" else f"{got[c]:>17.2f}"
            for c in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
