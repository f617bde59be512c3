"""Recording a run's events on disk, and reading a recording back for replay.

A recording is a JSON Lines file: a header line, then one event per line in
the order the supervisor relayed them::

    {"format": "streamlet-lab-run", "version": 1, "config": {...}, "started": T}
    {"node": 3, "t": 1764777600.12, "type": "vote", ...}

The same file is what the dashboard exports and what it replays with no
cluster running. A file handed to :func:`read_recording` is untrusted (a
teacher may open a file from anywhere): every line is checked and the size
is bounded.
"""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path
from typing import Any, TextIO

FORMAT = "streamlet-lab-run"
VERSION = 1
#: Largest recording accepted for replay.
MAX_BYTES = 64 * 1024 * 1024
MAX_EVENTS = 2_000_000
#: Events written between two flushes to disk.
FLUSH_EVERY = 500
#: Types of the message traces (animation only), which a recording that has
#: grown large may leave out.
TRACE_TYPES = frozenset({"send", "deliver"})


class RecordingError(ValueError):
    """The file is not a recording this program can replay; says why."""


class Recorder:
    """Writes every event it is given to a JSON Lines file (thread-safe)."""

    def __init__(self, path: str | Path, config: dict[str, Any]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        self._lock = threading.Lock()
        self._pending = 0
        self.events = 0
        # One encoder for the whole run: json.dumps with options other than
        # the defaults builds a new JSONEncoder at every call (once per event).
        self._encode = json.JSONEncoder(separators=(",", ":"), default=str).encode
        header = {"format": FORMAT, "version": VERSION, "config": config,
                  "started": time.time()}
        self._file.write(json.dumps(header, separators=(",", ":")) + "\n")

    def __call__(self, event: dict[str, Any]) -> None:
        line = self._encode(event) + "\n"
        with self._lock:
            if self._file is None:
                return
            self._file.write(line)
            self.events += 1
            self._pending += 1
            if self._pending >= FLUSH_EVERY:
                self._file.flush()
                self._pending = 0

    def flush(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()
                self._pending = 0

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_recording(source: str | Path | bytes) -> tuple[dict[str, Any],
                                                        list[dict[str, Any]]]:
    """The header and events of a recording, or :class:`RecordingError`."""
    if isinstance(source, bytes):
        data = source
    else:
        path = Path(source)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise RecordingError(f"the file is larger than {MAX_BYTES >> 20} MiB")
            data = path.read_bytes()
        except OSError as exc:
            raise RecordingError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise RecordingError(f"the file is larger than {MAX_BYTES >> 20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordingError("the file is not UTF-8 text") from None
    lines = text.splitlines()
    if not lines:
        raise RecordingError("the file is empty")
    header = _json_line(lines[0], 1)
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise RecordingError(f"line 1 is not a {FORMAT} version {VERSION} header")
    if not isinstance(header.get("config"), dict):
        raise RecordingError("line 1: the header has no config")
    if len(lines) - 1 > MAX_EVENTS:
        raise RecordingError(f"more than {MAX_EVENTS} events")
    events = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        event = _json_line(line, number)
        node, stamp, kind = event.get("node"), event.get("t"), event.get("type")
        if isinstance(node, bool) or not isinstance(node, int) or not 0 <= node <= 64:
            raise RecordingError(f"line {number}: 'node' must be a node id or 0")
        if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or \
                not math.isfinite(stamp):
            raise RecordingError(f"line {number}: 't' must be a time in seconds")
        if not isinstance(kind, str) or not 0 < len(kind) <= 40:
            raise RecordingError(f"line {number}: 'type' must be a short string")
        events.append(event)
    return header, events


def _json_line(line: str, number: int) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        raise RecordingError(f"line {number} is not JSON") from None
    if not isinstance(value, dict):
        raise RecordingError(f"line {number} is not a JSON object")
    return value
