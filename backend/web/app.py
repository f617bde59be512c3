"""The Flask application: the page, the JSON API and the Socket.IO controls.

Handlers stay thin: read the request, validate it (``validation``), call one
method of the :class:`~backend.web.dashboard.Dashboard`, reply. Every error
leaves as JSON ``{"error": "..."}`` (over Socket.IO as an ``error`` event),
never as a traceback. Errors raised by the cluster carry the HTTP status to
answer in their ``status`` attribute (404 unknown node, 409 wrong state,
400 bad input), as the cluster's contract says.

Every control (an HTTP POST or a Socket.IO control event) passes two gates
first (``security``): the presenter token, when one is in force, and a rate
limit per client. Read-only requests (the state, a block, the timeline of a
replay, exports) are open to every viewer.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from flask.json.provider import DefaultJSONProvider
from flask_socketio import SocketIO, emit
from werkzeug.exceptions import HTTPException

from backend.cluster.recording import MAX_BYTES as MAX_RECORDING_BYTES
from backend.cluster.recording import RecordingError, read_recording

from . import validation
from .dashboard import DEFAULT_SETTINGS, Dashboard, JsonPacket, make_cluster
from .scenarios import find_scenario, list_scenarios
from .security import TOKEN_HEADER, Limit, PresenterGate, RateLimiter
from .validation import InputError

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
ASYNC_MODES = ("eventlet", "threading")
#: Request bodies are a few fields; anything bigger is refused unread (an
#: opened recording, up to the size a recording may have, is the exception).
MAX_BODY_BYTES = 16 * 1024
#: Largest Socket.IO message a page may send: controls are a few fields.
MAX_SOCKET_BYTES = 64 * 1024
#: Headers on every answer: nothing is sniffed into HTML, nothing framed, and
#: the page runs only its own scripts (server text is never markup anyway).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
}
#: GET routes that cost the server real work: rate-limited like queries.
HEAVY_GETS = ("/api/run/export", "/api/scenario/export", "/api/replay")


def create_app(cluster_factory: Callable[[dict], Any] | None = None,
               settings: dict[str, Any] | None = None, *,
               async_mode: str = "eventlet", start: bool = True,
               presenter_token: str | None = None,
               limits: dict[str, Limit] | None = None,
               **dashboard_options: Any) -> Flask:
    """Build the dashboard app around a cluster made by ``cluster_factory``.

    ``cluster_factory(settings)`` returns an object with the API of
    ``backend.cluster.Cluster`` (the real one by default). ``async_mode`` is
    passed to Flask-SocketIO explicitly: left to itself it picks eventlet
    whenever eventlet is installed, which hangs an unpatched process. With
    ``start`` the cluster and the relay task start now; otherwise call
    ``app.extensions["streamlet"].start()``. With ``presenter_token`` every
    control needs that token; ``limits`` replaces the default rate limits.
    """
    if async_mode not in ASYNC_MODES:
        raise ValueError(f"async_mode must be one of {ASYNC_MODES}")
    app = Flask(__name__, static_folder=str(ROOT / "static"),
                template_folder=str(ROOT / "templates"))
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json = _MarkupFreeJSON(app)
    app.json.sort_keys = False

    # cors_allowed_origins=None: Engine.IO accepts a connection only from a
    # page of this very server, so another site cannot drive the controls.
    # JsonPacket: JSON only, no walk of every value looking for binary data.
    socketio = SocketIO(app, async_mode=async_mode, logger=False,
                        engineio_logger=False, cors_allowed_origins=None,
                        max_http_buffer_size=MAX_SOCKET_BYTES,
                        serializer=JsonPacket)
    dashboard = Dashboard(socketio, cluster_factory or make_cluster,
                          {**DEFAULT_SETTINGS, **(settings or {})},
                          **dashboard_options)
    gate = PresenterGate(presenter_token)
    limiter = RateLimiter(limits)
    app.extensions["streamlet"] = dashboard
    app.extensions["streamlet_gate"] = gate
    app.extensions["streamlet_limiter"] = limiter

    _add_pages(app)
    _add_api(app, dashboard)
    _guard_requests(app, gate, limiter)
    _add_errors(app)
    _add_socket_handlers(socketio, dashboard, gate, limiter)
    if start:
        dashboard.start()
    return app


class _MarkupFreeJSON(DefaultJSONProvider):
    """JSON answers with ``<``, ``>`` and ``&`` written as ``\\u003c`` and so on.

    The same JSON to any parser; but a name a client chose ("unknown block
    <script>…") never appears as markup in an answer, even to a client that
    would sniff it as HTML.
    """

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        text = super().dumps(obj, **kwargs)
        return (text.replace("<", "\\u003c").replace(">", "\\u003e")
                .replace("&", "\\u0026"))


class _Refused(Exception):
    """A request that may not be carried out: carries its HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _not_found(message: str) -> _Refused:
    return _Refused(message, 404)


def _error(message: str, status: int) -> tuple[Any, int]:
    return jsonify({"error": message}), status


def _body(optional: bool = False) -> Any:
    """The request's JSON body, or InputError if it is not JSON at all.

    With ``optional`` an empty body is None (``POST /api/heal`` needs none).
    """
    try:
        body = request.get_json(force=True, silent=True)
    except RecursionError:
        raise InputError("the body is nested too deeply") from None
    raw = request.get_data(cache=True).strip()
    if body is None and raw != b"null" and not (optional and not raw):
        raise InputError("the body must be JSON")
    return body


def _cluster_status(exc: Exception) -> int | None:
    """The HTTP status a cluster error asks for, if it is one.

    The cluster's messages are written for its users ("node 2 is crashed",
    "no live node accepted the transaction"), so they are passed on as they are.
    """
    status = getattr(exc, "status", None)
    if isinstance(status, int) and not isinstance(status, bool) and \
            400 <= status < 600:
        return status
    return None


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug or "scenario"


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
        return jsonify({**dashboard.state(), "mode": (
            "replay" if dashboard.replay is not None else "live")})

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
            return _error(f"unknown transaction {tx_id[:64]}", 404)
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

    @app.get("/api/scenarios")
    def scenarios() -> Any:
        return jsonify(list_scenarios())

    @app.post("/api/scenarios/<scenario_id>")
    def play(scenario_id: str) -> Any:
        scenario = find_scenario(scenario_id)
        if scenario is None:
            return _error(f"unknown scenario {scenario_id[:64]}", 404)
        return jsonify(dashboard.play(scenario))

    # The controls the page also sends over Socket.IO: the same action,
    # the same answer (without the acknowledgement's "ok").
    actions = _actions(dashboard)
    for path, event in (("/api/clock", "clock"), ("/api/delta", "delta"),
                        ("/api/tx-rate", "tx_rate"), ("/api/link", "link"),
                        ("/api/partition", "partition"), ("/api/heal", "heal"),
                        ("/api/asynchrony", "asynchrony")):
        def route(action: Callable[[Any], dict[str, Any]] = actions[event]) -> Any:
            return jsonify(action(_body(optional=True)))
        app.add_url_rule(path, f"control_{event}", route, methods=["POST"])

    # --- runs, replays and scenarios as files ------------------------------

    @app.get("/api/run/export")
    def export_run() -> Any:
        try:
            data, filename = dashboard.export()
        except LookupError as exc:
            return _error(str(exc), 404)
        return _download(data, filename, "application/x-ndjson")

    @app.get("/api/scenario/export")
    def export_scenario() -> Any:
        from backend.cluster.scenario import ScenarioError, parse

        name, description = validation.scenario_text(request.args.to_dict())
        scenario = dashboard.scenario_file(name, description)
        try:
            parse(scenario, "the saved session")
        except ScenarioError as exc:
            log.error("the session is not a valid scenario: %s", exc)
            return _error(f"the session cannot be saved as a scenario: {exc}", 500)
        data = json.dumps(scenario, indent=2, ensure_ascii=False) + "\n"
        return _download(data.encode(), f"{_slug(name)}.json", "application/json")

    @app.post("/api/replay")
    def open_replay() -> Any:
        # The one large body: a recording, read up to the size a replay takes.
        request.max_content_length = MAX_RECORDING_BYTES
        name, _ = validation.scenario_text(
            {"name": request.args.get("name", "opened recording")})
        data = request.get_data(cache=False)
        try:
            header, events = read_recording(data)
            info = dashboard.open_replay(header, events, name, data)
        except RecordingError as exc:
            return _error(f"not a recording this dashboard can replay: {exc}", 400)
        return jsonify(info)

    @app.get("/api/replay")
    def replay_page() -> Any:
        start = request.args.get("from", "0")
        if not start.isascii() or not start.isdigit() or len(start) > 9:
            raise InputError("from must be a whole number")
        try:
            return jsonify(dashboard.replay_page(int(start)))
        except LookupError as exc:
            return _error(str(exc), 404)


def _guard_requests(app: Flask, gate: PresenterGate, limiter: RateLimiter) -> None:
    """Refuse controls from other sites, from viewers, and floods.

    The server listens on 127.0.0.1 by default, but any web page the user
    opens could still POST to it (a body-less POST needs no CORS pre-flight).
    Browsers name the page's origin in the Origin header; command-line
    clients send none and are let through by that check (not by the token's).
    """
    @app.before_request
    def guard() -> Any:
        client = request.remote_addr or "unknown"
        if request.method != "POST":
            if request.path in HEAVY_GETS:
                refused = limiter.check(client, "query")
                if refused:
                    return _error(refused, 429)
            return None
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            return _error("requests from other sites are refused", 403)
        if not gate.allows(request.headers.get(TOKEN_HEADER)):
            return _error("controls need the presenter token in the "
                          f"{TOKEN_HEADER} header (the server printed it when "
                          "it started)", 403)
        kind = "transaction" if request.path == "/api/transactions" else "control"
        refused = limiter.check(client, kind)
        if refused:
            return _error(refused, 429)
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


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


def _actions(dashboard: Dashboard) -> dict[str, Callable[[Any], dict[str, Any]]]:
    """Controls that HTTP and Socket.IO share: event name -> action(body)."""
    def tx_rate(data: Any) -> dict[str, Any]:
        rate = validation.tx_rate(data)
        dashboard.set_tx_rate(rate)
        return {"rate": rate}

    def delta(data: Any) -> dict[str, Any]:
        delta_s = validation.delta(data)
        dashboard.set_delta(delta_s)
        return {"delta": delta_s}

    def link(data: Any) -> dict[str, Any]:
        src, dst, delay_ms, loss, both = validation.link(data)
        links = dashboard.set_link(src, dst, delay_ms, loss, both)
        return {"links": links, "delay_ms": delay_ms, "loss": loss}

    def partition(data: Any) -> dict[str, Any]:
        groups = validation.partition(data)
        dashboard.partition(groups)
        return {"groups": groups}

    def heal(data: Any) -> dict[str, Any]:
        if data not in (None, {}):
            raise InputError("heal takes no fields")
        dashboard.heal()
        return {"healed": True}

    def asynchrony(data: Any) -> dict[str, Any]:
        on = validation.switch(data)
        dashboard.set_asynchrony(on)
        return {"asynchrony": on}

    return {"clock": lambda data: dashboard.clock_control(
                validation.clock_action(data)),
            "tx_rate": tx_rate, "delta": delta, "link": link,
            "partition": partition, "heal": heal, "asynchrony": asynchrony}


def _add_socket_handlers(socketio: SocketIO, dashboard: Dashboard,
                         gate: PresenterGate, limiter: RateLimiter) -> None:
    #: Socket.IO sessions that showed the presenter token when they connected.
    presenters: set[str] = set()
    #: Sessions whose connection was handled: a client may also send an
    #: *event* named "connect" or "disconnect" (python-socketio hands it to
    #: the same handler), which must not pass for the real thing.
    connected: set[str] = set()

    def fake_lifecycle(event: str) -> dict[str, Any]:
        message = f"unknown event {event!r}"
        emit("error", {"event": event, "error": message, "status": 404})
        return {"ok": False, "error": message, "status": 404}

    def control(event: str, args: tuple[Any, ...],
                action: Callable[[Any], dict[str, Any]], *, kind: str,
                presenter: bool) -> dict[str, Any]:
        """Run one event; answer the acknowledgement, emit "error" on failure."""
        sid = request.sid  # type: ignore[attr-defined]
        try:
            if presenter and sid not in presenters:
                raise _Refused(gate.refusal(), 403)
            refused = limiter.check(sid, kind)
            if refused:
                raise _Refused(refused, 429)
            if len(args) > 1:
                raise InputError("send one JSON object")
            return {"ok": True, **action(args[0] if args else None)}
        except InputError as exc:
            message, status = str(exc), 400
        except Exception as exc:
            status = _cluster_status(exc)
            if status is None:
                raise
            message = str(exc)
        emit("error", {"event": event, "error": message, "status": status})
        return {"ok": False, "error": message, "status": status}

    def on(event: str, action: Callable[[Any], dict[str, Any]], *,
           kind: str = "control", presenter: bool = True) -> None:
        def handler(*args: Any) -> dict[str, Any]:
            return control(event, args, action, kind=kind, presenter=presenter)
        socketio.on_event(event, handler)

    @socketio.on("connect")
    def on_connect(auth: Any = None) -> Any:
        if request.sid in connected:  # type: ignore[attr-defined]
            return fake_lifecycle("connect")
        connected.add(request.sid)  # type: ignore[attr-defined]
        offered = auth.get("token") if isinstance(auth, dict) else None
        is_presenter = gate.allows(offered)
        if is_presenter:
            presenters.add(request.sid)  # type: ignore[attr-defined]
        if is_presenter:
            message = ""
        elif offered:
            message = "the presenter token is wrong: this page is a viewer"
        else:
            message = gate.refusal()
        emit("role", {"presenter": is_presenter, "token_required": gate.required,
                      "message": message})
        dashboard.emit_snapshot(to=request.sid)  # type: ignore[attr-defined]

    @socketio.on("disconnect")
    def on_disconnect(*args: Any) -> Any:
        sid = request.sid  # type: ignore[attr-defined]
        # During a real disconnection the session no longer counts as connected.
        if socketio.server.manager.is_connected(sid, "/"):
            return fake_lifecycle("disconnect")
        connected.discard(sid)
        presenters.discard(sid)
        limiter.forget(sid)
        return None

    def snapshot(data: Any) -> dict[str, Any]:
        dashboard.emit_snapshot(to=request.sid)  # type: ignore[attr-defined]
        return {}

    def node_action(method: Callable[[int], None]) -> Callable[[Any], dict]:
        def action(data: Any) -> dict[str, Any]:
            node = validation.node_id(data)
            method(node)
            return {"node": node}
        return action

    def transaction(data: Any) -> dict[str, Any]:
        sender, receiver, amount = validation.transaction(data)
        return {"id": dashboard.submit(sender, receiver, amount)}

    def scenario(data: Any) -> dict[str, Any]:
        scenario_id = validation.scenario_id(data)
        found = find_scenario(scenario_id)
        if found is None:
            raise _not_found(f"unknown scenario {scenario_id[:64]}")
        return {"state": dashboard.play(found)}

    def why(data: Any) -> dict[str, Any]:
        block_hash = validation.block_hash(data)
        info = dashboard.block(block_hash)
        if info is None:
            raise _not_found(f"unknown block {block_hash}")
        return {"block": info}

    def view(data: Any) -> dict[str, Any]:
        dashboard.set_view(validation.view(data))
        return {}

    # Read-only events: every viewer may ask.
    on("snapshot", snapshot, kind="query", presenter=False)
    on("scenarios", lambda data: {"scenarios": list_scenarios()}, kind="query",
       presenter=False)
    on("why", why, kind="query", presenter=False)
    # Controls: the presenter only.
    on("crash", node_action(dashboard.crash))
    on("restart", node_action(dashboard.restart))
    on("transaction", transaction, kind="transaction")
    on("cluster", lambda data: {"state": dashboard.reconfigure(
        validation.cluster_settings(data))})
    on("scenario", scenario)
    for event, action in _actions(dashboard).items():
        on(event, action)
    on("view", view, kind="view")

    @socketio.on("*")
    def unknown_event(event: Any, *args: Any) -> dict[str, Any]:
        name = str(event)[:40]
        message = f"unknown event {name!r}"
        emit("error", {"event": name, "error": message, "status": 404})
        return {"ok": False, "error": message, "status": 404}

    @socketio.on_error_default
    def on_error(exc: Exception) -> None:
        log.error("socket event failed", exc_info=exc)
        emit("error", {"error": "internal server error", "status": 500})
