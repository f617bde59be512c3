"""The JSON API: happy paths, and every bad input answered with a JSON error."""

from __future__ import annotations

import json

import pytest

from tests.conftest import wait_for
from tests.web.conftest import Rig

GOOD_TX = {"sender": 1, "receiver": 2, "amount": 5}


def post(rig: Rig, path: str, body: object = None, raw: str | None = None):
    data = raw if raw is not None else json.dumps(body)
    return rig.http.post(path, data=data, content_type="application/json")


# --- state ------------------------------------------------------------------


def test_state_lists_every_node_with_its_process(rig: Rig) -> None:
    rig.cluster.epoch = 7
    state = rig.http.get("/api/state").get_json()

    assert state["config"]["nodes"] == 5
    assert state["epoch"] == 7
    assert state["leader"] == 2  # round-robin: epoch 7 of 5 nodes
    assert [n["id"] for n in state["nodes"]] == [1, 2, 3, 4, 5]
    for node in state["nodes"]:
        assert node["status"] == "running"
        assert isinstance(node["pid"], int) and isinstance(node["port"], int)
        assert node["finalized_height"] == 0 and node["restarts"] == 0
    assert state["safety"]["ok"] is True


def test_state_takes_finalized_height_from_the_observed_events(rig: Rig) -> None:
    summary = {"hash": "a" * 64, "parent": "0" * 64, "epoch": 1, "height": 1,
               "proposer": 1, "txs": []}
    rig.cluster.emit({"node": 3, "type": "finalize", "epoch": 3,
                      "blocks": [summary], "justification": [], "height": 1})
    rig.dashboard.relay_once()

    nodes = rig.http.get("/api/state").get_json()["nodes"]
    assert [n["finalized_height"] for n in nodes] == [0, 0, 1, 0, 0]


# --- crash and restart ------------------------------------------------------


def test_crash_then_restart_a_node(rig: Rig) -> None:
    reply = rig.http.post("/api/nodes/2/crash")
    assert reply.status_code == 200
    node = rig.http.get("/api/state").get_json()["nodes"][1]
    assert node["status"] == "crashed"

    reply = rig.http.post("/api/nodes/2/restart")
    assert reply.status_code == 200
    node = rig.http.get("/api/state").get_json()["nodes"][1]
    assert node["status"] == "running" and node["restarts"] == 1


def test_crashing_a_crashed_node_is_a_conflict(rig: Rig) -> None:
    rig.http.post("/api/nodes/4/crash")
    reply = rig.http.post("/api/nodes/4/crash")
    assert reply.status_code == 409
    assert "crashed" in reply.get_json()["error"]


def test_restarting_a_running_node_is_a_conflict(rig: Rig) -> None:
    reply = rig.http.post("/api/nodes/1/restart")
    assert reply.status_code == 409
    assert reply.get_json()["error"]


@pytest.mark.parametrize("path", ["/api/nodes/9/crash", "/api/nodes/0/restart",
                                  "/api/nodes/abc/crash", "/api/nodes/-1/crash"])
def test_unknown_node_is_not_found(rig: Rig, path: str) -> None:
    reply = rig.http.post(path)
    assert reply.status_code == 404
    assert reply.is_json and reply.get_json()["error"]


# --- transactions -----------------------------------------------------------


def test_submit_returns_the_transaction_id(rig: Rig) -> None:
    reply = post(rig, "/api/transactions", GOOD_TX)
    assert reply.status_code == 201
    assert reply.get_json()["id"] == "1:0"
    assert rig.cluster.submitted == [(1, 2, 5)]

    record = rig.http.get("/api/transactions/1:0").get_json()
    assert record["status"] == "pending"
    assert (record["sender"], record["receiver"], record["amount"]) == (1, 2, 5)


def test_transaction_status_follows_its_block(rig: Rig) -> None:
    tx_id = post(rig, "/api/transactions", GOOD_TX).get_json()["id"]
    block = {"hash": "b" * 64, "parent": "0" * 64, "epoch": 4, "height": 1,
             "proposer": 4, "txs": [tx_id]}

    rig.cluster.emit({"node": 4, "type": "propose", "epoch": 4, "block": block})
    rig.dashboard.relay_once()
    record = rig.http.get(f"/api/transactions/{tx_id}").get_json()
    assert (record["status"], record["block"], record["epoch"]) == (
        "proposed", "b" * 64, 4)

    rig.cluster.emit({"node": 1, "type": "notarize", "block": "b" * 64,
                      "voters": [1, 2, 3], "block_epoch": 4})
    rig.dashboard.relay_once()
    assert rig.http.get(f"/api/transactions/{tx_id}").get_json()["status"] == (
        "notarized")

    rig.cluster.emit({"node": 2, "type": "finalize", "epoch": 6, "blocks": [block],
                      "justification": [], "height": 1})
    rig.dashboard.relay_once()
    assert rig.http.get(f"/api/transactions/{tx_id}").get_json()["status"] == (
        "finalized")


