"""Long run: the dashboard server and its nodes for an hour, memory sampled.

Starts ``python -m backend.web`` as a child process (7 nodes, Δ = 0.1 s,
random transactions), connects a Socket.IO client so that the server really
emits its batches (python-socketio's client needs ``requests`` and
``websocket-client``; without them the script only polls ``GET /api/state``),
and every --interval seconds prints a row: the epoch, the lowest and highest
finalized height, batches received, and the resident memory (VmRSS) of the
server and of every node process. At the end it compares memory after the
warm-up with memory at the end, stops the server with SIGTERM and checks that
no node process outlived it.

Linux only: RSS is read from ``/proc/PID/status``.

    python bench/long_run.py                      # one hour
    python bench/long_run.py --minutes 5 --interval 10

Exit code 1 if the server died, finality stalled, a node process was left
behind, or memory grew by more than --max-growth after the warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANNOUNCE = "Streamlet Lab dashboard on http://"
#: Samples the server may miss in a row (it is busy) before the run fails.
MAX_MISSED = 5


def rss_kib(pid: int | None) -> int | None:
    """Resident memory of a process in KiB, or None if it is gone."""
    if not pid:
        return None
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); /proc says whether it is one.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=20) as response:
        return json.loads(response.read())


class Listener:
    """A Socket.IO client that counts the batches and events the page would get."""

    def __init__(self, url: str) -> None:
        self.batches = 0
        self.events = 0
        self.available = False
        try:
            import socketio
        except ImportError:
            return
        self.client = socketio.Client(reconnection=True)
        self.client.on("batch", self._on_batch)
        try:
            self.client.connect(url, transports=["websocket"], wait_timeout=10)
        except Exception as exc:  # a missing transport package, a refused socket
            print(f"# no Socket.IO client ({exc}); polling only", flush=True)
            return
        self.available = True

    def _on_batch(self, batch: object) -> None:
        self.batches += 1
        if isinstance(batch, dict):
            self.events += len(batch.get("events") or ())

    def close(self) -> None:
        if self.available:
            self.client.disconnect()


def start_server(args: argparse.Namespace, log_path: Path) -> tuple[
        subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "backend.web", "--nodes", str(args.nodes),
           "--delta", str(args.delta), "--port", "0",
           "--tx-rate", str(args.tx_rate), "--leader", args.leader]
    log = log_path.open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log,
                            text=True)
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(ANNOUNCE):
            url = line.strip().split(" on ", 1)[1].rstrip("/")
            # Keep draining stdout so the server never blocks on a full pipe.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, url
    proc.kill()
    raise SystemExit(f"the server did not announce its port; see {log_path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="minutes before the reference sample (default 5)")
    parser.add_argument("--nodes", type=int, default=7)
    parser.add_argument("--delta", type=float, default=0.1)
    parser.add_argument("--leader", default="round-robin")
    parser.add_argument("--tx-rate", type=float, default=5.0, dest="tx_rate")
    parser.add_argument("--max-growth", type=float, default=0.10,
                        help="allowed RSS growth after warm-up (default 10%%)")
    parser.add_argument("--log", default="/tmp/long_run_server.log")
    args = parser.parse_args()

    proc, url = start_server(args, Path(args.log))
    listener = Listener(url)
    started = time.monotonic()
    rows: list[dict] = []
    node_pids: set[int] = set()
    failure = ""
    missed = 0
    print(f"# server pid {proc.pid} at {url}; {args.nodes} nodes, Δ = {args.delta}"
          f" s, {args.tx_rate} tx/s, socket.io {listener.available}", flush=True)
    print(f"{'min':>6} {'epoch':>6} {'final lo-hi':>12} {'batches':>8} "
          f"{'server MiB':>10}  node MiB", flush=True)
    try:
        while True:
            elapsed = time.monotonic() - started
            if proc.poll() is not None:
                failure = f"server exited with {proc.returncode}"
                break
            try:
                state = get_json(url + "/api/state")
                missed = 0
            except OSError as exc:  # a timeout on a machine under heavy load
                missed += 1
                print(f"# {elapsed / 60:.1f} min: no answer from the server "
                      f"({exc}); {missed} in a row", flush=True)
                if missed >= MAX_MISSED:
                    failure = f"the server did not answer {missed} times in a row"
                    break
                time.sleep(args.interval)
                continue
            nodes = state["nodes"]
            pids = [n.get("pid") for n in nodes]
            node_pids.update(p for p in pids if p)
            heights = [n.get("finalized_height") or 0 for n in nodes]
            row = {"minute": elapsed / 60, "epoch": state.get("epoch"),
                   "lo": min(heights), "hi": max(heights),
                   "batches": listener.batches, "server": rss_kib(proc.pid),
                   "nodes": [rss_kib(p) for p in pids],
                   "safety": state.get("safety")}
            rows.append(row)
            node_mib = " ".join(f"{(k or 0) / 1024:5.1f}" for k in row["nodes"])
            print(f"{row['minute']:6.1f} {row['epoch']:>6} "
                  f"{row['lo']:>5}-{row['hi']:<6} {row['batches']:>8} "
                  f"{(row['server'] or 0) / 1024:10.1f}  {node_mib}", flush=True)
            if elapsed >= args.minutes * 60:
                break
            time.sleep(args.interval)
    finally:
        listener.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # After a SIGKILL the nodes exit only once they see their control link
    # closed: give them a few seconds before calling them orphans.
    deadline = time.monotonic() + 15
    while any(alive(p) for p in node_pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    leftovers = [p for p in node_pids if alive(p)]
    return summarise(args, rows, failure, leftovers, proc.returncode)


def summarise(args: argparse.Namespace, rows: list[dict], failure: str,
              leftovers: list[int], code: int | None) -> int:
    print(f"# server exit code {code}; node processes left behind: "
          f"{leftovers or 'none'}")
    if not rows:
        print(f"FAILED: {failure or 'no samples'}")
        return 1
    reference = next((r for r in rows if r["minute"] >= args.warmup), rows[0])
    last = rows[-1]
    problems = [failure] if failure else []
    if leftovers:
        problems.append(f"orphaned node processes {leftovers}")
    if last["lo"] <= reference["lo"] and last is not reference:
        problems.append("finality stalled after the warm-up")
    if last.get("safety") and not last["safety"].get("ok", True):
        problems.append(f"safety: {last['safety']}")

    def growth(before: int | None, after: int | None) -> float:
        return (after or 0) / before - 1 if before else 0.0

    print(f"# memory after warm-up (minute {reference['minute']:.1f}) -> end "
          f"(minute {last['minute']:.1f})")
    g = growth(reference["server"], last["server"])
    print(f"server: {reference['server'] / 1024:.1f} -> "
          f"{last['server'] / 1024:.1f} MiB ({g:+.1%})")
    if g > args.max_growth:
        problems.append(f"server memory grew {g:+.1%}")
    pairs = zip(reference["nodes"], last["nodes"], strict=False)
    for i, (a, b) in enumerate(pairs, 1):
        g = growth(a, b)
        print(f"node {i}: {(a or 0) / 1024:.1f} -> {(b or 0) / 1024:.1f} MiB "
              f"({g:+.1%})")
        if g > args.max_growth:
            problems.append(f"node {i} memory grew {g:+.1%}")
    print(f"# first sample: server {rows[0]['server'] / 1024:.1f} MiB, nodes "
          + " ".join(f"{(k or 0) / 1024:.1f}" for k in rows[0]["nodes"]))
    print(f"# finalized height {last['lo']}-{last['hi']} at epoch {last['epoch']};"
          f" batches received {last['batches']}")
    print("RESULT: " + ("; ".join(problems) if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
