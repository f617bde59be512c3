"""Simulated epochs per second of the seeded simulator, good case, n = 5.

Good case: no faults, every delay 0.3Δ, clocks in step, one transaction per
epoch. Each configuration (wire round trip on/off, echo on/off) runs
--epochs epochs --repeat times; the best run counts (the machine is shared),
in wall-clock time and in CPU time of this process (which a busy machine
moves less).
With --profile it also prints where the time goes, grouped by layer.

    python bench/sim_speed.py
    python bench/sim_speed.py --epochs 2000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.core import Transaction  # noqa: E402
from backend.sim import EPOCH_TICKS, Simulation, quiet_params  # noqa: E402

TARGET = 20_000


def build(n: int, wire: bool, echo: bool) -> Simulation:
    sim = Simulation(quiet_params(n, wire=wire, echo=echo, delay_ticks=300))
    sim.start()
    return sim


def drive(sim: Simulation, epochs: int) -> None:
    """Run ``epochs`` epochs with one client transaction in each."""
    for epoch in range(1, epochs + 1):
        tx = Transaction(epoch % 50, (epoch + 1) % 50, epoch, 10)
        sim.schedule((epoch - 1) * EPOCH_TICKS + 100,
                     lambda s, tx=tx, node=epoch % sim.n + 1: s.submit(node, tx))
    sim.run_through_epoch(epochs)


def measure(n: int, epochs: int, wire: bool, echo: bool, repeat: int) -> dict:
    best = best_cpu = float("inf")
    for _ in range(repeat):
        sim = build(n, wire, echo)
        started, started_cpu = time.perf_counter(), time.process_time()
        drive(sim, epochs)
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
    final = len(sim.safety.final_chain)
    if final < epochs - 3:
        raise SystemExit(f"good case finalized only {final} of {epochs} epochs")
    return {"epochs_per_s": epochs / best, "epochs_per_cpu_s": epochs / best_cpu,
            "deliveries_per_epoch":
            sim.deliveries / epochs, "final": final}


LAYERS = (("backend/core", "core"), ("backend/sim", "simulator"),
          ("json", "json"), ("heapq", "heap"), ("random", "random"))


def profile(n: int, epochs: int, wire: bool, echo: bool) -> None:
    sim = build(n, wire, echo)
    profiler = cProfile.Profile()
    profiler.runcall(drive, sim, epochs)
    stats = pstats.Stats(profiler)
    by_layer: dict[str, float] = {}
    total = 0.0
    for (filename, _, _), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        total += own
        layer = next((name for key, name in LAYERS if key in filename), "other")
        by_layer[layer] = by_layer.get(layer, 0.0) + own
    print(f"\nprofile, wire={'on' if wire else 'off'} echo={'on' if echo else 'off'}"
          f" ({epochs} epochs, own time by layer):")
    for layer, seconds in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"  {layer:10s} {100 * seconds / total:5.1f} %")
    print("top functions by own time:")
    stats.sort_stats("tottime").print_stats(12)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(f"n={args.n}, {args.epochs} epochs, best of {args.repeat}; "
          f"target {TARGET} epochs/s")
    for wire in (True, False):
        for echo in (True, False):
            got = measure(args.n, args.epochs, wire, echo, args.repeat)
            print(f"  wire={'on ' if wire else 'off'} echo={'on ' if echo else 'off'}"
                  f"  {got['epochs_per_s']:8.0f} epochs/s "
                  f"({got['epochs_per_cpu_s']:.0f} per CPU second)  "
                  f"{got['deliveries_per_epoch']:5.1f} deliveries/epoch  "
                  f"final height {got['final']}")
    if args.profile:
        profile(args.n, min(args.epochs, 500), True, True)
        profile(args.n, min(args.epochs, 500), False, True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
