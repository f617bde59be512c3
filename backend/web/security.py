"""Who may steer the cluster, and how often: the presenter token and rate limits.

The presenter token. Many browsers may watch one cluster (a class following a
teacher's projector on their laptops); only the presenter may act on it.
When a token is in force, every control needs it: an HTTP POST in the
``X-Presenter-Token`` header, a Socket.IO page in the ``token`` field of its
connection's ``auth``. Pages without it are viewers: they see everything and
change nothing. A token is in force when the server listens on anything but
loopback (one is generated if none was given: a class network must not be
able to crash the nodes) or when one was given explicitly; on loopback
without one, every local page is a presenter, as before.

Rate limits. Each client (an HTTP peer address or a Socket.IO connection)
gets a token bucket per kind of action: transactions and controls. A
scripted flood is answered "too many ..." instead of spawning processes or
filling pools; a person clicking never meets the limit.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

#: Longest token accepted; anything longer is wrong without comparing it.
MAX_TOKEN_LENGTH = 128
TOKEN_HEADER = "X-Presenter-Token"


def is_loopback(host: str) -> bool:
    """Does ``host`` (an address to bind) reach this machine only?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def new_token() -> str:
    """A fresh presenter token: 128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


class PresenterGate:
    """Decides whether a request carries the presenter's rights."""

    def __init__(self, token: str | None = None) -> None:
        if token is not None and not valid_token_text(token):
            raise ValueError("a presenter token is 8 to 128 letters, digits, "
                             "'-' or '_'")
        self.token = token

    @classmethod
    def for_host(cls, host: str, token: str | None) -> PresenterGate:
        """The gate for a server bound to ``host``: see the module docstring."""
        if token is None and not is_loopback(host):
            token = new_token()
        return cls(token)

    @property
    def required(self) -> bool:
        return self.token is not None

    def allows(self, offered: object) -> bool:
        """Is ``offered`` (anything a client sent) the presenter's token?"""
        if self.token is None:
            return True
        if not isinstance(offered, str) or len(offered) > MAX_TOKEN_LENGTH:
            return False
        return hmac.compare_digest(offered.encode("utf-8", "replace"),
                                   self.token.encode())

    @staticmethod
    def refusal() -> str:
        return ("this page is a viewer: controls need the presenter token "
                "(the server printed it when it started)")


def valid_token_text(token: str) -> bool:
    return (8 <= len(token) <= MAX_TOKEN_LENGTH
            and all(c.isascii() and (c.isalnum() or c in "-_") for c in token))


@dataclass
class Limit:
    """A token bucket's shape: ``rate`` per second, bursts of ``burst``."""

    rate: float
    burst: float
    what: str

    def message(self) -> str:
        return f"too many {self.what}: at most {self.rate:g} per second"


#: Defaults: far above what a person does, far below what hurts the cluster.
LIMITS = {
    "transaction": Limit(rate=20.0, burst=40.0, what="transactions"),
    "control": Limit(rate=5.0, burst=20.0, what="control actions"),
    # Snapshots, block explanations, exports and replay pages: real work each.
    "query": Limit(rate=10.0, burst=40.0, what="requests"),
    # A presenter dragging the timeline: the page sends a few moves a second.
    "view": Limit(rate=10.0, burst=30.0, what="timeline moves"),
}


class RateLimiter:
    """Token buckets per (client, kind), the least recently used forgotten."""

    def __init__(self, limits: dict[str, Limit] | None = None,
                 max_clients: int = 4096) -> None:
        self.limits = dict(LIMITS if limits is None else limits)
        self.max_clients = max_clients
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = \
            OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str, kind: str, now: float | None = None) -> str | None:
        """Take one token; None if allowed, else the message to answer with."""
        limit = self.limits.get(kind)
        if limit is None:
            return None
        now = time.monotonic() if now is None else now
        key = (client, kind)
        with self._lock:
            tokens, last = self._buckets.pop(key, (limit.burst, now))
            tokens = min(limit.burst, tokens + (now - last) * limit.rate)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return None if allowed else limit.message()

    def forget(self, client: str) -> None:
        """Drop a client's buckets (a Socket.IO page that disconnected)."""
        with self._lock:
            for kind in self.limits:
                self._buckets.pop((client, kind), None)
