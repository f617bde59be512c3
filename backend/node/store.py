"""A node's durable memory: one SQLite file per node.

The node writes an Output's records here, in one transaction, before it sends
any message of that Output (PROTOCOL.md, crash-recovery). On restart the
records come back as a :class:`~backend.core.output.Snapshot`.

Durability: WAL journal with ``synchronous=NORMAL``. A committed transaction
survives the death of the process (the lab's crash is a SIGKILL), because the
write reached the operating system before ``commit`` returned; it may not
survive a power cut of the whole machine, which the lab does not model.

The ``votes`` table keys on the epoch, so a second vote in one epoch cannot
even be recorded: the insert fails and the node stops before sending it.

``final_txs`` holds the id of every transaction of a finalized block, written
with the block's finalization: the core remembers only recent ones, and the
node asks here about an older one before taking it again (exactly once).

Memory: SQLite's page cache is fixed at ``CACHE_KIB`` (its default, 2 MB,
was reached in an hour-long run and counted in the node's growth).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from backend.core.chain import Block, Transaction
from backend.core.output import (
    BlockRecord,
    FinalizedRecord,
    NotarizedRecord,
    ProposalRecord,
    Record,
    Snapshot,
    TxRecord,
    VoteRecord,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    hash TEXT PRIMARY KEY, parent TEXT NOT NULL, epoch INTEGER NOT NULL,
    height INTEGER NOT NULL, proposer INTEGER NOT NULL, txs TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS votes (
    epoch INTEGER PRIMARY KEY, block TEXT NOT NULL,
    extended_height INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS proposals (
    epoch INTEGER PRIMARY KEY, block TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notarized (
    block TEXT PRIMARY KEY, voters TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS finalized (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, block TEXT UNIQUE NOT NULL,
    epoch INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS final_txs (
    id TEXT PRIMARY KEY) WITHOUT ROWID;
"""
#: SQLite's page cache per connection, in KiB (a small fixed size: the node's
#: reads are a few indexed look-ups and the catch-up answers of a lagging peer).
CACHE_KIB = 512
#: Every table of the schema (fixed names, never from input).
_TABLES = ("blocks", "votes", "proposals", "notarized", "finalized", "txs")


def _block_row(block: Block) -> tuple[Any, ...]:
    txs = json.dumps([tx.to_wire() for tx in block.txs], separators=(",", ":"))
    return (block.hash, block.parent, block.epoch, block.height, block.proposer, txs)


def _block_from_row(row: tuple[Any, ...]) -> Block:
    _hash, parent, epoch, height, proposer, txs = row
    body = tuple(Transaction(*t) for t in json.loads(txs))
    block = Block(parent=parent, epoch=epoch, height=height, txs=body,
                  proposer=proposer)
    if block.hash != _hash:
        raise ValueError(f"store holds a block whose hash does not match: {_hash}")
    return block


