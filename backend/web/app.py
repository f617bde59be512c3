"""The Flask application: the page, the JSON API and the Socket.IO controls.

Handlers stay thin: read the request, validate it (``validation``), call one
method of the :class:`~backend.web.dashboard.Dashboard`, reply. Every error
leaves as JSON ``{"error": "..."}`` (over Socket.IO as an ``error`` event),
never as a traceback. Errors raised by the cluster carry the HTTP status to
answer in their ``status`` attribute (404 unknown node, 409 wrong state,
400 bad input), as the cluster's contract says.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, jsonify, render_template, request, send_from_directory
from flask_socketio import SocketIO, emit
from werkzeug.exceptions import HTTPException

from . import validation
from .dashboard import DEFAULT_SETTINGS, Dashboard, make_cluster
from .scenarios import find_scenario, list_scenarios
from .validation import InputError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
ASYNC_MODES = ("eventlet", "threading")
#: Request bodies are a few fields; anything bigger is refused unread.
MAX_BODY_BYTES = 16 * 1024


def create_app(cluster_factory: Callable[[dict], Any] | None = None,
               settings: dict[str, Any] | None = None, *,
               async_mode: str = "eventlet", start: bool = True,
               **dashboard_options: Any) -> Flask:
    """Build the dashboard app around a cluster made by ``cluster_factory``.

    ``cluster_factory(settings)`` returns an object with the API of
    ``backend.cluster.Cluster`` (the real one by default). ``async_mode`` is
    passed to Flask-SocketIO explicitly: left to itself it picks eventlet
    whenever eventlet is installed, which hangs an unpatched process. With
    ``start`` the cluster and the relay task start now; otherwise call
    ``app.extensions["streamlet"].start()``.
    """
    if async_mode not in ASYNC_MODES:
        raise ValueError(f"async_mode must be one of {ASYNC_MODES}")
    app = Flask(__name__, static_folder=str(ROOT / "static"),
                template_folder=str(ROOT / "templates"))
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json.sort_keys = False

    socketio = SocketIO(app, async_mode=async_mode, logger=False,
                        engineio_logger=False)
    dashboard = Dashboard(socketio, cluster_factory or make_cluster,
                          {**DEFAULT_SETTINGS, **(settings or {})},
                          **dashboard_options)
    app.extensions["streamlet"] = dashboard

    _add_pages(app)
    _add_api(app, dashboard)
    _refuse_other_sites(app)
    _add_errors(app)
    _add_socket_handlers(socketio, dashboard)
    if start:
        dashboard.start()
    return app


class _NotFound(Exception):
    """Something a request names does not exist (answered as 404)."""

    status = 404


def _error(message: str, status: int) -> tuple[Any, int]:
    return jsonify({"error": message}), status


def _body() -> Any:
    """The request's JSON body, or InputError if it is not JSON at all."""
    body = request.get_json(force=True, silent=True)
    if body is None and request.get_data(cache=True).strip() != b"null":
        raise InputError("the body must be JSON")
    return body


def _cluster_status(exc: Exception) -> int | None:
    """The HTTP status a cluster error asks for, if it is one.

    The cluster's messages are written for its users ("node 2 is crashed",
    "no live node accepted the transaction"), so they are passed on as they are.
    """
    status = getattr(exc, "status", None)
    if isinstance(status, int) and 400 <= status < 600:
        return status
    return None


def _add_pages(app: Flask) -> None:
    frontend = ROOT / "frontend"

    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    @app.get("/js/<path:filename>")
    def frontend_module(filename: str) -> Any:
        # ES modules need a JavaScript MIME type or the browser refuses them.
        return send_from_directory(frontend, filename,
                                   mimetype="text/javascript")


def _add_api(app: Flask, dashboard: Dashboard) -> None:
    @app.get("/api/state")
    def state() -> Any:
        return jsonify(dashboard.state())

    @app.get("/api/snapshot")
    def snapshot() -> Any:
        return jsonify(dashboard.snapshot())

    @app.post("/api/nodes/<int:node_id>/crash")
    def crash(node_id: int) -> Any:
        dashboard.crash(node_id)
        return jsonify({"node": node_id, "status": "crashed"})

    @app.post("/api/nodes/<int:node_id>/restart")
    def restart(node_id: int) -> Any:
        dashboard.restart(node_id)
        return jsonify({"node": node_id, "status": "restarting"})

    @app.post("/api/transactions")
    def submit() -> Any:
        sender, receiver, amount = validation.transaction(_body())
        tx_id = dashboard.submit(sender, receiver, amount)
        return jsonify({"id": tx_id, "status": "pending"}), 201

    @app.get("/api/transactions/<tx_id>")
    def transaction(tx_id: str) -> Any:
        record = dashboard.transaction(tx_id)
        if record is None:
            return _error(f"unknown transaction {tx_id}", 404)
        return jsonify(record)

    @app.get("/api/blocks/<block_hash>")
    def block(block_hash: str) -> Any:
        info = dashboard.block(block_hash)
        if info is None:
            return _error(f"unknown block {block_hash[:64]}", 404)
        return jsonify(info)

    @app.post("/api/cluster")
    def cluster() -> Any:
        settings = validation.cluster_settings(_body())
        return jsonify(dashboard.reconfigure(settings))

    @app.post("/api/clock")
    def clock() -> Any:
        return jsonify(dashboard.clock_control(validation.clock_action(_body())))

    @app.post("/api/delta")
    def delta() -> Any:
        delta_s = validation.delta(_body())
        dashboard.set_delta(delta_s)
        return jsonify({"delta": delta_s})

    @app.get("/api/scenarios")
    def scenarios() -> Any:
        return jsonify(list_scenarios())

    @app.post("/api/scenarios/<scenario_id>")
    def play(scenario_id: str) -> Any:
        scenario = find_scenario(scenario_id)
        if scenario is None:
            return _error(f"unknown scenario {scenario_id[:64]}", 404)
        return jsonify(dashboard.play(scenario))

    @app.post("/api/tx-rate")
    def tx_rate() -> Any:
        rate = validation.tx_rate(_body())
        dashboard.set_tx_rate(rate)
        return jsonify({"rate": rate})


