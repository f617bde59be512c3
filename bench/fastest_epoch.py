"""The fastest sustainable epoch: the smallest Δ at which ≥ 95 % of epochs notarize.

For one cluster size and echo setting, tries each Δ from the largest down:
--runs runs of a real cluster (quiet nodes, no faults, no transactions) of
--epochs epochs each. An epoch counts when any node's store holds a
notarized block of that epoch at the end (what the headless report calls
``notarized_fraction``). A Δ is sustained when the median fraction over the
runs is at least 95 %; the answer is the smallest Δ sustained together with
every larger Δ tried (a lucky run below a failure does not count). The
search stops after two Δs in a row that are not sustained.
The CPU of the whole machine is shared: the load average is printed with
each Δ, since other work on the two cores moves the answer.

    python bench/fastest_epoch.py --nodes 5 --deltas 10 5 3 2
    python bench/fastest_epoch.py --nodes 15 --no-echo --deltas 60 40 30 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.cluster.audit import metrics, read_store  # noqa: E402
from backend.cluster.supervisor import Cluster, ClusterConfig  # noqa: E402

TARGET = 0.95


def notarized_fraction(nodes: int, delta: float, epochs: int, echo: bool) -> float:
    cluster = Cluster(ClusterConfig(nodes=nodes, delta=delta, echo=echo, quiet=True))
    try:
        cluster.start()
        while cluster.current_epoch() <= epochs:
            cluster.wait(0.01)
        cluster.stop()
        records = [read_store(i, h.store) for i, h in cluster.nodes.items()]
    finally:
        cluster.cleanup()
    return metrics(records, epochs)["notarized_fraction"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--deltas", type=float, nargs="+", default=[20, 10, 5, 3, 2],
                        help="Δ values to try, in milliseconds")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-echo", action="store_true")
    args = parser.parse_args()
    echo = not args.no_echo
    print(f"n={args.nodes} echo={'on' if echo else 'off'} epochs={args.epochs} "
          f"runs={args.runs}")
    print(f"{'Δ ms':>6} {'notarized % (median)':>21} {'runs':>24} {'load':>6}")
    smallest = failed = None
    misses = 0
    for delta_ms in sorted(args.deltas, reverse=True):
        fractions = [notarized_fraction(args.nodes, delta_ms / 1000, args.epochs, echo)
                     for _ in range(args.runs)]
        median = statistics.median(fractions)
        runs = " ".join(f"{100 * f:.1f}" for f in fractions)
        print(f"{delta_ms:>6g} {100 * median:>20.1f}% {runs:>24} "
              f"{os.getloadavg()[0]:>6.1f}", flush=True)
        if median >= TARGET:
            if failed is None:
                smallest = delta_ms
            misses = 0
        else:
            failed = delta_ms if failed is None else failed
            misses += 1
            if misses == 2:
                break
    print(f"smallest Δ with ≥ {100 * TARGET:g} % of epochs notarized: "
          f"{'none' if smallest is None else f'{smallest:g} ms'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
