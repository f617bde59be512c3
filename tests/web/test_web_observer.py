"""The observer's merged view, fed with events of the real protocol core."""

from __future__ import annotations

from backend.core import GENESIS, Transaction
from backend.web.observer import Observer
from tests.web.fakes import RecordingNetwork


def fold(observer: Observer, events: list[dict]) -> Observer:
    for event in events:
        observer.apply(event)
    return observer


def summary(block_hash: str, parent: str, epoch: int, height: int,
            txs: tuple[str, ...] = ()) -> dict:
    return {"hash": block_hash, "parent": parent, "epoch": epoch,
            "height": height, "proposer": 1, "txs": list(txs)}


def test_good_case_builds_one_chain_finalized_everywhere() -> None:
    net = RecordingNetwork(5, order="fifo")
    observer = fold(Observer(5), net.run_epochs(1, 6))

    chain = list(net.nodes[1].finalized)
    assert len(chain) >= 4
    for block_hash in chain:
        attrs = observer.graph.nodes[block_hash]
        assert attrs["finalized_by"] == {1, 2, 3, 4, 5}
        assert attrs["notarized_by"] == {1, 2, 3, 4, 5}
        assert attrs["voters"] == {1, 2, 3, 4, 5}
    # The tree is parent -> child, rooted at genesis.
    first = observer.graph.nodes[chain[0]]
    assert first["parent"] == GENESIS.hash
    assert chain[0] in observer.graph.successors(GENESIS.hash)
    assert all(node.finalized_height == len(chain)
               for node in observer.nodes.values())
    assert observer.safety()["ok"] and observer.safety()["final_height"] == len(chain)
    assert observer.epoch == 6 and observer.leader == 1


def test_why_names_the_justifying_triple_for_a_final_block() -> None:
    net = RecordingNetwork(5, order="fifo")
    observer = fold(Observer(5), net.run_epochs(1, 4))
    b2 = next(h for h, a in observer.graph.nodes(data=True) if a["epoch"] == 2)

    why = observer.why(b2)
    assert why.startswith("b2 is final on n1, n2, n3, n4, n5")
    assert "b1, b2, b3" in why


def test_why_says_a_block_waits_for_a_child_of_the_next_epoch() -> None:
    net = RecordingNetwork(5, order="fifo")
    observer = fold(Observer(5), net.run_epochs(1, 1))
    b1 = next(h for h, a in observer.graph.nodes(data=True) if a["epoch"] == 1)

    assert observer.why(b1) == ("b1 is notarized; it becomes final when a child "
                                "from epoch 2 is notarized (three consecutive "
                                "epochs)")


def test_crashed_leader_leaves_a_gap_that_delays_finality() -> None:
    # Round-robin, node 3 crashed: epoch 3 has no block, so b4's parent is b2
    # and b4 cannot be the middle of a consecutive triple.
    net = RecordingNetwork(5, order="fifo", crashed=[3])
    observer = fold(Observer(5), net.run_epochs(1, 5))
    by_epoch = {a["epoch"]: h for h, a in observer.graph.nodes(data=True)
                if a["known"]}

    assert 3 not in by_epoch
    assert "its parent is from epoch 2, not 3" in observer.why(by_epoch[4])


def test_unnotarized_block_after_its_epoch_says_so() -> None:
    observer = Observer(5)
    observer.apply({"type": "propose", "node": 1, "t": 1.0,
                    "block": summary("a" * 64, GENESIS.hash, 1, 1)})
    observer.apply({"type": "vote", "node": 1, "t": 1.0, "epoch": 1,
                    "block": "a" * 64, "height": 1, "parent": GENESIS.hash})
    observer.apply({"type": "epoch", "node": 1, "t": 2.0, "epoch": 2, "leader": 2})

    assert observer.why("a" * 64) == (
        "b1 is not notarized: its epoch ended with 1 of the 3 votes needed (more "
        "than n/2), and nodes vote only during the block's epoch")


def test_votes_before_the_block_keep_a_bare_entry_that_the_body_fills() -> None:
    observer = Observer(5)
    for voter in (2, 3):
        observer.apply({"type": "vote", "node": voter, "t": 1.0, "epoch": 1,
                        "block": "a" * 64, "height": 1, "parent": GENESIS.hash})
    assert "no node has reported its body" in observer.why("a" * 64)

    observer.apply({"type": "block", "node": 4, "t": 1.1,
                    "block": summary("a" * 64, GENESIS.hash, 1, 1)})
    attrs = observer.graph.nodes["a" * 64]
    assert attrs["known"] and attrs["voters"] == {2, 3}
    assert observer.graph.has_edge(GENESIS.hash, "a" * 64)


