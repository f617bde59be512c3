"""What a step of the protocol asks its caller to do.

The core never writes, sends or logs. Each input returns an :class:`Output`;
the caller must carry it out in this order:

1. write every record of ``persist`` durably (one transaction is enough),
2. then send every message of ``send``,
3. then report ``events``.

Persisting first is what makes a restarted node keep its promises
(PROTOCOL.md, crash-recovery): a vote or proposal can only leave the process
after the record of it is on disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .chain import Block, Transaction
from .messages import Message


@dataclass(frozen=True, slots=True)
class BlockRecord:
    block: Block


@dataclass(frozen=True, slots=True)
class VoteRecord:
    """This node voted for ``block`` in ``epoch``; the block extended a
    notarized chain of height ``extended_height``."""

    epoch: int
    block: str
    extended_height: int


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    epoch: int
    block: str


@dataclass(frozen=True, slots=True)
class NotarizedRecord:
    block: str
    voters: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FinalizedRecord:
    """``block`` became final at this node while it was in ``epoch``."""

    block: str
    epoch: int


@dataclass(frozen=True, slots=True)
class TxRecord:
    tx: Transaction


Record = (
    BlockRecord | VoteRecord | ProposalRecord | NotarizedRecord | FinalizedRecord
    | TxRecord
)


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` to each node of ``to``."""

    to: tuple[int, ...]
    message: Message


@dataclass(slots=True)
class Output:
    persist: list[Record] = field(default_factory=list)
    send: list[Send] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def extend(self, other: Output) -> None:
        self.persist.extend(other.persist)
        self.send.extend(other.send)
        self.events.extend(other.events)

    def __bool__(self) -> bool:
        return bool(self.persist or self.send or self.events)


@dataclass(slots=True)
class Snapshot:
    """Everything a node wrote before it stopped, handed back on restart."""

    blocks: list[Block] = field(default_factory=list)
    votes: list[VoteRecord] = field(default_factory=list)
    proposals: list[ProposalRecord] = field(default_factory=list)
    notarized: list[NotarizedRecord] = field(default_factory=list)
    finalized: list[FinalizedRecord] = field(default_factory=list)
    txs: list[Transaction] = field(default_factory=list)


def snapshot_from_records(records: list[Record]) -> Snapshot:
    """Collect persisted records (in write order) into a :class:`Snapshot`."""
    snap = Snapshot()
    for rec in records:
        if isinstance(rec, BlockRecord):
            snap.blocks.append(rec.block)
        elif isinstance(rec, VoteRecord):
            snap.votes.append(rec)
        elif isinstance(rec, ProposalRecord):
            snap.proposals.append(rec)
        elif isinstance(rec, NotarizedRecord):
            snap.notarized.append(rec)
        elif isinstance(rec, FinalizedRecord):
            snap.finalized.append(rec)
        elif isinstance(rec, TxRecord):
            snap.txs.append(rec.tx)
    return snap
