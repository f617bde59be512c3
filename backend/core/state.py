"""One node's Streamlet state machine (crash-fault variant, Chan & Shi §5).

Inputs: :meth:`Streamlet.on_epoch`, :meth:`Streamlet.on_message`,
:meth:`Streamlet.on_transaction`, :meth:`Streamlet.on_peer_connected`.
Each returns an :class:`~backend.core.output.Output` of records to persist,
messages to send and events to report; see that module for the order.

Vocabulary, as in the paper: a block is *notarized* once more than n/2
distinct nodes voted for it; a chain is notarized when all its blocks are;
a node *finalizes* the middle block of three adjacent blocks of consecutive
epochs on a notarized chain, together with its prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from .chain import GENESIS, Block, Transaction
from .leader import ROUND_ROBIN, leader_of
from .messages import (
    MAX_BLOCK_TXS,
    MAX_SYNC_BLOCKS,
    Message,
    Propose,
    SyncRequest,
    SyncResponse,
    TxMessage,
    Vote,
)
from .output import (
    BlockRecord,
    FinalizedRecord,
    NotarizedRecord,
    Output,
    ProposalRecord,
    Send,
    Snapshot,
    TxRecord,
    VoteRecord,
)
from .quorum import quorum


@dataclass(frozen=True, slots=True)
class Config:
    n: int
    leader: str = ROUND_ROBIN
    echo: bool = True
    #: Proposals further ahead than this many epochs are dropped, not buffered.
    max_future_epochs: int = 64
    #: Most blocks kept aside while their ancestors are fetched.
    max_orphans: int = 1024
    #: Most transactions waiting in the pool; further ones are refused.
    max_pool: int = 100_000
    #: Most blocks with a vote tally; votes for further unknown blocks are dropped.
    max_vote_entries: int = 20_000
    #: Blocks this far below the finalized height leave memory (not the store).
    keep_heights: int = 256
    #: Proposals for epochs this far behind the current one are ignored.
    late_proposal_epochs: int = 16
    #: The course's fork demonstration (PROTOCOL.md, "confusion"): from this
    #: epoch, for ``confusion_duration`` epochs, received messages are held
    #: back, then processed together, late votes included. 0: off.
    confusion_start: int = 0
    confusion_duration: int = 0
    #: Votes for blocks never seen are forgotten after this many epochs.
    stale_vote_epochs: int = 16

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError("n must be at least 1")
        leader_of(1, self.n, self.leader)  # rejects an unknown policy early
        if not 0 <= self.confusion_duration <= 15:
            raise ValueError("confusion lasts at most 15 epochs")

    def confused(self, epoch: int) -> bool:
        """Is ``epoch`` inside the confusion period of the fork demonstration?"""
        start = self.confusion_start
        return start > 0 and start <= epoch < start + self.confusion_duration


def leader_in(config: Config, epoch: int) -> int:
    """The leader of ``epoch`` under ``config`` (a pure function, case 8)."""
    if config.confused(epoch):
        # The course's demonstration: leaders follow the epoch in turn.
        return leader_of(epoch, config.n, ROUND_ROBIN)
    return leader_of(epoch, config.n, config.leader)


class Streamlet:
    """The protocol state of node ``node_id`` in a cluster of ``config.n``."""

    def __init__(self, config: Config, node_id: int) -> None:
        if not 1 <= node_id <= config.n:
            raise ValueError(f"node id {node_id} is not in 1..{config.n}")
        self.config = config
        self.id = node_id
        self.n = config.n
        self.quorum = quorum(config.n)
        self.peers = tuple(i for i in range(1, config.n + 1) if i != node_id)
        self.epoch = 0

        self.blocks: dict[str, Block] = {GENESIS.hash: GENESIS}
        self.children: dict[str, list[str]] = {}
        self.votes: dict[str, set[int]] = {}
        self._vote_seen_epoch: dict[str, int] = {}
        self.notarized: set[str] = {GENESIS.hash}
        # Blocks whose whole chain back to genesis is known and notarized.
        self.chained: set[str] = {GENESIS.hash}
        self.best_height = 0
        self._best_tips: set[str] = {GENESIS.hash}
        # Blocks whose parent is unknown, by that parent (corner case 4).
        self.orphans: dict[str, dict[str, Block]] = {}

        # The first proposal from each epoch's leader (corner case 5).
        self.first_proposal: dict[int, Block] = {}
        self._vote_decided: set[int] = set()

        # Safety state that must survive a restart (PROTOCOL.md, recovery).
        # ``voted`` holds the recent epochs only (see _prune); the store keeps
        # every vote, and an older epoch can no longer get a vote anyway.
        self.voted: dict[int, str] = {}
        self.last_vote_extended_height = 0
        self.last_proposed_epoch = 0

        # Everything below this height has left memory; the store keeps it.
        self.pruned_height = 0
        # The finalized log, bounded: the hashes of the heights from
        # finalized_offset + 1 up, so finalized_height = offset + len.
        # Older hashes leave memory with their blocks (_prune_below).
        self.finalized: list[str] = []
        self.finalized_offset = 0
        self.finalized_epoch: dict[str, int] = {}
        # Ids of the transactions finalized at heights still in memory, and
        # those ids by height, to forget them with their blocks. A repeat of
        # an older one must be stopped by the caller (README, duties).
        self.finalized_txs: set[str] = set()
        self._final_tx_heights: dict[int, tuple[str, ...]] = {}
        self.pool: dict[str, Transaction] = {}
        # The echo filter: message id -> epoch it was recorded in, and the
        # ids by that epoch, so pruning visits only the epochs it forgets.
        self._seen: dict[str, int] = {}
        self._seen_by_epoch: dict[int, list[str]] = {}
        # Messages held back during the confusion period, and whether they are
        # being processed now (when late votes are allowed).
        self._held: list[tuple[Message, int]] = []
        self._replaying = False
        self._asked_votes_epoch = -1

    # --- queries --------------------------------------------------------

    def leader(self, epoch: int) -> int:
        return leader_in(self.config, epoch)

    @property
    def finalized_height(self) -> int:
        return self.finalized_offset + len(self.finalized)

    @property
    def finalized_tip(self) -> str:
        return self.finalized[-1] if self.finalized else GENESIS.hash

    def chain(self, tip: str) -> list[Block]:
        """Blocks from genesis (excluded) to ``tip``, oldest first.

        Only the blocks still in memory: a long run's chain starts at
        :attr:`pruned_height`.
        """
        out = []
        while tip != GENESIS.hash and tip in self.blocks:
            block = self.blocks[tip]
            out.append(block)
            tip = block.parent
        out.reverse()
        return out

    def longest_notarized_tips(self) -> list[str]:
        """Tips of the longest notarized chains seen, in a stable order."""
        return sorted(self._best_tips,
                      key=lambda h: (-self.blocks[h].epoch, h))

    def why_not_final(self, block_hash: str) -> str:
        """A sentence saying why a block is, or is not yet, final here."""
        if block_hash == GENESIS.hash or block_hash in self.finalized_epoch:
            return "final"
        block = self.blocks.get(block_hash)
        if block is None:
            return "this node has not received the block"
        if block_hash not in self.notarized:
            return (f"not notarized: {len(self.votes.get(block_hash, ()))} of "
                    f"{self.quorum} votes needed")
        if block_hash not in self.chained:
            return "an ancestor is not notarized here yet"
        kids = [c for c in self.children.get(block_hash, ())
                if c in self.chained and self.blocks[c].epoch == block.epoch + 1]
        parent = self.blocks[block.parent]
        if parent.epoch != block.epoch - 1:
            return (f"its parent is from epoch {parent.epoch}, not {block.epoch - 1}:"
                    " it can only become final through a descendant")
        if not kids:
            return f"waiting for a notarized child from epoch {block.epoch + 1}"
        return "final once the finalization is processed"

    # --- inputs ---------------------------------------------------------

    def on_epoch(self, epoch: int) -> Output:
        """Epoch ``epoch`` has started on this node's clock."""
        out = Output()
        if epoch <= self.epoch:
            return out  # epochs only move forward
        self.epoch = epoch
        leader = self.leader(epoch)
        out.events.append({"type": "epoch", "epoch": epoch, "leader": leader})
        if self._held and epoch >= self._confusion_end:
            self._release_held(out)
        self._prune()
        if leader == self.id and self.last_proposed_epoch < epoch:
            self._propose(out)
        self._try_vote(out)
        if self.orphans:
            self._request_missing(out, self.peers)
        self._request_votes(out, self._stuck_blocks() + self._unsettled_blocks())
        return out

    def on_transaction(self, tx: Transaction) -> Output:
        """A client hands ``tx`` to this node."""
        out = Output()
        self._accept_tx(tx, out, spread=True)
        return out

    def rebroadcast_pool(self) -> Output:
        """Send every pending transaction to every peer again.

        Called once after a restart: a transaction this node acknowledged just
        before it was killed may have reached only its store, not its peers.
        """
        out = Output()
        for tx in self.pool.values():
            message = TxMessage(tx)
            self._mark_seen(message.id, self.epoch)
            out.send.append(Send(self.peers, message))
        return out

    def on_peer_connected(self, peer: int) -> Output:
        """A link to ``peer`` came up: ask it for what this node may have missed."""
        out = Output()
        if peer != self.id and 1 <= peer <= self.n:
            request = SyncRequest(self.id, self.finalized_height)
            out.send.append(Send((peer,), request))
        return out

    def on_message(self, message: Message, via: int) -> Output:
        """Handle ``message`` received over the link from node ``via``."""
        out = Output()
        if not self._replaying and self._holds(message):
            if len(self._held) < self.config.max_vote_entries:
                self._held.append((message, via))
            return out
        if isinstance(message, (Propose, Vote, TxMessage)):
            if message.id in self._seen:
                return out  # echo storms: each distinct message once (case 14)
            # Checked before the echo filter records it: a flood of messages
            # nobody should act on must neither grow the filter nor be echoed.
            if isinstance(message, Propose) and not self._admissible(message.block,
                                                                     out):
                return out
            if isinstance(message, Vote) and not self._vote_admissible(message, out):
                return out
            self._mark_seen(message.id, self.epoch)
            if self.config.echo:
                targets = tuple(p for p in self.peers
                                if p != via and p != getattr(message, "sender", 0))
                if targets:
                    out.send.append(Send(targets, message))
        if isinstance(message, Propose):
            self._on_propose(message.block, out)
        elif isinstance(message, Vote):
            self._on_vote(message, out)
        elif isinstance(message, TxMessage):
            self._accept_tx(message.tx, out, spread=False)
        elif isinstance(message, SyncRequest):
            self._on_sync_request(message, out)
        elif isinstance(message, SyncResponse):
            self._on_sync_response(message, out)
        return out

    @property
    def _confusion_end(self) -> int:
        return self.config.confusion_start + self.config.confusion_duration

    def _holds(self, message: Message) -> bool:
        """Is this message held back by the confusion period?

        Held while this node is in the period, and also when the message
        belongs to an epoch of the period: a node whose clock is a little
        behind would otherwise process early what the others hold.
        """
        if not self.config.confusion_duration or self.epoch >= self._confusion_end:
            return False
        if self.config.confused(self.epoch):
            return True
        if isinstance(message, Propose):
            return self.config.confused(message.block.epoch)
        return isinstance(message, Vote) and self.config.confused(message.epoch)

    def _release_held(self, out: Output) -> None:
        """End of the confusion period: process everything held back.

        Proposals of the confusion epochs are voted for now, late, if the
        vote rule's other conditions hold. Several blocks extending the same
        parent can then be notarized together: the fork the demonstration is
        about. The paper's safety proof does not cover late votes.
        """
        held, self._held = self._held, []
        out.events.append({"type": "confusion_over", "held": len(held)})
        self._replaying = True
        try:
            for message, via in held:
                out.extend(self.on_message(message, via))
        finally:
            self._replaying = False

    @classmethod
    def restore(cls, config: Config, node_id: int, snap: Snapshot) -> Streamlet:
        """Rebuild a node from what it persisted before it stopped."""
        node = cls(config, node_id)
        scratch = Output()
        for block in sorted(snap.blocks, key=lambda b: b.height):
            node._add_block(block, scratch, persist=False)
        # Blocks first: finalization is re-derived below, and txs of blocks
        # final before the restart must not come back into the pool. The
        # core's memory keeps only recent final ids, so the full set is taken
        # from the records here, once.
        recorded = {rec.block for rec in snap.finalized}
        final_ids = {t for b in snap.blocks if b.hash in recorded for t in b.tx_ids}
        for tx in snap.txs:
            if tx.id not in final_ids and len(node.pool) < config.max_pool:
                node.pool.setdefault(tx.id, tx)
        for rec in snap.votes:
            node.voted[rec.epoch] = rec.block
            node.last_vote_extended_height = max(node.last_vote_extended_height,
                                                 rec.extended_height)
        for rec in snap.proposals:
            node.last_proposed_epoch = max(node.last_proposed_epoch, rec.epoch)
        for rec in snap.notarized:
            node.votes.setdefault(rec.block, set()).update(rec.voters)
            node._notarize(rec.block, scratch, persist=False)
        # Finalization is re-derived from the notarized chain above; the
        # recorded epochs only keep when each block first became final.
        for rec in snap.finalized:
            if rec.block in node.finalized_epoch:
                node.finalized_epoch[rec.block] = rec.epoch
        return node

    # --- propose --------------------------------------------------------

    def _propose(self, out: Output) -> None:
        """Extend one of the longest notarized chains (PROTOCOL.md, Propose)."""
        parent = self.blocks[self.longest_notarized_tips()[0]]
        in_chain = self._txs_in_chain(parent.hash)
        txs = []
        for tx_id, tx in self.pool.items():
            if tx_id not in in_chain:
                txs.append(tx)
                if len(txs) == MAX_BLOCK_TXS:
                    break
        block = Block(parent=parent.hash, epoch=self.epoch, height=parent.height + 1,
                      txs=tuple(txs), proposer=self.id)
        self.last_proposed_epoch = self.epoch
        out.persist.append(ProposalRecord(self.epoch, block.hash))
        message = Propose(block)
        self._mark_seen(message.id, self.epoch)
        out.send.append(Send(self.peers, message))
        out.events.append({"type": "propose", "epoch": self.epoch,
                           "block": block.summary()})
        self._on_propose(block, out)

    # --- vote -----------------------------------------------------------

    def _admissible(self, block: Block, out: Output) -> bool:
        """Is this a proposal from its epoch's leader, in the epochs kept?"""
        leader = self.leader(block.epoch)
        if block.proposer != leader:
            self._reject(out, "propose", f"n{block.proposer} is not the leader of "
                         f"epoch {block.epoch} (n{leader} is)", block.hash)
            return False
        if block.epoch < self.epoch - self.config.late_proposal_epochs:
            self._reject(out, "propose", f"epoch {block.epoch} is long past",
                         block.hash)
            return False
        if block.epoch > self.epoch + self.config.max_future_epochs:
            self._reject(out, "propose", f"epoch {block.epoch} is too far ahead",
                         block.hash)
            return False
        return True

    def _on_propose(self, block: Block, out: Output) -> None:
        if not self._admissible(block, out):
            return
        first = self.first_proposal.get(block.epoch)
        if first is not None and first.hash != block.hash:
            self._reject(out, "propose", "a second proposal in the same epoch",
                         block.hash)
            return
        if first is None:
            # Kept until its epoch starts if it is early (corner case 9); a
            # late one is kept too, so one epoch adds one block at most.
            self.first_proposal[block.epoch] = block
        self._add_block(block, out)
        if self._replaying and self.config.confused(block.epoch):
            self._try_vote(out, block.epoch)
        self._try_vote(out)

    def _try_vote(self, out: Output, epoch: int | None = None) -> None:
        """Vote for this epoch's proposal if the vote rule allows it now.

        ``epoch`` other than the current one only for the late votes of the
        confusion demonstration.
        """
        epoch = self.epoch if epoch is None else epoch
        block = self.first_proposal.get(epoch)
        if block is None or epoch in self.voted or epoch in self._vote_decided:
            return
        if block.parent not in self.chained:
            # Wait: never vote before the parent chain is notarized (case 4);
            # meanwhile ask for the votes this node may have missed.
            self._request_votes(out, self._unchained_ancestors(block.parent))
            return
        parent = self.blocks[block.parent]
        reason = None
        if block.height != parent.height + 1 or block.epoch <= parent.epoch:
            # _add_block refused to attach it; a vote would also raise the
            # height this node promises to extend (last_vote_extended_height).
            reason = "its height or epoch does not follow its parent"
        elif block.hash in self.notarized:
            reason = f"b{block.epoch} was already notarized by the others' votes"
        elif block.height <= self.best_height:
            reason = (f"it has seen a notarized chain of height {self.best_height},"
                      f" as long as b{block.epoch}")
        elif block.height - 1 < self.last_vote_extended_height:
            reason = ("before restarting it voted for a block extending height "
                      f"{self.last_vote_extended_height}")
        elif self._has_repeated_tx(block):
            reason = "the block repeats a transaction of its chain"
        self._vote_decided.add(epoch)
        if reason is not None:
            out.events.append({"type": "vote_skipped", "epoch": epoch,
                               "block": block.hash, "reason": reason})
            return
        self.voted[epoch] = block.hash
        self.last_vote_extended_height = block.height - 1
        out.persist.append(VoteRecord(epoch, block.hash, block.height - 1))
        vote = Vote(self.id, epoch, block.hash)
        self._mark_seen(vote.id, epoch)
        out.send.append(Send(self.peers, vote))
        out.events.append({"type": "vote", "epoch": epoch, "block": block.hash,
                           "height": block.height, "parent": block.parent})
        self._on_vote(vote, out)

    def _has_repeated_tx(self, block: Block) -> bool:
        ids = block.tx_ids
        if len(set(ids)) != len(ids):
            return True
        in_chain = self._txs_in_chain(block.parent)
        return any(i in in_chain for i in ids)

    def _txs_in_chain(self, tip: str) -> _Union:
        """Transaction ids already in the chain ending at ``tip``.

        The walk stops at the first finalized block; every finalized
        transaction counts as in the chain, even for a block on a fork that
        leaves the finalized chain lower down: such a block must not carry a
        transaction that is already final either (PROTOCOL.md, case 12).
        """
        recent: set[str] = set()
        while tip in self.blocks and tip not in self.finalized_epoch:
            block = self.blocks[tip]
            if block.height == 0:
                break
            recent.update(block.tx_ids)
            tip = block.parent
        return _Union(recent, self.finalized_txs)

    # --- notarize and finalize -----------------------------------------

    def _vote_admissible(self, vote: Vote, out: Output) -> bool:
        """Is this vote worth counting and echoing (bounds against floods)?

        A correct node votes only in its own current epoch, so a vote from
        further ahead than a proposal may be (max_future_epochs) is refused.
        A vote for a block this node does not know takes a tally entry; past
        max_vote_entries such votes are dropped (votes for known blocks never
        are); catch-up recovers the voters of a real block later.
        """
        if vote.epoch > self.epoch + self.config.max_future_epochs:
            self._reject(out, "vote", f"epoch {vote.epoch} is too far ahead",
                         vote.block)
            return False
        return not self._tally_full(vote.block)

    def _tally_full(self, block_hash: str) -> bool:
        return (block_hash not in self.votes and block_hash not in self.blocks
                and len(self.votes) >= self.config.max_vote_entries)

    def _on_vote(self, vote: Vote, out: Output) -> None:
        if self._tally_full(vote.block):
            return  # bound memory against votes for blocks nobody proposed
        voters = self.votes.setdefault(vote.block, set())
        if vote.voter in voters:
            return  # an echoed vote counts once, for its voter (case 3)
        voters.add(vote.voter)
        self._vote_seen_epoch.setdefault(vote.block, self.epoch)
        out.events.append({"type": "tally", "block": vote.block,
                           "voter": vote.voter, "count": len(voters),
                           "epoch": vote.epoch})
        if len(voters) >= self.quorum and vote.block not in self.notarized:
            self._notarize(vote.block, out)

    def _notarize(self, block_hash: str, out: Output, persist: bool = True) -> None:
        if block_hash in self.notarized:
            return
        voters = self.votes.get(block_hash, set())
        if len(voters) < self.quorum:
            return
        self.notarized.add(block_hash)
        if persist:
            out.persist.append(NotarizedRecord(block_hash, tuple(sorted(voters))))
        block = self.blocks.get(block_hash)
        out.events.append({
            "type": "notarize", "block": block_hash, "voters": sorted(voters),
            "block_epoch": block.epoch if block else None,
        })
        if block is not None:
            self._extend_chains(block_hash, out)

    def _extend_chains(self, start: str, out: Output) -> None:
        """Mark ``start`` and any waiting descendants as notarized chains."""
        stack = [start]
        while stack:
            h = stack.pop()
            if h in self.chained or h not in self.notarized or h not in self.blocks:
                continue
            block = self.blocks[h]
            if block.parent not in self.chained:
                continue
            self.chained.add(h)
            if block.height > self.best_height:
                self.best_height = block.height
                self._best_tips = {h}
            elif block.height == self.best_height:
                self._best_tips.add(h)
            self._check_finalize(block, out)
            stack.extend(self.children.get(h, ()))
        self._try_vote(out)

    def _check_finalize(self, third: Block, out: Output) -> None:
        """Three adjacent blocks of consecutive epochs: finalize the middle one.

        ``third`` has just joined a notarized chain; it can only be the last
        block of a new triple, because its ancestors were chained before it.
        """
        middle = self.blocks[third.parent]
        if middle.height == 0:
            return
        first = self.blocks[middle.parent]
        if not (first.epoch + 1 == middle.epoch and middle.epoch + 1 == third.epoch):
            return
        self._finalize(middle, (first.hash, middle.hash, third.hash), out)

    def _finalize(self, middle: Block, triple: tuple[str, ...], out: Output) -> None:
        if middle.hash in self.finalized_epoch:
            return
        path = []
        tip = middle.hash
        while tip != self.finalized_tip:
            block = self.blocks.get(tip)
            if block is None or block.height <= self.finalized_height:
                out.events.append({
                    "type": "safety_violation", "block": middle.hash,
                    "detail": f"b{middle.epoch} conflicts with the finalized chain",
                })
                return
            path.append(block)
            tip = block.parent
        path.reverse()
        for block in path:
            self.finalized.append(block.hash)
            self.finalized_epoch[block.hash] = self.epoch
            out.persist.append(FinalizedRecord(block.hash, self.epoch))
            ids = tuple(block.tx_ids)
            if ids:
                self._final_tx_heights[block.height] = ids
            for tx_id in ids:
                self.finalized_txs.add(tx_id)
                self.pool.pop(tx_id, None)
        out.events.append({
            "type": "finalize", "epoch": self.epoch,
            "blocks": [b.summary() for b in path], "justification": list(triple),
            "height": self.finalized_height,
        })
        self._prune_below(self.finalized_height - self.config.keep_heights)

    # --- blocks and catch-up ----------------------------------------------

    def _add_block(self, block: Block, out: Output, persist: bool = True) -> None:
        """Learn a block body; attach it, or keep it aside until its parent comes."""
        pending = [block]
        while pending:
            block = pending.pop()
            if block.hash in self.blocks:
                continue
            parent = self.blocks.get(block.parent)
            if parent is None:
                self._keep_orphan(block, out)
                continue
            if block.height != parent.height + 1 or block.epoch <= parent.epoch:
                self._reject(out, "block", "height or epoch does not follow its "
                             "parent", block.hash)
                continue
            self.blocks[block.hash] = block
            self.children.setdefault(block.parent, []).append(block.hash)
            if persist:
                out.persist.append(BlockRecord(block))
                out.events.append({"type": "block", "block": block.summary()})
            for tx in block.txs:
                # Kept so that a tx of an abandoned fork is proposed again.
                room = len(self.pool) < self.config.max_pool
                if tx.id not in self.finalized_txs and room:
                    self.pool.setdefault(tx.id, tx)
            if block.hash in self.notarized:
                self._extend_chains(block.hash, out)
            waiting = self.orphans.pop(block.hash, None)
            if waiting:
                pending.extend(waiting.values())

    def _keep_orphan(self, block: Block, out: Output) -> None:
        if block.hash in self.orphans.get(block.parent, ()):
            return
        if sum(len(v) for v in self.orphans.values()) >= self.config.max_orphans:
            self._reject(out, "block", "too many blocks waiting for ancestors",
                         block.hash)
            return
        self.orphans.setdefault(block.parent, {})[block.hash] = block
        out.events.append({"type": "orphan", "block": block.hash,
                           "parent": block.parent})
        self._request_missing(out, self.peers)

    def _unchained_ancestors(self, tip: str) -> list[str]:
        """Known blocks from ``tip`` down to the notarized chain, newest first."""
        found = []
        while tip in self.blocks and tip not in self.chained:
            found.append(tip)
            tip = self.blocks[tip].parent
        return found

    def _stuck_blocks(self) -> list[str]:
        """Known blocks that others built on but this node has not notarized.

        A child proves its leader saw the block notarized; if this node still
        lacks some of the votes (lost while a link was down, or dropped), it
        would never see the chain notarized without asking again.
        """
        if self.children.keys() <= self.chained:
            # The usual case, checked in one pass in C: this runs every epoch
            # over every block kept in memory.
            return []
        return [parent for parent, kids in self.children.items()
                if parent not in self.chained and parent in self.blocks
                and self.blocks[parent].height > self.finalized_height][:8]

    def _unsettled_blocks(self) -> list[str]:
        """Blocks this node counted votes for lately but has not notarized.

        Votes may overtake their proposal (corner case 1) and arrive one by
        one, so a block voted for but unknown, or known but short of a
        quorum, is normal within its epoch. Later the missing proposal or
        votes may be lost for good (a broken link, a silent partition), where
        the paper's network would deliver them by GST + Δ. Nothing else
        brings them back if the nodes that lack them lead the next epochs:
        they keep extending a shorter notarized chain that the others refuse
        to vote for (the vote rule: strictly longer than every notarized
        chain seen), and no child of the block is proposed that would make
        them fetch it (swarm seeds 3097 and 7441: the proposal lost; 9345:
        some of the votes lost).

        An unknown block is asked for in the two epochs after its first vote
        came. A known block short of a quorum waits one epoch more: a vote
        sent late in an epoch still arrives early in the next, and asking
        then (every node whose quorum was a vote short, to every peer) was
        most of the catch-up traffic when votes came late. A block nobody
        notarizes costs two requests.
        """
        epoch, blocks, notarized = self.epoch, self.blocks, self.notarized
        return [h for h, seen in self._vote_seen_epoch.items()
                if (h not in blocks and epoch - 2 <= seen < epoch)
                or (h in blocks and h not in notarized
                    and epoch - 3 <= seen < epoch - 1)][-8:]

    def _request_votes(self, out: Output, hashes: list[str]) -> None:
        """Ask peers for blocks and their voters, at most once per epoch."""
        if not hashes or self._asked_votes_epoch == self.epoch or not self.peers:
            return
        self._asked_votes_epoch = self.epoch
        request = SyncRequest(self.id, self.finalized_height,
                              tuple(hashes[:MAX_SYNC_BLOCKS]))
        out.send.append(Send(self.peers, request))

    def _request_missing(self, out: Output, peers: tuple[int, ...]) -> None:
        missing = tuple(h for h in self.orphans if h not in self.blocks)
        if missing and peers:
            request = SyncRequest(self.id, self.finalized_height,
                                  missing[:MAX_SYNC_BLOCKS])
            out.send.append(Send(peers, request))

    def _on_sync_request(self, req: SyncRequest, out: Output) -> None:
        if req.sender == self.id:
            return
        chosen: dict[str, Block] = {}
        for want in req.want:
            # The wanted block and its ancestors down to the requester's
            # finalized height, newest first: below it the requester holds
            # the finalized chain, and a block of another branch there can
            # never be notarized into its chain (a run of 32 blocks for
            # every wanted one made catch-up answers the bulk of the traffic
            # when votes came late).
            h = want
            while (h in self.blocks and h != GENESIS.hash
                   and len(chosen) < MAX_SYNC_BLOCKS
                   and (h == want or self.blocks[h].height > req.from_height)):
                chosen[h] = self.blocks[h]
                h = self.blocks[h].parent
        above = sorted((self.blocks[h] for h in self.chained
                        if self.blocks[h].height > req.from_height),
                       key=lambda b: (b.height, b.epoch))
        more = False
        for block in above:
            if len(chosen) >= MAX_SYNC_BLOCKS:
                more = True
                break
            chosen.setdefault(block.hash, block)
        if not chosen:
            return
        blocks = tuple(sorted(chosen.values(), key=lambda b: b.height))
        voters = tuple((b.hash, tuple(sorted(self.votes.get(b.hash, ()))))
                       for b in blocks if b.hash in self.notarized)
        out.send.append(Send((req.sender,),
                             SyncResponse(self.id, blocks, voters, more)))

    def _on_sync_response(self, resp: SyncResponse, out: Output) -> None:
        known_before = len(self.blocks)
        for block in resp.blocks:
            self._add_block(block, out)
        for block_hash, voters in resp.voters:
            # Peers fail only by crashing, so relayed voter lists are taken as
            # the original votes (the crash-fault model, not the BFT one).
            for voter in voters:
                self._on_vote(Vote(voter, 0, block_hash), out)
        learned = len(self.blocks) - known_before
        out.events.append({"type": "synced", "peer": resp.sender,
                           "learned": learned, "more": resp.more,
                           "finalized_height": self.finalized_height})
        if resp.more and learned:
            # Ask again from just below the top: other blocks at the top height
            # may have been cut off by the size of the answer.
            top = max(b.height for b in resp.blocks)
            out.send.append(Send((resp.sender,), SyncRequest(self.id, top - 1)))

    # --- transactions and housekeeping ----------------------------------

    def _accept_tx(self, tx: Transaction, out: Output, spread: bool) -> None:
        if tx.id in self.finalized_txs or tx.id in self.pool:
            return
        if len(self.pool) >= self.config.max_pool:
            self._reject(out, "tx", "the transaction pool is full", tx.id)
            return
        self.pool[tx.id] = tx
        out.persist.append(TxRecord(tx))
        out.events.append({"type": "tx", "tx": tx.id, "sender": tx.sender,
                           "receiver": tx.receiver, "amount": tx.amount})
        if spread:
            message = TxMessage(tx)
            self._mark_seen(message.id, self.epoch)
            out.send.append(Send(self.peers, message))

    def _prune_below(self, height: int) -> None:
        """Drop blocks lower than ``height`` from memory; the store keeps them.

        Only blocks below a finalized one go, so nothing that can still be
        voted on, notarized or finalized is forgotten (Theorem 12: nothing
        that conflicts with a final block can become final).
        """
        if height <= self.pruned_height + 32:
            return  # prune in steps, not on every finalization
        old = [h for h, b in self.blocks.items() if 0 < b.height < height]
        for h in old:
            del self.blocks[h]
            self.children.pop(h, None)
            self.votes.pop(h, None)
            self._vote_seen_epoch.pop(h, None)
            self.notarized.discard(h)
            self.chained.discard(h)
            self.finalized_epoch.pop(h, None)
            self.orphans.pop(h, None)
        self.children[GENESIS.hash] = [
            c for c in self.children.get(GENESIS.hash, ()) if c in self.blocks]
        self.pruned_height = height

        # The finalized log and its transaction ids below ``height`` go too:
        # kept, they grew by a hash and the block's ids per height forever.
        drop = height - 1 - self.finalized_offset
        if 0 < drop < len(self.finalized):
            del self.finalized[:drop]
            self.finalized_offset += drop
        for h in [h for h in self._final_tx_heights if h < height]:
            self.finalized_txs.difference_update(self._final_tx_heights.pop(h))

    def _mark_seen(self, message_id: str, epoch: int) -> None:
        self._seen[message_id] = epoch
        bucket = self._seen_by_epoch.get(epoch)
        if bucket is None:
            self._seen_by_epoch[epoch] = [message_id]
        else:
            bucket.append(message_id)

    def _reject(self, out: Output, kind: str, reason: str, ref: str) -> None:
        out.events.append({"type": "rejected", "kind": kind, "reason": reason,
                           "ref": ref})

    def _prune(self) -> None:
        """Forget what can no longer matter, so memory stays bounded."""
        horizon = self.epoch - self.config.stale_vote_epochs
        if horizon <= 0:
            return
        late = self.epoch - self.config.late_proposal_epochs
        for epoch in [e for e in self.first_proposal if e < late]:
            del self.first_proposal[epoch]
        self._vote_decided = {e for e in self._vote_decided if e >= self.epoch - 1}
        # No proposal older than ``late`` is admitted (_admissible), so no
        # vote can be asked for in those epochs any more; the store keeps the
        # record, and last_vote_extended_height the promise it carries.
        for epoch in [e for e in self.voted if e < late]:
            del self.voted[epoch]
        seen = self._seen
        for epoch in [e for e in self._seen_by_epoch if e < horizon]:
            for message_id in self._seen_by_epoch.pop(epoch):
                if seen.get(message_id) == epoch:  # not recorded again since
                    del seen[message_id]
        for h in [h for h, e in self._vote_seen_epoch.items() if e < horizon]:
            del self._vote_seen_epoch[h]
            if h not in self.blocks and h not in self.notarized:
                self.votes.pop(h, None)


class _Union:
    """Membership in either of two sets, without copying the larger one."""

    __slots__ = ("a", "b")

    def __init__(self, a: set[str], b: set[str]) -> None:
        self.a, self.b = a, b

    def __contains__(self, item: object) -> bool:
        return item in self.a or item in self.b

