"""Observers that see every message sent and every event, and judge the run.

The safety checker keeps a *global* view that no node has: every vote ever
sent, every block ever finalized by any node in any of its lives. It is fed
after every step (a delivered message, an epoch tick, a restart) and raises
:class:`SafetyViolation` at the first broken invariant:

- consistency (Theorem 12): finalized chains of all nodes, including what a
  node finalized before it crashed, are prefixes of one another;
- each node's finalized log only extends, across restarts too;
- no transaction appears twice in the finalized chain;
- at most one notarized block per epoch, where a block counts as notarized
  as soon as more than n/2 distinct nodes have *sent* a vote for it;
- no node votes twice in an epoch, no leader proposes twice in its epoch
  (both counted over all of a node's lives: the promises of PROTOCOL.md,
  crash-recovery);
- the core never reports a ``safety_violation`` event.

The liveness checker judges the fault-free phase against Theorem 13.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backend.core import (
    Message,
    Propose,
    Streamlet,
    Vote,
    leader_of,
    quorum,
)

#: Theorem 13: five consecutive epochs with live leaders after GST.
LIVE_LEADER_RUN = 5


class SafetyViolation(Exception):
    """A safety invariant broke; the text says which and where."""


class LivenessFailure(Exception):
    """The fault-free phase did not make the progress Theorem 13 promises."""


class SafetyChecker:
    """Incremental checks of every safety invariant, over all nodes and lives."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.quorum = quorum(n)
        #: The longest finalized chain any node ever had, by height - 1.
        self.final_chain: list[str] = []
        self.final_txs: set[str] = set()
        #: Everything each node ever finalized (its longest log over all lives).
        self.ever_final: dict[int, list[str]] = {i: [] for i in range(1, n + 1)}
        #: Finalized height of each node's current life.
        self.height: dict[int, int] = {i: 0 for i in range(1, n + 1)}
        self.block_epoch: dict[str, int] = {}
        self.tally: dict[str, set[int]] = {}
        self.notarized_in: dict[int, str] = {}
        self.sent_vote: dict[tuple[int, int], str] = {}
        self.sent_proposal: dict[tuple[int, int], str] = {}
        self.vote_events: set[tuple[int, int]] = set()
        self.propose_events: set[tuple[int, int]] = set()
        self.where = ""

    def fail(self, text: str) -> None:
        raise SafetyViolation(f"{self.where}: {text}" if self.where else text)

    # --- what was sent ------------------------------------------------------

    def on_send(self, src: int, message: Message) -> None:
        """Called once per message a node sends (not once per recipient)."""
        kind = type(message)
        if kind is Vote:
            self._on_vote_sent(src, message)
        elif kind is Propose:
            block = message.block
            self.block_epoch.setdefault(block.hash, block.epoch)
            if block.proposer == src:
                key = (src, block.epoch)
                first = self.sent_proposal.setdefault(key, block.hash)
                if first != block.hash:
                    self.fail(f"n{src} proposed two blocks in epoch {block.epoch}: "
                              f"{first[:8]} and {block.hash[:8]}")

    def _on_vote_sent(self, src: int, vote: Vote) -> None:
        if vote.voter == src:
            first = self.sent_vote.setdefault((src, vote.epoch), vote.block)
            if first != vote.block:
                self.fail(f"n{src} sent votes for two blocks in epoch {vote.epoch}: "
                          f"{first[:8]} and {vote.block[:8]}")
        voters = self.tally.setdefault(vote.block, set())
        if vote.voter in voters:
            return
        voters.add(vote.voter)
        if len(voters) == self.quorum:
            # Notarized in the global view: more than n/2 distinct votes exist.
            epoch = self.block_epoch.get(vote.block, vote.epoch)
            other = self.notarized_in.setdefault(epoch, vote.block)
            if other != vote.block:
                self.fail(f"two notarized blocks in epoch {epoch}: {other[:8]} and "
                          f"{vote.block[:8]}")

    # --- what the nodes reported ------------------------------------------

    def on_event(self, node: int, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "finalize":
            self._on_finalize(node, event["blocks"])
        elif kind == "vote":
            key = (node, event["epoch"])
            if key in self.vote_events:
                self.fail(f"n{node} voted twice in epoch {event['epoch']}")
            self.vote_events.add(key)
        elif kind == "propose":
            key = (node, event["epoch"])
            if key in self.propose_events:
                self.fail(f"n{node} proposed twice in epoch {event['epoch']}")
            self.propose_events.add(key)
        elif kind == "safety_violation":
            self.fail(f"n{node} reported a safety violation: {event['detail']}")

    def _on_finalize(self, node: int, blocks: list[dict[str, Any]]) -> None:
        for summary in blocks:
            height = summary["height"]
            if height != self.height[node] + 1:
                self.fail(f"n{node} finalized height {height} after height "
                          f"{self.height[node]}: the log must only extend")
            self._extend_global(node, summary)
            ever = self.ever_final[node]
            if height <= len(ever):
                if ever[height - 1] != summary["hash"]:
                    self.fail(f"n{node} finalized {summary['hash'][:8]} at height "
                              f"{height}, where it had finalized "
                              f"{ever[height - 1][:8]} before a restart")
            else:
                ever.append(summary["hash"])
            self.height[node] = height

    def _extend_global(self, node: int, summary: dict[str, Any]) -> None:
        height, block_hash = summary["height"], summary["hash"]
        chain = self.final_chain
        if height <= len(chain):
            if chain[height - 1] != block_hash:
                self.fail(f"n{node} finalized {block_hash[:8]} at height {height}, "
                          f"another node finalized {chain[height - 1][:8]} there")
            return
        txs = summary["txs"]
        if len(set(txs)) != len(txs) or any(t in self.final_txs for t in txs):
            repeated = sorted(t for t in txs if t in self.final_txs or txs.count(t) > 1)
            self.fail(f"transaction {repeated[0]} finalized twice "
                      f"(block {block_hash[:8]} at height {height})")
        chain.append(block_hash)
        self.final_txs.update(txs)

    # --- state checks -------------------------------------------------------

    def after_step(self, node: int, core: Streamlet) -> None:
        """The node's finalized log must be exactly what its events said.

        The core keeps only its recent finalized hashes in memory
        (``finalized_offset`` counts the heights before them), so the height
        and the tip are compared; the whole log is in ``ever_final``.
        """
        height = self.height[node]
        if core.finalized_height != height or (
                height and core.finalized_tip != self.ever_final[node][height - 1]):
            self.fail(f"n{node} holds {core.finalized_height} final blocks but its "
                      f"events reported {height}")

    def on_restore(self, node: int, core: Streamlet) -> None:
        """A restarted node must keep everything it ever finalized, unchanged.

        Compared over the heights the restored core still holds in memory;
        below them only the count (the finalized log never shrinks).
        """
        ever = self.ever_final[node]
        start = core.finalized_offset + 1
        if start > len(ever) + 1:
            self.fail(f"n{node} restarted with final blocks from height {start}, "
                      f"it had reported only {len(ever)}")
        for height, block_hash in enumerate(core.finalized, start=start):
            if height > len(ever):
                # Re-derived from its records beyond what it reported: judged
                # like any other finalization.
                self._extend_global(node, core.blocks[block_hash].summary())
                ever.append(block_hash)
            elif ever[height - 1] != block_hash:
                self.fail(f"n{node} restarted with {block_hash[:8]} final at height "
                          f"{height}, it had finalized {ever[height - 1][:8]}")
        if core.finalized_height < len(ever):
            self.fail(f"n{node} restarted with {core.finalized_height} final blocks, "
                      f"it had finalized {len(ever)}: the finalized log shrank")
        self.height[node] = core.finalized_height


def live_leader_run(start: int, n: int, policy: str, live: Iterable[int],
                    horizon: int = 10_000) -> int | None:
    """First epoch e >= ``start`` that opens five epochs led by live nodes.

    Returns None if there is none within ``horizon`` epochs (with round-robin
    leaders and nodes 1 and 3 of 5 down there never is: PROTOCOL.md, corner
    case 7).
    """
    alive = set(live)
    run = 0
    for epoch in range(start, start + horizon):
        run = run + 1 if leader_of(epoch, n, policy) in alive else 0
        if run == LIVE_LEADER_RUN:
            return epoch - LIVE_LEADER_RUN + 1
    return None


class LivenessChecker:
    """Theorem 13 after GST: each live node finalizes a block of the five-epoch run.

    ``first_epoch`` opens five consecutive epochs with live leaders; by the
    start of ``first_epoch + 5`` every live node must have finalized a block
    proposed in one of them (or later).
    """

    def __init__(self, gst_epoch: int, first_epoch: int, live: Iterable[int]) -> None:
        self.gst_epoch = gst_epoch
        self.first_epoch = first_epoch
        self.deadline_epoch = first_epoch + LIVE_LEADER_RUN
        self.live = sorted(live)
        #: Epoch (on the node's clock) when each node finalized a new block.
        self.done: dict[int, int] = {}

    def on_event(self, node: int, node_epoch: int, event: dict[str, Any]) -> None:
        if event["type"] != "finalize" or node in self.done:
            return
        if any(b["epoch"] >= self.first_epoch for b in event["blocks"]):
            self.done[node] = node_epoch

    @property
    def satisfied(self) -> bool:
        return all(node in self.done for node in self.live)

    def check(self) -> None:
        """Called at the start of the deadline epoch."""
        late = [node for node in self.live if node not in self.done]
        if late:
            names = ", ".join(f"n{i}" for i in late)
            raise LivenessFailure(
                f"{names} finalized no block of epochs >= {self.first_epoch} by "
                f"the start of epoch {self.deadline_epoch} (faults stopped in "
                f"epoch {self.gst_epoch}; Theorem 13 bound)")

    def epochs_to_final(self) -> int:
        """Most epochs any live node waited after GST for a new final block."""
        return max(self.done.values(), default=self.gst_epoch) - self.gst_epoch
