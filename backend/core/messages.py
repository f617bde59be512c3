"""Protocol messages and their validation from untrusted JSON.

Every message that crosses a socket arrives here as a plain JSON value and
leaves either as a typed message or as a :class:`WireError` naming what is
wrong. Nothing is trusted: block hashes are recomputed, every integer is
range-checked, every list is bounded.

Ids for echo (PROTOCOL.md, corner case 14): a proposal is named by its block,
a vote by its voter and block, a transaction by its id, so a message that
comes back through any number of echoes is recognised as the same one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .chain import (
    MAX_ACCOUNT,
    MAX_EPOCH,
    MAX_NONCE,
    Block,
    Transaction,
    check_amount,
)

#: Most transactions a block may carry; bounds frames and proposal cost.
MAX_BLOCK_TXS = 256
#: Most blocks in one catch-up answer (and most hashes in one request).
MAX_SYNC_BLOCKS = 32

_HASH = re.compile(r"[0-9a-f]{64}")
# The fields of each object on the wire, exactly.
_BLOCK = frozenset({"parent", "epoch", "height", "proposer", "txs"})
_PROPOSE = frozenset({"type", "block"})
_VOTE = frozenset({"type", "voter", "epoch", "block"})
_TX = frozenset({"type", "tx"})
_SYNC_REQUEST = frozenset({"type", "sender", "from_height", "want"})
_SYNC_RESPONSE = frozenset({"type", "sender", "blocks", "voters", "more"})


class WireError(ValueError):
    """A frame that is not a valid message; the text says which field."""


@dataclass(frozen=True, slots=True)
class Propose:
    """The leader's block for its epoch."""

    block: Block

    @property
    def id(self) -> str:
        return "p/" + self.block.hash

    @property
    def sender(self) -> int:
        return self.block.proposer

    def to_wire(self) -> dict[str, Any]:
        return {"type": "propose", "block": self.block.to_wire()}


@dataclass(frozen=True, slots=True)
class Vote:
    """``voter`` votes for ``block`` (a hash), proposed in ``epoch``."""

    voter: int
    epoch: int
    block: str

    @property
    def id(self) -> str:
        return f"v/{self.voter}/{self.block}"

    @property
    def sender(self) -> int:
        return self.voter

    def to_wire(self) -> dict[str, Any]:
        return {"type": "vote", "voter": self.voter, "epoch": self.epoch,
                "block": self.block}


@dataclass(frozen=True, slots=True)
class TxMessage:
    """A client transaction spreading to every node's pool."""

    tx: Transaction

    @property
    def id(self) -> str:
        return "t/" + self.tx.id

    def to_wire(self) -> dict[str, Any]:
        return {"type": "tx", "tx": self.tx.to_wire()}


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """Ask a peer for notarized blocks above ``from_height`` and for ``want``."""

    sender: int
    from_height: int
    want: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {"type": "sync_request", "sender": self.sender,
                "from_height": self.from_height, "want": list(self.want)}


@dataclass(frozen=True, slots=True)
class SyncResponse:
    """Blocks and, for the notarized ones, the voters that notarized them."""

    sender: int
    blocks: tuple[Block, ...]
    voters: tuple[tuple[str, tuple[int, ...]], ...]
    more: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "sync_response",
            "sender": self.sender,
            "blocks": [b.to_wire() for b in self.blocks],
            "voters": [[h, list(v)] for h, v in self.voters],
            "more": self.more,
        }


Message = Propose | Vote | TxMessage | SyncRequest | SyncResponse
#: Messages that every node forwards once (PROTOCOL.md, echo).
ECHOED = (Propose, Vote, TxMessage)


# --- validation -----------------------------------------------------------


def _int(obj: Any, name: str, low: int, high: int) -> int:
    if isinstance(obj, bool) or not isinstance(obj, int):
        raise WireError(f"{name} must be an integer")
    if not low <= obj <= high:
        raise WireError(f"{name} must be between {low} and {high}")
    return obj


def _hash(obj: Any, name: str) -> str:
    if not isinstance(obj, str) or not _HASH.fullmatch(obj):
        raise WireError(f"{name} must be 64 lowercase hex digits")
    return obj


