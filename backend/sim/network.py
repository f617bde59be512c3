"""A simulated network of point-to-point links between the nodes.

The model is the one the real nodes live in: one TCP connection per pair of
nodes. While a link is up, what is sent on it arrives after a drawn delay;
when it breaks (a crash, a reset) whatever was in flight on it is lost, and
when it comes back both ends are told (``on_peer_connected``), which makes
them ask each other for what they missed.

Loss and partitions come in two kinds, each a seeded option:

- *silent*, as the lab's own fault injector does it (backend/node): frames
  are dropped on a link that stays connected, so nobody is told and nothing
  triggers a catch-up when the fault ends;
- *reset*: the lost frame breaks its connection (a TCP reset) and a
  partition takes links down; they reconnect afterwards, and both ends ask
  each other for what they missed.

The network may also duplicate a message (the core must count it once), and
scripted rules may drop or delay single messages at will.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from backend.core import Message

#: A rule's answer that drops the message.
DROP = -1

#: ``rule(src, dst, message, now) -> None | DROP | delay_ticks``; the first
#: rule that answers something other than None decides (scripted scenarios).
Rule = Callable[[int, int, Message, int], int | None]


class Network:
    """Links, their generations, partitions and the delay distribution."""

    def __init__(self, n: int, rng: Random) -> None:
        self.n = n
        self.rng = rng
        self.delay_min_ticks = 1
        self.delay_mean_ticks = 1
        self.delay_max_ticks = 1
        self.loss_probability = 0.0
        self.duplicate_probability = 0.0
        self.rules: list[Rule] = []
        # Link state as symmetric (n+1) x (n+1) tables (index 0 unused). A
        # generation counts how often the link came up: a message belongs to
        # the connection it was sent on and dies with it.
        self.up = [[False] * (n + 1) for _ in range(n + 1)]
        self.gen = [[0] * (n + 1) for _ in range(n + 1)]
        self.pairs = [(a, b) for a in range(1, n + 1) for b in range(a + 1, n + 1)]
        #: Partition group of each node; all zero when healed.
        self.group = [0] * (n + 1)
        #: Partitions drop frames on connected links (the lab's injector)
        #: instead of taking the links down.
        self.silent_partitions = False
        self.partitioned = False
        #: A lost frame breaks its connection instead of vanishing quietly.
        self.loss_resets_link = False
        #: Links held down by a reset until the given time.
        self.reset_until: dict[tuple[int, int], int] = {}
        self.sent = 0
        self.dropped = 0

    def set_delays(self, low: int, mean: int, high: int) -> None:
        if not 1 <= low <= mean <= high:
            raise ValueError("delays must satisfy 1 <= min <= mean <= max")
        self.delay_min_ticks, self.delay_mean_ticks = low, mean
        self.delay_max_ticks = high

    def draw_delay(self) -> int:
        """A delay: the minimum plus an exponential tail, capped at the maximum."""
        low, mean = self.delay_min_ticks, self.delay_mean_ticks
        if mean == low:
            return low
        delay = low + int(self.rng.expovariate(1.0 / (mean - low)))
        return min(delay, self.delay_max_ticks)

    def wanted_up(self, a: int, b: int, alive: list[bool], now: int) -> bool:
        """Whether the link between ``a`` and ``b`` should be up right now."""
        key = (a, b) if a < b else (b, a)
        return (alive[a] and alive[b]
                and (self.silent_partitions or self.group[a] == self.group[b])
                and self.reset_until.get(key, -1) <= now)

    def refresh(self, alive: list[bool], now: int) -> list[tuple[int, int]]:
        """Bring links up or down to match the nodes and the partition.

        Returns the links that just came up, in a fixed order, so the caller
        can tell both ends (a reconnect in the real system).
        """
        for key in [k for k, t in self.reset_until.items() if t <= now]:
            del self.reset_until[key]
        came_up = []
        for a, b in self.pairs:
            want = self.wanted_up(a, b, alive, now)
            if want and not self.up[a][b]:
                self.gen[a][b] += 1
                self.gen[b][a] += 1
                came_up.append((a, b))
            self.up[a][b] = self.up[b][a] = want
        return came_up

    def break_link(self, a: int, b: int, until: int) -> None:
        """A TCP reset: the link drops what is in flight and stays down a while."""
        self.up[a][b] = self.up[b][a] = False
        self.reset_until[(a, b) if a < b else (b, a)] = until

    def drop_all(self) -> None:
        """Every connection breaks at once (they come back on the next refresh)."""
        for a, b in self.pairs:
            self.up[a][b] = self.up[b][a] = False

    @property
    def faulty(self) -> bool:
        """Whether sends need :meth:`route` (rules, loss or duplication)."""
        return bool(self.rules or self.loss_probability
                    or self.duplicate_probability or self.partitioned)

    def route(self, src: int, dst: int, message: Message,
              now: int) -> list[int] | None:
        """Delays of the copies of ``message`` that will arrive (maybe none).

        None means the message is lost and its connection breaks with it.
        """
        self.sent += 1
        for rule in self.rules:
            answer = rule(src, dst, message, now)
            if answer is not None:
                if answer == DROP:
                    self.dropped += 1
                    return []
                return [max(1, answer)]
        if self.partitioned and self.group[src] != self.group[dst]:
            self.dropped += 1  # only reached with silent partitions
            return []
        rng = self.rng
        if self.loss_probability and rng.random() < self.loss_probability:
            self.dropped += 1
            return None if self.loss_resets_link else []
        delays = [self.draw_delay()]
        if self.duplicate_probability and rng.random() < self.duplicate_probability:
            delays.append(self.draw_delay())
        return delays

    def split(self, groups: list[list[int]]) -> None:
        """Partition the nodes; nodes not named stay in group 0 together."""
        self.group = [0] * (self.n + 1)
        seen: set[int] = set()
        for index, members in enumerate(groups, start=1):
            for node in members:
                if not 1 <= node <= self.n or node in seen:
                    raise ValueError(f"bad partition {groups!r}")
                seen.add(node)
                self.group[node] = index
        self.partitioned = True

    def heal(self) -> None:
        self.group = [0] * (self.n + 1)
        self.partitioned = False
