"""Pipeline: events per second from the nodes to one browser page, and their lag.

For each cluster size (7 and 15 nodes by default, Δ = 0.05 s, echo on, every
message traced) the script starts ``python -m backend.web`` as a child
process, opens the page in headless Chromium and, after a warm-up, counts for
--seconds what the page receives: protocol events and message traces, per
second, and for each of them the lag from the node that emitted it (its ``t``)
to the moment the page folds it into its model and to the render that puts it
on screen (see the probe in dashboard_soak.py). The server's own count of what
the nodes produced and what it left out (``GET /api/state`` → ``relay``) says
how much of the stream reached the page.

    python bench/dashboard_pipeline.py                     # n = 7 and 15, 3 runs
    python bench/dashboard_pipeline.py --nodes 7 --runs 1 --seconds 20

Each run prints one row; the summary gives the medians over the runs. Target
(issue 6): at least 5,000 events/s with a p99 lag under 100 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from dashboard_soak import (
    DashboardServer,
    chromium_page,
    fmt,
    machine,
    median,
    open_dashboard,
    take,
    write_report,
)

TARGET_EVENTS_PER_S = 5000
TARGET_P99_MS = 100.0


def relay_counts(server: DashboardServer) -> dict[str, int]:
    return server.state().get("relay", {})


class PageTimeout(Exception):
    """The page showed no finalized block in time."""


def one_run(nodes: int, delta: float, seconds: float, warmup_s: float,
            extra: list[str], page_timeout_s: float = 120.0) -> dict[str, Any]:
    args = ["--nodes", str(nodes), "--delta", str(delta), *extra]
    with DashboardServer(args) as server, chromium_page() as page:
        try:
            open_dashboard(page, server.url, timeout_s=page_timeout_s)
        except Exception as exc:  # Playwright's TimeoutError
            raise PageTimeout(f"no finalized block on the page within "
                              f"{page_timeout_s:.0f} s ({type(exc).__name__})") from exc
        time.sleep(warmup_s)
        take(page)
        relay0 = relay_counts(server)
        cpu0, wall0 = server.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        sample = take(page)
        relay1 = relay_counts(server)
        cpu1, wall1 = server.cpu_seconds(), time.monotonic()
    got = {k: relay1.get(k, 0) - relay0.get(k, 0) for k in relay1}
    span = sample["seconds"]
    received = sample["events"] + sample["messages"]
    return {
        "nodes": nodes, "delta": delta, "seconds": span,
        "events_per_s": received / span,
        "batches_per_s": sample["batches"] / span,
        "protocol_events_per_s": sample["events"] / span,
        "messages_per_s": sample["messages"] / span,
        "produced_per_s": (got.get("received", 0) / (wall1 - wall0)) if got else None,
        "left_out_per_s": (got.get("left_out", 0) / (wall1 - wall0)) if got else None,
        "lag_ms": sample["allLagMs"], "event_lag_ms": sample["eventLagMs"],
        "screen_lag_ms": sample["screenLagMs"],
        "receive_lag_ms": sample["receiveLagMs"], "emit_lag_ms": sample["emitLagMs"],
        "frame_interval_ms": sample["frameIntervalMs"],
        "frame_busy_ms": sample["frameWorkMs"],
        "server_cpu_pct": (100 * (cpu1 - cpu0) / (wall1 - wall0)
                           if cpu0 is not None and cpu1 is not None else None),
        "relay": got,
    }


def print_row(r: dict[str, Any]) -> None:
    lag, ev, scr, rcv, emit = (r["lag_ms"], r["event_lag_ms"], r["screen_lag_ms"],
                               r["receive_lag_ms"], r["emit_lag_ms"])
    print(f"n={r['nodes']:>2} Δ={r['delta']}: {r['events_per_s']:7.0f} events/s "
          f"({r['protocol_events_per_s']:.0f} protocol + {r['messages_per_s']:.0f} "
          f"traces in {r['batches_per_s']:.1f} batches/s; nodes produced "
          f"{fmt(r['produced_per_s'], 0)}/s, "
          f"{fmt(r['left_out_per_s'], 0)}/s left out) | lag to model "
          f"p50 {fmt(lag['p50'], 0)} p99 {fmt(lag['p99'], 0)} ms (protocol p99 "
          f"{fmt(ev['p99'], 0)}) | to screen p50 {fmt(scr['p50'], 0)} p99 "
          f"{fmt(scr['p99'], 0)} | node→server emit p50 {fmt(emit['p50'], 0)} "
          f"p99 {fmt(emit['p99'], 0)} | server→page p50 {fmt(rcv['p50'], 0)} p99 "
          f"{fmt(rcv['p99'], 0)} ms | frames p95 "
          f"{fmt(r['frame_interval_ms']['p95'])} ms | server CPU "
          f"{fmt(r['server_cpu_pct'], 0)} %", flush=True)


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str, stat: str | None = None) -> float | None:
        return median([r[key][stat] if stat else r[key] for r in runs])

    return {
        "runs": len(runs), "events_per_s": med("events_per_s"),
        "protocol_events_per_s": med("protocol_events_per_s"),
        "messages_per_s": med("messages_per_s"),
        "produced_per_s": med("produced_per_s"),
        "left_out_per_s": med("left_out_per_s"),
        "lag_p50_ms": med("lag_ms", "p50"), "lag_p99_ms": med("lag_ms", "p99"),
        "event_lag_p99_ms": med("event_lag_ms", "p99"),
        "screen_lag_p50_ms": med("screen_lag_ms", "p50"),
        "screen_lag_p99_ms": med("screen_lag_ms", "p99"),
        "receive_lag_p99_ms": med("receive_lag_ms", "p99"),
        "emit_lag_p50_ms": med("emit_lag_ms", "p50"),
        "emit_lag_p99_ms": med("emit_lag_ms", "p99"),
        "batches_per_s": med("batches_per_s"),
        "frame_interval_p95_ms": med("frame_interval_ms", "p95"),
        "server_cpu_pct": med("server_cpu_pct"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[7, 15])
    parser.add_argument("--delta", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="measured seconds per run (default 30)")
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds after the first finalized block (default 5)")
    parser.add_argument("--server-arg", action="append", default=[],
                        dest="server_args", help="passed on to backend.web")
    parser.add_argument("--json", help="write every run and the summaries here")
    args = parser.parse_args()

    report: dict[str, Any] = {"command": " ".join(sys.argv), "machine_start": machine(),
                              "by_nodes": {}}
    met = True
    for nodes in args.nodes:
        runs: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for _ in range(args.runs):
            try:
                run = one_run(nodes, args.delta, args.seconds, args.warmup,
                              args.server_args)
            except PageTimeout as exc:
                # Nothing reached the screen: that is the figure, not a crash.
                print(f"n={nodes:>2} Δ={args.delta}: {exc}", flush=True)
                failed.append({"nodes": nodes, "error": str(exc)})
                continue
            print_row(run)
            runs.append(run)
        if not runs:
            report["by_nodes"][nodes] = {"runs": [], "failed": failed}
            met = False
            continue
        s = summary(runs)
        report["by_nodes"][nodes] = {"runs": runs, "summary": s, "failed": failed}
        ok = (s["events_per_s"] or 0) >= TARGET_EVENTS_PER_S and \
            (s["lag_p99_ms"] or 1e9) < TARGET_P99_MS
        met = met and ok
        print(f"n={nodes}: medians over {len(runs)} runs: "
              f"{fmt(s['events_per_s'], 0)} events/s, lag p50 {fmt(s['lag_p50_ms'], 0)}"
              f" p99 {fmt(s['lag_p99_ms'], 0)} ms, to screen p99 "
              f"{fmt(s['screen_lag_p99_ms'], 0)} ms: target "
              f"(≥ {TARGET_EVENTS_PER_S}/s, p99 < {TARGET_P99_MS:.0f} ms) "
              f"{'met' if ok else 'MISSED'}")
    report["machine_end"] = machine()
    print("load average at the end:", report["machine_end"]["loadavg"])
    write_report(report, args.json)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
