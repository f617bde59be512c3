"""The headless runner: a real cluster, a scenario, a report and a verdict.

Exit codes: 0 when the finalized chains are consistent (and a scenario's
expectations are met), 1 on a safety violation, 2 on bad usage, 3 when the
chains are consistent but a scenario's expectation was not met.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from .audit import check_safety, epoch_ranges, metrics, node_report, read_store
from .expect import evaluate
from .recording import Recorder
from .scenario import Scenario, ScenarioError, apply_step
from .supervisor import Cluster, ClusterConfig, ClusterError

EXIT_OK = 0
EXIT_UNSAFE = 1
EXIT_USAGE = 2
#: Consistent, but an expectation of the scenario was not met.
EXIT_UNEXPECTED = 3
#: Random transactions stop this many epochs before the end of a run.
DRAIN_EPOCHS = 4


class _Progress:
    """Counts what the cluster reports, for the progress lines."""

    def __init__(self) -> None:
        self.violations: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        with self.lock:
            if kind == "safety_violation":
                self.violations.append(f"n{event['node']}: {event.get('detail')}")


def run(config: ClusterConfig, epochs: int, scenario: Scenario | None = None,
        report_path: str | None = None, out: TextIO = sys.stdout,
        record_path: str | None = None) -> int:
    """Run ``epochs`` epochs of a real cluster and return the exit code."""
    steps_done = 0
    cluster = Cluster(config)
    progress = _Progress()
    cluster.subscribe(progress)
    recorder = None
    if record_path:
        recorder = Recorder(record_path, {**config.public(), "epochs": epochs})
        cluster.subscribe(recorder)
    started = time.time()
    print(f"starting {config.nodes} nodes, Δ = {config.delta:g} s, "
          f"{config.leader} leaders, {epochs} epochs, seed {config.seed}", file=out)
    try:
        cluster.start()
        print("pids: " + " ".join(f"n{h.id}={h.pid}" for h in cluster.nodes.values()),
              file=out, flush=True)
        last_epoch = 0
        while True:
            epoch = cluster.current_epoch()
            if epoch > epochs:
                break
            if epoch > epochs - DRAIN_EPOCHS and cluster.tx_rate > 0:
                # Stop new random transactions so every acknowledged one can be
                # final by the end (a block is final about two epochs after it
                # is proposed).
                cluster.set_tx_rate(0)
                print(f"  epoch {epoch}: random transactions stopped", file=out)
            if scenario is not None:
                # A step keyed by epoch E is applied in the last quarter of
                # epoch E - 1, so that it is in force when E begins even if
                # this loop wakes a little late on a busy machine.
                left = cluster.time_left()
                soon = epoch + 1 if left is not None and \
                    left < cluster.epoch_seconds / 4 else epoch
                for step in scenario.due(soon, steps_done):
                    steps_done += 1
                    try:
                        line = apply_step(cluster, step)
                    except ClusterError as exc:
                        line = f"step {step['action']} failed: {exc}"
                    print(f"  epoch {epoch}: {line}", file=out)
            if epoch != last_epoch and epoch > 0:
                last_epoch = epoch
                print(_progress_line(cluster, epoch), file=out, flush=True)
            cluster.wait(0.01)
        statuses = {h.id: (h.status, h.restarts) for h in cluster.nodes.values()}
        acknowledged = list(cluster.acknowledged)
    except ClusterError as exc:
        print(f"error: {exc}", file=out)
        cluster.cleanup()
        return EXIT_USAGE
    finally:
        cluster.stop()
        if recorder is not None:
            cluster.wait_relayed()
            recorder.close()
    records = [read_store(i, h.store) for i, h in cluster.nodes.items()]
    violations = check_safety(records) + progress.violations
    running = {i for i, (status, _) in statuses.items() if status == "running"}
    expectations = evaluate(scenario.expect, records, running) if scenario else []
    report = {
        "config": {**config.public(), "epochs": epochs},
        "scenario": scenario.name if scenario else None,
        "nodes": [node_report(r, *statuses[r.id]) for r in records],
        "transactions": _transactions(records, acknowledged),
        "safety": {"consistent": not violations, "violations": violations},
        "expectations": expectations,
        "metrics": {**metrics(records, epochs),
                    "duration_s": round(time.time() - started, 3),
                    "messages_sent": {str(h.id): h.stats.get("sent", 0)
                                      for h in cluster.nodes.values()}},
    }
    _summary(records, statuses, report, out)
    if report_path:
        Path(report_path).write_text(json.dumps(report, indent=1))
        print(f"report written to {report_path}", file=out)
    cluster.cleanup()
    if violations:
        return EXIT_UNSAFE
    return EXIT_OK if all(e["met"] for e in expectations) else EXIT_UNEXPECTED


def _transactions(records: list[Any], acknowledged: list[str]) -> dict[str, Any]:
    """Where each acknowledged transaction ended up, on the longest final chain."""
    longest = max(records, key=lambda r: len(r.finalized))
    final = [t for b in longest.finalized for t in b.tx_ids]
    counted = Counter(final)
    return {
        "acknowledged": acknowledged,
        "finalized": len(final),
        "not_final": sorted(set(acknowledged) - set(final)),
        "duplicated": sorted(t for t, c in counted.items() if c > 1),
    }


def _progress_line(cluster: Cluster, epoch: int) -> str:
    leader = cluster.leader(epoch)
    heights = " ".join(
        f"n{h.id}={'x' if h.status != 'running' else h.finalized_height}"
        for h in cluster.nodes.values())
    return f"epoch {epoch:>4} leader n{leader:<2} finalized {heights}"


def _summary(records: list[Any], statuses: dict[int, tuple[str, int]],
             report: dict[str, Any], out: TextIO) -> None:
    print("finalized chains:", file=out)
    for r in records:
        status, restarts = statuses[r.id]
        extra = f", {status}" if status != "running" else ""
        extra += f", {restarts} restart(s)" if restarts else ""
        print(f"  n{r.id} ({len(r.finalized)} blocks{extra}): "
              f"{epoch_ranges(r.finalized)}", file=out)
    for item in report["expectations"]:
        mark = "met" if item["met"] else "NOT MET"
        print(f"expectation {item['check']}: {mark}: {item['detail']}", file=out)
    safety = report["safety"]
    if safety["consistent"]:
        print("consistent: every finalized chain is a prefix of the others", file=out)
    else:
        print("SAFETY VIOLATION:", file=out)
        for line in safety["violations"]:
            print(f"  {line}", file=out)


def main_from_args(args: Any, out: TextIO = sys.stdout) -> int:
    """Build the run from parsed command-line arguments (see run.py)."""
    from .scenario import load

    scenario = None
    file_config: dict[str, Any] = {}
    if args.scenario:
        try:
            scenario = load(args.scenario)
        except ScenarioError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        file_config = scenario.config

    def pick(name: str, default: Any) -> Any:
        value = getattr(args, name, None)
        return value if value is not None else file_config.get(name, default)

    config = ClusterConfig(
        nodes=pick("nodes", 5), delta=pick("delta", 0.1),
        leader=pick("leader", "round-robin"), seed=pick("seed", 0),
        tx_rate=pick("tx_rate", 0.0), echo=pick("echo", True), host=args.host,
        confusion_start=file_config.get("confusion_start", 0),
        confusion_duration=file_config.get("confusion_duration", 0),
        quiet=True)
    epochs = pick("epochs", 20)
    try:
        config.validate()
        if not 1 <= epochs <= 100_000:
            raise ClusterError("epochs must be between 1 and 100000")
        if scenario is not None:
            for step in scenario.steps:
                named = [step[k] for k in ("node", "from", "to") if k in step]
                named += [i for g in step.get("groups", ()) for i in g]
                for node in named:
                    if node > config.nodes:
                        raise ClusterError(f"scenario step at epoch {step['epoch']} "
                                           f"names node {node}, but there are "
                                           f"only {config.nodes} nodes")
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return run(config, epochs, scenario, args.report, out,
               getattr(args, "record", None))
