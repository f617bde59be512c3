"""The seeded fault schedule and client load of the safety phase.

Once per epoch (of the reference clock) the driver draws, from its own
stream, whether to crash a node, cut the network into groups, reset a link,
and which transactions clients submit during the epoch. Each fault is a
named option of :class:`~backend.sim.params.Params` with its probability; a
probability of zero switches it off for the seed.
"""

from __future__ import annotations

from random import Random

from backend.core import Transaction

from .params import EPOCH_TICKS, Params
from .world import Simulation

#: Accounts the simulated clients use (small, so transfers between them repeat).
ACCOUNTS = 50


class FaultDriver:
    """Injects crashes, restarts, partitions, link resets and transactions."""

    def __init__(self, sim: Simulation, params: Params) -> None:
        self.sim = sim
        self.params = params
        self.rng = Random(params.fault_seed)
        self.tx_rng = Random(params.tx_seed)
        self.active = False
        self.partitioned = False
        self.nonces: dict[int, int] = {}
        self.submitted: list[Transaction] = []

    def start(self) -> None:
        self.active = True
        self.sim.schedule(self.sim.now, self._epoch)

    def stop(self) -> None:
        """Stop injecting; pending fault actions become no-ops."""
        self.active = False

    def _epoch(self, sim: Simulation) -> None:
        if not self.active:
            return
        p, rng = self.params, self.rng
        if rng.random() < p.crash_probability:
            at = sim.now + rng.randrange(EPOCH_TICKS)
            downtime = rng.randint(1, p.downtime_epochs_max) * EPOCH_TICKS
            downtime += rng.randrange(EPOCH_TICKS)
            pick = rng.random()
            sim.schedule(at, lambda s: self._crash(s, pick, downtime))
        if not self.partitioned and rng.random() < p.partition_probability:
            groups = self._draw_groups()
            at = sim.now + rng.randrange(EPOCH_TICKS)
            length = rng.randint(1, p.partition_epochs_max) * EPOCH_TICKS
            length += rng.randrange(EPOCH_TICKS)
            self.partitioned = True
            sim.schedule(at, lambda s: self._partition(s, groups, length))
        if rng.random() < p.link_reset_probability:
            a, b = rng.sample(range(1, p.n + 1), 2)
            down = rng.randint(1, p.link_down_ticks_max)
            at = sim.now + rng.randrange(EPOCH_TICKS)
            sim.schedule(at, lambda s: self._reset(s, a, b, down))
        self._transactions(sim)
        sim.schedule(sim.now + EPOCH_TICKS, self._epoch)

    def _draw_groups(self) -> list[list[int]]:
        nodes = list(range(1, self.params.n + 1))
        self.rng.shuffle(nodes)
        count = self.rng.randint(2, min(3, len(nodes)))
        cuts = sorted(self.rng.sample(range(1, len(nodes)), count - 1))
        bounds = [0, *cuts, len(nodes)]
        return [sorted(nodes[bounds[i]:bounds[i + 1]]) for i in range(count)]

    def _crash(self, sim: Simulation, pick: float, downtime: int) -> None:
        down = [i for i in range(1, sim.n + 1) if not sim.alive[i]]
        if not self.active or len(down) >= self.params.crash_max:
            return
        up = [i for i in range(1, sim.n + 1) if sim.alive[i]]
        victim = up[int(pick * len(up))]
        sim.crash(victim)
        sim.schedule(sim.now + downtime, lambda s: self._restart(s, victim))

    def _restart(self, sim: Simulation, node: int) -> None:
        if self.active and not sim.alive[node]:
            sim.restart(node)

    def _partition(self, sim: Simulation, groups: list[list[int]],
                   length: int) -> None:
        if not self.active:
            return
        sim.partition(groups)
        sim.schedule(sim.now + length, self._heal)

    def _heal(self, sim: Simulation) -> None:
        self.partitioned = False
        if self.active:
            sim.heal()

    def _reset(self, sim: Simulation, a: int, b: int, down: int) -> None:
        if self.active:
            sim.reset_link(a, b, down)

    def _transactions(self, sim: Simulation) -> None:
        p, rng = self.params, self.tx_rng
        count = int(p.tx_per_epoch)
        if rng.random() < p.tx_per_epoch - count:
            count += 1
        for _ in range(count):
            at = sim.now + rng.randrange(EPOCH_TICKS)
            node = rng.randint(1, p.n)
            if self.submitted and rng.random() < p.tx_retry_probability:
                # A client retrying at another node: the same id must still be
                # finalized once (PROTOCOL.md, corner case 12).
                tx = rng.choice(self.submitted)
            else:
                tx = self._new_tx(rng)
                self.submitted.append(tx)
            sim.schedule(at, lambda s, node=node, tx=tx: self._submit(s, node, tx))

    def _new_tx(self, rng: Random) -> Transaction:
        sender = rng.randrange(ACCOUNTS)
        nonce = self.nonces.get(sender, 0) + 1
        self.nonces[sender] = nonce
        receiver = rng.randrange(ACCOUNTS)
        # Some amounts are floats, to exercise their JSON round trip.
        amount = rng.randint(1, 10_000) if rng.random() < 0.7 else round(
            rng.uniform(0.01, 500.0), 2)
        return Transaction(sender, receiver, nonce, amount)

    def _submit(self, sim: Simulation, node: int, tx: Transaction) -> None:
        if self.active:
            sim.submit(node, tx)