def test_unknown_transaction_is_not_found(rig: Rig) -> None:
    reply = rig.http.get("/api/transactions/7:99")
    assert reply.status_code == 404
    assert "7:99" in reply.get_json()["error"]


BAD_TXS = [
    ({"receiver": 2, "amount": 5}, "missing field(s): sender"),
    ({"sender": 1, "amount": 5}, "missing field(s): receiver"),
    ({"sender": 1, "receiver": 2}, "missing field(s): amount"),
    ({}, "missing field(s): amount, receiver, sender"),
    ({**GOOD_TX, "sender": "1"}, "sender must be an integer"),
    ({**GOOD_TX, "sender": 1.5}, "sender must be an integer"),
    ({**GOOD_TX, "sender": True}, "sender must be an integer"),
    ({**GOOD_TX, "receiver": False}, "receiver must be an integer"),
    ({**GOOD_TX, "receiver": None}, "receiver must be an integer"),
    ({**GOOD_TX, "sender": -1}, "sender must be between 0 and 1000000"),
    ({**GOOD_TX, "receiver": 10**7}, "receiver must be between 0 and 1000000"),
    ({**GOOD_TX, "amount": "5"}, "amount must be a number"),
    ({**GOOD_TX, "amount": True}, "amount must be a number"),
    ({**GOOD_TX, "amount": [5]}, "amount must be a number"),
    ({**GOOD_TX, "amount": 0}, "amount must be positive"),
    ({**GOOD_TX, "amount": -3.5}, "amount must be positive"),
    ({**GOOD_TX, "amount": 1e12 + 1}, "amount must be at most 1e+12"),
    ({**GOOD_TX, "amount": 10**30}, "amount must be at most 1e+12"),
    ({"sender": 3, "receiver": 3, "amount": 5},
     "sender and receiver must be different accounts"),
    ({**GOOD_TX, "memo": "hi"}, "unknown field(s): memo"),
    ([1, 2, 5], "a transaction must be a JSON object"),
    ("send 5", "a transaction must be a JSON object"),
    (None, "a transaction must be a JSON object"),
]


@pytest.mark.parametrize(("body", "message"), BAD_TXS)
def test_bad_transaction_is_refused_with_a_reason(rig: Rig, body: object,
                                                  message: str) -> None:
    reply = post(rig, "/api/transactions", body)
    assert reply.status_code == 400
    assert reply.get_json() == {"error": message}
    assert rig.cluster.submitted == []


@pytest.mark.parametrize("raw", ["{sender: 1}", "", "amount=5", "NaN",
                                 '{"sender": 1, "receiver": 2, "amount": NaN}',
                                 '{"sender": 1, "receiver": 2, "amount": Infinity}'])
def test_non_json_or_non_finite_body_is_refused(rig: Rig, raw: str) -> None:
    reply = post(rig, "/api/transactions", raw=raw)
    assert reply.status_code == 400
    assert reply.get_json()["error"]
    assert rig.cluster.submitted == []


def test_huge_body_is_refused_unread(rig: Rig) -> None:
    reply = post(rig, "/api/transactions", raw='{"x": "' + "a" * 100_000 + '"}')
    assert reply.status_code == 413
    assert reply.get_json() == {"error": "request entity too large"}


def test_submit_with_every_node_down_says_why(rig: Rig) -> None:
    for i in range(1, 6):
        rig.http.post(f"/api/nodes/{i}/crash")
    reply = post(rig, "/api/transactions", GOOD_TX)
    assert reply.status_code == 503
    assert reply.get_json() == {"error": "no live node accepted the transaction"}


# --- cluster settings and random transactions --------------------------------


def test_cluster_restarts_with_new_settings(rig: Rig) -> None:
    first = rig.cluster
    reply = post(rig, "/api/cluster", {"nodes": 7, "delta": 0.2, "leader": "hash"})

    assert reply.status_code == 200
    state = reply.get_json()
    assert state["config"]["nodes"] == 7 and state["config"]["leader"] == "hash"
    assert len(state["nodes"]) == 7
    assert first.stopped and rig.cluster is not first and rig.cluster.started
    assert rig.dashboard.observer.n == 7


