"""CPU cost of one message in a node's receive path, without the network.

Records the frames node 1 receives in a good-case run of n in-memory cores
(with echo), then replays them into a real NodeProcess (framing, validation,
core, store writes, encoding of what it sends, events) and reports the cost
per message; ``--profile`` prints where the time goes.

    python bench/node_cost.py --nodes 5 --epochs 300 [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.core import Config, Streamlet, Transaction  # noqa: E402
from backend.node.framing import FrameDecoder, encode  # noqa: E402
from backend.node.process import NodeProcess  # noqa: E402


def record(n: int, epochs: int, echo: bool, txs_per_epoch: int):
    """Per epoch, the (via, frame bytes) node 1 receives, in a fixed order."""
    cores = {i: Streamlet(Config(n=n, echo=echo), i) for i in range(1, n + 1)}
    script = []
    nonce = 0
    for epoch in range(1, epochs + 1):
        inbox: list[tuple[int, bytes]] = []
        queue = []

        def dispatch(src, out, queue=queue):
            for send in out.send:
                frame = encode({"m": send.message.to_wire(), "st": 0.0})
                for to in send.to:
                    queue.append((to, send.message, src, frame))

        for _ in range(txs_per_epoch):
            nonce += 1
            dispatch(2, cores[2].on_transaction(Transaction(2, 3, nonce, 1)))
        for i, core in cores.items():
            if i != 1:
                dispatch(i, core.on_epoch(epoch))
        while queue:
            to, message, src, frame = queue.pop(0)
            if to == 1:
                inbox.append((src, frame))
            else:
                dispatch(to, cores[to].on_message(message, src))
        script.append(inbox)
    return script


async def replay(n: int, script, echo: bool) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        node = NodeProcess(1, n, 1.0, "round-robin", str(Path(tmp) / "n1.sqlite"),
                           control_port=0, echo=echo)
        count = 0
        started = time.process_time()
        for epoch, inbox in enumerate(script, start=1):
            node.carry_out(node.core.on_epoch(epoch))
            decoder = FrameDecoder()
            for via, frame in inbox:
                for value in decoder.feed(frame):
                    node._deliver(value, via)
                    count += 1
            node._events.clear()
            for link in node.links.values():
                link.backlog.clear()
        spent = time.process_time() - started
        node.store.close()
    return count, spent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--txs", type=int, default=0, help="transactions per epoch")
    parser.add_argument("--no-echo", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    echo = not args.no_echo
    script = record(args.nodes, args.epochs, echo, args.txs)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    count, spent = asyncio.run(replay(args.nodes, script, echo))
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    per_epoch = count / args.epochs
    print(f"n={args.nodes} echo={'on' if echo else 'off'} txs/epoch={args.txs}: "
          f"{count} messages received by n1 in {args.epochs} epochs "
          f"({per_epoch:.1f} per epoch); {1e6 * spent / count:.1f} µs CPU per "
          f"message; {1e3 * spent / args.epochs:.2f} ms CPU per epoch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
