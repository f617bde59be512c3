"""Transactions and blocks, and the hash that names a block.

A block's hash is SHA-256 over a canonical JSON encoding of its header:
parent hash, epoch, height, a digest of its transactions and its proposer.
A vote names a block by this hash alone, so a node can count votes for a
block whose body (and transactions) it has not received yet (PROTOCOL.md,
corner cases 1 and 2).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

GENESIS_PARENT = "0" * 64

#: Bounds applied to everything that arrives from outside the process.
MAX_NODE_ID = 64
MAX_ACCOUNT = 10**6
MAX_EPOCH = 2**40
MAX_NONCE = 2**53
MAX_AMOUNT = 1e12


#: Built once: ``json.dumps`` with options builds a new encoder on every call,
#: and a block's hash is computed for every copy of a proposal received.
_CANONICAL = json.JSONEncoder(separators=(",", ":"), sort_keys=True)


def _canonical(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode()


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(_canonical(value)).hexdigest()


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transfer of ``amount`` from ``sender`` to ``receiver``.

    ``sender`` and ``nonce`` together are its identity: two transactions with
    the same pair are the same transaction, wherever they were submitted.
    """

    sender: int
    receiver: int
    nonce: int
    amount: float | int

    @property
    def id(self) -> str:
        return f"{self.sender}:{self.nonce}"

    def to_wire(self) -> list[Any]:
        return [self.sender, self.receiver, self.nonce, self.amount]


def check_amount(amount: Any) -> float | int:
    """Return ``amount`` if it is a positive, finite, sane number."""
    if isinstance(amount, bool) or not isinstance(amount, (int, float)):
        raise ValueError("amount must be a number")
    if isinstance(amount, float) and not math.isfinite(amount):
        raise ValueError("amount must be finite")
    if amount <= 0:
        raise ValueError("amount must be positive")
    if amount > MAX_AMOUNT:
        raise ValueError(f"amount must be at most {MAX_AMOUNT:g}")
    return amount


def tx_digest(txs: tuple[Transaction, ...]) -> str:
    if not txs:
        return _EMPTY_TX_DIGEST  # most blocks carry none: hash that once
    return sha256_hex([tx.to_wire() for tx in txs])


_EMPTY_TX_DIGEST = sha256_hex([])


@dataclass(frozen=True, slots=True)
class Block:
    """A block of the chain: extends ``parent`` at ``height``, proposed in ``epoch``.

    The hash is computed once, here, from the header; it is never read from the
    network, so a peer cannot make a block claim another block's name.
    """

    parent: str
    epoch: int
    height: int
    txs: tuple[Transaction, ...]
    proposer: int
    hash: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        header = [self.parent, self.epoch, self.height, tx_digest(self.txs),
                  self.proposer]
        object.__setattr__(self, "hash", sha256_hex(header))

    @property
    def tx_ids(self) -> list[str]:
        return [tx.id for tx in self.txs]

    def to_wire(self) -> dict[str, Any]:
        return {
            "parent": self.parent,
            "epoch": self.epoch,
            "height": self.height,
            "proposer": self.proposer,
            "txs": [tx.to_wire() for tx in self.txs],
        }

    def summary(self) -> dict[str, Any]:
        """The block as reports and the dashboard show it (ids, not bodies)."""
        return {
            "hash": self.hash,
            "parent": self.parent,
            "epoch": self.epoch,
            "height": self.height,
            "proposer": self.proposer,
            "txs": self.tx_ids,
        }

    def short(self) -> str:
        return f"b{self.epoch}" if self.epoch else "genesis"


#: Epoch 0, height 0, known to everyone; it is notarized and final by definition.
GENESIS = Block(parent=GENESIS_PARENT, epoch=0, height=0, txs=(), proposer=0)
