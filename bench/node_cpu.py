"""CPU cost of real node processes: per epoch, per message, and where it goes.

Runs a real cluster (quiet nodes, as the headless runner does) whose node
processes are started through bench/node_probe.py, which measures each
process in its steady state (from epoch 3 to the end; start-up excluded).
Reports, as medians over --runs runs: CPU per node per epoch and per
received message, received messages per epoch (all nodes), socket writes per
message sent and reads per message received, event-loop turns per node and
epoch, the kernel's share of the CPU time, the cores the nodes keep busy
(of the machine's two), the supervisor's, each node's start-up CPU, and the
fraction of epochs notarized. With --profile every node runs under cProfile
(CPU-time clock; slower, so the figures of a profiled run are not quoted)
and the merged profile is printed, grouped by layer.

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
    probes = [p for p in probes if "from" in p and "to" in p]
    if len(probes) < nodes:
        print(f"  ({nodes - len(probes)} node(s) did not report; figures are "
              "for the others)")
    records = [read_store(i, h.store) for i, h in cluster.nodes.items()]

    def total(key: str) -> float:
        """Sum over the nodes of ``key`` in their steady state."""
        return sum(p["to"].get(key, 0) - p["from"].get(key, 0) for p in probes)

    cpu, received, sent = total("cpu_s"), total("received"), total("sent")
    node_epochs = total("epoch")
    epochs_each = node_epochs / len(probes)
    return {
        "cpu_ms_per_node_epoch": 1e3 * cpu / max(node_epochs, 1),
        "cpu_us_per_received": 1e6 * cpu / max(received, 1),
        "received_per_epoch": received / max(epochs_each, 1),
        "writes_per_sent": total("socket_writes") / max(sent, 1),
        "reads_per_received": total("socket_reads") / max(received, 1),
        "turns_per_node_epoch": total("loop_turns") / max(node_epochs, 1),
        "gc_share": total("gc_s") / max(cpu, 1e-9),
        "kernel_share": total("system_s") / max(
            total("user_s") + total("system_s"), 1e-9),
        # All nodes' CPU over the span's length: cores the cluster keeps busy.
        "cores_used": cpu * nodes / len(probes) / max(epochs_each * 2 * delta,
                                                      1e-9),
        "supervisor_cores": sup_cpu / wall,
        "start_cpu_s": statistics.median(p["cpu_start_s"] for p in probes),
        "notarized_fraction": metrics(records, epochs)["notarized_fraction"],
        # Catch-up traffic in the steady state: requests and answers per epoch.
        "sync_per_epoch": (total("sent_SyncRequest") + total("sent_SyncResponse"))
        / max(epochs_each, 1),
    }


def print_profile(files: list[Path], top: int, sort: str) -> None:
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
    print(f"top functions by {sort} CPU time:")
    stats.sort_stats(sort).print_stats(top)


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
    parser.add_argument("--sort", choices=("tottime", "cumulative"),
                        default="tottime", help="order of the profile's rows")
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
                print_profile(sorted(Path(tmp).glob("node-*.prof")), args.top,
                              args.sort)
        results.append(got)
        print("  run: " + " ".join(f"{k}={v:.4g}" for k, v in got.items()),
              flush=True)
    median = {k: statistics.median(r[k] for r in results) for k in results[0]}
    print("median: " + " ".join(f"{k}={v:.4g}" for k, v in median.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
