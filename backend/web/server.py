"""The dashboard server: ``serve(args)`` (run.py) or ``python -m backend.web``.

This is the only place that monkey-patches for eventlet, and it does so before
anything else of the web layer is imported: eventlet mode without patching
hangs the server on its first blocking accept, and patching at import time
would change every process that merely imports the package (tests included).

SIGTERM becomes an exception (a ``SystemExit``) that unwinds through the
``finally`` below, which stops the cluster: no node process outlives the
server, and the exit status is 0, as for any requested stop.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import warnings
from typing import Any

from backend.core.leader import POLICIES

log = logging.getLogger(__name__)

#: Used for every option the caller's arguments leave out or set to None.
DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1", "port": 5000, "nodes": 5, "delta": 1.0,
    "leader": "round-robin", "seed": 0, "tx_rate": 0.0, "echo": True,
    "async_mode": "eventlet", "scenario": None, "data_dir": None,
    "trace_messages": True,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backend.web",
        description="Streamlet Lab's live dashboard over a cluster of node processes.")
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int,
                        help="port to bind; 0 picks a free one (default 5000)")
    parser.add_argument("--nodes", type=int, help="number of nodes, 3..15 (default 5)")
    parser.add_argument("--delta", type=float,
                        help="Δ in seconds; an epoch lasts 2Δ (default 1)")
    parser.add_argument("--leader", choices=POLICIES,
                        help="leader of each epoch (default round-robin)")
    parser.add_argument("--seed", type=int, help="seed of random transactions")
    parser.add_argument("--tx-rate", type=float, dest="tx_rate",
                        help="random transactions per second (default 0)")
    parser.add_argument("--no-echo", action="store_false", dest="echo", default=None,
                        help="nodes do not forward the messages they receive")
    parser.add_argument("--no-trace", action="store_false", dest="trace_messages",
                        default=None, help="no per-message events (no animation)")
    parser.add_argument("--scenario", help="a scenario file to play (see scenarios/)")
    parser.add_argument("--data-dir", dest="data_dir",
                        help="where node stores go (default: a temporary folder)")
    parser.add_argument("--async-mode", choices=("eventlet", "threading"),
                        dest="async_mode", help="server mode (default eventlet)")
    return parser


def main(argv: list[str] | None = None) -> int:
    return serve(build_parser().parse_args(argv))


def _option(args: Any, name: str) -> Any:
    value = getattr(args, name, None)
    return DEFAULTS[name] if value is None else value


class _Terminated(SystemExit):
    """SIGTERM arrived: unwind through the ``finally`` that stops the nodes."""


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated(0)


def serve(args: Any) -> int:
    """Run the dashboard until interrupted; return the process exit code.

    ``args`` is any object with the attributes of :func:`build_parser`'s
    options (an ``argparse.Namespace`` from run.py will do); missing or None
    ones take the defaults in :data:`DEFAULTS`.
    """
    async_mode = _option(args, "async_mode")
    if async_mode == "eventlet":
        _patch_for_eventlet()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from .app import create_app
    from .scenarios import ScenarioPlayer, load_scenario
    from .validation import InputError, cluster_settings

    scenario = None
    try:
        if _option(args, "scenario"):
            scenario = load_scenario(_option(args, "scenario"))
        requested = {k: getattr(args, k) for k in
                     ("nodes", "delta", "leader", "echo", "seed", "tx_rate")
                     if getattr(args, k, None) is not None}
        base = {k: DEFAULTS[k] for k in
                ("nodes", "delta", "leader", "echo", "seed", "tx_rate")}
        if scenario is not None:
            base.update(scenario.settings)
        settings = {**base, **cluster_settings(requested)} if requested else base
    except (InputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings["trace_messages"] = bool(_option(args, "trace_messages"))
    settings["data_dir"] = _option(args, "data_dir")

    app = create_app(settings=settings, async_mode=async_mode, start=False)
    dashboard = app.extensions["streamlet"]
    if scenario is not None:
        dashboard.player = ScenarioPlayer(scenario.steps, scenario.name)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        dashboard.start()
        _run(app, _option(args, "host"), _option(args, "port"), async_mode)
    except (KeyboardInterrupt, _Terminated):
        pass  # eventlet's server loop swallows these itself and just returns
    finally:
        dashboard.shutdown()
        log.info("dashboard stopped; every node process reaped")
    return 0


def _patch_for_eventlet() -> None:
    # Name lookups stay off: every bind and connect uses 127.0.0.1 literally.
    os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()


def _announce(host: str, port: int) -> None:
    # Tests and scripts wait for this line to learn the (possibly chosen) port.
    print(f"Streamlet Lab dashboard on http://{host}:{port}/", flush=True)


def _run(app: Any, host: str, port: int, async_mode: str) -> None:
    if async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        listener = eventlet.listen((host, port))
        _announce(host, listener.getsockname()[1])
        eventlet.wsgi.server(listener, app, log_output=False)
    else:
        from werkzeug.serving import make_server

        server = make_server(host, port, app, threaded=True)
        _announce(host, server.server_port)
        server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