class Store:
    """The SQLite file of one node."""

    def __init__(self, path: str | Path, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            uri = f"file:{self.path.as_posix()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def write(self, records: list[Record]) -> None:
        """Write all ``records`` in one transaction; returns once committed."""
        if not records:
            return
        db = self._db
        db.execute("BEGIN")
        try:
            for rec in records:
                if isinstance(rec, BlockRecord):
                    db.execute("INSERT OR IGNORE INTO blocks VALUES (?,?,?,?,?,?)",
                               _block_row(rec.block))
                elif isinstance(rec, VoteRecord):
                    db.execute("INSERT INTO votes VALUES (?,?,?)",
                               (rec.epoch, rec.block, rec.extended_height))
                elif isinstance(rec, ProposalRecord):
                    db.execute("INSERT INTO proposals VALUES (?,?)",
                               (rec.epoch, rec.block))
                elif isinstance(rec, NotarizedRecord):
                    db.execute("INSERT OR REPLACE INTO notarized VALUES (?,?)",
                               (rec.block, json.dumps(list(rec.voters))))
                elif isinstance(rec, FinalizedRecord):
                    db.execute("INSERT OR IGNORE INTO finalized (block, epoch) "
                               "VALUES (?,?)", (rec.block, rec.epoch))
                    self._write_final_txs(rec.block)
                elif isinstance(rec, TxRecord):
                    db.execute("INSERT OR IGNORE INTO txs VALUES (?,?)",
                               (rec.tx.id, json.dumps(rec.tx.to_wire())))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _write_final_txs(self, block_hash: str) -> None:
        """Record the ids of the transactions of a block that became final.

        The core persists a block before it can finalize it, so its row is
        here already (in this transaction or an earlier one).
        """
        row = self._db.execute("SELECT txs FROM blocks WHERE hash = ?",
                               (block_hash,)).fetchone()
        if row is None:
            return
        ids = [(Transaction(*t).id,) for t in json.loads(row[0])]
        self._db.executemany("INSERT OR IGNORE INTO final_txs VALUES (?)", ids)

    # --- reading back -----------------------------------------------------

    def is_final_tx(self, tx_id: str) -> bool:
        """Is ``tx_id`` in a block this node finalized?"""
        return self._db.execute("SELECT 1 FROM final_txs WHERE id = ?",
                                (tx_id,)).fetchone() is not None

    def is_empty(self) -> bool:
        """True if nothing at all was ever recorded.

        Every table counts: a node killed in its first epochs may hold only
        transactions it acknowledged, and those must come back with it.
        """
        return all(self._db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()
                   is None for table in _TABLES)

    def blocks(self) -> list[Block]:
        rows = self._db.execute(
            "SELECT hash, parent, epoch, height, proposer, txs FROM blocks "
            "ORDER BY height, epoch").fetchall()
        return [_block_from_row(r) for r in rows]

    def votes(self) -> list[VoteRecord]:
        rows = self._db.execute(
            "SELECT epoch, block, extended_height FROM votes ORDER BY epoch")
        return [VoteRecord(*r) for r in rows]

    def proposals(self) -> list[ProposalRecord]:
        rows = self._db.execute("SELECT epoch, block FROM proposals ORDER BY epoch")
        return [ProposalRecord(*r) for r in rows]

    def notarized(self) -> list[NotarizedRecord]:
        rows = self._db.execute("SELECT block, voters FROM notarized")
        return [NotarizedRecord(b, tuple(json.loads(v))) for b, v in rows]

    def finalized(self) -> list[FinalizedRecord]:
        rows = self._db.execute("SELECT block, epoch FROM finalized ORDER BY seq")
        return [FinalizedRecord(*r) for r in rows]

    def txs(self) -> list[Transaction]:
        rows = self._db.execute("SELECT body FROM txs ORDER BY rowid")
        return [Transaction(*json.loads(b)) for (b,) in rows]

    def finalized_above(self, height: int, limit: int) -> tuple[
            list[Block], list[tuple[str, tuple[int, ...]]], bool]:
        """Finalized blocks above ``height`` with their voters, for a peer that
        is further behind than this node keeps in memory."""
        rows = self._db.execute(
            "SELECT b.hash, b.parent, b.epoch, b.height, b.proposer, b.txs, n.voters "
            "FROM finalized f JOIN blocks b ON b.hash = f.block "
            "LEFT JOIN notarized n ON n.block = f.block "
            "WHERE b.height > ? ORDER BY b.height LIMIT ?", (height, limit + 1)
        ).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        blocks = [_block_from_row(r[:6]) for r in rows]
        voters = [(r[0], tuple(json.loads(r[6]))) for r in rows if r[6]]
        return blocks, voters, more

    def snapshot(self) -> Snapshot:
        return Snapshot(blocks=self.blocks(), votes=self.votes(),
                        proposals=self.proposals(), notarized=self.notarized(),
                        finalized=self.finalized(), txs=self.txs())
