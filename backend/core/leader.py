"""Who leads an epoch: a pure function of the epoch (PROTOCOL.md, corner case 8).

A restarted or late node computes the same leader as everyone else because
nothing here depends on history, a clock or a shared random stream.
"""

from __future__ import annotations

import hashlib

ROUND_ROBIN = "round-robin"
HASH = "hash"
POLICIES = (ROUND_ROBIN, HASH)


def leader_of(epoch: int, n: int, policy: str = ROUND_ROBIN) -> int:
    """The id (1..n) of the node that proposes in ``epoch``.

    Round-robin is the seed report's choice: epoch 1 is led by node 1, epoch 2
    by node 2, and so on. The paper uses a hash of the epoch instead, which
    avoids the round-robin trap of PROTOCOL.md corner case 7 (with nodes 1 and
    3 of 5 crashed, three consecutive live leaders never occur).
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    if policy == ROUND_ROBIN:
        return (epoch - 1) % n + 1
    if policy == HASH:
        digest = hashlib.sha256(f"streamlet-leader:{epoch}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % n + 1
    raise ValueError(f"unknown leader policy {policy!r}; use one of {POLICIES}")