def test_cluster_settings_keep_what_is_not_given(rig: Rig) -> None:
    post(rig, "/api/cluster", {"echo": False})
    config = rig.http.get("/api/state").get_json()["config"]
    assert (config["nodes"], config["delta"], config["echo"]) == (5, 0.5, False)


BAD_CLUSTERS = [
    ({"nodes": 2}, "nodes must be between 3 and 15"),
    ({"nodes": 16}, "nodes must be between 3 and 15"),
    ({"nodes": 5.0}, "nodes must be an integer"),
    ({"nodes": True}, "nodes must be an integer"),
    ({"delta": 0}, "delta must be between 0.05 and 10"),
    ({"delta": "1"}, "delta must be a number"),
    ({"delta": 11}, "delta must be between 0.05 and 10"),
    ({"leader": "random"}, "leader must be one of round-robin, hash"),
    ({"leader": 1}, "leader must be one of round-robin, hash"),
    ({"echo": "yes"}, "echo must be true or false"),
    ({"seed": -1}, "seed must be between 0 and 4294967295"),
    ({"tx_rate": -1}, "tx_rate must be between 0 and 50"),
    ({"nodes": 5, "colour": "red"}, "unknown field(s): colour"),
    ({}, "give at least one of nodes, delta, leader, echo, seed, tx_rate"),
    ([5], "cluster settings must be a JSON object"),
]


@pytest.mark.parametrize(("body", "message"), BAD_CLUSTERS)
def test_bad_cluster_settings_are_refused(rig: Rig, body: object,
                                          message: str) -> None:
    first = rig.cluster
    reply = post(rig, "/api/cluster", body)
    assert reply.status_code == 400
    assert reply.get_json() == {"error": message}
    assert rig.cluster is first and not first.stopped


def test_tx_rate_is_set_on_the_cluster(rig: Rig) -> None:
    reply = post(rig, "/api/tx-rate", {"rate": 2.5})
    assert reply.status_code == 200 and reply.get_json() == {"rate": 2.5}
    assert rig.cluster.tx_rate == 2.5


@pytest.mark.parametrize(("body", "message"), [
    ({}, "missing field(s): rate"),
    ({"rate": -1}, "rate must be between 0 and 50"),
    ({"rate": 51}, "rate must be between 0 and 50"),
    ({"rate": "fast"}, "rate must be a number"),
    ({"rate": 1, "burst": 3}, "unknown field(s): burst"),
])
def test_bad_tx_rate_is_refused(rig: Rig, body: object, message: str) -> None:
    reply = post(rig, "/api/tx-rate", body)
    assert reply.status_code == 400
    assert reply.get_json() == {"error": message}


# --- blocks -------------------------------------------------------------------


def test_block_explains_why_it_is_not_final(rig: Rig) -> None:
    block = {"hash": "c" * 64, "parent": "0" * 64, "epoch": 1, "height": 1,
             "proposer": 1, "txs": []}
    rig.cluster.emit({"node": 1, "type": "propose", "epoch": 1, "block": block})
    rig.cluster.emit({"node": 2, "type": "vote", "epoch": 1, "block": "c" * 64,
                      "height": 1, "parent": "0" * 64})
    rig.dashboard.relay_once()

    info = rig.http.get("/api/blocks/" + "c" * 64).get_json()
    assert info["voters"] == [2] and info["proposer"] == 1
    assert info["why"] == "b1 is not notarized yet: 1 of the 3 votes needed so far"
    assert rig.http.get("/api/blocks/" + "d" * 64).status_code == 404


# --- errors are JSON, never tracebacks ---------------------------------------


def test_unknown_route_and_wrong_method_answer_json(rig: Rig) -> None:
    missing = rig.http.get("/api/nothing")
    assert missing.status_code == 404 and missing.get_json() == {"error": "not found"}
    wrong = rig.http.get("/api/transactions")
    assert wrong.status_code == 405
    assert wrong.get_json() == {"error": "method not allowed"}


class BrokenCluster:
    """A cluster whose crash fails in a way nobody planned for."""

    def __init__(self, settings: dict) -> None:
        from tests.web.fakes import FakeCluster

        self.inner = FakeCluster(settings)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def crash(self, node_id: int) -> None:
        raise RuntimeError("secret internal detail /etc/passwd")