def _list(obj: Any, name: str, most: int) -> list[Any]:
    if not isinstance(obj, list):
        raise WireError(f"{name} must be a list")
    if len(obj) > most:
        raise WireError(f"{name} has more than {most} entries")
    return obj


def _fields(obj: Any, name: str, required: frozenset[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise WireError(f"{name} must be an object")
    if obj.keys() == required:
        return obj  # the usual case, in one comparison
    missing = required - obj.keys()
    if missing:
        raise WireError(f"{name} lacks {', '.join(sorted(missing))}")
    extra = obj.keys() - required
    if extra:
        raise WireError(f"{name} has unknown fields {', '.join(sorted(extra))}")
    return obj


def tx_from_wire(obj: Any, n: int) -> Transaction:
    items = _list(obj, "tx", 4)
    if len(items) != 4:
        raise WireError("tx must be [sender, receiver, nonce, amount]")
    sender = _int(items[0], "tx sender", 0, MAX_ACCOUNT)
    receiver = _int(items[1], "tx receiver", 0, MAX_ACCOUNT)
    nonce = _int(items[2], "tx nonce", 0, MAX_NONCE)
    try:
        amount = check_amount(items[3])
    except ValueError as exc:
        raise WireError(f"tx {exc}") from None
    return Transaction(sender, receiver, nonce, amount)


def block_from_wire(obj: Any, n: int) -> Block:
    fields = _fields(obj, "block", _BLOCK)
    txs = tuple(
        tx_from_wire(t, n) for t in _list(fields["txs"], "block txs", MAX_BLOCK_TXS)
    )
    return Block(
        parent=_hash(fields["parent"], "block parent"),
        epoch=_int(fields["epoch"], "block epoch", 1, MAX_EPOCH),
        height=_int(fields["height"], "block height", 1, MAX_EPOCH),
        txs=txs,
        proposer=_int(fields["proposer"], "block proposer", 1, n),
    )


def message_from_wire(obj: Any, n: int) -> Message:
    """Turn a decoded JSON value into a message, or raise :class:`WireError`."""
    if not isinstance(obj, dict):
        raise WireError("message must be an object")
    kind = obj.get("type")
    if kind == "propose":
        fields = _fields(obj, "propose", _PROPOSE)
        return Propose(block_from_wire(fields["block"], n))
    if kind == "vote":
        fields = _fields(obj, "vote", _VOTE)
        return Vote(
            voter=_int(fields["voter"], "vote voter", 1, n),
            epoch=_int(fields["epoch"], "vote epoch", 1, MAX_EPOCH),
            block=_hash(fields["block"], "vote block"),
        )
    if kind == "tx":
        fields = _fields(obj, "tx message", _TX)
        return TxMessage(tx_from_wire(fields["tx"], n))
    if kind == "sync_request":
        fields = _fields(obj, "sync_request", _SYNC_REQUEST)
        want = _list(fields["want"], "sync_request want", MAX_SYNC_BLOCKS)
        return SyncRequest(
            sender=_int(fields["sender"], "sync_request sender", 1, n),
            from_height=_int(fields["from_height"], "sync_request from_height", 0,
                             MAX_EPOCH),
            want=tuple(_hash(h, "sync_request want") for h in want),
        )
    if kind == "sync_response":
        fields = _fields(obj, "sync_response", _SYNC_RESPONSE)
        blocks = _list(fields["blocks"], "sync_response blocks", MAX_SYNC_BLOCKS)
        voters = _list(fields["voters"], "sync_response voters", MAX_SYNC_BLOCKS)
        if not isinstance(fields["more"], bool):
            raise WireError("sync_response more must be true or false")
        parsed_voters = []
        for entry in voters:
            pair = _list(entry, "sync_response voters entry", 2)
            if len(pair) != 2:
                raise WireError("sync_response voters entry must be [hash, voters]")
            ids = _list(pair[1], "sync_response voter ids", n)
            parsed_voters.append((
                _hash(pair[0], "sync_response voters hash"),
                tuple(_int(v, "sync_response voter", 1, n) for v in ids),
            ))
        return SyncResponse(
            sender=_int(fields["sender"], "sync_response sender", 1, n),
            blocks=tuple(block_from_wire(b, n) for b in blocks),
            voters=tuple(parsed_voters),
            more=fields["more"],
        )
    raise WireError(f"unknown message type {str(kind)[:40]!r}")
