"""``python -m backend.sim``: run seeds, print failures with their parameters.

Exit codes, as in TigerBeetle's simulator, say what went wrong: 0 every seed
passed, 1 a safety violation, 2 a liveness failure, 3 an exception in the
core (or in the simulator, said so in the text), 64 bad usage. With several
failing seeds the code is that of the first one in the order run.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from backend.core import POLICIES, Streamlet

from .params import N_MAX, N_MIN, draw_params
from .run import CRASH, LIVENESS, OK, SAFETY, RunResult, run

EXIT_USAGE = 64
#: Refuse absurd seed lists instead of running for days.
MAX_SEEDS = 10_000_000


class UsageError(Exception):
    """The command line is wrong; the text says how."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def parse_seeds(text: str) -> list[int]:
    """``"7"``, ``"1-1000"`` or ``"1,5,9-12"`` -> a list of seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            first = int(low)
            last = int(high) if dash else first
        except ValueError:
            raise UsageError(f"bad seed range {part.strip()!r}: use 7, 1-1000 "
                             "or 1,5,9-12") from None
        if first < 0 or last < first:
            raise UsageError(f"bad seed range {part.strip()!r}: seeds are "
                             "non-negative and ranges go upwards")
        if len(seeds) + last - first + 1 > MAX_SEEDS:
            raise UsageError(f"more than {MAX_SEEDS} seeds")
        seeds.extend(range(first, last + 1))
    return seeds


def load_core(spec: str) -> type[Streamlet]:
    """``"package.module:Class"`` -> a Streamlet subclass (to test checkers)."""
    module_name, colon, class_name = spec.partition(":")
    if not colon or not module_name or not class_name:
        raise UsageError(f"--core wants module:Class, not {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"--core: cannot import {module_name}: {exc}") from None
    core = getattr(module, class_name, None)
    if not (isinstance(core, type) and issubclass(core, Streamlet)):
        raise UsageError(f"--core: {spec} is not a Streamlet subclass")
    return core


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m backend.sim",
        description="Run the seeded Streamlet simulator. Exit 0 ok, 1 safety "
                    "violation, 2 liveness failure, 3 exception, 64 bad usage.")
    parser.add_argument("--seeds", default="1-100",
                        help="seeds to run: 7, 1-1000 or 1,5,9-12 (default 1-100)")
    parser.add_argument("--epochs", type=int, help="safety-phase epochs (else drawn)")
    parser.add_argument("--n", type=int, help=f"nodes, {N_MIN}..{N_MAX} (else drawn)")
    parser.add_argument("--leader", choices=POLICIES, help="leader policy")
    parser.add_argument("--echo", choices=("on", "off"), help="echo on or off")
    parser.add_argument("--max-delay", type=float, default=10.0, metavar="DELTAS",
                        help="largest message delay in the safety phase, in Δ "
                             "(default 10)")
    parser.add_argument("--no-wire", action="store_true",
                        help="skip the JSON round trip of every message (faster)")
    parser.add_argument("--core", metavar="MODULE:CLASS",
                        help="a Streamlet subclass to run instead of the core")
    parser.add_argument("--trace", action="store_true",
                        help="print the faults of failing seeds as they happened")
    parser.add_argument("--verbose", action="store_true",
                        help="print every seed's parameters")
    parser.add_argument("--quiet", action="store_true",
                        help="print only failures and the summary")
    return parser


def _one_line(result: RunResult) -> str:
    p = result.params
    judged = "-" if result.epochs_to_final is None else result.epochs_to_final
    return (f"seed {p.seed} {result.status} n={p.n} leader={p.leader} "
            f"echo={'on' if p.echo else 'off'} epochs={result.epochs} "
            f"final={result.final_height} crashes={result.crashes} "
            f"to_final={judged} txs={result.txs_finalized}/{result.txs_acknowledged}")


def _summary(results: list[RunResult], wall_s: float) -> str:
    counts = {kind: sum(r.status == kind for r in results)
              for kind in (OK, SAFETY, LIVENESS, CRASH)}
    waits = [r.epochs_to_final for r in results if r.epochs_to_final is not None]
    epochs = sum(r.epochs for r in results)
    lines = [
        f"seeds run: {len(results)}  ok: {counts[OK]}  safety violations: "
        f"{counts[SAFETY]}  liveness failures: {counts[LIVENESS]}  "
        f"crashes: {counts[CRASH]}",
    ]
    gaps = sum(r.catch_up_gap for r in results)
    if gaps:
        lines.append(f"liveness failures where a node never fetched votes it lost "
                     f"on a broken link: {gaps}")
    if waits:
        lines.append(f"epochs to a new final block after faults stop: median "
                     f"{statistics.median(waits):g}, max {max(waits)} "
                     f"(over {len(waits)} seeds)")
    rate = epochs / wall_s if wall_s > 0 else 0.0
    lines.append(f"simulated epochs: {epochs} in {wall_s:.1f} s "
                 f"({rate:.0f} epochs/s)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        seeds = parse_seeds(args.seeds)
        core = load_core(args.core) if args.core else Streamlet
        overrides = dict(n=args.n, epochs=args.epochs, max_delay_deltas=args.max_delay,
                         wire=not args.no_wire, leader=args.leader,
                         echo=None if args.echo is None else args.echo == "on")
        draw_params(0, **overrides)  # validates the overrides once, up front
    except (UsageError, ValueError) as exc:
        parser.error(str(exc))

    show_params = args.verbose or len(seeds) == 1
    exit_code = 0
    results = []
    started = time.perf_counter()  # wall clock for the summary only
    for seed in seeds:
        params = draw_params(seed, **overrides)
        if show_params:
            print(f"seed {seed} parameters:\n{params.describe()}", flush=True)
        result = run(params, core, trace=args.trace)
        results.append(result)
        if result.status != OK:
            print(result.report(), flush=True)
            exit_code = exit_code or result.exit_code
        elif not args.quiet:
            print(_one_line(result), flush=True)
    print(_summary(results, time.perf_counter() - started))
    return exit_code
