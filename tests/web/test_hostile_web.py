"""A campaign of hostile input against every API route and Socket.IO event.

Missing, extra, wrong-typed, oversized and malicious values (script tags,
huge numbers, control characters, right-to-left marks, lone surrogates) are
sent to each control, over HTTP and over Socket.IO. Each must be answered
with a 4xx JSON error (over Socket.IO: a negative acknowledgement and an
``error`` event) whose message says what is wrong, never a 500, never a
traceback, never HTML, and must leave the cluster as it was. Then: rate
limits, other sites, the presenter token, recordings opened for replay, and
the server's command line (a port in use, bad flags) in real processes.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.web.app import create_app
from backend.web.security import Limit
from tests.web.conftest import SETTINGS, Rig
from tests.web.fakes import FakeCluster

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hostile-test-token"

#: Controls with a JSON body: HTTP path, Socket.IO event, a valid body.
CONTROLS: list[tuple[str | None, str, dict[str, Any]]] = [
    ("/api/transactions", "transaction", {"sender": 1, "receiver": 2, "amount": 5}),
    ("/api/cluster", "cluster", {"nodes": 4}),
    ("/api/clock", "clock", {"action": "pause"}),
    ("/api/delta", "delta", {"delta": 0.5}),
    ("/api/tx-rate", "tx_rate", {"rate": 1}),
    ("/api/link", "link", {"from": 1, "to": 2, "delay_ms": 100}),
    ("/api/partition", "partition", {"groups": [[1, 2], [3, 4, 5]]}),
    ("/api/asynchrony", "asynchrony", {"on": True}),
    (None, "crash", {"node": 1}),
    (None, "restart", {"node": 1}),
    (None, "scenario", {"id": "confusion"}),
    (None, "why", {"block": "a" * 64}),
    (None, "view", {"live": False, "t": 5.0}),
]

SCRIPT = "<script>alert('x')</script>"
#: Values that are wrong for every field of every control above, and why.
HOSTILE_VALUES: list[tuple[str, Any]] = [
    ("script tag", SCRIPT),
    ("html in a number's place", "<img src=x onerror=alert(1)>"),
    ("digits as text", "1"),
    ("null", None),
    ("list", []),
    ("object", {"$gt": ""}),
    ("huge float", 1e308),
    ("huge negative", -1e308),
    ("huge integer", 10**30),
    ("NaN", math.nan),
    ("infinity", math.inf),
    ("control characters", "\u0000\u0007\u001b[31m"),
    ("right-to-left mark", "\u202e5"),
    ("astral digit", "\U0001d7d9"),
    ("lone surrogate", "\ud800"),
    ("long text", "x" * 5000),
]
#: (field, value label) pairs where the "hostile" value is in fact valid.
VALID_ANYWAY = {("on", "bool")}


def hostile_bodies(valid: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    yield "missing every field", {}
    yield "extra field", {**valid, "evil": SCRIPT}
    yield "extra field with a lone surrogate name", {**valid, "\ud800": 1}
    yield "a field's name is a script tag", {**valid, SCRIPT: 1}
    for field in valid:
        rest = {k: v for k, v in valid.items() if k != field}
        yield f"missing {field}", rest
        for label, value in HOSTILE_VALUES:
            yield f"{field} = {label}", {**valid, field: value}
        if (field, "bool") not in VALID_ANYWAY:
            yield f"{field} = true", {**valid, field: True}
    for label, body in (("a list", [valid]), ("a string", SCRIPT), ("a number", 7),
                        ("null", None), ("true", True)):
        yield f"body is {label}", body


CASES = [pytest.param(path, event, body, id=f"{event}: {what}")
         for path, event, valid in CONTROLS for what, body in hostile_bodies(valid)]
HTTP_CASES = [c for c in CASES if c.values[0] is not None]

NO_LIMITS = {kind: Limit(1e9, 1e9, kind) for kind in
             ("transaction", "control", "query", "view")}


@pytest.fixture(scope="module")
def target() -> Iterator[Rig]:
    """One app for the whole campaign (rate limits out of the way)."""
    app = create_app(FakeCluster, SETTINGS, async_mode="threading",
                     batch_interval_s=3600.0, limits=NO_LIMITS)
    rig = Rig(app)
    yield rig
    rig.dashboard.shutdown()


@pytest.fixture(scope="module")
def page(target: Rig) -> Any:
    return target.socket()


def untouched(rig: Rig) -> None:
    """The hostile requests changed nothing in the cluster."""
    cluster = rig.cluster
    assert all(n["status"] == "running" for n in cluster.nodes.values())
    assert cluster.paused is False and cluster.submitted == []
    assert cluster.links == {} and cluster.groups == [] and not cluster.asynchrony
    assert cluster.settings["nodes"] == 5 and cluster.settings["delta"] == 0.5


def clear_message(message: Any) -> None:
    assert isinstance(message, str) and 0 < len(message) <= 400
    assert "Traceback" not in message and "File \"" not in message
    assert message != "internal server error"


def encode(body: Any) -> bytes:
    # allow_nan: NaN and Infinity go out as the literals a hostile client sends.
    return json.dumps(body, allow_nan=True).encode()


@pytest.mark.parametrize(("path", "event", "body"), HTTP_CASES)
def test_http_control_refuses_hostile_body(target: Rig, path: str, event: str,
                                           body: Any) -> None:
    reply = target.http.post(path, data=encode(body), content_type="application/json")
    assert 400 <= reply.status_code < 500, reply.get_json()
    assert reply.mimetype == "application/json"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert b"Traceback" not in reply.data
    clear_message(reply.get_json()["error"])
    untouched(target)


@pytest.mark.parametrize(("path", "event", "body"), CASES)
def test_socket_control_refuses_hostile_payload(target: Rig, page: Any, path: str,
                                                event: str, body: Any) -> None:
    page.get_received()
    ack = page.emit(event, body, callback=True)
    assert ack["ok"] is False and 400 <= ack["status"] < 500, ack
    clear_message(ack["error"])
    errors = [m["args"][0] for m in page.get_received() if m["name"] == "error"]
    assert errors == [{"event": event, "error": ack["error"], "status": ack["status"]}]
    untouched(target)


# --- raw bodies and paths that are not JSON objects at all --------------------


RAW_BODIES = [
    ("broken JSON", b'{"sender": 1,'),
    ("empty", b""),
    ("binary", bytes(range(256))),
    ("deep nesting", b"[" * 5000 + b"]" * 5000),
    ("deep objects", b'{"a":' * 3000 + b"1" + b"}" * 3000),
    ("NaN literal", b'{"rate": NaN}'),
    ("UTF-16 without its byte order mark", '{"rate": 1}'.encode("utf-16-le")[:-1]),
    ("form data", b"sender=1&receiver=2&amount=5"),
]


@pytest.mark.parametrize("path", [p for p, _, _ in CONTROLS if p])
@pytest.mark.parametrize(("what", "raw"), RAW_BODIES, ids=[w for w, _ in RAW_BODIES])
def test_http_refuses_bodies_that_are_not_json_objects(target: Rig, path: str,
                                                       what: str, raw: bytes) -> None:
    reply = target.http.post(path, data=raw, content_type="application/json")
    if what == "empty" and path == "/api/heal":
        pytest.skip("heal takes no body")
    assert 400 <= reply.status_code < 500
    clear_message(reply.get_json()["error"])
    untouched(target)


@pytest.mark.parametrize("path", [p for p, _, _ in CONTROLS if p])
def test_oversized_body_is_refused_unread(target: Rig, path: str) -> None:
    reply = target.http.post(path, data=b" " * (17 * 1024) + b"{}",
                             content_type="application/json")
    assert reply.status_code == 413
    assert reply.get_json() == {"error": "request entity too large"}


HOSTILE_PATHS = [
    ("GET", "/api/transactions/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404),
    ("GET", "/api/transactions/" + "9" * 5000, 404),
    ("GET", "/api/transactions/%F0%9F%92%A3%E2%80%AE", 404),
    ("GET", "/api/blocks/%3Cscript%3E", 404),
    ("GET", "/api/blocks/" + "f" * 5000, 404),
    ("POST", "/api/nodes/99999999999999999999999/crash", 404),
    ("POST", "/api/nodes/-1/crash", 404),
    ("POST", "/api/nodes/1e3/restart", 404),
    ("POST", "/api/nodes/%3Cb%3E/crash", 404),
    ("POST", "/api/scenarios/..%2F..%2Fpyproject", 404),
    ("POST", "/api/scenarios/%3Cscript%3E", 404),
    ("POST", "/api/scenarios/" + "a" * 5000, 404),
    ("GET", "/api/replay?from=-1", 400),
    ("GET", "/api/replay?from=%3Cscript%3E", 400),
    ("GET", "/api/replay?from=99999999999999999999", 400),
    ("GET", "/api/replay?from=%D9%A3", 400),  # an Arabic-Indic digit
    ("GET", "/api/replay?from=0", 404),  # nothing is being replayed
    ("GET", "/api/scenario/export?name=", 400),
    ("GET", "/api/scenario/export?name=%00evil", 400),
    ("GET", "/api/scenario/export?name=" + "n" * 200, 400),
    ("GET", "/api/scenario/export?evil=1", 400),
    ("GET", "/api/scenario/export?description=" + "d" * 3000, 400),
    ("POST", "/api/heal?x=%3Cscript%3E", 200),  # query arguments are ignored
    ("DELETE", "/api/state", 405),
    ("PUT", "/api/transactions", 405),
    ("GET", "/api/%3Cscript%3E", 404),
]


@pytest.mark.parametrize(("method", "path", "status"), HOSTILE_PATHS,
                         ids=[f"{m} {p[:60]}" for m, p, _ in HOSTILE_PATHS])
def test_hostile_paths_and_queries_get_json_errors(target: Rig, method: str,
                                                   path: str, status: int) -> None:
    reply = target.http.open(path, method=method)
    assert reply.status_code == status, reply.data[:200]
    assert reply.mimetype == "application/json"
    assert b"<" not in reply.data  # a name echoed back is never markup
    if status >= 400:
        clear_message(reply.get_json()["error"])
    target.cluster.heal()  # the one accepted request above
    target.cluster.actions.clear()


def test_a_script_tag_in_a_saved_scenarios_name_is_data(target: Rig) -> None:
    reply = target.http.get("/api/scenario/export",
                            query_string={"name": SCRIPT, "description": SCRIPT})
    assert reply.status_code == 200
    assert reply.mimetype == "application/json"  # a download, never a page
    assert reply.headers["Content-Disposition"] == (
        'attachment; filename="script-alert-x-script.json"')
    assert json.loads(reply.data)["name"] == SCRIPT


@pytest.mark.parametrize("payload", [
    pytest.param((), id="no argument"),
    pytest.param(({"node": 1}, {"node": 2}), id="two arguments"),
    pytest.param(("<script>",), id="a string"),
])
def test_socket_events_with_the_wrong_number_of_arguments(target: Rig, page: Any,
                                                          payload: tuple) -> None:
    page.get_received()
    ack = page.emit("crash", *payload, callback=True)
    assert ack["ok"] is False and ack["status"] == 400
    clear_message(ack["error"])
    untouched(target)


@pytest.mark.parametrize("event", ["<script>alert(1)</script>", "x" * 500, "\u202e",
                                   "connect", "disconnect", "message"])
def test_unknown_socket_events_get_an_error_event(target: Rig, page: Any,
                                                  event: str) -> None:
    page.get_received()
    ack = page.emit(event, {"node": 1}, callback=True)
    assert ack["ok"] is False and ack["status"] == 404
    assert ack["error"].startswith("unknown event") and len(ack["error"]) < 80
    assert [m["name"] for m in page.get_received()] == ["error"]
    untouched(target)


@pytest.mark.parametrize("payload", [None, SCRIPT, [1, 2], {"x": 10**30}])
def test_read_only_events_ignore_what_comes_with_them(target: Rig, page: Any,
                                                      payload: Any) -> None:
    page.get_received()
    assert page.emit("scenarios", payload, callback=True)["ok"]
    assert page.emit("snapshot", payload, callback=True)["ok"]
    assert [m["name"] for m in page.get_received()] == ["snapshot"]


def test_the_page_is_served_with_a_content_security_policy(target: Rig) -> None:
    reply = target.http.get("/")
    policy = reply.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert reply.headers["X-Frame-Options"] == "DENY"


# --- rate limits --------------------------------------------------------------


def test_a_transaction_flood_is_cut_off_and_the_server_still_answers(make_rig) -> None:
    rig = make_rig()
    body = json.dumps({"sender": 1, "receiver": 2, "amount": 1})
    start = time.monotonic()
    codes = [rig.http.post("/api/transactions", data=body,
                           content_type="application/json").status_code
             for _ in range(200)]
    elapsed = time.monotonic() - start
    # A burst of 40, then 20 a second: what the flood's duration allowed.
    assert codes.count(201) <= 40 + 20 * elapsed + 1
    assert codes.count(201) + codes.count(429) == 200 and codes.count(429) > 0
    assert len(rig.cluster.submitted) == codes.count(201)
    assert rig.http.get("/api/state").status_code == 200


def test_a_control_flood_over_socketio_is_cut_off(make_rig) -> None:
    rig = make_rig()
    page = rig.socket()
    acks = [page.emit("delta", {"delta": 0.5}, callback=True) for _ in range(100)]
    refused = [a for a in acks if not a["ok"]]
    assert len(refused) >= 75
    assert refused[0] == {"ok": False, "status": 429,
                          "error": "too many control actions: at most 5 per second"}


def test_a_fake_disconnect_event_does_not_reset_the_rate_limit(make_rig) -> None:
    rig = make_rig(limits={"control": Limit(0.001, 2, "control actions")})
    page = rig.socket()
    for _ in range(2):
        assert page.emit("delta", {"delta": 0.5}, callback=True)["ok"]
    assert page.emit("disconnect", callback=True)["status"] == 404
    assert page.emit("connect", {"token": "x"}, callback=True)["status"] == 404
    assert page.emit("delta", {"delta": 0.5}, callback=True)["status"] == 429
    assert page.is_connected()


def test_a_real_disconnect_forgets_the_pages_allowance(make_rig) -> None:
    rig = make_rig()
    limiter = rig.app.extensions["streamlet_limiter"]
    page = rig.socket()
    page.emit("delta", {"delta": 0.5}, callback=True)
    assert len(limiter._buckets) == 1
    page.disconnect()
    assert limiter._buckets == {}


def test_snapshot_requests_are_limited_too(make_rig) -> None:
    rig = make_rig()
    page = rig.socket()
    acks = [page.emit("snapshot", {}, callback=True) for _ in range(100)]
    assert sum(not a["ok"] for a in acks) >= 55


# --- other sites and the presenter token --------------------------------------


@pytest.fixture
def guarded(make_rig) -> Rig:
    return make_rig(presenter_token=TOKEN)


def test_a_control_from_another_site_is_refused_even_with_the_token(
        guarded: Rig) -> None:
    reply = guarded.http.post("/api/nodes/1/crash", headers={
        "Origin": "http://evil.example", "X-Presenter-Token": TOKEN})
    assert reply.status_code == 403
    assert reply.get_json() == {"error": "requests from other sites are refused"}
    assert guarded.cluster.nodes[1]["status"] == "running"


@pytest.mark.parametrize("token", ["", "wrong-token-123", TOKEN + "x", TOKEN[:-1],
                                   SCRIPT, "\u202e" + TOKEN, "x" * 10_000])
def test_a_wrong_presenter_token_is_refused(guarded: Rig, token: str) -> None:
    headers = {"X-Presenter-Token": token.encode("utf-8").decode("latin-1")}
    reply = guarded.http.post("/api/heal", headers=headers)
    assert reply.status_code == 403
    assert "presenter token" in reply.get_json()["error"]
    assert guarded.cluster.actions == []


def test_socketio_refuses_a_connection_from_another_site(guarded: Rig) -> None:
    handshake = "/socket.io/?EIO=4&transport=polling"
    other = guarded.http.get(handshake, headers={"Origin": "http://evil.example"})
    assert other.status_code == 400
    same = guarded.http.get(handshake, headers={"Origin": "http://localhost"})
    assert same.status_code == 200


@pytest.mark.parametrize("auth", [{"token": 12345}, {"token": ["x"]}, "token",
                                  {"token": SCRIPT}, {"token": None}])
def test_a_socket_with_a_strange_auth_is_a_viewer(guarded: Rig, auth: Any) -> None:
    page = guarded.socketio.test_client(guarded.app, auth=auth)
    roles = [m["args"][0] for m in page.get_received() if m["name"] == "role"]
    assert roles and roles[0]["presenter"] is False
    ack = page.emit("crash", {"node": 1}, callback=True)
    assert ack["status"] == 403 and guarded.cluster.nodes[1]["status"] == "running"


# --- recordings opened for replay ---------------------------------------------


HEADER = {"format": "streamlet-lab-run", "version": 1, "config": {"nodes": 3}}


def recording(*events: Any, header: Any = None) -> bytes:
    lines = [header if header is not None else HEADER, *events]
    return b"\n".join(json.dumps(line).encode() for line in lines)


BAD_RECORDINGS = [
    ("empty", b""),
    ("not UTF-8", b"\xff\xfe\x00garbage"),
    ("not JSON", b"hello\nworld"),
    ("a JSON list header", b"[1, 2]\n"),
    ("another format", recording(header={"format": "pcap", "version": 1})),
    ("no config", recording(header={"format": "streamlet-lab-run", "version": 1})),
    ("zero nodes", recording(header={**HEADER, "config": {"nodes": 0}})),
    ("a thousand nodes", recording(header={**HEADER, "config": {"nodes": 1000}})),
    ("nodes as text", recording(header={**HEADER, "config": {"nodes": "3"}})),
    ("an event without a time", recording({"node": 1, "type": "epoch"})),
    ("an event with a huge node id", recording({"node": 10**9, "t": 1, "type": "x"})),
    ("a type of 1000 characters", recording({"node": 1, "t": 1, "type": "x" * 1000})),
    ("deeply nested line", recording() + b"\n" + b"[" * 100_000 + b"]" * 100_000),
]


@pytest.mark.parametrize(("what", "data"), BAD_RECORDINGS,
                         ids=[w for w, _ in BAD_RECORDINGS])
def test_a_bad_recording_is_refused_with_the_reason(make_rig, what: str,
                                                    data: bytes) -> None:
    rig = make_rig()
    reply = rig.http.post("/api/replay", data=data)
    assert reply.status_code == 400
    error = reply.get_json()["error"]
    assert error.startswith("not a recording this dashboard can replay: ")
    clear_message(error)
    assert rig.http.get("/api/state").get_json()["mode"] == "live"


def test_a_recording_larger_than_a_replay_takes_is_refused_unread(make_rig) -> None:
    rig = make_rig()
    reply = rig.http.post("/api/replay", data=b"x" * (64 * 1024 * 1024 + 1))
    assert reply.status_code == 413


def test_hostile_events_in_a_recording_reach_the_page_as_plain_data(make_rig) -> None:
    rig = make_rig()
    events = [
        {"node": 1, "t": 1.0, "type": "epoch", "epoch": 1, "leader": 1},
        {"node": 1, "t": 1.1, "type": "propose", "epoch": 1, "block": {
            "hash": SCRIPT, "parent": "0" * 64, "epoch": 1, "height": 1,
            "proposer": 1, "txs": [SCRIPT]}},
        {"node": 2, "t": 1.2, "type": "scenario", "text": SCRIPT * 200},
        {"node": 2, "t": 1.3, "type": SCRIPT, "detail": "\u202e"},
        {"node": 3, "t": 1.4, "type": "vote", "epoch": 10**20, "block": "b"},
        {"node": 3, "t": 1.5, "type": "finalize", "blocks": [{"hash": 5}]},
        {"node": 3, "t": 1.6, "type": "notarize", "block": "b", "voters": "all"},
        {"node": 3, "t": 1.7, "type": "faults", "groups": [[1, "<b>"]]},
        {"node": 3, "t": 1.8, "type": "epoch", "epoch": 2, "leader": 2,
         "__proto__": {"polluted": True}, "constructor": SCRIPT},
    ]
    reply = rig.http.post("/api/replay", data=recording(*events))
    assert reply.status_code == 200
    info = reply.get_json()
    assert info["skipped"] == 4  # huge epoch, hash 5, voters "all", group "<b>"
    batches = rig.http.get("/api/replay").get_json()["batches"]
    kept = [e for b in batches for e in b["events"]]
    assert [e["type"] for e in kept] == ["epoch", "propose", "scenario", SCRIPT,
                                         "epoch"]
    assert len(kept[2]["text"]) == 500  # text is cut to a sane length
    assert "__proto__" not in kept[4] and "constructor" not in kept[4]
    assert kept[1]["block"]["hash"] == SCRIPT  # data, shown with textContent


# --- the server's command line, in real processes -----------------------------


def run_server(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("mode", ["eventlet", "threading"])
def test_a_dashboard_port_in_use_is_a_one_line_error(tmp_path: Path, mode: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = run_server("-m", "backend.web", "--port", str(port), "--async-mode",
                          mode, "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 1
    assert one_line(done.stderr) == (
        f"error: cannot listen on 127.0.0.1:{port}: the port is already in use "
        "(choose another with --port)")
    # Nothing was started: no run folder, so no node ever ran.
    assert not list((tmp_path / "data").glob("run-*"))


@pytest.mark.parametrize(("args", "message"), [
    (["--replay", "nowhere.jsonl"], "error: cannot read nowhere.jsonl"),
    (["--presenter-token", "short"], "error: a presenter token is 8 to 128"),
    (["--presenter-token", "<script>alert(1)</script>"],
     "error: a presenter token is 8 to 128"),
    (["--replay", "x.jsonl", "--scenario", "scenarios/tour.json"],
     "error: --replay and --scenario do not go together"),
    (["--headless", "--replay", "x.jsonl"],
     "error: --replay and --presenter-token are dashboard options"),
])
def test_bad_teaching_flags_are_one_line_errors(args: list[str], message: str) -> None:
    done = run_server("run.py", "--port", "0", *args)
    assert done.returncode == 2
    assert one_line(done.stderr).startswith(message)


def test_a_garbage_file_given_to_replay_is_a_one_line_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"\x00\x01<script>\n")
    done = run_server("run.py", "--port", "0", "--replay", str(garbage))
    assert done.returncode == 2
    assert one_line(done.stderr) == "error: line 1 is not JSON"
