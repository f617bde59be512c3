"""Finality latency of a real cluster in the good case, against the rules' bound.

A block of epoch e is final as soon as the block of epoch e + 1 is notarized:
2Δ after it was proposed, the next leader proposes; one one-way delay later
the others have that block and vote; one more and the votes are in. The bound
is therefore 2Δ + 2d, with d the one-way delay measured in the same run.

Each run starts n real node processes (echo on, no faults, no transactions)
that report their events with wall-clock timestamps (one clock: one machine):

- latency of (block, node): the node's ``finalize`` event that includes the
  block, minus the leader's ``propose`` event of the block (seconds), and the
  node's epoch then minus the block's epoch (epochs);
- one-way delay d: a proposal's ``propose`` event at the leader to its
  ``block`` event at each other node, and each ``vote`` event at a voter to
  the ``tally`` of that vote at each other node (stamps are taken after the
  sender's store write and before the receiver's, so d includes that work).

Blocks of the first two and last two epochs are left out (start-up, end).
Figures are medians over the runs of each run's median (and 95th percentile).
Columns: lat = latency (ms, or ep = epochs), d = one-way delay (all, of
proposals, of votes, 95th percentile), late = how long after its epoch began
the leader's proposal left, bound = 2Δ + 2d, vs_bound = median latency over
the bound, in per cent.

    python bench/finality.py --nodes 3 5 7 --delta 0.05 --epochs 60 --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.cluster.supervisor import Cluster, ClusterConfig  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def collect(nodes: int, delta: float, epochs: int) -> tuple[list[dict[str, Any]],
                                                           float]:
    """Run a cluster for ``epochs`` epochs; every event, and the genesis time."""
    events: list[dict[str, Any]] = []
    lock = threading.Lock()

    def keep(event: dict[str, Any]) -> None:
        if event.get("type") in ("propose", "block", "vote", "tally", "finalize"):
            with lock:
                events.append(event)

    cluster = Cluster(ClusterConfig(nodes=nodes, delta=delta))
    cluster.subscribe(keep)
    try:
        cluster.start()
        while cluster.current_epoch() <= epochs + 1:
            cluster.wait(0.02)
        genesis = cluster.genesis or 0.0
    finally:
        cluster.cleanup()
    with lock:
        return list(events), genesis


def analyse(events: list[dict[str, Any]], genesis: float, delta: float,
            epochs: int) -> dict[str, float]:
    proposed: dict[str, tuple[float, int, int]] = {}  # hash -> (t, epoch, leader)
    for e in events:
        if e["type"] == "propose":
            proposed[e["block"]["hash"]] = (e["t"], e["block"]["epoch"], e["node"])
    voted = {(e["node"], e["block"]): e["t"] for e in events if e["type"] == "vote"}
    delays_propose, delays_vote, latencies_s, latencies_epochs = [], [], [], []
    lateness = [t - (genesis + (epoch - 1) * 2 * delta)
                for t, epoch, _ in proposed.values() if 3 <= epoch <= epochs - 2]
    seen_final: set[tuple[int, str]] = set()
    for e in events:
        kind = e["type"]
        if kind == "block":
            origin = proposed.get(e["block"]["hash"])
            if origin and origin[2] != e["node"] and 3 <= origin[1] <= epochs - 2:
                delays_propose.append(e["t"] - origin[0])
        elif kind == "tally" and e["voter"] != e["node"]:
            sent = voted.get((e["voter"], e["block"]))
            origin = proposed.get(e["block"])
            if sent is not None and origin and 3 <= origin[1] <= epochs - 2:
                delays_vote.append(e["t"] - sent)
        elif kind == "finalize":
            for block in e["blocks"]:
                key = (e["node"], block["hash"])
                origin = proposed.get(block["hash"])
                if key in seen_final or origin is None:
                    continue
                seen_final.add(key)
                if 3 <= origin[1] <= epochs - 2:
                    latencies_s.append(e["t"] - origin[0])
                    latencies_epochs.append(e["epoch"] - origin[1])
    if not latencies_s or not (delays_propose or delays_vote):
        raise SystemExit("no block was finalized in the measured epochs")
    d = statistics.median(delays_propose + delays_vote)
    bound = 2 * delta + 2 * d
    median = statistics.median(latencies_s)
    return {
        "lat_med_ms": 1e3 * median,
        "lat_p95_ms": 1e3 * percentile(latencies_s, 0.95),
        "lat_ep_med": statistics.median(latencies_epochs),
        "lat_ep_p95": percentile(latencies_epochs, 0.95),
        "d_ms": 1e3 * d,
        "d_prop_ms": 1e3 * statistics.median(delays_propose or [0.0]),
        "d_vote_ms": 1e3 * statistics.median(delays_vote or [0.0]),
        "d_p95_ms": 1e3 * percentile(delays_propose + delays_vote, 0.95),
        "late_ms": 1e3 * statistics.median(lateness),
        "bound_ms": 1e3 * bound,
        "vs_bound_%": 100 * (median / bound - 1),
        "finalized": len(latencies_s),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[3, 5, 7])
    parser.add_argument("--delta", type=float, default=0.05, help="Δ in seconds")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"good case, echo on, Δ = {1e3 * args.delta:g} ms, {args.epochs} epochs, "
          f"median of {args.runs} runs (bound = 2Δ + 2d)")
    columns = ("lat_med_ms", "lat_p95_ms", "lat_ep_med",
               "lat_ep_p95", "d_ms", "d_prop_ms",
               "d_vote_ms", "d_p95_ms", "late_ms", "bound_ms",
               "vs_bound_%")
    print(f"{'n':>3} " + " ".join(f"{c:>10s}" for c in columns))
    for nodes in args.nodes:
        runs = []
        for _ in range(args.runs):
            events, genesis = collect(nodes, args.delta, args.epochs)
            runs.append(analyse(events, genesis, args.delta, args.epochs))
        median = {c: statistics.median(r[c] for r in runs) for c in columns}
        print(f"{nodes:>3} " + " ".join(f"{median[c]:>10.2f}" for c in columns),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
