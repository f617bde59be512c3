"""Every value a simulated run depends on, drawn from one seed.

The simulator follows TigerBeetle's habit: one integer seed fixes the whole
run, and every value drawn from it is printed when a seed fails, so the run
can be read (and replayed) without guessing. Faults are *named options*, each
switched on for some seeds and off for others (swarm testing): a seed with
only clock skew finds different bugs from one with only partitions.

Time is counted in integer ticks; ``DELTA_TICKS`` ticks are one Δ (the
paper's bound on message delay after GST) and an epoch lasts 2Δ.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from random import Random

from backend.core import HASH, POLICIES, ROUND_ROBIN, max_faults

DELTA_TICKS = 1000
EPOCH_TICKS = 2 * DELTA_TICKS
#: Cluster sizes the swarm draws from.
N_MIN, N_MAX = 3, 9
#: The paper's liveness argument needs delays below Δ after GST; the liveness
#: phase keeps them below this, leaving room for clock skew (see run.py).
LIVENESS_DELAY_MAX_TICKS = 8 * DELTA_TICKS // 10
LIVENESS_SKEW_MAX_TICKS = DELTA_TICKS // 10


@dataclass(frozen=True, slots=True)
class Params:
    """The seeded parameters of one run (all times in ticks, Δ = 1000)."""

    seed: int
    n: int
    leader: str
    echo: bool
    #: Send every message through to_wire -> JSON -> message_from_wire.
    wire: bool
    safety_epochs: int
    #: The liveness phase lasts at least this long, longer if needed (run.py).
    liveness_epochs_min: int

    # Network during the safety phase.
    delay_min_ticks: int
    delay_mean_ticks: int
    delay_max_ticks: int
    #: Chance that a message is lost.
    loss_probability: float
    #: A lost message breaks its connection (a TCP reset, back after up to
    #: ``link_down_ticks_max``), instead of vanishing silently.
    loss_resets_link: bool
    duplicate_probability: float
    #: Chance per epoch that one random link breaks (TCP reset) and reconnects.
    link_reset_probability: float
    link_down_ticks_max: int

    # Partitions: at most one at a time, into two or three groups.
    partition_probability: float
    partition_epochs_max: int
    #: Partitions drop frames on links that stay connected (the lab's fault
    #: injector), instead of taking the links down until the heal.
    partition_silent: bool

    # Crashes: at most ``crash_max`` <= f nodes down at once.
    crash_probability: float
    crash_max: int
    downtime_epochs_max: int
    #: Chance that a message a node had in flight is lost when it crashes
    #: (a crash in the middle of a broadcast).
    crash_send_loss: float

    #: Offset of each node's epoch clock during the safety phase.
    clock_skew_ticks: tuple[int, ...]

    # Client transactions, injected during the safety phase.
    tx_per_epoch: float
    tx_retry_probability: float

    # Liveness phase: no faults, delays below Δ, clocks nearly in step.
    liveness_delay_max_ticks: int
    liveness_skew_ticks: tuple[int, ...]

    # Independent random streams, so that the fault schedule does not move
    # when the number of messages changes.
    network_seed: int
    fault_seed: int
    tx_seed: int

    @property
    def f(self) -> int:
        return max_faults(self.n)

    def describe(self) -> str:
        """Every parameter, one ``name=value`` per line (printed on failure)."""
        lines = []
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float):
                value = f"{value:.4f}"
            lines.append(f"  {item.name}={value}")
        return "\n".join(lines)


def _maybe(rng: Random, chance: float, low: float, high: float) -> float:
    """A probability that is zero for part of the seeds (a fault switched off)."""
    on = rng.random() < chance
    value = rng.uniform(low, high)
    return value if on else 0.0


def draw_params(seed: int, *, n: int | None = None, epochs: int | None = None,
                max_delay_deltas: float = 10.0, wire: bool = True,
                leader: str | None = None, echo: bool | None = None) -> Params:
    """Draw a run's parameters from ``seed``; keyword arguments override draws.

    Every value is drawn whatever the overrides, so ``--n 5`` keeps the rest
    of the seed's parameters as they were.
    """
    if n is not None and not N_MIN <= n <= N_MAX:
        raise ValueError(f"n must be between {N_MIN} and {N_MAX}")
    if epochs is not None and epochs < 1:
        raise ValueError("epochs must be at least 1")
    if not 0.1 <= max_delay_deltas <= 100:
        raise ValueError("max delay must be between 0.1 and 100 Δ")
    if leader is not None and leader not in POLICIES:
        raise ValueError(f"leader must be one of {', '.join(POLICIES)}")
    rng = Random(seed)

    drawn_n = rng.randint(N_MIN, N_MAX)
    drawn_leader = rng.choice((ROUND_ROBIN, HASH))
    drawn_echo = rng.random() < 0.75
    safety_epochs = rng.randint(20, 60)
    liveness_epochs_min = rng.randint(12, 24)

    delay_max_ticks = int(rng.uniform(0.2, max_delay_deltas) * DELTA_TICKS)
    delay_min_ticks = rng.randint(1, min(DELTA_TICKS // 10, delay_max_ticks))
    delay_mean_ticks = rng.randint(delay_min_ticks,
                                   max(delay_min_ticks, delay_max_ticks // 3))
    loss_probability = _maybe(rng, 0.5, 0.0, 0.1)
    loss_resets_link = rng.random() < 0.5
    duplicate_probability = _maybe(rng, 0.3, 0.0, 0.1)
    link_reset_probability = _maybe(rng, 0.4, 0.0, 0.5)
    link_down_ticks_max = rng.randint(1, 4 * DELTA_TICKS)

    partition_probability = _maybe(rng, 0.5, 0.02, 0.2)
    partition_epochs_max = rng.randint(1, 10)
    partition_silent = rng.random() < 0.5

    crash_probability = _maybe(rng, 0.6, 0.02, 0.3)
    crash_max_fraction = rng.random()
    downtime_epochs_max = rng.randint(1, 15)
    crash_send_loss = rng.random()

    skew_max_ticks = int(_maybe(rng, 0.6, 0, 1.5 * DELTA_TICKS))
    skews = tuple(rng.randint(-skew_max_ticks, skew_max_ticks) for _ in range(N_MAX))

    tx_per_epoch = _maybe(rng, 0.8, 0.2, 4.0)
    tx_retry_probability = _maybe(rng, 0.5, 0.0, 0.3)

    liveness_delay_max_ticks = rng.randint(DELTA_TICKS // 10, LIVENESS_DELAY_MAX_TICKS)
    skew = LIVENESS_SKEW_MAX_TICKS
    liveness_skews = tuple(rng.randint(-skew, skew) for _ in range(N_MAX))
    network_seed, fault_seed, tx_seed = (rng.getrandbits(64) for _ in range(3))

    n = drawn_n if n is None else n
    return Params(
        seed=seed, n=n,
        leader=drawn_leader if leader is None else leader,
        echo=drawn_echo if echo is None else echo,
        wire=wire,
        safety_epochs=safety_epochs if epochs is None else epochs,
        liveness_epochs_min=liveness_epochs_min,
        delay_min_ticks=delay_min_ticks, delay_mean_ticks=delay_mean_ticks,
        delay_max_ticks=delay_max_ticks,
        loss_probability=loss_probability, loss_resets_link=loss_resets_link,
        duplicate_probability=duplicate_probability,
        link_reset_probability=link_reset_probability,
        link_down_ticks_max=link_down_ticks_max,
        partition_probability=partition_probability,
        partition_epochs_max=partition_epochs_max,
        partition_silent=partition_silent,
        crash_probability=crash_probability,
        crash_max=round(crash_max_fraction * max_faults(n)),
        downtime_epochs_max=downtime_epochs_max,
        crash_send_loss=crash_send_loss,
        clock_skew_ticks=skews[:n],
        tx_per_epoch=tx_per_epoch,
        tx_retry_probability=tx_retry_probability,
        liveness_delay_max_ticks=liveness_delay_max_ticks,
        liveness_skew_ticks=liveness_skews[:n],
        network_seed=network_seed, fault_seed=fault_seed, tx_seed=tx_seed,
    )


def quiet_params(n: int, *, leader: str = ROUND_ROBIN, echo: bool = True,
                 wire: bool = True, delay_ticks: int = DELTA_TICKS // 2,
                 seed: int = 0, tx_per_epoch: float = 0.0) -> Params:
    """Parameters with every fault off and a fixed delay, for scripted scenarios
    and the good-case benchmark (faults are then added by hand)."""
    if not 1 <= delay_ticks < DELTA_TICKS:
        raise ValueError("a quiet network delivers within Δ")
    zeros = (0,) * n
    return Params(
        seed=seed, n=n, leader=leader, echo=echo, wire=wire,
        safety_epochs=0, liveness_epochs_min=0,
        delay_min_ticks=delay_ticks, delay_mean_ticks=delay_ticks,
        delay_max_ticks=delay_ticks,
        loss_probability=0.0, loss_resets_link=False, duplicate_probability=0.0,
        link_reset_probability=0.0, link_down_ticks_max=1,
        partition_probability=0.0, partition_epochs_max=1, partition_silent=False,
        crash_probability=0.0, crash_max=0, downtime_epochs_max=1,
        crash_send_loss=0.0, clock_skew_ticks=zeros,
        tx_per_epoch=tx_per_epoch, tx_retry_probability=0.0,
        liveness_delay_max_ticks=delay_ticks, liveness_skew_ticks=zeros,
        network_seed=seed, fault_seed=seed + 1, tx_seed=seed + 2,
    )
