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
import errno
import logging
import os
import signal
import sys
import warnings
from pathlib import Path
from typing import Any

from backend.core.leader import POLICIES

log = logging.getLogger(__name__)

#: Used for every option the caller's arguments leave out or set to None.
DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1", "port": 5000, "nodes": 5, "delta": 1.0,
    "leader": "round-robin", "seed": 0, "tx_rate": 0.0, "echo": True,
    "async_mode": "eventlet", "scenario": None, "data_dir": None,
    "trace_messages": True, "replay": None, "presenter_token": None,
    "echo_trace_every": 0,
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
    parser.add_argument("--echo-trace-every", type=int, dest="echo_trace_every",
                        metavar="K", help="nodes trace 1 in K of their echo sends "
                        "and deliveries (1: all; default 0: K from n and Δ)")
    parser.add_argument("--scenario", help="a scenario file to play (see scenarios/)")
    parser.add_argument("--data-dir", dest="data_dir",
                        help="where node stores go (default: a temporary folder)")
    parser.add_argument("--async-mode", choices=("eventlet", "threading"),
                        dest="async_mode", help="server mode (default eventlet)")
    add_teaching_options(parser)
    return parser


def add_teaching_options(parser: argparse.ArgumentParser) -> None:
    """--replay and --presenter-token (run.py shares them)."""
    parser.add_argument("--replay", metavar="FILE",
                        help="open a recorded run (an exported .jsonl) in the "
                        "dashboard, with no cluster running")
    parser.add_argument("--presenter-token", dest="presenter_token",
                        metavar="TOKEN", nargs="?", const="",
                        help="controls need this token (8+ letters, digits, - "
                        "or _; without a value one is made up). Always on when "
                        "--host is not a loopback address")


def main(argv: list[str] | None = None) -> int:
    return serve(build_parser().parse_args(argv))


def _option(args: Any, name: str) -> Any:
    value = getattr(args, name, None)
    return DEFAULTS[name] if value is None else value


class _Terminated(SystemExit):
    """SIGTERM arrived: unwind through the ``finally`` that stops the nodes."""


#: Under eventlet, the green thread that runs serve() (set by serve()).
_serving: Any = None


def _exit_on_sigterm(signum: int, frame: object) -> None:
    serving = _serving
    if serving is not None:
        import greenlet
        from eventlet import hubs

        if greenlet.getcurrent() is not serving:
            # Every green thread runs in the main OS thread, so the signal
            # may land in any of them (the cluster's relay, a page's
            # request), which the exception would end alone: the nodes
            # would outlive the server. Raise it where serve() waits.
            hubs.get_hub().schedule_call_global(0, serving.throw, _Terminated(0))
            return
    raise _Terminated(0)


