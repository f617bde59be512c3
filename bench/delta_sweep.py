"""Finality latency and the smallest Δ at which a real cluster keeps up.

For each Δ (largest first) it runs a real cluster of --nodes processes for
--epochs epochs, several times, and reports the fraction of epochs that got a
notarized block and the finality latency in epochs (epoch in which a block
became final at a node, minus the block's epoch; the good case is 1).

    python bench/delta_sweep.py --nodes 5 --epochs 40 --runs 3
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.cluster import ClusterConfig  # noqa: E402
from backend.cluster.headless import run  # noqa: E402

DELTAS = (0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005)


def measure(nodes: int, delta: float, epochs: int, echo: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.json"
        code = run(ClusterConfig(nodes=nodes, delta=delta, echo=echo), epochs,
                   report_path=str(path), out=io.StringIO())
        report = json.loads(path.read_text())
    metrics = report["metrics"]
    return {"exit": code, "notarized_fraction": metrics["notarized_fraction"],
            "latency": metrics["finality_latency_epochs_median"]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-echo", action="store_true")
    parser.add_argument("--deltas", type=float, nargs="*", default=DELTAS)
    args = parser.parse_args()
    print(f"n={args.nodes} epochs={args.epochs} runs={args.runs} "
          f"echo={'off' if args.no_echo else 'on'}")
    print(f"{'delta_s':>8} {'notarized % (median)':>22} {'latency epochs':>15}")
    smallest = None
    for delta in sorted(args.deltas, reverse=True):
        runs = [measure(args.nodes, delta, args.epochs, not args.no_echo)
                for _ in range(args.runs)]
        fraction = statistics.median(r["notarized_fraction"] for r in runs)
        latencies = [r["latency"] for r in runs if r["latency"] is not None]
        latency = statistics.median(latencies) if latencies else float("nan")
        print(f"{delta:>8g} {100 * fraction:>21.1f}% {latency:>15g}", flush=True)
        if fraction >= 0.95:
            smallest = delta
        if any(r["exit"] != 0 for r in runs):
            print("  SAFETY VIOLATION in a run", flush=True)
            return 1
    print(f"smallest delta with >= 95% of epochs notarized: {smallest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
