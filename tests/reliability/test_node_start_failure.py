"""A node that cannot start is reported, not hung on (the campaign's lifecycle).

Its store cannot be opened: at the cluster's start, or at a restart after its
file was damaged. The supervisor must raise ClusterError naming the node and
quoting the last line of its log, reap every process it started, and (at a
restart) leave the rest of the cluster running.
"""

from __future__ import annotations

import pytest

from backend.cluster import Cluster, ClusterConfig, ClusterError
from tests.conftest import wait_for


def _pid_gone(proc) -> bool:
    return proc is None or proc.poll() is not None


def test_unopenable_store_at_start_raises_with_the_log_tail(tmp_path):
    cluster = Cluster(ClusterConfig(nodes=3, delta=0.05, data_dir=str(tmp_path)))
    # A directory where the SQLite file should be: sqlite3 cannot open it.
    (tmp_path / "node-2.sqlite").mkdir()
    try:
        with pytest.raises(ClusterError) as caught:
            cluster.start()
        message = str(caught.value)
        assert "node 2" in message
        assert "unable to open database" in message
        assert caught.value.status == 500
        # Every process it started is gone, the healthy ones included.
        assert all(_pid_gone(h.proc) for h in cluster.nodes.values())
    finally:
        cluster.stop()


def test_damaged_store_at_restart_raises_and_the_others_go_on(make_cluster):
    # Hash leaders: with round-robin and one of three down, no three consecutive
    # epochs ever have a live leader, so nothing would be final (case 7).
    cluster = make_cluster(nodes=3, leader="hash")
    wait_for(lambda: cluster.nodes[1].finalized_height >= 2, what="first blocks")
    cluster.crash(3)
    store = cluster.nodes[3].store
    for suffix in ("-wal", "-shm"):
        store.with_name(store.name + suffix).unlink(missing_ok=True)
    store.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(ClusterError) as caught:
        cluster.restart(3)
    assert "node 3" in str(caught.value)
    assert "not a database" in str(caught.value)
    handle = cluster.nodes[3]
    assert handle.status == "crashed"
    assert _pid_gone(handle.proc)
    # Two of three still form a quorum and keep finalizing.
    height = cluster.nodes[1].finalized_height
    wait_for(lambda: cluster.nodes[1].finalized_height >= height + 3,
             what="n1 to keep finalizing")
