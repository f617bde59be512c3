"""Start-up of the dashboard: from ``python run.py`` to a finalized block on screen.

Headless Chromium is opened first, on a blank page, as a browser already open
on the teacher's machine would be. Then, for each run, the clock starts just
before ``python run.py --port 0`` is created (the defaults otherwise: 5 nodes,
Δ = 1 s) and stops when the page's tree first draws a block as finalized (a
MutationObserver in the page notes the moment; see the probe in
dashboard_soak.py). The time is split at:

- the server's announcement (its imports, the node processes spawned and
  every one's hello: the dashboard announces once its cluster is up);
- genesis (the supervisor sets it a margin after the last hello);
- the first ``finalize`` event a node emitted (the page's first batch with
  one): genesis may be the first of the three consecutive epochs, so b1 is
  final once b2 is notarized, and b2 is proposed when epoch 2 begins, 2Δ
  after genesis: this step cannot take less than 2Δ;
- the block drawn as finalized.

    python bench/dashboard_startup.py                # 5 runs, run.py's defaults
    python bench/dashboard_startup.py --runs 3 -- --delta 0.25

Arguments after ``--`` go to run.py. Target (issue 6): under 3 s.

The headless runner's start-up (no browser) is bench/startup.py.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dashboard_soak import (
    DashboardServer,
    chromium_page,
    fmt,
    machine,
    median,
    write_report,
)

TARGET_S = 3.0


def once(page: Any, run_args: list[str], timeout_s: float) -> dict[str, float | None]:
    page.goto("about:blank")
    server = DashboardServer(run_args, module=False, start_timeout_s=timeout_s)
    try:
        server.start()
        t0 = server.started_at
        page.goto(server.url, wait_until="commit")
        page.wait_for_selector("#tree g.block.finalized", state="attached",
                               timeout=timeout_s * 1000)
        seen = page.evaluate("globalThis.streamletProbeTake()")
        genesis = server.state().get("genesis")
    finally:
        server.stop()

    def since(t: float | None) -> float | None:
        return None if t is None else t - t0

    return {"announced_s": since(server.announced_at), "genesis_s": since(genesis),
            "first_finalize_s": since(seen["firstFinalizeEvent"]),
            "on_screen_s": since(seen["firstFinalized"])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds a run may take (default 60)")
    parser.add_argument("--json", help="write every run and the medians here")
    parser.add_argument("run_args", nargs="*", help="after --: options for run.py")
    args = parser.parse_args()

    report: dict[str, Any] = {"command": " ".join(sys.argv), "machine_start": machine(),
                              "run_args": args.run_args}
    runs = []
    with chromium_page() as page:
        for _ in range(args.runs):
            run = once(page, args.run_args, args.timeout)
            runs.append(run)
            print("  run: " + ", ".join(f"{k} {fmt(v, 2)}" for k, v in run.items()),
                  flush=True)
    medians = {k: median([r[k] for r in runs]) for k in runs[0]}
    report.update(runs=runs, medians=medians, machine_end=machine())
    met = medians["on_screen_s"] is not None and medians["on_screen_s"] < TARGET_S
    print(f"medians of {len(runs)} runs of run.py {' '.join(args.run_args)}: "
          + ", ".join(f"{k} {fmt(v, 2)}" for k, v in medians.items())
          + f" (target on screen < {TARGET_S:.0f} s: {'met' if met else 'MISSED'}); "
          f"load average at the end {report['machine_end']['loadavg']}")
    write_report(report, args.json)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
