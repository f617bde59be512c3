"""The dashboard's first cluster, started before the web stack is imported.

The first block can be final no sooner than 2Δ after genesis (three
consecutive epochs: b1 is final once b2 is notarized, and b2 is proposed when
epoch 2 begins), so the time from ``python run.py`` to a finalized block on
the page is what comes before genesis plus 2Δ. Flask, Flask-SocketIO and
networkx take most of a second of CPU to import, about as long as the node
processes take to start. So the server starts its first cluster as soon as
eventlet has patched the standard library, and imports the rest while the
nodes run their first epochs; their events wait in the cluster's queue until
the dashboard subscribes (``Cluster.start(hold_events=True)``).

Nothing here may import Flask, Socket.IO or the observer (networkx).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.cluster import Cluster, ClusterConfig

from .runs import RunStore

#: The settings a cluster is built from, as ClusterConfig takes them.
DEFAULT_SETTINGS: dict[str, Any] = {
    "nodes": 5, "delta": 1.0, "leader": "round-robin", "echo": True, "seed": 0,
    "tx_rate": 0.0, "trace_messages": True, "data_dir": None,
    # Echo traces sampled at the nodes, 1 in k with k from n and Δ: at n = 15
    # and Δ = 0.05 s they would be over 90 % of a stream the server cannot
    # take in, and the page hides echoes unless asked (docs/PERFORMANCE.md).
    "echo_trace_every": 0,
    # The page is never sent the per-vote tallies (the votes themselves come
    # with "vote"): at n = 7 and Δ = 0.05 s they were a sixth of the stream.
    "tallies": False,
    "confusion_start": 0, "confusion_duration": 0,
}


@dataclass
class Launched:
    """A started cluster, its run folder and the store of runs it belongs to."""

    runs: RunStore
    run_dir: Path
    cluster: Cluster

    def abandon(self) -> None:
        """Stop the nodes and remove the folders (the dashboard never took it)."""
        self.cluster.stop()
        self.runs.cleanup()


def launch_cluster(settings: dict[str, Any]) -> Launched:
    """Start the cluster of ``settings`` (over the defaults) in a new run folder.

    Raises ClusterError (the nodes are then stopped, the folder removed).
    """
    settings = {**DEFAULT_SETTINGS, **settings}
    runs = RunStore(settings.get("data_dir"))
    try:
        run_dir = runs.new_run()
        cluster = Cluster(ClusterConfig(**{**settings, "data_dir": str(run_dir)}))
    except BaseException:
        runs.cleanup()
        raise
    launched = Launched(runs, run_dir, cluster)
    try:
        cluster.start(hold_events=True)
    except BaseException:
        launched.abandon()
        raise
    return launched
