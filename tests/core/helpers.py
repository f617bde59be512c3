"""Helpers for the core's tests: hand-made blocks and a tiny in-memory network.

The network is synchronous and deterministic: every :class:`Output` a node
returns is carried out the way PROTOCOL.md and the core README ask (records
kept first, then messages queued, then events logged), and queued messages are
delivered one at a time in an order drawn from a seeded :class:`random.Random`.
Messages cross a JSON round trip through ``message_from_wire``, so the wire
validation sees every message the protocol really sends.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from typing import Any

from backend.core import (
    ROUND_ROBIN,
    Block,
    Config,
    Message,
    Output,
    Propose,
    Send,
    Streamlet,
    SyncRequest,
    SyncResponse,
    Transaction,
    Vote,
    leader_of,
    message_from_wire,
    snapshot_from_records,
)
from backend.core.messages import MAX_SYNC_BLOCKS
from backend.core.output import (
    BlockRecord,
    FinalizedRecord,
    NotarizedRecord,
    Record,
)


def make_block(
    parent: Block,
    epoch: int,
    *,
    n: int = 5,
    txs: Iterable[Transaction] = (),
    proposer: int | None = None,
    leader: str = ROUND_ROBIN,
) -> Block:
    """A block extending ``parent`` in ``epoch``, proposed by that epoch's leader."""
    if proposer is None:
        proposer = leader_of(epoch, n, leader)
    return Block(parent=parent.hash, epoch=epoch, height=parent.height + 1,
                 txs=tuple(txs), proposer=proposer)


def tx(sender: int, nonce: int, receiver: int = 2, amount: int = 5) -> Transaction:
    return Transaction(sender, receiver, nonce, amount)


def deliver_votes(node: Streamlet, block: Block | str, voters: Iterable[int],
                  epoch: int | None = None) -> Output:
    """Hand ``node`` one vote per voter for ``block``, each over the voter's link."""
    block_hash = block if isinstance(block, str) else block.hash
    if epoch is None:
        epoch = block.epoch if isinstance(block, Block) else 1
    out = Output()
    for voter in voters:
        out.extend(node.on_message(Vote(voter, epoch, block_hash), via=voter))
    return out


def notarize(node: Streamlet, blocks: Iterable[Block], voters: Iterable[int]) -> Output:
    """Give ``node`` the bodies of ``blocks`` and enough votes to notarize them.

    Bodies go in as proposals from the leader, which is how a node learns them
    in the good case; the node may vote itself if its rule allows.
    """
    voters = tuple(voters)
    out = Output()
    for block in blocks:
        out.extend(node.on_message(Propose(block), via=block.proposer))
        out.extend(deliver_votes(node, block, voters))
    return out


def events(out: Output, kind: str) -> list[dict[str, Any]]:
    return [e for e in out.events if e["type"] == kind]


def sent(out: Output, kind: type) -> list[Any]:
    """The messages of type ``kind`` that ``out`` asks to send."""
    return [s.message for s in out.send if isinstance(s.message, kind)]


def wire_round_trip(message: Message, n: int) -> Message:
    """Encode to JSON text and validate back, as a real link would."""
    return message_from_wire(json.loads(json.dumps(message.to_wire())), n)


def is_prefix(short: list[str], long: list[str]) -> bool:
    return long[:len(short)] == short


