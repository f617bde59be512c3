"""Chaos on real processes: random kills and restarts, then the store audit."""

from __future__ import annotations

import io

from backend.cluster import ClusterConfig
from backend.cluster.chaos import run_chaos


def test_random_kills_and_restarts_break_no_promise(tmp_path):
    config = ClusterConfig(nodes=5, delta=0.05, leader="hash", tx_rate=20,
                           seed=3, data_dir=str(tmp_path))
    out = io.StringIO()
    result = run_chaos(config, duration_s=5, seed=3, out=out)
    assert result.kills >= 3, out.getvalue()
    assert result.acknowledged > 5
    assert result.violations == [], out.getvalue()
    assert result.finalized_height > 10
