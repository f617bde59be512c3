"""The notarization threshold, in one place (PROTOCOL.md, corner case 3)."""

from __future__ import annotations


def quorum(n: int) -> int:
    """Smallest number of distinct voters that is strictly more than n/2."""
    return n // 2 + 1


def is_quorum(voters: int, n: int) -> bool:
    return voters >= quorum(n)


def max_faults(n: int) -> int:
    """Largest f with n >= 2f + 1: crashes the crash-fault variant tolerates."""
    return (n - 1) // 2
