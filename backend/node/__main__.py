"""Entry point of one node process: ``python -m backend.node --id 3 ...``.

Normally started by the supervisor (backend/cluster), which passes the port of
its control link; the node exits when that link closes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from backend.core.leader import POLICIES

from .process import NodeProcess


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.node")
    parser.add_argument("--id", type=int, required=True)
    parser.add_argument("--nodes", type=int, required=True)
    parser.add_argument("--delta", type=float, required=True, help="Δ in seconds")
    parser.add_argument("--leader", choices=POLICIES, default=POLICIES[0])
    parser.add_argument("--store", required=True, help="path of the SQLite file")
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-echo", action="store_true")
    parser.add_argument("--trace", action="store_true",
                        help="report every message sent and delivered")
    parser.add_argument("--echo-trace-every", type=int, default=1,
                        dest="echo_trace_every", metavar="K",
                        help="with --trace: 1 in K echo traces, each with the "
                        "weight of those left out (1: all; 0: K from n and Δ)")
    parser.add_argument("--no-tallies", action="store_false", dest="tallies",
                        help="do not report each vote counted (n² a good epoch)")
    parser.add_argument("--quiet", action="store_true",
                        help="report only finalizations, status and counters")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--confusion", type=int, nargs=2, default=(0, 0),
                        metavar=("START", "EPOCHS"),
                        help="the course's fork demonstration (default off)")
    parser.add_argument("--keep-heights", type=int, default=256,
                        help="finalized heights kept in memory (the store keeps all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(message)s")
    node = NodeProcess(args.id, args.nodes, args.delta, args.leader, args.store,
                       args.control_port, host=args.host, echo=not args.no_echo,
                       trace=args.trace, seed=args.seed,
                       keep_heights=args.keep_heights, quiet=args.quiet,
                       confusion=tuple(args.confusion),
                       echo_trace_every=max(0, args.echo_trace_every),
                       tallies=args.tallies)
    asyncio.run(node.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
