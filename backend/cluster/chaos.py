"""Chaos on a real cluster: kill and restart nodes at random, then audit.

For ``duration_s`` seconds, up to f = (n − 1) / 2 randomly chosen nodes are
SIGKILLed at random moments (often in the middle of a store write, since a
busy node writes several times per epoch) and restarted later, while random
transactions keep arriving. Then every node is brought back, a quiet phase
lets the cluster finalize what is pending, and every node's store is audited:
no two votes in one epoch, no two proposals in one epoch, finalized chains
consistent, every acknowledged transaction final exactly once.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from backend.core.quorum import max_faults

from .audit import check_safety, read_store
from .supervisor import Cluster, ClusterConfig, ClusterError

#: Epochs of calm after the chaos, at least, before the audit (random
#: transactions stop half-way through them).
QUIET_EPOCHS = 12
#: Then the calm goes on until every node has caught up and every acknowledged
#: transaction is final, for at most this long: a fixed number of epochs
#: judged a busy machine's slow catch-up as a lost transaction.
SETTLE_TIMEOUT_S = 60.0
#: Tries to bring each node back at the end of the chaos.
RESTART_ATTEMPTS = 3


@dataclass
class ChaosResult:
    kills: int = 0
    restarts: int = 0
    acknowledged: int = 0
    finalized_height: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def run_chaos(config: ClusterConfig, duration_s: float, seed: int = 0,
              out: TextIO = sys.stdout) -> ChaosResult:
    """One chaos run; returns what was done and what the audit found."""
    draw = random.Random(seed)
    result = ChaosResult()
    cluster = Cluster(config)
    f = max_faults(config.nodes)
    final_txs: set[str] = set()
    cluster.subscribe(lambda event: final_txs.update(
        tx for block in event.get("blocks", ()) for tx in block.get("txs", ()))
        if event.get("type") == "finalize" else None)
    try:
        try:
            cluster.start()
        except ClusterError as exc:
            result.violations.append(f"the cluster did not start: {exc}")
            return result
        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            cluster.wait(draw.expovariate(1 / config.epoch_seconds))
            down = [h.id for h in cluster.nodes.values() if h.status == "crashed"]
            up = [h.id for h in cluster.nodes.values() if h.status == "running"]
            try:
                if down and (len(down) >= f or draw.random() < 0.5):
                    node = draw.choice(down)
                    cluster.restart(node)
                    result.restarts += 1
                    print(f"  restarted n{node}", file=out)
                elif f and up:
                    node = draw.choice(up)
                    cluster.crash(node)
                    result.kills += 1
                    print(f"  killed n{node}", file=out)
            except ClusterError as exc:
                print(f"  {exc}", file=out)
        unstarted = _restart_all(cluster, result, out)
        quiet_from = cluster.current_epoch()
        while cluster.current_epoch() < quiet_from + QUIET_EPOCHS:
            if cluster.current_epoch() >= quiet_from + QUIET_EPOCHS // 2:
                cluster.set_tx_rate(0)
            cluster.wait(0.02)
        cluster.set_tx_rate(0)
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while not _settled(cluster, final_txs) and time.monotonic() < deadline:
            cluster.wait(0.05)
        acknowledged = list(cluster.acknowledged)
    finally:
        cluster.stop()
    records = [read_store(i, h.store) for i, h in cluster.nodes.items()]
    result.acknowledged = len(acknowledged)
    result.finalized_height = min(len(r.finalized) for r in records)
    result.violations = check_safety(records, acknowledged, require_final=True)
    result.violations += [f"n{i} could not be restarted" for i in unstarted]
    lagging = [r.id for r in records
               if len(r.finalized) < max(len(x.finalized) for x in records) - 2]
    if lagging:
        result.violations.append(
            "nodes " + ", ".join(f"n{i}" for i in lagging) + " did not catch up")
    cluster.cleanup()
    return result


def _restart_all(cluster: Cluster, result: ChaosResult, out: TextIO) -> list[int]:
    """Bring every crashed node back; return those that would not start.

    A node gets RESTART_ATTEMPTS tries: on a machine busy with other work a
    Python process can take longer than the supervisor's start timeout.
    """
    unstarted = []
    for handle in cluster.nodes.values():
        for attempt in range(RESTART_ATTEMPTS):
            if handle.status != "crashed":
                break
            try:
                cluster.restart(handle.id)
                result.restarts += 1
            except ClusterError as exc:
                print(f"  restart {attempt + 1} of n{handle.id}: {exc}", file=out)
        if handle.status == "crashed":
            unstarted.append(handle.id)
    return unstarted


def _settled(cluster: Cluster, final_txs: set[str]) -> bool:
    """Every node within two blocks of the highest, every acknowledged
    transaction final somewhere (so in the longest finalized chain)."""
    heights = [h.finalized_height for h in cluster.nodes.values()]
    return (min(heights) >= max(heights) - 2
            and set(cluster.acknowledged) <= final_txs)


def main_from_args(args: Any, out: TextIO = sys.stdout) -> int:
    """``run.py --headless --chaos SECONDS``: one chaos run and its audit."""
    config = ClusterConfig(
        nodes=getattr(args, "nodes", None) or 5,
        delta=getattr(args, "delta", None) or 0.05,
        leader=getattr(args, "leader", None) or "hash",
        seed=getattr(args, "seed", None) or 0,
        tx_rate=getattr(args, "tx_rate", None) or 10.0,
        host=getattr(args, "host", "127.0.0.1"))
    try:
        config.validate()
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    duration_s = float(args.chaos)
    print(f"chaos for {duration_s:g} s on {config.nodes} nodes (f = "
          f"{max_faults(config.nodes)}), Δ = {config.delta:g} s, seed {config.seed}",
          file=out, flush=True)
    result = run_chaos(config, duration_s, seed=config.seed, out=out)
    print(f"kills {result.kills}, restarts {result.restarts}, acknowledged "
          f"transactions {result.acknowledged}, finalized height "
          f"{result.finalized_height}", file=out)
    if result.ok:
        print("audit: no double vote, no double proposal, chains consistent, "
              "every acknowledged transaction final exactly once", file=out)
        return 0
    print("AUDIT FAILED:", file=out)
    for line in result.violations:
        print(f"  {line}", file=out)
    return 1
