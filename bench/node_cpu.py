"""CPU cost of real node processes: per epoch, per message, and where it goes.

Runs a real cluster (quiet nodes, as the headless runner does) whose node
processes are started through bench/node_probe.py, which measures each
process's CPU time and message counters. Reports, as medians over --runs
runs: CPU per node per epoch, CPU per received message, the share of the two
cores the whole cluster needs, and the fraction of epochs notarized. With
--profile every node runs under cProfile (CPU-time clock; slower, so the
figures of a profiled run are not quoted) and the merged profile is printed,
grouped by layer.

    python bench/node_cpu.py --nodes 7 --delta 0.01 --epochs 300 --runs 3
    python bench/node_cpu.py --nodes 15 --delta 0.04 --no-echo --profile
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.cluster import supervisor  # noqa: E402
from backend.cluster.audit import metrics, read_store  # noqa: E402
from backend.cluster.supervisor import Cluster, ClusterConfig  # noqa: E402

PROBE = Path(__file__).resolve().parent / "node_probe.py"
_REAL_POPEN = subprocess.Popen

#: Profile rows grouped by where the function lives (first match wins).
LAYERS = (
    ("_socket.socket' objects", "socket syscalls"),
    ("select.epoll", "waiting in epoll"),
    ("sqlite3", "sqlite"),
    ("backend/core", "core (rules, validation, hashing)"),
    ("backend/node", "node process (framing, links, events)"),
    ("json", "json encode/decode"),
    ("_hashlib", "sha256"),
    ("asyncio", "asyncio"),
    ("selectors", "asyncio"),
)


def _probed_popen(cmd: list[str], *args: Any, **kwargs: Any) -> Any:
    """Start nodes through the probe; anything else unchanged."""
    if cmd[1:3] == ["-m", "backend.node"]:
        cmd = [cmd[0], str(PROBE), *cmd[3:]]
    return _REAL_POPEN(cmd, *args, **kwargs)


def run_once(nodes: int, delta: float, epochs: int, echo: bool, profile: bool,
             out_dir: Path) -> dict[str, Any]:
    """One cluster run; returns its figures (and leaves profiles in out_dir)."""
    os.environ["STREAMLET_PROBE_DIR"] = str(out_dir)
    if profile:
        os.environ["STREAMLET_PROBE_PROFILE"] = "1"
    else:
        os.environ.pop("STREAMLET_PROBE_PROFILE", None)
    supervisor.subprocess.Popen = _probed_popen  # type: ignore[misc]
    cluster = Cluster(ClusterConfig(nodes=nodes, delta=delta, echo=echo,
                                    quiet=True, data_dir=str(out_dir / "stores")))
    try:
        cluster.start()
        wall_start = time.time()
        sup_cpu = time.process_time()
        while cluster.current_epoch() <= epochs:
            cluster.wait(0.02)
        wall = time.time() - wall_start
        sup_cpu = time.process_time() - sup_cpu
    finally:
        cluster.stop()
        supervisor.subprocess.Popen = _REAL_POPEN  # type: ignore[misc]
    files = [out_dir / f"node-{i}.json" for i in range(1, nodes + 1)]
    probes = [json.loads(f.read_text()) for f in files if f.exists()]
    if len(probes) < nodes:
        print(f"  ({nodes - len(probes)} node(s) did not report; figures are "
              "for the others)")
    records = [read_store(i, h.store) for i, h in cluster.nodes.items()]
    cpu = sum(p["cpu_run_s"] for p in probes) * nodes / len(probes)
    received = sum(p.get("received", 0) for p in probes) * nodes / len(probes)
    sent = sum(p.get("sent", 0) for p in probes) * nodes / len(probes)
    writes = sum(p.get("socket_writes", 0) for p in probes) * nodes / len(probes)
    reads = sum(p.get("socket_reads", 0) for p in probes) * nodes / len(probes)
    entered = statistics.median(p["epoch"] for p in probes)
    return {
        "cpu_ms_per_node_epoch": 1e3 * cpu / nodes / max(entered, 1),
        "cpu_us_per_received": 1e6 * cpu / max(received, 1),
        "received_per_epoch": received / max(entered, 1),
        "sent_per_epoch": sent / max(entered, 1),
        "writes_per_sent": writes / max(sent, 1),
        "reads_per_received": reads / max(received, 1),
        "cores_used": cpu / wall,
        "supervisor_cores": sup_cpu / wall,
        "start_cpu_s": statistics.median(p["cpu_start_s"] for p in probes),
        "notarized_fraction": metrics(records, epochs)["notarized_fraction"],
    }


def print_profile(files: list[Path], top: int) -> None:
    stats = pstats.Stats(*(str(f) for f in files))
    by_layer: dict[str, float] = {}
    total = 0.0
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        where = f"{filename}:{name}"
        layer = next((label for key, label in LAYERS if key in where), "other")
        if layer == "waiting in epoll":
            continue  # CPU-time clock: near zero anyway, and not work
        total += own
        by_layer[layer] = by_layer.get(layer, 0.0) + own
    print(f"\nmerged CPU profile of {len(files)} nodes, own time by layer:")
    for layer, seconds in sorted(by_layer.items(), key=lambda kv: -kv[1]):
        print(f"  {layer:40s} {100 * seconds / total:5.1f} %")
    print("top functions by own CPU time:")
    stats.sort_stats("tottime").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=7)
    parser.add_argument("--delta", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-echo", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="one run with every node under cProfile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    echo = not args.no_echo
    print(f"n={args.nodes} Δ={1e3 * args.delta:g} ms echo={'on' if echo else 'off'}"
          f" epochs={args.epochs} runs={1 if args.profile else args.runs}")
    results = []
    for _ in range(1 if args.profile else args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            got = run_once(args.nodes, args.delta, args.epochs, echo, args.profile,
                           Path(tmp))
            if args.profile:
                print_profile(sorted(Path(tmp).glob("node-*.prof")), args.top)
        results.append(got)
        print("  run: " + " ".join(f"{k}={v:.4g}" for k, v in got.items()),
              flush=True)
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print("median: " + " ".join(f"{k}={v:.4g}" for k, v in median.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
