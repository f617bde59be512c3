"""Soak: the dashboard in headless Chromium for minutes, sampled every few seconds.

Starts ``python -m backend.web`` as a child process (7 nodes, Δ = 0.2 s by
default), opens the page in Debian's Chromium through Playwright and, every
--interval seconds, reads from the page itself:

- frame times: the gaps between animation frames (``requestAnimationFrame``)
  and each frame's busy time (from its start to the first task after it, so
  script, style, layout and paint are all in it), p50 / p95 / max;
- event lag: for every event the page folds into its model, the page's
  ``Date.now()`` minus the event's ``t`` (the wall time at which the node
  emitted it: same machine, same clock), p50 / p99, and the same up to the
  render that puts it on screen;
- the DOM element count, the block groups in the tree, the JS heap
  (``performance.memory``), long tasks, events received per second;
- the server's CPU share (Linux ``/proc``).

The page learns about batches through ``globalThis.streamletProbe``, a hook
frontend/main.js calls when a batch arrives, when it reaches the model and
when the views render. The probe itself lives in :data:`PROBE_JS`; the other
dashboard benchmarks (pipeline, render, start-up) import it and the helpers
below from this file.

    python bench/dashboard_soak.py                  # 5 minutes, sample every 10 s
    python bench/dashboard_soak.py --minutes 1 --json soak.json

Exit code 1 if the page fell behind (lag p99 above --max-lag-s in the last
samples), the DOM kept growing (the last sample more than --max-dom-growth
above the first after the warm-up), or the server died.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from long_run import alive  # a zombie counts as gone

ROOT = Path(__file__).resolve().parents[1]
ANNOUNCE = "Streamlet Lab dashboard on http://"
VIEWPORT = {"width": 1600, "height": 1000}

#: Installed before the page's own scripts. Everything is kept in the page and
#: summarised there by take(), so one sample costs one small round trip.
PROBE_JS = r"""
(() => {
  const nowS = () => Date.now() / 1000;
  let s;
  function reset() {
    s = { intervals: [], work: [], eventLag: [], messageLag: [], screenLag: [],
          receiveLag: [], emitLag: [], unrendered: [], batches: 0, events: 0,
          messages: 0, weightedMessages: 0,
          droppedMessages: 0, renders: 0, longTasks: 0, longTaskMs: 0, mutations: 0,
          since: performance.now() };
  }
  reset();
  const firstSeen = {};
  globalThis.streamletProbe = {
    received(batch) {
      s.batches++;
      s.events += batch.events?.length ?? 0;
      s.messages += batch.messages?.length ?? 0;
      // A node that samples its echo traces sends 1 in k, each weighted by
      // the k it stands for: the weights count the node's real traces.
      for (const m of batch.messages ?? []) s.weightedMessages += m.weight ?? 1;
      s.droppedMessages += batch.dropped_messages ?? 0;
      if (typeof batch.t !== "number") return;
      s.receiveLag.push(nowS() - batch.t);
      // Node to the server's emit: how long events waited before leaving it.
      for (const e of (batch.events ?? []).concat(batch.messages ?? [])) {
        if (typeof e.t === "number") s.emitLag.push(batch.t - e.t);
      }
    },
    applied(batch) {
      const now = nowS();
      for (const e of batch.events ?? []) {
        if (typeof e.t !== "number") continue;
        if (e.type === "finalize") firstSeen.finalizeEvent ??= e.t;
        s.eventLag.push(now - e.t);
        s.unrendered.push(e.t);
      }
      for (const m of batch.messages ?? []) {
        if (typeof m.t !== "number") continue;
        s.messageLag.push(now - m.t);
        s.unrendered.push(m.t);
      }
    },
    rendered() {
      const now = nowS();
      for (const t of s.unrendered) s.screenLag.push(now - t);
      s.unrendered = [];
      s.renders++;
    },
  };
  // Busy time of a frame: from its start (the rAF timestamp) to the first
  // task after it, which runs once style, layout and paint are done.
  const channel = new MessageChannel();
  let frameStart = 0;
  let last = 0;
  channel.port1.onmessage = () => s.work.push(performance.now() - frameStart);
  function tick(t) {
    if (last) s.intervals.push(t - last);
    last = t;
    frameStart = t;
    channel.port2.postMessage(0);
    requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        s.longTasks++;
        s.longTaskMs += entry.duration;
      }
    }).observe({ type: "longtask" });
  } catch (err) { /* no Long Tasks API: counted as zero */ }
  // The first finalized block on screen, for the start-up benchmark.
  const watch = new MutationObserver(() => {
    if (document.querySelector("#tree g.block.finalized")) {
      firstSeen.finalized = Date.now() / 1000;
      watch.disconnect();
    }
  });
  watch.observe(document, { childList: true, subtree: true, attributes: true,
                            attributeFilter: ["class"] });
  // DOM changes, counted only on request: the count is exact whatever the
  // machine's load, but observing every change costs a little.
  let mutations = null;
  globalThis.streamletProbeCountMutations = () => {
    mutations ??= new MutationObserver((records) => { s.mutations += records.length; });
    mutations.observe(document, { childList: true, subtree: true, attributes: true,
                                  characterData: true });
  };
  // Nearest-rank percentiles (no spread of a long array into Math.max: a
  // minute of fast history is more arguments than a call may take).
  function spread(values, scale = 1) {
    const n = values.length;
    if (!n) return { n, p50: null, p95: null, p99: null, max: null };
    const sorted = Float64Array.from(values).sort();
    const p = (q) => sorted[Math.min(n - 1, Math.ceil(q * n) - 1)] * scale;
    return { n, p50: p(0.5), p95: p(0.95), p99: p(0.99), max: sorted[n - 1] * scale };
  }
  globalThis.streamletProbeTake = () => {
    const seconds = (performance.now() - s.since) / 1000;
    const mem = performance.memory;
    const out = {
      seconds, batches: s.batches, events: s.events, messages: s.messages,
      weightedMessages: s.weightedMessages,
      droppedMessages: s.droppedMessages, renders: s.renders,
      longTasks: s.longTasks, longTaskMs: s.longTaskMs, mutations: s.mutations,
      frameIntervalMs: spread(s.intervals), frameWorkMs: spread(s.work),
      eventLagMs: spread(s.eventLag, 1000), messageLagMs: spread(s.messageLag, 1000),
      allLagMs: spread(s.eventLag.concat(s.messageLag), 1000),
      screenLagMs: spread(s.screenLag, 1000), receiveLagMs: spread(s.receiveLag, 1000),
      emitLagMs: spread(s.emitLag, 1000),
      domElements: document.getElementsByTagName("*").length,
      treeBlocks: document.querySelectorAll("#tree g.block").length,
      messageDots: document.querySelectorAll("#network circle.msg").length,
      heapMB: mem ? mem.usedJSHeapSize / 1048576 : null,
      firstFinalized: firstSeen.finalized ?? null,
      firstFinalizeEvent: firstSeen.finalizeEvent ?? null,
    };
    reset();
    return out;
  };
})();
"""


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of ``values``; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def machine() -> dict[str, Any]:
    """Where and when a figure was taken: date, cores, load averages."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (None, None, None)
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "host": platform.node(), "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "loadavg": [round(x, 2) for x in load if x is not None]}


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DashboardServer:
    """``python -m backend.web`` (or run.py) as a child in its own process group."""

    def __init__(self, args: list[str], *, module: bool = True,
                 start_timeout_s: float = 60.0, python_args: tuple[str, ...] = (),
                 root: Path = ROOT) -> None:
        self.args = args
        #: The checkout to run (another one to compare a change with this one).
        self.root = root
        self.module = module
        #: Options for the interpreter itself, e.g. ("-m", "cProfile", "-o", F).
        self.python_args = python_args
        self.start_timeout_s = start_timeout_s
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self.node_pids: set[int] = set()
        self.started_at = 0.0
        self.announced_at = 0.0
        self._tmp = tempfile.TemporaryDirectory(prefix="streamlet-bench-")
        self.log_path = Path(self._tmp.name) / "server.log"

    def start(self) -> DashboardServer:
        env = {**os.environ, "PYTHONPATH": str(self.root), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, *self.python_args]
        cmd += ["-m", "backend.web"] if self.module else ["run.py"]
        cmd += ["--port", "0", *self.args]
        if self.module:
            cmd += ["--data-dir", str(Path(self._tmp.name) / "stores")]
        lines: queue.Queue[str] = queue.Queue()
        with open(self.log_path, "w") as log_file:
            self.started_at = time.time()
            self.proc = subprocess.Popen(
                cmd, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=log_file, text=True,
                start_new_session=True)

        def read() -> None:
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.put(line)

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            try:
                line = lines.get(timeout=0.05)
            except queue.Empty:
                line = ""
            if ANNOUNCE in line:
                self.announced_at = time.time()
                self.url = line.split(" on ", 1)[1].strip()
                return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise RuntimeError("the dashboard did not start:\n" + tail)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as reply:
            return json.loads(reply.read())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())

    def state(self) -> dict[str, Any]:
        state = self.get("api/state")
        self.node_pids.update(n["pid"] for n in state["nodes"] if n.get("pid"))
        return state

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float | None:
        return cpu_seconds(self.proc.pid) if self.proc else None

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> list[int]:
        """SIGTERM the group, reap; return node pids that outlived the server."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        survivors = [pid for pid in self.node_pids if alive(pid)]
        for pid in survivors:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._tmp.cleanup()
        return survivors

    def __enter__(self) -> DashboardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        survivors = self.stop()
        if survivors:
            print(f"warning: node processes outlived the server: {survivors}",
                  file=sys.stderr)


@contextlib.contextmanager
def chromium_page() -> Iterator[Any]:
    """A Playwright page in Debian's Chromium with :data:`PROBE_JS` installed."""
    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium")
    if path is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=["--disable-gpu"])
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.add_init_script(PROBE_JS)
            yield page
        finally:
            browser.close()


