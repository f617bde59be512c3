"""The Streamlet protocol, pure: no sockets, clocks, threads or randomness.

See README.md beside this file for the rule and the order in which a caller
carries out an :class:`Output`.
"""

from .chain import GENESIS, Block, Transaction
from .leader import HASH, POLICIES, ROUND_ROBIN, leader_of
from .messages import (
    Message,
    Propose,
    SyncRequest,
    SyncResponse,
    TxMessage,
    Vote,
    WireError,
    message_from_wire,
)
from .output import Output, Send, Snapshot, snapshot_from_records
from .quorum import is_quorum, max_faults, quorum
from .state import Config, Streamlet

__all__ = [
    "GENESIS", "HASH", "POLICIES", "ROUND_ROBIN", "Block", "Config", "Message",
    "Output", "Propose", "Send", "Snapshot", "Streamlet", "SyncRequest",
    "SyncResponse", "Transaction", "TxMessage", "Vote", "WireError", "is_quorum",
    "leader_of", "max_faults", "message_from_wire", "quorum", "snapshot_from_records",
]
