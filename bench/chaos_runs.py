"""Many chaos runs on real clusters; prints each run's audit and the totals.

    python bench/chaos_runs.py --runs 100 --seconds 8
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.cluster import ClusterConfig  # noqa: E402
from backend.cluster.chaos import run_chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--delta", type=float, default=0.05)
    parser.add_argument("--tx-rate", type=float, default=20)
    args = parser.parse_args()
    totals = {"kills": 0, "restarts": 0, "acknowledged": 0, "failed": 0}
    started = time.time()
    for seed in range(1, args.runs + 1):
        config = ClusterConfig(nodes=args.nodes, delta=args.delta, leader="hash",
                               tx_rate=args.tx_rate, seed=seed)
        result = run_chaos(config, args.seconds, seed=seed, out=io.StringIO())
        totals["kills"] += result.kills
        totals["restarts"] += result.restarts
        totals["acknowledged"] += result.acknowledged
        totals["failed"] += not result.ok
        status = "ok" if result.ok else "FAILED: " + "; ".join(result.violations)
        print(f"run {seed:>3}: kills {result.kills:>2} restarts {result.restarts:>2} "
              f"acked {result.acknowledged:>4} final height "
              f"{result.finalized_height:>4} {status}", flush=True)
    print(f"{args.runs} runs in {time.time() - started:.0f} s: {totals['kills']} "
          f"kills, {totals['restarts']} restarts, {totals['acknowledged']} "
          f"acknowledged transactions, {totals['failed']} failed audits")
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