def open_dashboard(page: Any, url: str, timeout_s: float = 120.0) -> None:
    """Load the page and wait until it shows a finalized block.

    Generous deadlines: a server relaying a big cluster on a busy machine
    serves the page's files slowly, and that is part of what is measured.
    """
    page.goto(url, wait_until="commit", timeout=timeout_s * 1000)
    page.wait_for_selector("#tree g.block.finalized", state="attached",
                           timeout=timeout_s * 1000)


def take(page: Any) -> dict[str, Any]:
    """The probe's figures since the last take (and start a new window)."""
    return page.evaluate("globalThis.streamletProbeTake()")


#: Trace events of the renderer's main thread, summed by :func:`renderer_cpu`.
#: They nest: a layout forced by a view's code counts in "frame callbacks" too.
CPU_PARTS = {"frame callbacks": ("FireAnimationFrame",),
             "events and timers": ("EventDispatch", "TimerFire"),
             "style": ("UpdateLayoutTree",), "layout": ("Layout",),
             "pre-paint": ("PrePaint",), "paint": ("Paint",),
             "layerize": ("Layerize",), "commit": ("Commit",)}


def renderer_cpu(page: Any, seconds: float) -> dict[str, float]:
    """CPU ms per second of the page's main thread, by kind of work.

    Thread time (``tdur``) from a Chrome trace, not wall time, so it says what
    the page costs even on a machine whose other processes slow it down.
    "frame callbacks" holds the views' rendering code (and the d3 animations);
    "total" is every top-level task; "frames" is frames committed per second
    and "per frame" the total divided by them.
    """
    cdp = page.context.new_cdp_session(page)
    events: list[dict[str, Any]] = []
    done = threading.Event()
    cdp.on("Tracing.dataCollected", lambda p: events.extend(p["value"]))
    cdp.on("Tracing.tracingComplete", lambda p: done.set())
    cdp.send("Tracing.start", {
        "categories": "devtools.timeline,disabled-by-default-devtools.timeline",
        "transferMode": "ReportEvents"})
    time.sleep(seconds)
    cdp.send("Tracing.end")
    deadline = time.monotonic() + 30
    while not done.is_set() and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    cdp.detach()
    main = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "M"
            and e.get("name") == "thread_name"
            and e.get("args", {}).get("name") == "CrRendererMain"}
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    open_until: dict[str, float] = {}  # a Paint inside a Paint is counted once
    spans = sorted((e for e in events if e.get("ph") == "X"
                    and (e.get("pid"), e.get("tid")) in main), key=lambda e: e["ts"])
    for e in spans:
        name = e["name"]
        if e["ts"] < open_until.get(name, -1.0):
            continue
        open_until[name] = e["ts"] + e.get("dur", 0)
        totals[name] = totals.get(name, 0.0) + e.get("tdur", 0) / 1000
        counts[name] = counts.get(name, 0) + 1
    out = {part: sum(totals.get(n, 0.0) for n in names) / seconds
           for part, names in CPU_PARTS.items()}
    out["total"] = totals.get("RunTask", 0.0) / seconds
    out["frames"] = counts.get("Commit", 0) / seconds
    out["per frame"] = out["total"] / out["frames"] if out["frames"] else 0.0
    return out


