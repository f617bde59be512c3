"""Messages per epoch of a real cluster, against n³ − n (echo) and n² − 1.

Runs a good-case cluster (no faults, no transactions) with message tracing
on: every node reports each protocol message it hands to a link. The count
of an epoch is every send of a proposal or vote of that epoch, original or
echo, by any node. Start-up and catch-up requests are not protocol messages
of an epoch and are not counted.

The paper's count with echo, n³ − n, is (n + 1) messages per epoch (one
proposal, n votes), each sent to n − 1 nodes by its author and forwarded by
each of the n − 1 others to all n − 1 of their peers. This core forwards
to every peer except the link it came from and the message's author (both
have it), so when the first copy comes straight from its author the
forwarder sends n − 2: (n + 1)(n − 1)² in all, the "expected" column.

    python bench/messages.py --nodes 3 5 7 15 --epochs 16 --runs 3
    python bench/messages.py --nodes 3 5 7 15 --no-echo
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.cluster.supervisor import Cluster, ClusterConfig  # noqa: E402


def count(nodes: int, delta: float, epochs: int, echo: bool) -> dict[str, float]:
    """Median sends per epoch over the epochs of one run, by kind."""
    per_epoch: Counter[tuple[int, str]] = Counter()
    epoch_of: dict[str, int] = {}
    lock = threading.Lock()

    def keep(event: dict[str, Any]) -> None:
        if event.get("type") == "propose":
            with lock:
                epoch_of["p/" + event["block"]["hash"]] = event["block"]["epoch"]
        elif event.get("type") == "send" and not event.get("dropped"):
            kind = event["kind"]
            if kind in ("propose", "vote"):
                key = "echo" if event["echo"] else "original"
                with lock:
                    per_epoch[(event["msg"], key)] += 1

    cluster = Cluster(ClusterConfig(nodes=nodes, delta=delta, echo=echo,
                                    leader="round-robin", trace_messages=True))
    cluster.subscribe(keep)
    try:
        cluster.start()
        while cluster.current_epoch() <= epochs + 1:
            cluster.wait(0.02)
    finally:
        cluster.cleanup()
    # A vote's id names its block; the block's proposal names its epoch.
    totals: dict[int, Counter[str]] = {}
    with lock:
        for (msg, key), sends in per_epoch.items():
            block = msg.split("/")[-1]
            epoch = epoch_of.get("p/" + block)
            if epoch is not None:
                totals.setdefault(epoch, Counter())[key] += sends
    steady = [totals.get(e, Counter()) for e in range(3, epochs - 1)]
    return {
        "total": statistics.median(sum(c.values()) for c in steady),
        "original": statistics.median(c["original"] for c in steady),
        "echo": statistics.median(c["echo"] for c in steady),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[3, 5, 7, 15])
    parser.add_argument("--delta", type=float, default=0.3,
                        help="Δ in seconds (tracing every message is slow: "
                        "give n = 15 room)")
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-echo", action="store_true")
    args = parser.parse_args()
    echo = not args.no_echo
    print(f"echo {'on' if echo else 'off'}, Δ = {1e3 * args.delta:g} ms, "
          f"epochs 3..{args.epochs - 2} of {args.epochs}, median of {args.runs} runs")
    paper = "n³ − n" if echo else "n² − 1"
    print(f"{'n':>3} {'measured':>9} {'original':>9} {'echoed':>7} {'expected':>9} "
          f"{paper:>7} {'ratio':>6}")
    for n in args.nodes:
        runs = [count(n, args.delta, args.epochs, echo) for _ in range(args.runs)]
        got = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        expected = (n + 1) * (n - 1) ** 2 if echo else n * n - 1
        bound = n ** 3 - n if echo else n * n - 1
        print(f"{n:>3} {got['total']:>9g} {got['original']:>9g} {got['echo']:>7g} "
              f"{expected:>9} {bound:>7} {got['total'] / bound:>6.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
