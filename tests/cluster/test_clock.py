"""The supervisor drives the epoch clock: pause, step, resume, change Δ, skew."""

from __future__ import annotations

from collections import defaultdict

import pytest

from backend.cluster import ClusterError
from backend.cluster.scenario import parse
from tests.conftest import wait_for


class Epochs:
    """The highest epoch each node has reported entering."""

    def __init__(self) -> None:
        self.top: dict[int, int] = defaultdict(int)
        self.notarized: dict[int, set[int]] = defaultdict(set)

    def __call__(self, event: dict) -> None:
        node = event.get("node", 0)
        if event.get("type") == "epoch":
            self.top[node] = max(self.top[node], event["epoch"])
        elif event.get("type") == "notarize" and event.get("block_epoch"):
            self.notarized[node].add(event["block_epoch"])

    def all_at(self, nodes, epoch: int) -> bool:
        return all(self.top[n] == epoch for n in nodes)


def test_pause_holds_the_epoch_and_step_moves_exactly_one(make_cluster):
    cluster = make_cluster(nodes=3, delta=0.05)
    seen = Epochs()
    cluster.subscribe(seen)
    wait_for(lambda: cluster.current_epoch() >= 3, what="epoch 3")
    paused = cluster.pause()
    nodes = [1, 2, 3]
    wait_for(lambda: seen.all_at(nodes, paused), what=f"all nodes in epoch {paused}")
    cluster.wait(0.5)  # five epochs' worth of wall time: nothing may move
    assert seen.all_at(nodes, paused)
    assert cluster.status()["paused"]

    assert cluster.step() == paused + 1
    wait_for(lambda: seen.all_at(nodes, paused + 1), what="the stepped epoch")
    wait_for(lambda: all(paused + 1 in seen.notarized[n] for n in nodes),
             what="the stepped epoch's block notarized everywhere")
    cluster.wait(0.5)
    assert seen.all_at(nodes, paused + 1)

    cluster.resume()
    wait_for(lambda: all(seen.top[n] >= paused + 4 for n in nodes),
             what="epochs moving again")


def test_step_and_resume_need_a_pause(make_cluster):
    cluster = make_cluster(nodes=3)
    with pytest.raises(ClusterError):
        cluster.step()
    with pytest.raises(ClusterError):
        cluster.resume()
    cluster.pause()
    with pytest.raises(ClusterError):
        cluster.pause()


def test_larger_delta_slows_the_epochs_from_the_next_one(make_cluster):
    cluster = make_cluster(nodes=3, delta=0.02)
    seen = Epochs()
    cluster.subscribe(seen)
    wait_for(lambda: seen.top[1] >= 3, what="epoch 3")
    cluster.set_delta(1.0)
    assert cluster.status()["epoch_seconds"] == 2.0
    wait_for(lambda: seen.top[1] == cluster.current_epoch(), what="next epoch")
    reached = seen.top[1]
    cluster.wait(0.5)  # a quarter of the new epoch: no new epoch yet
    assert seen.top[1] <= reached + 1


def test_skewed_node_runs_ahead_of_the_others(make_cluster):
    cluster = make_cluster(nodes=3, delta=0.05)
    seen = Epochs()
    cluster.subscribe(seen)
    cluster.set_skew(2, 250)  # 2.5 epochs ahead
    wait_for(lambda: seen.top[2] >= seen.top[1] + 2 and seen.top[1] > 0,
             what="n2 ahead by two epochs")


def test_session_actions_are_saved_as_a_valid_scenario(make_cluster):
    cluster = make_cluster(nodes=5)
    cluster.crash(2)
    cluster.restart(2)
    cluster.partition([[1, 2], [3, 4, 5]])
    cluster.heal()
    cluster.set_link(1, 3, delay_ms=200)
    cluster.set_asynchrony(True)
    cluster.submit(1, 2, 5)
    saved = cluster.scenario("my lesson", "what we did today")
    scenario = parse(saved)
    assert [s["action"] for s in scenario.steps] == [
        "crash", "restart", "partition", "heal", "delay", "asynchrony",
        "transaction"]
    assert scenario.config["nodes"] == 5
