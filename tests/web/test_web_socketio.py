"""Socket.IO: snapshot on connect, batched relay, and the page's controls."""

from __future__ import annotations

import pytest

from tests.conftest import wait_for
from tests.web.conftest import Rig
from tests.web.fakes import RecordingNetwork


def received(client, name: str) -> list:
    return [m["args"][0] for m in client.get_received() if m["name"] == name]


def test_connect_receives_a_snapshot_of_the_current_state(rig: Rig) -> None:
    client = rig.socket()
    snaps = received(client, "snapshot")

    assert len(snaps) == 1
    snap = snaps[0]
    assert snap["seq"] == rig.dashboard.seq
    assert [n["id"] for n in snap["nodes"]] == [1, 2, 3, 4, 5]
    assert all(n["status"] == "running" for n in snap["nodes"])
    assert snap["epoch_seconds"] == 1.0 and snap["quorum"] == 3
    assert snap["settings"]["nodes"] == 5 and "data_dir" not in snap["settings"]


def test_events_reach_the_page_as_one_batch(rig: Rig) -> None:
    client = rig.socket()
    client.get_received()
    net = RecordingNetwork(5, order="fifo")
    events = net.run_epochs(1, 3)

    rig.cluster.emit_all(events)
    rig.cluster.emit_all([
        {"node": 1, "type": "send", "msg": "p/x", "kind": "propose", "to": 2,
         "echo": False, "delay_ms": 0, "dropped": False},
        {"node": 2, "type": "deliver", "msg": "p/x", "kind": "propose", "via": 1,
         "origin": 1, "echo": False, "sent_t": 1.0},
    ])
    assert rig.dashboard.relay_once() > 0

    batches = received(client, "batch")
    assert len(batches) == 1
    batch = batches[0]
    assert batch["seq"] == rig.dashboard.seq
    kinds = {e["type"] for e in batch["events"]}
    assert {"epoch", "propose", "vote", "notarize", "finalize"} <= kinds
    assert "tally" not in kinds  # n² per epoch; votes come with "vote"
    assert [m["type"] for m in batch["messages"]] == ["send", "deliver"]
    assert batch["clock"]["epoch"] == 0


def test_message_traces_are_capped_per_batch(make_rig) -> None:
    rig = make_rig(messages_per_batch=10)
    client = rig.socket()
    client.get_received()
    for i in range(25):
        rig.cluster.emit({"node": 1, "type": "send", "msg": f"v/1/{i}",
                          "kind": "vote", "to": 2, "echo": False,
                          "delay_ms": 0, "dropped": False})
    rig.dashboard.relay_once()

    batch = received(client, "batch")[0]
    assert [m["msg"] for m in batch["messages"]] == [
        f"v/1/{i}" for i in (0, 2, 5, 7, 10, 12, 15, 17, 20, 22)]
    assert sum(m.get("weight", 1) for m in batch["messages"]) == 25
    assert batch["dropped_messages"] == 15


def test_quiet_relay_emits_nothing_until_the_heartbeat(rig: Rig) -> None:
    client = rig.socket()
    rig.dashboard.relay_once()  # the first heartbeat
    client.get_received()
    assert rig.dashboard.relay_once() == 0
    assert received(client, "batch") == []


def test_late_client_gets_the_blocks_then_only_newer_batches(rig: Rig) -> None:
    net = RecordingNetwork(5, order="fifo")
    rig.cluster.emit_all(net.run_epochs(1, 4))
    rig.dashboard.relay_once()

    late = rig.socket()
    snap = received(late, "snapshot")[0]
    final = {b["epoch"] for b in snap["blocks"] if b["finalized_by"]}
    assert {1, 2, 3} <= final
    assert any(e["type"] == "finalize" for e in snap["events"])
    assert snap["seq"] == rig.dashboard.seq

    rig.cluster.emit_all(net.run_epochs(5, 5))
    rig.dashboard.relay_once()
    assert [b["seq"] for b in received(late, "batch")] == [snap["seq"] + 1]


