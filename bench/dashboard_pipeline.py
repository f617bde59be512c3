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
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dashboard_soak import (
    ROOT,
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
            try:  # did the cluster finalize anything, or only the page not?
                height = server.state()["safety"].get("final_height")
            except OSError:
                height = "unknown (the server did not answer)"
            raise PageTimeout(f"no finalized block on the page within "
                              f"{page_timeout_s:.0f} s ({type(exc).__name__}); "
                              f"the server's final height: {height}") from exc
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
        # Traces weighted (nodes that sample echo traces send 1 in k, each
        # standing for k): the node events the page's stream accounts for.
        "represented_per_s": (sample["events"] + sample.get(
            "weightedMessages", sample["messages"])) / span,
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


# --- the server's own cost, whatever the machine's load ------------------------


class ReplayCluster:
    """Just enough of backend.cluster.Cluster for the dashboard, fed by a list."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.n = settings["nodes"]
        self.subscribers: list[Any] = []
        self.epoch = 1

    def subscribe(self, callback: Any) -> Any:
        self.subscribers.append(callback)
        return lambda: self.subscribers.remove(callback)

    def start(self) -> None:
        """Nothing to start: events come from :meth:`feed`."""

    def stop(self) -> None:
        """Nothing runs: the dashboard unsubscribes itself."""

    def status(self) -> dict[str, Any]:
        return {"config": {"nodes": self.n}, "epoch": self.epoch, "leader": 1,
                "genesis": 0.0, "epoch_seconds": 0.1, "paused": False,
                "nodes": [{"id": i, "status": "running"} for i in range(1, self.n + 1)]}

    def current_epoch(self) -> int:
        return self.epoch

    def leader(self, epoch: int) -> int:
        return epoch % self.n + 1

    def feed(self, event: dict[str, Any]) -> None:
        self.epoch = max(self.epoch, event.get("epoch") or 0)
        for callback in self.subscribers:
            callback(event)


def record_stream(nodes: int, delta: float, seconds: float) -> list[dict[str, Any]]:
    """The events a real cluster sends the dashboard, from the run's recording."""
    with DashboardServer(["--nodes", str(nodes), "--delta", str(delta)]) as server:
        time.sleep(seconds)
        files = list(Path(server._tmp.name).rglob("events.jsonl"))
        lines = files[0].read_text().splitlines() if files else []
    events = []
    for line in lines[1:]:  # the first line is the recording's header
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # the line being written when it was read
    return events


class _ClientDecodeTimer:
    """Counts the CPU the Socket.IO test client spends decoding what it got.

    The test client stands for the page: it encodes each packet as the server
    would, then decodes it as the page would. The decoding is the page's work,
    not the server's, so :func:`server_cost` takes it out.
    """

    def __init__(self) -> None:
        import types

        import flask_socketio.test_client as test_client
        from socketio import packet

        timer = self

        class TimedPacket(packet.Packet):
            def __init__(self, *args: Any, encoded_packet: Any = None,
                         **kwargs: Any) -> None:
                start = time.process_time()
                super().__init__(*args, encoded_packet=encoded_packet, **kwargs)
                if encoded_packet is not None:
                    timer.seconds += time.process_time() - start

        self.seconds = 0.0
        self._module, self._real = test_client, test_client.packet
        names = {k: getattr(packet, k) for k in dir(packet) if k.isupper()}
        test_client.packet = types.SimpleNamespace(**names, Packet=TimedPacket)

    def close(self) -> None:
        self._module.packet = self._real


def server_cost(nodes: int, delta: float, seconds: float,
                batch_every: int) -> dict[str, Any]:
    """CPU time the server spends per event, for one page, measured in-process.

    A real cluster's events (recorded by the dashboard during ``seconds``) are
    decoded from the nodes' frames as the supervisor does, handed to a real
    Dashboard (recording, inbox, observer, Socket.IO batches to one test
    client standing for the page) and relayed every ``batch_every`` events.
    Only this process's CPU time is counted, so the machine's load matters
    little. Not counted: the supervisor's queue and threads, the socket, and
    the test client decoding the batches (the page's work).
    """
    sys.path.insert(0, str(ROOT))
    from backend.node.framing import FrameDecoder, encode
    from backend.web.app import create_app

    events = record_stream(nodes, delta, seconds)
    if not events:
        raise SystemExit("the recording was empty")
    frames = b"".join(encode({"type": "events", "events": events[i:i + 20]})
                      for i in range(0, len(events), 20))
    cpu = time.process_time()
    decoded = [e for f in FrameDecoder().feed(frames) for e in f["events"]]
    decode_s = time.process_time() - cpu

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(ReplayCluster, {"nodes": nodes, "delta": delta,
                                         "data_dir": tmp},
                         async_mode="threading", start=False, batch_interval_s=3600.0)
        dashboard = app.extensions["streamlet"]
        dashboard.start()
        page = app.extensions["socketio"].test_client(app)
        client_decode = _ClientDecodeTimer()
        cluster = dashboard.cluster
        feed_s = relay_s = 0.0
        sent = 0
        for i, event in enumerate(decoded, 1):
            start = time.process_time()
            cluster.feed(event)
            feed_s += time.process_time() - start
            if i % batch_every == 0 or i == len(decoded):
                start = time.process_time()
                dashboard.relay_once()
                relay_s += time.process_time() - start
                sent += sum(len(p["args"][0]["events"]) + len(p["args"][0]["messages"])
                            for p in page.get_received() if p["name"] == "batch")
        client_decode.close()
        dashboard.shutdown()
    count = len(decoded)
    relay_s -= client_decode.seconds
    per_event_us = 1e6 * (decode_s + feed_s + relay_s) / count
    return {"nodes": nodes, "events": count, "sent_to_page": sent,
            "decode_us": 1e6 * decode_s / count,
            "record_and_inbox_us": 1e6 * feed_s / count,
            "fold_and_emit_us": 1e6 * relay_s / count,
            "client_decode_us": 1e6 * client_decode.seconds / count,
            "total_us": per_event_us, "events_per_cpu_s": 1e6 / per_event_us}


def print_row(r: dict[str, Any]) -> None:
    lag, ev, scr, rcv, emit = (r["lag_ms"], r["event_lag_ms"], r["screen_lag_ms"],
                               r["receive_lag_ms"], r["emit_lag_ms"])
    print(f"n={r['nodes']:>2} Δ={r['delta']}: {r['events_per_s']:7.0f} events/s "
          f"({r['protocol_events_per_s']:.0f} protocol + {r['messages_per_s']:.0f} "
          f"traces in {r['batches_per_s']:.1f} batches/s, standing for "
          f"{r['represented_per_s']:.0f}/s; nodes produced "
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
        "represented_per_s": med("represented_per_s"),
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
    parser.add_argument("--batch-every", type=int, default=250, dest="batch_every",
                        help="--server-cost: events per batch (default 250, i.e. "
                        "5,000 events/s at one batch every 50 ms)")
    parser.add_argument("--server-arg", action="append", default=[],
                        dest="server_args", help="passed on to backend.web")
    parser.add_argument("--server-cost", action="store_true", dest="server_cost",
                        help="instead: the server's CPU per event, in-process")
    parser.add_argument("--json", help="write every run and the summaries here")
    args = parser.parse_args()
    if args.server_cost:
        costs = []
        for nodes in args.nodes:
            cost = server_cost(nodes, args.delta, args.seconds, args.batch_every)
            costs.append(cost)
            print(f"n={nodes:>2}: {cost['events']} events, {cost['sent_to_page']} sent "
                  f"to the page; CPU per event: decode {cost['decode_us']:.1f} µs, "
                  f"record and inbox {cost['record_and_inbox_us']:.1f} µs, fold and "
                  f"emit {cost['fold_and_emit_us']:.1f} µs: {cost['total_us']:.1f} µs "
                  f"in all, {cost['events_per_cpu_s']:.0f} events per CPU second "
                  f"(not counted: the test client's decoding, "
                  f"{cost['client_decode_us']:.1f} µs)",
                  flush=True)
        write_report({"command": " ".join(sys.argv), "machine_start": machine(),
                      "server_cost": costs}, args.json)
        return 0

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
        # Counted as the node events the page's stream stands for: with echo
        # traces sampled at the nodes, one trace on the page is k of theirs.
        ok = (s["represented_per_s"] or 0) >= TARGET_EVENTS_PER_S and \
            (s["lag_p99_ms"] or 1e9) < TARGET_P99_MS
        met = met and ok
        print(f"n={nodes}: medians over {len(runs)} runs: "
              f"{fmt(s['events_per_s'], 0)} events/s (standing for "
              f"{fmt(s['represented_per_s'], 0)}/s), lag p50 {fmt(s['lag_p50_ms'], 0)}"
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
