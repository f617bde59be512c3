"""Start-up time of the headless runner: from ``python run.py`` to a final block.

Starts ``python run.py --headless --record FILE`` as a new process, several
times, and measures from just before that process is created to

- the first ``finalize`` event of any node (its wall-clock stamp, in the
  recording), and
- the first progress line on its standard output that shows a finalized
  block (when the reader of the screen can see it).

The recording also splits the time: the interpreter and imports up to the
recorder's creation, spawning the nodes until every one said hello (the
``cluster`` event), the supervisor's margin before genesis, and genesis to
the first finalization (2Δ plus two one-way delays in the good case).

The dashboard's figure (``python run.py`` to the first final block drawn in
the browser) is not measured here.

    python bench/startup.py --nodes 5 --delta 0.1 --runs 5
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FINALIZED = re.compile(r"finalized .*n\d+=[1-9]")


def once(nodes: int, delta: float, python: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "run.jsonl"
        cmd = [python, str(ROOT / "run.py"), "--headless", "--nodes", str(nodes),
               "--delta", repr(delta), "--epochs", "4", "--record", str(record)]
        started = time.time()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        on_screen = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if on_screen is None and line.startswith("epoch") and \
                    FINALIZED.search(line):
                on_screen = time.time()
        if proc.wait() != 0:
            raise SystemExit(f"run.py exited with code {proc.returncode}")
        lines = record.read_text().splitlines()
    header = json.loads(lines[0])
    events: list[dict[str, Any]] = [json.loads(line) for line in lines[1:]]
    cluster = next(e for e in events if e["type"] == "cluster")
    final = min(e["t"] for e in events if e["type"] == "finalize")
    if on_screen is None:
        raise SystemExit("no progress line showed a finalized block")
    return {
        "first_finalize_s": final - started,
        "on_screen_s": on_screen - started,
        "imports_s": header["started"] - started,
        "spawn_s": cluster["t"] - header["started"],
        "margin_s": cluster["genesis"] - cluster["t"],
        "genesis_to_final_s": final - cluster["genesis"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--delta", type=float, default=0.1, help="Δ in seconds")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        runs.append(once(args.nodes, args.delta, args.python))
        print("  run: " + " ".join(f"{k}={v:.3f}" for k, v in runs[-1].items()),
              flush=True)
    median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"n={args.nodes} Δ={args.delta:g} s, median of {args.runs}: " +
          " ".join(f"{k}={v:.3f}" for k, v in median.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