def _refuse_other_sites(app: Flask) -> None:
    """Refuse state-changing requests that a page of another site makes.

    The server listens on 127.0.0.1, but any web page the user opens could
    still POST to it (a body-less POST needs no CORS pre-flight). Browsers
    name the page's origin in the Origin header; command-line clients send
    none and are let through.
    """
    @app.before_request
    def same_origin_only() -> Any:
        origin = request.headers.get("Origin")
        if request.method == "POST" and origin is not None:
            if urlsplit(origin).netloc != request.host:
                return _error("requests from other sites are refused", 403)
        return None


def _add_errors(app: Flask) -> None:
    @app.errorhandler(InputError)
    def bad_input(exc: InputError) -> Any:
        return _error(str(exc), 400)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return _error((exc.name or "error").lower(), exc.code or 500)

    @app.errorhandler(Exception)
    def any_error(exc: Exception) -> Any:
        status = _cluster_status(exc)
        if status is not None:
            return _error(str(exc), status)
        log.exception("request %s %s failed", request.method, request.path)
        return _error("internal server error", 500)


def _add_socket_handlers(socketio: SocketIO, dashboard: Dashboard) -> None:
    def control(event: str, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run one control; answer the acknowledgement, emit "error" on failure."""
        try:
            return {"ok": True, **action()}
        except InputError as exc:
            message, status = str(exc), 400
        except Exception as exc:
            status = _cluster_status(exc)
            if status is None:
                raise
            message = str(exc)
        emit("error", {"event": event, "error": message, "status": status})
        return {"ok": False, "error": message, "status": status}

    @socketio.on("connect")
    def on_connect(auth: Any = None) -> None:
        dashboard.emit_snapshot(to=request.sid)

    @socketio.on("snapshot")
    def on_snapshot(data: Any = None) -> None:
        dashboard.emit_snapshot(to=request.sid)

    def node_control(event: str, method: Callable[[int], None]) -> None:
        def handler(data: Any = None) -> dict[str, Any]:
            def action() -> dict[str, Any]:
                node = validation.node_id(data)
                method(node)
                return {"node": node}
            return control(event, action)
        socketio.on_event(event, handler)

    node_control("crash", dashboard.crash)
    node_control("restart", dashboard.restart)

    @socketio.on("transaction")
    def on_transaction(data: Any = None) -> dict[str, Any]:
        def action() -> dict[str, Any]:
            sender, receiver, amount = validation.transaction(data)
            return {"id": dashboard.submit(sender, receiver, amount)}
        return control("transaction", action)

    @socketio.on("tx_rate")
    def on_tx_rate(data: Any = None) -> dict[str, Any]:
        def action() -> dict[str, Any]:
            rate = validation.tx_rate(data)
            dashboard.set_tx_rate(rate)
            return {"rate": rate}
        return control("tx_rate", action)

    @socketio.on("cluster")
    def on_cluster(data: Any = None) -> dict[str, Any]:
        def action() -> dict[str, Any]:
            settings = validation.cluster_settings(data)
            return {"state": dashboard.reconfigure(settings)}
        return control("cluster", action)

    @socketio.on("clock")
    def on_clock(data: Any = None) -> dict[str, Any]:
        return control("clock", lambda: dashboard.clock_control(
            validation.clock_action(data)))

    @socketio.on("delta")
    def on_delta(data: Any = None) -> dict[str, Any]:
        def action() -> dict[str, Any]:
            delta_s = validation.delta(data)
            dashboard.set_delta(delta_s)
            return {"delta": delta_s}
        return control("delta", action)

    @socketio.on("scenarios")
    def on_scenarios(data: Any = None) -> dict[str, Any]:
        return control("scenarios", lambda: {"scenarios": list_scenarios()})

    @socketio.on("scenario")
    def on_scenario(data: Any = None) -> dict[str, Any]:
        def action() -> dict[str, Any]:
            scenario_id = validation.scenario_id(data)
            scenario = find_scenario(scenario_id)
            if scenario is None:
                raise _NotFound(f"unknown scenario {scenario_id[:64]}")
            return {"state": dashboard.play(scenario)}
        return control("scenario", action)

    @socketio.on("why")
    def on_why(data: Any = None) -> dict[str, Any]:
        def action() -> dict[str, Any]:
            block_hash = validation.block_hash(data)
            info = dashboard.block(block_hash)
            if info is None:
                raise _NotFound(f"unknown block {block_hash}")
            return {"block": info}
        return control("why", action)

    @socketio.on_error_default
    def on_error(exc: Exception) -> None:
        log.error("socket event failed", exc_info=exc)
        emit("error", {"error": "internal server error", "status": 500})
