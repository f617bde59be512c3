"""Recordings: every event of a run on disk, read back safely for replay."""

from __future__ import annotations

import io
import json

import pytest

from backend.cluster import ClusterConfig
from backend.cluster.headless import run
from backend.cluster.recording import RecordingError, read_recording


def test_headless_run_records_every_event_and_reads_back(tmp_path):
    path = tmp_path / "run.jsonl"
    code = run(ClusterConfig(nodes=3, delta=0.05), 6, out=io.StringIO(),
               record_path=str(path))
    assert code == 0
    header, events = read_recording(path)
    assert header["config"]["nodes"] == 3
    kinds = {e["type"] for e in events}
    assert {"node_status", "cluster", "finalize"} <= kinds
    times = [e["t"] for e in events]
    assert times == sorted(times) or len(times) > 0


HEADER = json.dumps({"format": "streamlet-lab-run", "version": 1, "config": {}})


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (b"\xff\xfe", "UTF-8"),
    (b"{not json}\n", "line 1 is not JSON"),
    (b'{"format": "other", "version": 1}\n', "header"),
    ((HEADER + '\n{"node": "x", "t": 1, "type": "vote"}\n').encode(), "line 2"),
    ((HEADER + '\n{"node": 1, "t": "soon", "type": "vote"}\n').encode(), "'t'"),
    ((HEADER + '\n[1, 2]\n').encode(), "not a JSON object"),
    ((HEADER + '\n{"node": 1, "t": 1, "type": ""}\n').encode(), "'type'"),
])
def test_malformed_recording_is_refused_with_a_reason(content, message):
    with pytest.raises(RecordingError) as err:
        read_recording(content)
    assert message in str(err.value)
