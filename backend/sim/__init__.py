"""The seeded simulator: the real core under a simulated network and clock.

See README.md beside this file. Entry points: :func:`run_seed` (one seeded
run, both phases), :class:`Simulation` (scripted scenarios), and
``python -m backend.sim --seeds 1-1000`` (the command line).
"""

from .checkers import (
    LivenessChecker,
    LivenessFailure,
    SafetyChecker,
    SafetyViolation,
    live_leader_run,
)
from .network import DROP, Network
from .params import DELTA_TICKS, EPOCH_TICKS, Params, draw_params, quiet_params
from .run import (
    CRASH,
    EXIT_CODES,
    LIVENESS,
    OK,
    SAFETY,
    RunResult,
    check_transactions,
    diagnose,
    finish,
    liveness_phase,
    run,
    run_seed,
    stop_faults,
)
from .world import CoreError, Simulation

__all__ = [
    "CRASH", "DELTA_TICKS", "DROP", "EPOCH_TICKS", "EXIT_CODES", "LIVENESS", "OK",
    "SAFETY", "CoreError", "LivenessChecker", "LivenessFailure", "Network", "Params",
    "RunResult", "SafetyChecker", "SafetyViolation", "Simulation",
    "check_transactions", "diagnose", "draw_params", "finish", "live_leader_run",
    "liveness_phase", "quiet_params", "run", "run_seed", "stop_faults",
]