def write_report(report: dict[str, Any], path: str | None) -> None:
    """Save a benchmark's report as JSON (when asked to), with the load at the end."""
    report.setdefault("machine_end", machine())
    if path:
        Path(path).write_text(json.dumps(report, indent=1))


def fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# --- the soak ---------------------------------------------------------------

COLUMNS = "{:>6} {:>6} {:>6} {:>5} {:>6} {:>7} {:>15} {:>15} {:>13} {:>13} {:>5}"
HEADER = COLUMNS.format("t_s", "epoch", "dom", "tree", "heapMB", "ev/s",
                        "frame p50/95/mx", "busy p50/95/mx", "lag p50/p99",
                        "scr p50/p99", "srv%")


def row(elapsed: float, epoch: int | None, s: dict[str, Any],
        server_cpu: float | None) -> str:
    fi, fw = s["frameIntervalMs"], s["frameWorkMs"]
    lag, scr = s["allLagMs"], s["screenLagMs"]
    rate = (s["events"] + s["messages"]) / s["seconds"] if s["seconds"] else 0
    return COLUMNS.format(
        round(elapsed), epoch if epoch is not None else "-", s["domElements"],
        s["treeBlocks"], fmt(s["heapMB"]), round(rate),
        f"{fmt(fi['p50'])}/{fmt(fi['p95'])}/{fmt(fi['max'], 0)}",
        f"{fmt(fw['p50'])}/{fmt(fw['p95'])}/{fmt(fw['max'], 0)}",
        f"{fmt(lag['p50'], 0)}/{fmt(lag['p99'], 0)}",
        f"{fmt(scr['p50'], 0)}/{fmt(scr['p99'], 0)}", fmt(server_cpu, 0))


