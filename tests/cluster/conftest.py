"""Fixtures for tests that run real node processes."""

from __future__ import annotations

import pytest

from backend.cluster import Cluster, ClusterConfig


@pytest.fixture
def make_cluster(tmp_path):
    made: list[Cluster] = []

    def make(**kwargs) -> Cluster:
        kwargs.setdefault("delta", 0.05)
        cluster = Cluster(ClusterConfig(data_dir=str(tmp_path / f"c{len(made)}"),
                                        **kwargs))
        made.append(cluster)
        cluster.start()
        return cluster

    yield make
    for cluster in made:
        cluster.stop()
        for handle in cluster.nodes.values():
            assert handle.proc is None or handle.proc.poll() is not None