class Network:
    """``n`` Streamlet nodes exchanging messages through a seeded shuffled queue.

    ``order`` is ``"random"`` (any queued message may be delivered next, drawn
    from ``seed``) or ``"fifo"``. Messages to a crashed node are lost. Like
    the node process, a node answers a catch-up request from below the blocks
    its core still holds in memory from its records (its "store"). After
    every step the network asserts that each node's finalized log only grew by
    extension (PROTOCOL.md, Finalize), so any scenario doubles as a check.
    """

    def __init__(self, n: int, *, seed: int = 0, leader: str = ROUND_ROBIN,
                 echo: bool = True, crashed: Iterable[int] = (),
                 order: str = "random", wire: bool = True) -> None:
        self.config = Config(n, leader=leader, echo=echo)
        self.n = n
        self.rng = random.Random(seed)
        self.order = order
        self.wire = wire
        self.nodes = {i: Streamlet(self.config, i) for i in range(1, n + 1)}
        self.crashed: set[int] = set(crashed)
        self.records: dict[int, list[Record]] = {i: [] for i in self.nodes}
        self.events: dict[int, list[dict[str, Any]]] = {i: [] for i in self.nodes}
        # (destination, link it arrives over, message)
        self.queue: list[tuple[int, int, Message]] = []
        # Every (sender, destination, message) handed to the network.
        self.sends: list[tuple[int, int, Message]] = []
        self._last_finalized = {i: [] for i in self.nodes}

    # --- carrying out outputs ---------------------------------------------

    def apply(self, node_id: int, out: Output) -> None:
        """Persist, then send, then report, in the order the core README asks."""
        self.records[node_id].extend(out.persist)
        for send in out.send:
            for to in send.to:
                self.sends.append((node_id, to, send.message))
                self.queue.append((to, node_id, send.message))
        self.events[node_id].extend(out.events)
        self._check_only_extends(node_id)

    def _check_only_extends(self, node_id: int) -> None:
        """Merge the core's window of its finalized log into the whole log.

        The core keeps only its recent finalized hashes (``finalized_offset``
        counts the older ones); the whole log is rebuilt here, and it may only
        ever grow by extension.
        """
        node = self.nodes[node_id]
        whole = self._last_finalized[node_id]
        start = node.finalized_offset
        assert start <= len(whole), f"n{node_id} skipped finalized heights"
        assert node.finalized_height >= len(whole), f"n{node_id}'s log shrank"
        overlap = len(whole) - start
        if overlap:
            assert node.finalized[overlap - 1] == whole[-1], \
                f"n{node_id} rewrote its finalized log"
        whole.extend(node.finalized[overlap:])

    # --- driving ------------------------------------------------------------

    def live(self) -> list[int]:
        return [i for i in self.nodes if i not in self.crashed]

    def start_epoch(self, epoch: int, nodes: Iterable[int] | None = None) -> None:
        """Tell the live nodes (or ``nodes``) that ``epoch`` began, in seeded order."""
        chosen = [i for i in (self.live() if nodes is None else nodes)
                  if i not in self.crashed]
        self.rng.shuffle(chosen)
        for i in chosen:
            self.apply(i, self.nodes[i].on_epoch(epoch))

    def deliver_one(self) -> None:
        if self.order == "fifo":
            self._deliver(*self.queue.pop(0))
        else:
            k = self.rng.randrange(len(self.queue))
            self.queue[k], self.queue[-1] = self.queue[-1], self.queue[k]
            self._deliver(*self.queue.pop())

    def _deliver(self, to: int, via: int, message: Message) -> None:
        if to in self.crashed:
            return  # lost: a crashed node receives nothing
        if self.wire:
            message = wire_round_trip(message, self.n)
        node = self.nodes[to]
        if (isinstance(message, SyncRequest)
                and message.from_height < node.pruned_height):
            self.apply(to, self._sync_from_records(to, message))
            return
        self.apply(to, node.on_message(message, via))

    def _sync_from_records(self, node_id: int, request: SyncRequest) -> Output:
        """Answer from the node's records, as the node process answers from its
        store a peer that is behind the blocks its core keeps in memory."""
        blocks: dict[str, Block] = {}
        voters: dict[str, tuple[int, ...]] = {}
        final: list[str] = []
        for rec in self.records[node_id]:
            if isinstance(rec, BlockRecord):
                blocks[rec.block.hash] = rec.block
            elif isinstance(rec, NotarizedRecord):
                voters[rec.block] = rec.voters
            elif isinstance(rec, FinalizedRecord):
                final.append(rec.block)
        above = [blocks[h] for h in final
                 if h in blocks and blocks[h].height > request.from_height]
        above.sort(key=lambda b: b.height)
        chosen = above[:MAX_SYNC_BLOCKS]
        if not chosen:
            return Output()
        answer = SyncResponse(node_id, tuple(chosen),
                              tuple((b.hash, voters[b.hash]) for b in chosen
                                    if b.hash in voters),
                              more=len(above) > MAX_SYNC_BLOCKS)
        return Output(send=[Send((request.sender,), answer)])

    def deliver_all(self, max_steps: int = 1_000_000) -> None:
        for _ in range(max_steps):
            if not self.queue:
                return
            self.deliver_one()
        raise AssertionError("the network did not go quiet")

    def deliver_some(self, count: int) -> None:
        for _ in range(min(count, len(self.queue))):
            self.deliver_one()

    def deliver_where(self, wanted: Callable[[Message], bool]) -> None:
        """Deliver every queued message that ``wanted`` accepts, and those it
        accepts among the messages they cause, in seeded order; all others stay
        in flight. An adversary that delays, say, some votes longer."""
        while any(wanted(m[2]) for m in self.queue):
            chosen = [m for m in self.queue if wanted(m[2])]
            self.queue = [m for m in self.queue if not wanted(m[2])]
            self.rng.shuffle(chosen)
            for to, via, message in chosen:
                self._deliver(to, via, message)

    def run(self, epochs: Iterable[int]) -> None:
        """Synchronous epochs: each starts, then every message is delivered."""
        for epoch in epochs:
            self.start_epoch(epoch)
            self.deliver_all()

    def submit(self, node_id: int, transaction: Transaction) -> None:
        self.apply(node_id, self.nodes[node_id].on_transaction(transaction))

    # --- faults -------------------------------------------------------------

    def crash(self, node_id: int) -> None:
        self.crashed.add(node_id)

    def restart(self, node_id: int, epoch: int) -> None:
        """Rebuild ``node_id`` from its records, enter ``epoch``, reconnect."""
        snap = snapshot_from_records(self.records[node_id])
        node = Streamlet.restore(self.config, node_id, snap)
        self.nodes[node_id] = node
        self.crashed.discard(node_id)
        self._check_only_extends(node_id)
        self.apply(node_id, node.on_epoch(epoch))
        for peer in self.live():
            if peer != node_id:
                self.apply(node_id, node.on_peer_connected(peer))

    # --- views --------------------------------------------------------------

    def finalized(self, node_id: int) -> list[str]:
        """The node's whole finalized log (its core keeps only the recent part)."""
        return list(self._last_finalized[node_id])

    def finalized_txs(self, node_id: int) -> list[str]:
        """Transaction ids of the node's finalized log, oldest first.

        Read from its records: a long run's core no longer holds old blocks.
        """
        bodies = {r.block.hash: r.block for r in self.records[node_id]
                  if isinstance(r, BlockRecord)}
        return [t for h in self.finalized(node_id) for t in bodies[h].tx_ids]