def summarise(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over samples of each per-sample figure, maxima of the maxima."""
    def med(key: str, stat: str) -> float | None:
        return median([s[key][stat] for s in samples])

    def worst(key: str, stat: str) -> float | None:
        values = [s[key][stat] for s in samples if s[key][stat] is not None]
        return max(values) if values else None

    return {
        "samples": len(samples),
        "events_per_s": median([(s["events"] + s["messages"]) / s["seconds"]
                                for s in samples if s["seconds"]]),
        "frame_interval_ms": {"p50": med("frameIntervalMs", "p50"),
                              "p95": med("frameIntervalMs", "p95"),
                              "max": worst("frameIntervalMs", "max")},
        "frame_busy_ms": {"p50": med("frameWorkMs", "p50"),
                          "p95": med("frameWorkMs", "p95"),
                          "max": worst("frameWorkMs", "max")},
        "lag_ms": {"p50": med("allLagMs", "p50"), "p99": med("allLagMs", "p99"),
                   "max": worst("allLagMs", "max")},
        "event_lag_ms": {"p50": med("eventLagMs", "p50"),
                         "p99": med("eventLagMs", "p99")},
        "screen_lag_ms": {"p50": med("screenLagMs", "p50"),
                          "p99": med("screenLagMs", "p99")},
        "dom_elements": [s["domElements"] for s in samples],
        "tree_blocks": [s["treeBlocks"] for s in samples],
        "heap_mb": [s["heapMB"] for s in samples],
        "long_tasks": sum(s["longTasks"] for s in samples),
        "dropped_messages": sum(s["droppedMessages"] for s in samples),
    }


def soak(args: argparse.Namespace) -> int:
    server_args = ["--nodes", str(args.nodes), "--delta", str(args.delta),
                   "--tx-rate", str(args.tx_rate)]
    report: dict[str, Any] = {"command": " ".join(sys.argv), "machine_start": machine(),
                              "nodes": args.nodes, "delta": args.delta}
    samples: list[dict[str, Any]] = []
    failures: list[str] = []
    with DashboardServer(server_args) as server, chromium_page() as page:
        open_dashboard(page, server.url)
        server.state()
        take(page)  # the page's start-up is not part of the soak
        print(f"dashboard {server.url}: {args.nodes} nodes, Δ = {args.delta} s, "
              f"{args.minutes} min, a sample every {args.interval} s")
        print(HEADER)
        start = time.monotonic()
        cpu_before, wall_before = server.cpu_seconds(), time.monotonic()
        end = start + args.minutes * 60
        next_at = start + args.interval
        while next_at <= end + 0.5:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += args.interval
            if not server.running():
                failures.append("the server died:\n" + server.log_tail())
                break
            sample = take(page)
            cpu_now, wall_now = server.cpu_seconds(), time.monotonic()
            share = None
            if cpu_now is not None and cpu_before is not None:
                share = 100 * (cpu_now - cpu_before) / (wall_now - wall_before)
            cpu_before, wall_before = cpu_now, wall_now
            epoch = server.state().get("epoch")
            sample.update(elapsed=wall_now - start, epoch=epoch, serverCpu=share)
            samples.append(sample)
            print(row(wall_now - start, epoch, sample, share), flush=True)
    report["machine_end"] = machine()
    if not samples:
        failures.append("no sample was taken")
    else:
        steady = samples[args.warmup:] or samples
        report["summary"] = summary = summarise(steady)
        report["samples"] = samples
        tail = samples[-max(1, len(samples) // 3):]
        late_p99 = median([s["allLagMs"]["p99"] for s in tail])
        if late_p99 is not None and late_p99 > args.max_lag_s * 1000:
            failures.append(f"the page fell behind: lag p99 {late_p99:.0f} ms "
                            "in the last samples")
        doms = summary["dom_elements"]
        if doms and doms[-1] > doms[0] * (1 + args.max_dom_growth):
            failures.append(f"the DOM grew from {doms[0]} to {doms[-1]} elements")
        print_summary(summary)
    write_report(report, args.json)
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


def print_summary(summary: dict[str, Any]) -> None:
    fi, fw = summary["frame_interval_ms"], summary["frame_busy_ms"]
    lag, scr = summary["lag_ms"], summary["screen_lag_ms"]
    doms, heap = summary["dom_elements"], [h for h in summary["heap_mb"] if h]
    print(f"medians over {summary['samples']} samples: "
          f"{fmt(summary['events_per_s'], 0)} events/s; frame interval "
          f"p50 {fmt(fi['p50'])} p95 {fmt(fi['p95'])} max {fmt(fi['max'])} ms; "
          f"frame busy p50 {fmt(fw['p50'])} p95 {fmt(fw['p95'])} "
          f"max {fmt(fw['max'])} ms; lag to model p50 {fmt(lag['p50'], 0)} "
          f"p99 {fmt(lag['p99'], 0)} ms; to screen p50 {fmt(scr['p50'], 0)} "
          f"p99 {fmt(scr['p99'], 0)} ms; DOM {min(doms)}..{max(doms)} elements; "
          f"heap {fmt(min(heap) if heap else None)}..{fmt(max(heap) if heap else None)}"
          f" MB; {summary['long_tasks']} long tasks")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=10.0,
                        help="seconds between samples (default 10)")
    parser.add_argument("--nodes", type=int, default=7)
    parser.add_argument("--delta", type=float, default=0.2)
    parser.add_argument("--tx-rate", type=float, default=0.0, dest="tx_rate")
    parser.add_argument("--warmup", type=int, default=1,
                        help="samples left out of the summary (default 1)")
    parser.add_argument("--max-lag-s", type=float, default=1.0, dest="max_lag_s")
    parser.add_argument("--max-dom-growth", type=float, default=0.25,
                        dest="max_dom_growth",
                        help="allowed DOM growth after the warm-up (default 0.25)")
    parser.add_argument("--json", help="write every sample and the summary here")
    return parser


if __name__ == "__main__":
    sys.exit(soak(build_parser().parse_args()))