def test_background_relay_pushes_without_being_asked(make_rig) -> None:
    rig = make_rig(batch_interval_s=0.02)
    client = rig.socket()
    rig.cluster.emit({"node": 3, "type": "epoch", "epoch": 1, "leader": 1})

    def got_it():
        return any(e["type"] == "epoch" for b in received(client, "batch")
                   for e in b["events"])
    wait_for(got_it, 10, "a batch with the epoch event")


def test_crash_and_restart_over_socketio(rig: Rig) -> None:
    client = rig.socket()
    ack = client.emit("crash", {"node": 2}, callback=True)
    assert ack == {"ok": True, "node": 2}
    assert rig.cluster.nodes[2]["status"] == "crashed"

    ack = client.emit("restart", {"node": 2}, callback=True)
    assert ack == {"ok": True, "node": 2}
    assert rig.cluster.nodes[2]["restarts"] == 1


@pytest.mark.parametrize(("event", "payload", "status", "message"), [
    ("crash", {"node": 9}, 404, "no node 9"),
    ("restart", {"node": 1}, 409, "node 1 is running"),
    ("crash", {"node": "2"}, 400, "node must be an integer"),
    ("crash", {}, 400, "missing field(s): node"),
    ("crash", None, 400, "the request must be a JSON object"),
    ("transaction", {"sender": 1, "receiver": 1, "amount": 5}, 400,
     "sender and receiver must be different accounts"),
    ("transaction", {"sender": 1, "receiver": 2, "amount": True}, 400,
     "amount must be a number"),
    ("tx_rate", {"rate": 99}, 400, "rate must be between 0 and 50"),
    ("cluster", {"nodes": 1}, 400, "nodes must be between 3 and 15"),
    ("why", {"block": "xyz"}, 400, "block must be 64 lowercase hex digits"),
])
def test_bad_control_is_answered_with_an_error_event(
        rig: Rig, event: str, payload: object, status: int, message: str) -> None:
    client = rig.socket()
    client.get_received()
    ack = client.emit(event, payload, callback=True)

    assert ack == {"ok": False, "error": message, "status": status}
    errors = received(client, "error")
    assert errors == [{"event": event, "error": message, "status": status}]


def test_transaction_over_socketio(rig: Rig) -> None:
    client = rig.socket()
    ack = client.emit("transaction", {"sender": 4, "receiver": 5, "amount": 2.5},
                      callback=True)
    assert ack == {"ok": True, "id": "4:0"}
    assert rig.dashboard.transaction("4:0")["status"] == "pending"


def test_new_cluster_sends_every_page_a_fresh_snapshot(rig: Rig) -> None:
    watcher = rig.socket()
    watcher.get_received()
    # The old cluster's relay thread may still hold the callback for a moment.
    (in_flight,) = rig.cluster.subscribers

    ack = rig.socket().emit("cluster", {"nodes": 4}, callback=True)
    assert ack["ok"] and ack["state"]["config"]["nodes"] == 4

    snaps = received(watcher, "snapshot")
    assert len(snaps) == 1 and len(snaps[0]["nodes"]) == 4
    # Whatever the old cluster still reports is no longer shown.
    in_flight({"node": 1, "type": "epoch", "epoch": 99, "leader": 1, "t": 0.0})
    rig.cluster.emit({"node": 1, "type": "epoch", "epoch": 1, "leader": 1})
    rig.dashboard.relay_once()
    shown = [e.get("epoch") for b in received(watcher, "batch")
             for e in b["events"] if e["type"] == "epoch"]
    assert shown == [1]


def test_why_over_socketio_explains_a_block(rig: Rig) -> None:
    net = RecordingNetwork(5, order="fifo")
    rig.cluster.emit_all(net.run_epochs(1, 1))
    rig.dashboard.relay_once()
    b1 = net.nodes[1].chain(net.nodes[1].longest_notarized_tips()[0])[0].hash

    ack = rig.socket().emit("why", {"block": b1}, callback=True)
    assert ack["ok"] and ack["block"]["hash"] == b1
    assert ack["block"]["why"].startswith("b1 is notarized")
