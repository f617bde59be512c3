"""The reliability campaign: many seeds of the simulator, and its figures.

Runs every seed of --seeds (default 1-10000) with all fault options drawn,
on --jobs processes (each seed is independent, so the figures do not depend
on the number of jobs), and prints: outcomes by kind, how many liveness
failures are the core's known catch-up gap, the epochs every node waited for
a new final block after the faults stopped, and the simulated epochs per
second. Failing seeds are listed; rerun one with
``python -m backend.sim --seeds N --trace`` to read it.

    python bench/sim_swarm.py
    python bench/sim_swarm.py --seeds 1-2000 --jobs 2

Exit code 1 if any seed broke safety or raised, else 0.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.sim import CRASH, OK, SAFETY, run_seed  # noqa: E402
from backend.sim.cli import parse_seeds  # noqa: E402


def one(seed: int) -> dict:
    """Run a seed; return plain figures (cheap to hand between processes)."""
    result = run_seed(seed)
    return {"seed": seed, "status": result.status, "epochs": result.epochs,
            "to_final": result.epochs_to_final, "gap": result.catch_up_gap,
            "n": result.params.n, "detail": result.detail,
            "txs": result.txs_finalized, "acked": result.txs_acknowledged}


def percentile(values: list[int], fraction: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(rows: list[dict], wall_s: float) -> None:
    statuses = Counter(r["status"] for r in rows)
    epochs = sum(r["epochs"] for r in rows)
    waits = [r["to_final"] for r in rows if r["to_final"] is not None]
    print(f"seeds run: {len(rows)}")
    for status in (OK, SAFETY, "liveness", CRASH):
        print(f"  {status:9s} {statuses.get(status, 0)}")
    gaps = sum(1 for r in rows if r["gap"])
    print(f"  liveness failures that are the core's catch-up gap: {gaps}")
    if waits:
        print(f"epochs to a new final block after faults stop: median "
              f"{statistics.median(waits):g}, p90 {percentile(waits, 0.9)}, "
              f"p99 {percentile(waits, 0.99)}, max {max(waits)}")
    print(f"transactions finalized / acknowledged: {sum(r['txs'] for r in rows)}"
          f" / {sum(r['acked'] for r in rows)}")
    print(f"simulated epochs: {epochs} in {wall_s:.0f} s "
          f"({epochs / wall_s:.0f} epochs/s)")
    by_n = Counter(r["n"] for r in rows if r["status"] != OK)
    if by_n:
        print("failures by n: " + ", ".join(f"n={n}: {c}"
                                            for n, c in sorted(by_n.items())))
    failing = [r for r in rows if r["status"] != OK]
    for row in failing[:40]:
        gap = " [catch-up gap]" if row["gap"] else ""
        print(f"  seed {row['seed']} {row['status']}{gap}: {row['detail'][:110]}")
    if len(failing) > 40:
        print(f"  ... and {len(failing) - 40} more")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1-10000")
    parser.add_argument("--jobs", type=int, default=multiprocessing.cpu_count())
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    started = time.perf_counter()
    rows = []
    with multiprocessing.Pool(max(1, args.jobs)) as pool:
        for done, row in enumerate(pool.imap(one, seeds, chunksize=8), start=1):
            rows.append(row)
            if done % 1000 == 0:
                print(f"... {done} seeds, {time.perf_counter() - started:.0f} s",
                      flush=True)
    report(rows, time.perf_counter() - started)
    broken = any(r["status"] in (SAFETY, CRASH) for r in rows)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
