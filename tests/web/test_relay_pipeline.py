"""The relay's economies: traces sampled with counts kept, one batch a period.

These check behaviour, not speed (bench/dashboard_pipeline.py measures that):
what the page receives, and that the cluster's relay lets other tasks run.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import backend.web.dashboard as dashboard_module
from backend.web.dashboard import YIELD_EVERY, Inbox, JsonPacket
from tests.web.conftest import Rig


def trace(i: int, *, echo: bool) -> dict:
    return {"node": 1, "type": "send", "msg": f"{'e' if echo else 'd'}{i}",
            "kind": "vote", "to": 2, "echo": echo, "delay_ms": 0, "dropped": False}


def received(client, name: str) -> list:
    return [m["args"][0] for m in client.get_received() if m["name"] == name]


def test_direct_traces_go_first_and_echoes_are_sampled_evenly() -> None:
    inbox = Inbox()
    for i in range(100):
        inbox.push(1, trace(i, echo=True))
        if i % 20 == 0:
            inbox.push(1, trace(i, echo=False))

    events, messages, dropped = inbox.drain(1, 10)

    assert events == []
    assert [m["msg"] for m in messages] == [
        "d0", "d20", "d40", "d60", "d80", "e0", "e20", "e40", "e60", "e80"]
    assert dropped == 95 and inbox.dropped_messages == 95
    assert len(messages) + dropped == inbox.received == 105


def test_a_full_batch_of_direct_traces_leaves_echoes_a_quarter() -> None:
    inbox = Inbox()
    for i in range(30):
        inbox.push(1, trace(i, echo=False))
        inbox.push(1, trace(i, echo=True))

    _, messages, dropped = inbox.drain(1, 12)

    assert [m["msg"] for m in messages] == [
        "d0", "d3", "d6", "d10", "d13", "d16", "d20", "d23", "d26",
        "e0", "e10", "e20"]
    assert dropped == 48


def weighted(weight: int, i: int, *, echo: bool) -> dict:
    return {**trace(i, echo=echo), "weight": weight}


def test_a_batch_carries_the_budget_every_event_and_weights_that_add_up() -> None:
    inbox = Inbox()
    pushed = {False: 0, True: 0}
    for i in range(900):
        if i % 7 == 0:
            inbox.push(1, {"node": i % 15, "type": "vote", "epoch": i})
        echo = i % 3 == 0
        event = weighted(20, i, echo=True) if echo else trace(i, echo=False)
        inbox.push(1, event)
        pushed[echo] += 20 if echo else 1

    events, messages, dropped = inbox.drain(1, 100)

    assert [e["epoch"] for e in events] == list(range(0, 900, 7))
    assert len(messages) == 100
    assert dropped == 800 and inbox.dropped_messages == 800
    for echo in (False, True):
        assert sum(m.get("weight", 1) for m in messages
                   if m["echo"] == echo) == pushed[echo]
    assert len([m for m in messages if m["echo"]]) == 25


def test_the_recorded_traces_keep_their_own_weights() -> None:
    inbox = Inbox()
    pushed = [weighted(3, i, echo=True) for i in range(10)]
    for event in pushed:
        inbox.push(1, event)

    _, messages, _ = inbox.drain(1, 2)

    assert [(m["msg"], m["weight"]) for m in messages] == [("e0", 15), ("e5", 15)]
    assert all(e["weight"] == 3 for e in pushed)


def test_traces_a_full_queue_pushed_out_are_weighed_on_the_next_batch() -> None:
    inbox = Inbox(max_messages=5)
    for i in range(8):
        inbox.push(1, trace(i, echo=False))

    _, messages, dropped = inbox.drain(1, 100)
    _, later, _ = inbox.drain(1, 100)
    inbox.push(1, trace(9, echo=False))
    _, after, _ = inbox.drain(1, 100)

    assert [m["msg"] for m in messages] == ["d3", "d4", "d5", "d6", "d7"]
    assert messages[0]["weight"] == 4 and dropped == 0
    assert inbox.dropped_messages == 3
    assert sum(m.get("weight", 1) for m in messages) == 8
    assert later == [] and after[0].get("weight", 1) == 1


def test_under_the_cap_every_trace_passes_in_order() -> None:
    inbox = Inbox()
    pushed = [trace(i, echo=i % 3 == 0) for i in range(12)]
    for event in pushed:
        inbox.push(1, event)

    _, messages, dropped = inbox.drain(1, 400)

    assert dropped == 0
    for echo in (False, True):
        assert [m for m in messages if m["echo"] == echo] == \
            [e for e in pushed if e["echo"] == echo]


def test_traces_of_an_old_cluster_are_not_relayed() -> None:
    inbox = Inbox()
    inbox.push(1, trace(1, echo=True))
    inbox.push(2, trace(2, echo=True))

    _, messages, _ = inbox.drain(2, 10)

    assert [m["msg"] for m in messages] == ["e2"]


def test_the_page_is_told_how_many_traces_were_left_out(make_rig) -> None:
    rig: Rig = make_rig(messages_per_batch=4)
    client = rig.socket()
    rig.dashboard.relay_once()  # what the cluster said while starting
    client.get_received()
    before = rig.dashboard.relay_stats()
    for i in range(20):
        rig.cluster.emit(trace(i, echo=True))
    rig.cluster.emit({"node": 3, "type": "epoch", "epoch": 1, "leader": 1})
    rig.dashboard.relay_once()

    batch = received(client, "batch")[0]
    stats = rig.dashboard.relay_stats()
    assert [m["msg"] for m in batch["messages"]] == ["e0", "e5", "e10", "e15"]
    assert batch["dropped_messages"] == 16
    assert stats["messages"] - before["messages"] == 4
    assert stats["left_out"] - before["left_out"] == 16
    assert stats["events"] - before["events"] == 1
    assert stats["received"] - before["received"] == 21


@pytest.mark.parametrize("work_s", [0.01, 0.03, 0.08])
def test_relay_starts_a_batch_at_most_once_a_period(
        rig: Rig, monkeypatch: pytest.MonkeyPatch, work_s: float) -> None:
    """Folding and emitting take ``work_s`` of a fake clock each time."""
    clock = SimpleNamespace(now=100.0)
    starts: list[float] = []
    dashboard = rig.dashboard
    period = 0.05

    def sleep(seconds: float) -> None:
        assert seconds >= 0
        clock.now += seconds

    def relay_once() -> int:
        starts.append(clock.now)
        clock.now += work_s
        if len(starts) == 12:
            dashboard._stopping = True
        return 0

    monkeypatch.setattr(dashboard_module, "time", SimpleNamespace(
        monotonic=lambda: clock.now, time=lambda: clock.now))
    monkeypatch.setattr(dashboard, "socketio", SimpleNamespace(sleep=sleep))
    monkeypatch.setattr(dashboard, "relay_once", relay_once)
    monkeypatch.setattr(dashboard, "batch_interval_s", period)

    dashboard._relay_loop()

    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 12
    # Never more often than the period; exactly the period while the work
    # fits in it (the work is not added to the wait), back to back when not.
    assert all(gap == pytest.approx(max(period, work_s)) for gap in gaps)


def test_batches_arrive_whole_without_the_binary_scan(rig: Rig) -> None:
    client = rig.socket()
    rig.dashboard.relay_once()
    client.get_received()
    summary = {"hash": "ab" * 32, "parent": "00" * 32, "epoch": 2, "height": 2,
               "proposer": 2, "txs": ["tx-é", "tx-2"]}
    event = {"node": 4, "type": "finalize", "height": 2, "blocks": [summary],
             "justification": ["a", "b", "c"], "nested": {"deep": [[1, 2.5], None]}}
    rig.cluster.emit(event)
    rig.dashboard.relay_once()

    batch = received(client, "batch")[0]
    assert [e for e in batch["events"] if e["type"] == "finalize"] == [
        {"t": batch["events"][0]["t"], **event}]
    assert rig.dashboard.socketio.server.packet_class is JsonPacket
    # The page's own emits (with an acknowledgement) still work both ways.
    assert client.emit("clock", {"action": "pause"}, callback=True)["ok"] is True


def test_the_clusters_relay_lets_other_tasks_run(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(rig.dashboard.socketio, "sleep", sleeps.append)
    start = rig.dashboard.inbox.received
    for i in range(3 * YIELD_EVERY - start % YIELD_EVERY):
        rig.cluster.emit(trace(i, echo=True))

    assert sleeps == [0, 0, 0]


def test_a_stalled_page_is_skipped_and_sees_the_gap_when_it_drains(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """python-engineio would queue a stalled page's batches without limit."""
    fast, slow = rig.socket(), rig.socket()
    rig.dashboard.relay_once()
    last_seq = received(slow, "batch")[-1]["seq"]
    fast.get_received()
    waiting = {"slow": dashboard_module.MAX_QUEUED_PACKETS}
    queue = SimpleNamespace(qsize=lambda: waiting["slow"])
    monkeypatch.setattr(rig.socketio.server.eio, "sockets",
                        {slow.eio_sid: SimpleNamespace(queue=queue)})

    rig.cluster.emit({"node": 3, "type": "epoch", "epoch": 1, "leader": 1})
    rig.dashboard.relay_once()
    assert len(received(fast, "batch")) == 1
    assert received(slow, "batch") == []
    assert rig.dashboard.relay_stats()["skipped_batches"] == 1

    waiting["slow"] = 0  # the page caught up with what was queued
    rig.cluster.emit({"node": 3, "type": "epoch", "epoch": 2, "leader": 2})
    rig.dashboard.relay_once()
    # One batch missed: the page's applyBatch sees the gap and asks for a
    # snapshot (tests/web/js/model.test.mjs covers that side).
    assert [b["seq"] for b in received(slow, "batch")] == [last_seq + 2]
    assert rig.dashboard.relay_stats()["skipped_batches"] == 1