def test_conflicting_finalizations_are_a_safety_violation() -> None:
    observer = Observer(3)
    left = summary("a" * 64, GENESIS.hash, 1, 1)
    right = summary("b" * 64, GENESIS.hash, 2, 1)
    observer.apply({"type": "finalize", "node": 1, "t": 1.0, "epoch": 3,
                    "blocks": [left], "justification": [], "height": 1})
    assert observer.safety()["ok"]

    observer.apply({"type": "finalize", "node": 2, "t": 1.0, "epoch": 4,
                    "blocks": [right], "justification": [], "height": 1})
    safety = observer.safety()
    assert not safety["ok"] and safety["violation_count"] == 1
    assert safety["violations"][0]["detail"] == (
        "n2 finalized b2 at height 1, where b1 is already final")
    assert "abandoned fork" not in observer.why("b" * 64)  # it is final on n2


def test_a_node_finalizing_off_its_own_chain_is_a_violation() -> None:
    observer = Observer(3)
    observer.apply({"type": "finalize", "node": 1, "t": 1.0, "epoch": 3,
                    "blocks": [summary("a" * 64, GENESIS.hash, 1, 1)],
                    "justification": [], "height": 1})
    observer.apply({"type": "finalize", "node": 1, "t": 2.0, "epoch": 5,
                    "blocks": [summary("c" * 64, "b" * 64, 3, 2)],
                    "justification": [], "height": 2})
    assert observer.violation_count == 1
    assert "does not extend its own finalized chain" in observer.violations[0][
        "detail"]


def test_core_safety_violation_event_is_reported() -> None:
    observer = Observer(3)
    observer.apply({"type": "safety_violation", "node": 2, "t": 1.0,
                    "block": "a" * 64, "detail": "b4 conflicts"})
    assert observer.safety()["violations"] == [
        {"node": 2, "detail": "b4 conflicts", "block": "a" * 64}]


def test_transactions_progress_to_finalized_and_leave_the_pools() -> None:
    net = RecordingNetwork(5, order="fifo")
    observer = Observer(5)
    net.submit(2, Transaction(7, 8, 0, 5))
    net.deliver_all()
    fold(observer, net.take())
    assert observer.txs["7:0"]["status"] == "pending"
    assert all("7:0" in observer.nodes[i].pool for i in (1, 2, 3, 4, 5))

    fold(observer, net.run_epochs(1, 1))
    assert observer.txs["7:0"]["status"] == "notarized"
    assert observer.txs["7:0"]["epoch"] == 1

    fold(observer, net.run_epochs(2, 3))
    record = observer.txs["7:0"]
    assert record["status"] == "finalized" and record["epoch"] == 1
    assert all(not node.pool for node in observer.nodes.values())


def test_old_blocks_are_pruned_but_safety_index_keeps_heights() -> None:
    net = RecordingNetwork(3, order="fifo")
    observer = fold(Observer(3, keep_epochs=10), net.run_epochs(1, 40))

    epochs = [a["epoch"] for h, a in observer.graph.nodes(data=True)
              if h != GENESIS.hash]
    assert min(epochs) >= 40 - 10 - 1
    assert len(observer.graph) < 25
    assert observer.safety()["final_height"] >= 35
    assert "older than the 10 epochs" in observer.why(net.nodes[1].finalized[0])


def test_snapshot_is_bounded_and_carries_recent_blocks() -> None:
    net = RecordingNetwork(3, order="fifo")
    observer = fold(Observer(3), net.run_epochs(1, 30))
    snap = observer.snapshot(epochs=10)

    assert {b["epoch"] for b in snap["blocks"]} == set(range(20, 31))
    assert snap["genesis_hash"] == GENESIS.hash and snap["quorum"] == 2
    assert [n["id"] for n in snap["nodes"]] == [1, 2, 3]
    assert all(e["type"] not in ("tally", "send", "deliver") for e in snap["events"])
    assert len(snap["events"]) <= 300


def test_every_store_of_the_observer_stays_bounded_in_a_long_run() -> None:
    # The dashboard server's memory must not grow with the chain: count the
    # entries each of the observer's stores holds after many more heights,
    # epochs and transactions than any of its caps.
    observer = Observer(3, keep_epochs=20, keep_txs=300)  # default height index
    assert observer.keep_heights <= 4_096
    parent = GENESIS.hash
    for height in range(1, 4_501):
        block_hash = f"{height:064x}"
        txs = (f"{height}:1", f"{height}:2")
        block = summary(block_hash, parent, height, height, txs)
        for node in (1, 2, 3):
            observer.apply({"type": "epoch", "node": node, "epoch": height,
                            "leader": 1, "t": height})
            for tx_id in txs:
                observer.apply({"type": "tx", "node": node, "tx": tx_id,
                                "sender": 1, "receiver": 2, "amount": 1, "t": height})
            observer.apply({"type": "finalize", "node": node, "epoch": height,
                            "blocks": [block], "justification": [],
                            "height": height, "t": height})
        parent = block_hash

    assert observer.safety()["ok"] and observer.safety()["final_height"] == 4_500
    assert len(observer.final_at_height) == observer.keep_heights
    assert len(observer.graph) <= 20 + 20 // 10 + 2
    assert len(observer.txs) <= 300
    assert len(observer.recent) <= 300
    for node in observer.nodes.values():
        assert len(node.tail) <= 12 and len(node.log) <= 40
        assert len(node.pool) == 0