def test_unexpected_failure_hides_the_traceback(make_rig) -> None:
    rig = make_rig(factory=BrokenCluster)
    reply = rig.http.post("/api/nodes/1/crash")
    assert reply.status_code == 500
    assert reply.get_json() == {"error": "internal server error"}
    assert b"secret" not in reply.data and b"Traceback" not in reply.data


def test_page_and_modules_are_served(rig: Rig) -> None:
    page = rig.http.get("/")
    assert page.status_code == 200 and b'id="tx-form"' in page.data
    module = rig.http.get("/js/model.js")
    assert module.status_code == 200
    assert module.mimetype == "text/javascript"
    assert rig.http.get("/static/vendor/d3.min.js").status_code == 200
    assert rig.http.get("/static/vendor/socket.io.min.js").status_code == 200
    assert rig.http.get("/js/../backend/web/app.py").status_code == 404


# --- the epoch clock, Δ and scenarios ----------------------------------------


def test_pause_step_resume(rig: Rig) -> None:
    rig.cluster.epoch = 4
    assert post(rig, "/api/clock", {"action": "pause"}).get_json() == {
        "epoch": 4, "paused": True}
    assert post(rig, "/api/clock", {"action": "step"}).get_json()["epoch"] == 5
    reply = post(rig, "/api/clock", {"action": "pause"})
    assert reply.status_code == 409
    assert reply.get_json() == {"error": "the cluster is already paused"}
    assert post(rig, "/api/clock", {"action": "resume"}).get_json()["paused"] is False
    assert post(rig, "/api/clock", {"action": "step"}).status_code == 409


@pytest.mark.parametrize(("path", "body", "message"), [
    ("/api/clock", {"action": "rewind"}, "action must be one of pause, step, resume"),
    ("/api/clock", {}, "missing field(s): action"),
    ("/api/delta", {"delta": 0.01}, "delta must be between 0.05 and 10"),
    ("/api/delta", {"delta": "slow"}, "delta must be a number"),
    ("/api/delta", {"delta": 1, "now": True}, "unknown field(s): now"),
])
def test_bad_clock_controls_are_refused(rig: Rig, path: str, body: object,
                                        message: str) -> None:
    reply = post(rig, path, body)
    assert reply.status_code == 400 and reply.get_json() == {"error": message}


def test_delta_changes_for_the_coming_epochs(rig: Rig) -> None:
    assert post(rig, "/api/delta", {"delta": 0.25}).get_json() == {"delta": 0.25}
    assert rig.cluster.settings["delta"] == 0.25
    assert rig.dashboard.settings["delta"] == 0.25


def test_scenarios_are_listed_from_the_scenario_folder(rig: Rig) -> None:
    listed = {s["id"]: s for s in rig.http.get("/api/scenarios").get_json()}
    assert "crash-and-recover" in listed and "confusion" in listed
    assert listed["crash-and-recover"]["name"] and listed["crash-and-recover"]["steps"]


@pytest.mark.parametrize("scenario_id", ["nope", "..%2Fpyproject", "UPPER", "a" * 80])
def test_unknown_scenario_is_not_found(rig: Rig, scenario_id: str) -> None:
    reply = rig.http.post(f"/api/scenarios/{scenario_id}")
    assert reply.status_code == 404 and reply.is_json


def test_playing_a_scenario_restarts_the_cluster_and_runs_its_steps(make_rig) -> None:
    rig = make_rig(batch_interval_s=0.01)
    first = rig.cluster
    state = rig.http.post("/api/scenarios/confusion").get_json()
    assert first.stopped and rig.cluster is not first
    assert state["config"]["confusion_duration"] == 4
    assert rig.dashboard.player is not None

    state = rig.http.post("/api/scenarios/crash-and-recover").get_json()
    assert state["config"]["confusion_duration"] == 0  # not carried over
    rig.cluster.epoch = 5  # the file crashes node 2 at epoch 5
    wait_for(lambda: rig.cluster.nodes[2]["status"] == "crashed", 10,
             "the scenario to crash node 2")

    post(rig, "/api/cluster", {"nodes": 5})
    assert rig.dashboard.player is None  # a new cluster ends the scenario


def test_posts_from_another_site_are_refused(rig: Rig) -> None:
    reply = rig.http.post("/api/nodes/1/crash",
                          headers={"Origin": "http://evil.example"})
    assert reply.status_code == 403
    assert reply.get_json() == {"error": "requests from other sites are refused"}
    assert rig.cluster.nodes[1]["status"] == "running"

    same = rig.http.post("/api/nodes/1/crash", headers={"Origin": "http://localhost"})
    assert same.status_code == 200
