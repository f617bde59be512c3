"""Teaching tools over the API: faults, runs on disk, replays, scenarios, presenter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend.cluster.recording import read_recording
from backend.cluster.scenario import parse
from backend.web.security import Limit, RateLimiter
from tests.web.conftest import Rig
from tests.web.fakes import RecordingNetwork

TOKEN = "teacher-token-1"


def post(rig: Rig, path: str, body: object = None, token: str | None = None,
         **headers: str):
    if token is not None:
        headers["X-Presenter-Token"] = token
    return rig.http.post(path, data=json.dumps(body),
                         content_type="application/json", headers=headers)


def received(client: Any, name: str) -> list[Any]:
    return [m["args"][0] for m in client.get_received() if m["name"] == name]


def run_protocol(rig: Rig, epochs: int = 6) -> RecordingNetwork:
    """Real core events for epochs 1..``epochs``, relayed to the pages."""
    net = RecordingNetwork(5, order="fifo")
    for epoch in range(1, epochs + 1):
        rig.cluster.emit_all(net.run_epochs(epoch, epoch))
        rig.dashboard.relay_once()
    return net


# --- network faults -----------------------------------------------------------


def test_delay_on_one_link_then_loss_both_ways(rig: Rig) -> None:
    reply = post(rig, "/api/link", {"from": 1, "to": 2, "delay_ms": 300})
    assert reply.status_code == 200
    assert reply.get_json()["links"] == [{"from": 1, "to": 2}]
    assert rig.cluster.links == {(1, 2): {"delay_ms": 300.0}}

    post(rig, "/api/link", {"from": 3, "to": 4, "loss": 0.5, "both": True})
    assert rig.cluster.links[(3, 4)] == {"loss": 0.5}
    assert rig.cluster.links[(4, 3)] == {"loss": 0.5}
    snap = rig.http.get("/api/snapshot").get_json()
    assert {(link["from"], link["to"]) for link in snap["faults"]["links"]} == {
        (1, 2), (3, 4), (4, 3)}


def test_partition_heal_and_asynchrony_over_socketio(rig: Rig) -> None:
    page = rig.socket()
    ack = page.emit("partition", {"groups": [[1, 2], [3, 4, 5]]}, callback=True)
    assert ack == {"ok": True, "groups": [[1, 2], [3, 4, 5]]}
    assert rig.cluster.groups == [[1, 2], [3, 4, 5]]

    assert page.emit("asynchrony", {"on": True}, callback=True)["ok"]
    assert rig.cluster.asynchrony is True
    rig.dashboard.relay_once()
    faults = [e for b in received(page, "batch") for e in b["events"]
              if e["type"] == "faults"]
    assert faults[-1]["groups"] == [[1, 2], [3, 4, 5]] and faults[-1]["asynchrony"]

    assert page.emit("heal", {}, callback=True) == {"ok": True, "healed": True}
    assert rig.cluster.groups == [] and rig.cluster.asynchrony is False


@pytest.mark.parametrize(("body", "message"), [
    ({"from": 1, "to": 1, "delay_ms": 5}, "a link joins two different nodes"),
    ({"from": 1, "to": 2}, "give delay_ms, loss or both"),
    ({"from": 1, "to": 2, "loss": 1.5}, "loss must be between 0 and 1"),
    ({"from": 1, "to": 2, "delay_ms": -1}, "delay_ms must be between 0 and 60000"),
    ({"from": 1, "to": 2, "loss": 0, "both": "yes"}, "both must be true or false"),
])
def test_bad_links_are_refused(rig: Rig, body: object, message: str) -> None:
    reply = post(rig, "/api/link", body)
    assert reply.status_code == 400 and reply.get_json() == {"error": message}


def test_partition_naming_an_unknown_node_is_not_found(rig: Rig) -> None:
    reply = post(rig, "/api/partition", {"groups": [[1, 2], [9]]})
    assert reply.status_code == 404 and reply.get_json() == {"error": "no node 9"}
    reply = post(rig, "/api/partition", {"groups": [[1, 2], [2, 3]]})
    assert reply.get_json() == {"error": "node 2 is in two groups"}


# --- the session saved as a scenario ------------------------------------------


def test_session_is_saved_as_a_scenario_file_that_loads(rig: Rig) -> None:
    rig.cluster.epoch = 3
    post(rig, "/api/partition", {"groups": [[1, 2], [3, 4, 5]]})
    rig.cluster.epoch = 8
    post(rig, "/api/heal", {})

    reply = rig.http.get("/api/scenario/export?name=My lesson: partitions!"
                         "&description=Two groups, then heal.")
    assert reply.status_code == 200
    assert reply.headers["Content-Disposition"] == (
        'attachment; filename="my-lesson-partitions.json"')
    scenario = parse(json.loads(reply.data), "saved")
    assert scenario.name == "My lesson: partitions!"
    assert scenario.description == "Two groups, then heal."
    assert [(s["epoch"], s["action"]) for s in scenario.steps] == [
        (3, "partition"), (8, "heal")]
    assert scenario.config["nodes"] == 5


def test_the_real_clusters_session_is_a_valid_scenario(tmp_path: Path) -> None:
    # The export route hands over Cluster.scenario() as it is: that must load.
    from backend.cluster import Cluster, ClusterConfig

    cluster = Cluster(ClusterConfig(nodes=4, data_dir=str(tmp_path)))
    try:
        cluster.set_link(1, 2, delay_ms=250)
        cluster.partition([[1, 2], [3, 4]])
        cluster.set_asynchrony(True)
        cluster.heal()
        scenario = parse(cluster.scenario("session", "saved"), "session")
    finally:
        cluster.stop()
    assert [s["action"] for s in scenario.steps] == [
        "delay", "partition", "asynchrony", "heal"]


# --- every run on disk, exported, replayed ------------------------------------


def test_each_run_is_recorded_in_a_folder_of_its_own(make_rig, tmp_path: Path) -> None:
    rig = make_rig({"data_dir": str(tmp_path)})
    first_dir = Path(rig.cluster.settings["data_dir"])
    assert first_dir.parent == tmp_path and first_dir.name.startswith("run-")
    run_protocol(rig, 2)

    post(rig, "/api/cluster", {"nodes": 4})
    second_dir = Path(rig.cluster.settings["data_dir"])
    assert second_dir != first_dir and second_dir.parent == tmp_path
    header, events = read_recording(first_dir / "events.jsonl")
    assert header["config"]["nodes"] == 5 and "data_dir" not in header["config"]
    assert {"epoch", "propose", "vote", "finalize"} <= {e["type"] for e in events}


def test_export_downloads_the_run_so_far(rig: Rig) -> None:
    run_protocol(rig, 4)
    reply = rig.http.get("/api/run/export")
    assert reply.status_code == 200
    assert reply.mimetype == "application/x-ndjson"
    assert reply.headers["Content-Disposition"].startswith(
        'attachment; filename="streamlet-run-')
    header, events = read_recording(reply.data)
    assert header["config"]["nodes"] == 5
    assert sum(e["type"] == "finalize" for e in events) > 0


def final_tree(snapshot: dict[str, Any]) -> dict[str, tuple]:
    return {b["hash"]: (b["epoch"], b["parent"], tuple(b["notarized_by"]),
                        tuple(b["finalized_by"])) for b in snapshot["blocks"]}


def test_an_exported_run_replays_to_the_same_block_tree(make_rig) -> None:
    live = make_rig()
    run_protocol(live, 8)
    tree = final_tree(live.dashboard.snapshot())
    assert sum(1 for b in tree.values() if b[3]) >= 5
    exported = live.http.get("/api/run/export").data

    rig = make_rig()
    cluster = rig.cluster
    page = rig.socket()
    page.get_received()
    reply = rig.http.post("/api/replay?name=last year", data=exported,
                          content_type="application/x-ndjson")
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["name"] == "last year"
    assert cluster.stopped  # the live cluster made way for the recording

    snap = received(page, "snapshot")[-1]
    assert snap["mode"] == "replay" and snap["replay"]["name"] == "last year"
    assert final_tree(snap) == tree
    state = rig.http.get("/api/state").get_json()
    assert state["mode"] == "replay" and all(n["pid"] is None for n in state["nodes"])

    # The page builds its timeline from the base and the batches.
    first = rig.http.get("/api/replay?from=0").get_json()
    assert first["base"]["blocks"] == [] and first["generation"] == snap["generation"]
    batches = list(first["batches"])
    while first["next"] is not None:
        first = rig.http.get(f"/api/replay?from={first['next']}").get_json()
        batches += first["batches"]
    assert len(batches) == first["total"]
    seqs = [b["seq"] for b in batches]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert seqs[-1] == snap["seq"]
    assert all(b["generation"] == snap["generation"] for b in batches)


def test_controls_during_a_replay_say_why_they_cannot_work(make_rig) -> None:
    live = make_rig()
    run_protocol(live, 3)
    rig = make_rig()
    rig.http.post("/api/replay", data=live.http.get("/api/run/export").data)

    reply = post(rig, "/api/nodes/1/crash")
    assert reply.status_code == 409
    assert "replay of a recorded run" in reply.get_json()["error"]
    ack = rig.socket().emit("partition", {"groups": [[1, 2]]}, callback=True)
    assert ack["status"] == 409 and "replay" in ack["error"]
    # Going live again: a new cluster.
    assert post(rig, "/api/cluster", {"nodes": 3}).status_code == 200
    assert rig.http.get("/api/state").get_json()["mode"] == "live"
    assert rig.http.get("/api/replay").status_code == 404


def test_a_replay_leaves_out_malformed_events_and_traces(make_rig) -> None:
    rig = make_rig()
    header = {"format": "streamlet-lab-run", "version": 1,
              "config": {"nodes": 3, "delta": 0.5}, "started": 1.0}
    lines = [header,
             {"node": 1, "t": 1.0, "type": "epoch", "epoch": 1, "leader": 2},
             {"node": 1, "t": 1.1, "type": "finalize", "blocks": {"a": 1}},
             {"node": 1, "t": 1.2, "type": "send", "msg": "x", "to": 2},
             {"node": 2, "t": 1.3, "type": "propose", "epoch": 1,
              "block": "not a summary"},
             {"node": 2, "t": 1.4, "type": "epoch", "epoch": 2, "leader": 3,
              "extra": {"deep": ["ignored"]}}]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    info = rig.http.post("/api/replay", data=data).get_json()
    assert info["events"] == 2 and info["skipped"] == 2
    assert info["traces_left_out"] == 1
    batches = rig.http.get("/api/replay").get_json()["batches"]
    events = [e for b in batches for e in b["events"]]
    assert [e["epoch"] for e in events] == [1, 2]
    assert "extra" not in events[1]


def test_a_file_that_is_not_a_recording_is_refused_with_the_reason(rig: Rig) -> None:
    reply = rig.http.post("/api/replay", data=b'{"format": "other"}\n')
    assert reply.status_code == 400
    assert reply.get_json() == {"error": "not a recording this dashboard can "
                                "replay: line 1 is not a streamlet-lab-run "
                                "version 1 header"}
    assert rig.http.get("/api/state").get_json()["mode"] == "live"


# --- scenarios shown to every page --------------------------------------------


def test_playing_a_scenario_tells_every_page_what_it_shows(make_rig) -> None:
    rig = make_rig()
    watcher = rig.socket()
    watcher.get_received()
    rig.http.post("/api/scenarios/confusion")
    (info,) = received(watcher, "scenario")
    assert info["name"].startswith("Forks that converge")
    assert "From epoch 6" in info["description"]
    late = rig.socket()
    assert received(late, "snapshot")[0]["scenario"] == info


# --- the presenter and the viewers --------------------------------------------


@pytest.fixture
def guarded(make_rig) -> Rig:
    return make_rig(presenter_token=TOKEN)


def test_http_controls_need_the_presenter_token(guarded: Rig) -> None:
    reply = post(guarded, "/api/nodes/2/crash")
    assert reply.status_code == 403
    assert "presenter token" in reply.get_json()["error"]
    assert guarded.cluster.nodes[2]["status"] == "running"
    assert post(guarded, "/api/nodes/2/crash", token="wrong-token").status_code == 403

    assert post(guarded, "/api/nodes/2/crash", token=TOKEN).status_code == 200
    assert guarded.cluster.nodes[2]["status"] == "crashed"
    # Reading stays open to everyone.
    assert guarded.http.get("/api/state").status_code == 200


def test_a_viewer_page_cannot_crash_a_node(guarded: Rig) -> None:
    viewer = guarded.socketio.test_client(guarded.app)
    (role,) = received(viewer, "role") or [None]
    assert role == {"presenter": False, "token_required": True,
                    "message": "this page is a viewer: controls need the presenter "
                    "token (the server printed it when it started)"}
    ack = viewer.emit("crash", {"node": 1}, callback=True)
    assert ack["ok"] is False and ack["status"] == 403
    assert "presenter token" in ack["error"]
    assert guarded.cluster.nodes[1]["status"] == "running"
    # A viewer still reads: the scenarios, why a block is (not) final.
    assert viewer.emit("scenarios", {}, callback=True)["ok"]


def test_the_presenter_page_controls_and_a_wrong_token_does_not(guarded: Rig) -> None:
    presenter = guarded.socketio.test_client(guarded.app, auth={"token": TOKEN})
    assert received(presenter, "role")[0]["presenter"] is True
    assert presenter.emit("crash", {"node": 1}, callback=True)["ok"]

    impostor = guarded.socketio.test_client(guarded.app, auth={"token": "guess-1234"})
    role = received(impostor, "role")[0]
    assert role["presenter"] is False and "wrong" in role["message"]
    assert impostor.emit("restart", {"node": 1}, callback=True)["status"] == 403


def test_viewers_follow_the_presenters_position_on_the_timeline(guarded: Rig) -> None:
    presenter = guarded.socketio.test_client(guarded.app, auth={"token": TOKEN})
    viewer = guarded.socketio.test_client(guarded.app)
    viewer.get_received()

    assert presenter.emit("view", {"live": False, "t": 1234.5}, callback=True)["ok"]
    (view,) = received(viewer, "presenter_view")
    assert view == {"live": False, "t": 1234.5,
                    "generation": guarded.dashboard.generation}
    late = guarded.socketio.test_client(guarded.app)
    assert received(late, "snapshot")[0]["presenter_view"] == view

    ack = viewer.emit("view", {"live": True}, callback=True)
    assert ack["status"] == 403  # a viewer does not steer the others
    presenter.emit("view", {"live": True}, callback=True)
    assert received(viewer, "presenter_view")[-1]["live"] is True


def test_without_a_token_every_local_page_is_a_presenter(rig: Rig) -> None:
    page = rig.socket()
    assert received(page, "role")[0] == {"presenter": True, "token_required": False,
                                         "message": ""}
    assert page.emit("crash", {"node": 3}, callback=True)["ok"]


# --- rate limits --------------------------------------------------------------


def test_transactions_past_the_rate_are_refused(make_rig) -> None:
    rig = make_rig(limits={"transaction": Limit(0.001, 3, "transactions")})
    body = {"sender": 1, "receiver": 2, "amount": 1}
    codes = [post(rig, "/api/transactions", body).status_code for _ in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    reply = post(rig, "/api/transactions", body)
    assert reply.get_json() == {"error": "too many transactions: at most 0.001 "
                                "per second"}
    assert len(rig.cluster.submitted) == 3


def test_socket_controls_past_the_rate_are_refused(make_rig) -> None:
    rig = make_rig(limits={"control": Limit(0.001, 2, "control actions")})
    page = rig.socket()
    acks = [page.emit("delta", {"delta": 0.5}, callback=True) for _ in range(3)]
    assert [a["ok"] for a in acks] == [True, True, False]
    assert acks[2]["status"] == 429
    # Another page has its own allowance.
    assert rig.socket().emit("delta", {"delta": 0.5}, callback=True)["ok"]


def test_rate_limiter_refills_and_forgets() -> None:
    limiter = RateLimiter({"x": Limit(rate=2, burst=2, what="things")}, max_clients=2)
    assert limiter.check("a", "x", now=0) is None
    assert limiter.check("a", "x", now=0) is None
    assert limiter.check("a", "x", now=0) == "too many things: at most 2 per second"
    assert limiter.check("a", "x", now=0.5) is None  # one token back
    limiter.check("b", "x", now=1)
    limiter.check("c", "x", now=1)
    assert len(limiter._buckets) == 2  # the oldest client was forgotten
