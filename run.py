"""Streamlet Lab: the dashboard (default) or a headless run (--headless).

    python run.py                       # dashboard on http://127.0.0.1:5000
    python run.py --headless --nodes 5 --epochs 20 --delta 0.05 --report r.json
"""

from __future__ import annotations

import argparse
import signal
import sys

from backend.core.leader import POLICIES
from backend.web.server import add_teaching_options


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py", description="Streamlet Lab: a live lab of the Streamlet "
        "consensus protocol with real node processes.")
    parser.add_argument("--headless", action="store_true",
                        help="run in the terminal, print a report, exit")
    parser.add_argument("--nodes", type=int, help="number of nodes (default 5)")
    parser.add_argument("--epochs", type=int,
                        help="headless: epochs to run (default 20)")
    parser.add_argument("--delta", type=float,
                        help="Δ in seconds; an epoch lasts 2Δ (default: 1 for the "
                        "dashboard, 0.1 headless)")
    parser.add_argument("--leader", choices=POLICIES,
                        help="leader of each epoch: round-robin (default) or hash")
    parser.add_argument("--seed", type=int, help="seed of random transactions")
    parser.add_argument("--tx-rate", type=float, dest="tx_rate",
                        help="random transactions per second (default 0)")
    parser.add_argument("--scenario", help="a scenario file (JSON, see scenarios/)")
    parser.add_argument("--report", help="headless: write a JSON report here")
    parser.add_argument("--record", metavar="FILE",
                        help="headless: record every event to FILE (JSON Lines), "
                        "to replay it in the dashboard")
    parser.add_argument("--chaos", type=float, metavar="SECONDS",
                        help="headless: kill and restart up to f random nodes for "
                        "SECONDS, then audit every store")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000,
                        help="dashboard port (default 5000)")
    parser.add_argument("--async-mode", choices=("eventlet", "threading"),
                        default="eventlet", dest="async_mode",
                        help="dashboard server mode (default eventlet)")
    add_teaching_options(parser)  # --replay FILE, --presenter-token [TOKEN]
    return parser


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # Turn SIGTERM into SystemExit so that finally-blocks stop the nodes.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if args.chaos is not None and not args.headless:
        print("error: --chaos needs --headless", file=sys.stderr)
        return 2
    if args.headless and (args.replay or args.presenter_token is not None):
        print("error: --replay and --presenter-token are dashboard options",
              file=sys.stderr)
        return 2
    if args.headless and args.chaos is not None:
        from backend.cluster.chaos import main_from_args
    elif args.headless:
        from backend.cluster.headless import main_from_args
    if args.headless:

        try:
            return main_from_args(args)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
    from backend.web.server import serve

    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
