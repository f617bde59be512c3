"""Deliberately broken cores: each breaks one rule, so the checkers must fail.

They are also loadable from the command line, e.g.
``python -m backend.sim --core tests.sim.sim_broken_cores:VotesTwice``.
"""

from __future__ import annotations

from backend.core import Snapshot, Streamlet
from backend.core.chain import Block
from backend.core.output import Output
from backend.core.state import Config


class FinalizesThird(Streamlet):
    """Finalizes the third block of a consecutive triple (corner case 6)."""

    def _check_finalize(self, third: Block, out: Output) -> None:
        middle = self.blocks[third.parent]
        if middle.height == 0:
            return
        first = self.blocks[middle.parent]
        if first.epoch + 1 == middle.epoch and middle.epoch + 1 == third.epoch:
            self._finalize(third, (first.hash, middle.hash, third.hash), out)


class VotesTwice(Streamlet):
    """Forgets each vote right after casting it, so it votes again in the epoch."""

    def _try_vote(self, out: Output) -> None:
        super()._try_vote(out)
        self.voted.pop(self.epoch, None)
        self._vote_decided.discard(self.epoch)


class ForgetsVotesOnRestart(Streamlet):
    """Does not restore its votes: a restarted node may vote again in an epoch."""

    @classmethod
    def restore(cls, config: Config, node_id: int, snap: Snapshot) -> Streamlet:
        node = super().restore(config, node_id, snap)
        node.voted.clear()
        node.last_vote_extended_height = 0
        return node


class ForgetsNotarizationsOnRestart(Streamlet):
    """Restores no notarization: its finalized log shrinks across a restart."""

    @classmethod
    def restore(cls, config: Config, node_id: int, snap: Snapshot) -> Streamlet:
        snap.notarized.clear()
        return super().restore(config, node_id, snap)


class SmallQuorum(Streamlet):
    """Notarizes with n // 2 votes, not more than n/2 (corner case 3)."""

    def __init__(self, config: Config, node_id: int) -> None:
        super().__init__(config, node_id)
        self.quorum = config.n // 2


class NeverProposes(Streamlet):
    """A leader that never proposes: nothing is ever finalized."""

    def _propose(self, out: Output) -> None:
        return


class DropsTransactions(Streamlet):
    """Proposes only empty blocks: transactions are acknowledged, never final."""

    def _propose(self, out: Output) -> None:
        pool, self.pool = self.pool, {}
        try:
            super()._propose(out)
        finally:
            self.pool = pool


class CrashesInEpoch5(Streamlet):
    """Raises when its clock reaches epoch 5."""

    def on_epoch(self, epoch: int) -> Output:
        if epoch == 5:
            raise RuntimeError("deliberate failure in epoch 5")
        return super().on_epoch(epoch)
