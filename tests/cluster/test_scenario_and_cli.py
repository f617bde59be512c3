"""Scenario files and the command line: bad input gets a clear message, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from backend.cluster.scenario import ScenarioError, load, parse

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.json")),
                         ids=lambda p: p.name)
def test_every_shipped_scenario_parses(path):
    scenario = load(path)
    assert scenario.name and scenario.description


@pytest.mark.parametrize(("steps", "message"), [
    ([{"epoch": 5, "action": "crash"}], "step 1 (crash): field 'node' is missing"),
    ([{"epoch": 5, "action": "crash", "node": "2"}], "step 1 (crash): field 'node'"),
    ([{"epoch": 1, "action": "heal"}, {"epoch": 0, "action": "heal"}],
     "step 2 (heal): field 'epoch'"),
    ([{"epoch": 3, "action": "explode"}], "step 1: field 'action' must be one of"),
    ([{"epoch": 3, "action": "loss", "from": 1, "to": 2, "rate": 2}],
     "step 1 (loss): field 'rate'"),
    ([{"epoch": 3, "action": "delay", "from": 1, "to": 1, "ms": 5}],
     "fields 'from' and 'to' must differ"),
    ([{"epoch": 3, "action": "partition", "groups": [[1, 2], [2, 3]]}],
     "step 1 (partition): field 'groups'"),
    ([{"epoch": 3, "action": "transaction", "sender": 1, "receiver": 1,
       "amount": 5}], "'sender' and 'receiver' must differ"),
    ([{"epoch": 3, "action": "transaction", "sender": 1, "receiver": 2,
       "amount": -1}], "field 'amount'"),
    ([{"epoch": 3, "action": "crash", "node": 1, "when": "now"}],
     "step 1 (crash): unknown field 'when'"),
    ([{"epoch": True, "action": "heal"}], "field 'epoch'"),
])
def test_malformed_step_is_refused_naming_step_and_field(steps, message):
    with pytest.raises(ScenarioError) as err:
        parse({"name": "bad", "config": {"nodes": 5}, "steps": steps})
    assert message in str(err.value)


@pytest.mark.parametrize(("config", "message"), [
    ({"nodes": 0}, "'nodes'"), ({"delta": "fast"}, "'delta'"),
    ({"leader": "random"}, "'leader'"), ({"colour": 1}, "unknown field 'colour'"),
    ({"epochs": True}, "'epochs'"),
])
def test_malformed_config_is_refused_naming_the_field(config, message):
    with pytest.raises(ScenarioError) as err:
        parse({"name": "bad", "config": config})
    assert message in str(err.value)


def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "run.py", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("args", [
    ["--headless", "--nodes", "0"],
    ["--headless", "--nodes", "five"],
    ["--headless", "--delta", "-1"],
    ["--headless", "--leader", "random"],
    ["--headless", "--epochs", "0"],
    ["--headless", "--scenario", "no/such/file.json"],
])
def test_bad_usage_exits_2_with_a_message(args):
    result = _run(*args)
    assert result.returncode == 2
    assert "error" in result.stderr.lower()


def test_scenario_naming_a_node_beyond_the_cluster_is_bad_usage(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"name": "s", "steps": [
        {"epoch": 2, "action": "crash", "node": 7}]}))
    result = _run("--headless", "--scenario", str(path), "--nodes", "5")
    assert result.returncode == 2
    assert "node 7" in result.stderr


def test_headless_run_prints_chains_and_verdict_and_exits_0(tmp_path):
    report = tmp_path / "r.json"
    result = _run("--headless", "--nodes", "3", "--epochs", "6", "--delta", "0.05",
                  "--report", str(report))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "consistent" in result.stdout
    assert "n3 (" in result.stdout
    data = json.loads(report.read_text())
    assert data["safety"] == {"consistent": True, "violations": []}
    block = data["nodes"][0]["finalized"][0]
    assert set(block) == {"hash", "parent", "epoch", "height", "proposer", "txs",
                          "finalized_epoch"}