def serve(args: Any) -> int:
    """Run the dashboard until interrupted; return the process exit code.

    ``args`` is any object with the attributes of :func:`build_parser`'s
    options (an ``argparse.Namespace`` from run.py will do); missing or None
    ones take the defaults in :data:`DEFAULTS`.
    """
    global _serving
    async_mode = _option(args, "async_mode")
    if async_mode == "eventlet":
        _patch_for_eventlet()
        import greenlet

        _serving = greenlet.getcurrent()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from backend.cluster.recording import RecordingError, read_recording

    from .scenarios import ScenarioPlayer, load_scenario
    from .security import PresenterGate, new_token
    from .validation import InputError, cluster_settings

    scenario = recording = gate = None
    host, port = _option(args, "host"), _option(args, "port")
    try:
        token = _option(args, "presenter_token")
        gate = PresenterGate.for_host(host, new_token() if token == "" else token)
        if _option(args, "replay") and _option(args, "scenario"):
            raise ValueError("--replay and --scenario do not go together")
        if _option(args, "replay"):
            path = Path(_option(args, "replay"))
            recording = (*read_recording(path), path.name[:100], path.read_bytes())
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
        every = _option(args, "echo_trace_every")
        if not 0 <= every <= 10_000:
            raise ValueError("--echo-trace-every must be between 0 and 10000")
    except (InputError, ValueError) as exc:  # RecordingError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings["trace_messages"] = bool(_option(args, "trace_messages"))
    settings["echo_trace_every"] = every
    settings["data_dir"] = _option(args, "data_dir")

    try:
        # Bound before anything starts: a port in use costs no node process.
        listener = _listen(app_holder := [], host, port, async_mode)
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {_why(exc)}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    launched = dashboard = None
    try:
        if recording is None:
            # The nodes start before Flask and Socket.IO are imported: the
            # imports then overlap the cluster's first epochs (launch.py).
            from .launch import launch_cluster

            launched = launch_cluster(settings)
        from .app import create_app

        app = create_app(settings=settings, async_mode=async_mode, start=False,
                         presenter_token=gate.token,
                         runs=launched.runs if launched else None)
        app_holder.append(app)
        dashboard = app.extensions["streamlet"]
        if scenario is not None:
            dashboard.player = ScenarioPlayer(scenario.steps, scenario.name)
            dashboard.scenario_info = {"name": scenario.name,
                                       "description": scenario.description}
        if recording is not None:
            try:
                dashboard.open_replay(*recording)
            except RecordingError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
        dashboard.start(cluster=recording is None, launched=launched)
        launched = None  # the dashboard owns it now
        _serve(listener, app, host, async_mode, gate.token)
    except (KeyboardInterrupt, _Terminated):
        pass  # eventlet's server loop swallows these itself and just returns
    finally:
        listener.close()
        if launched is not None:
            launched.abandon()  # stopped before the dashboard took it over
        if dashboard is not None:
            dashboard.shutdown()
        log.info("dashboard stopped; every node process reaped")
    return 0


def _patch_for_eventlet() -> None:
    # Name lookups stay off: every bind and connect uses 127.0.0.1 literally.
    os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()


def _announce(host: str, port: int, token: str | None) -> None:
    # Tests and scripts wait for this line to learn the (possibly chosen) port.
    print(f"Streamlet Lab dashboard on http://{host}:{port}/", flush=True)
    if token is not None:
        print(f"presenter token: {token} (controls need it; the presenter opens "
              f"http://{host}:{port}/?token={token})", flush=True)


def _why(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return "the port is already in use (choose another with --port)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "no such address on this machine (see --host)"
    return exc.strerror or str(exc)


class _Listener:
    """The bound socket (eventlet) or server (threading), not yet serving."""

    def __init__(self, sock: Any, server: Any = None) -> None:
        self.sock, self.server = sock, server

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def close(self) -> None:
        if self.server is not None:
            self.server.server_close()
        self.sock.close()


def _listen(app_holder: list[Any], host: str, port: int,
            async_mode: str) -> _Listener:
    """Bind the dashboard's port; ``app_holder[0]`` is the app once built."""
    if async_mode == "eventlet":
        import eventlet

        # No SO_REUSEPORT (eventlet sets it by default): a second server on
        # the same port must fail, not share the port with the first.
        return _Listener(sock=eventlet.listen((host, port), reuse_port=False))
    import socket

    from werkzeug.serving import make_server

    def late_app(environ: Any, start_response: Any) -> Any:
        return app_holder[0](environ, start_response)
    # Bound here, not by Werkzeug: on a port in use it prints two lines of
    # its own and exits, where this server answers with one line.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    server = make_server(host, port, late_app, threaded=True, fd=sock.fileno())
    return _Listener(sock, server)


def _serve(listener: _Listener, app: Any, host: str, async_mode: str,
           token: str | None) -> None:
    _announce(host, listener.port, token)
    if async_mode == "eventlet":
        import eventlet.wsgi

        eventlet.wsgi.server(listener.sock, app, log_output=False)
    else:
        listener.server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
