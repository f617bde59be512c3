"""Where the dashboard keeps its runs: one folder per cluster, with its recording.

Every cluster the dashboard starts (at start-up, on new settings, for a
scenario) is a run. A run gets a folder of its own under the data directory,
``run-<date>-<time>-<n>/``, holding the nodes' stores and logs and
``events.jsonl``, the recording of every event, written by a
:class:`~backend.cluster.recording.Recorder` subscribed before the cluster
starts. A folder of its own matters: a new cluster that opened the stores of
the previous one would restore a chain whose epochs are ahead of its clock,
and its leaders could never extend it.

Bounds: a recording stops taking message traces (animation only) once it
passes ``trace_budget`` bytes and stops altogether at ``max_bytes``, below
what :func:`~backend.cluster.recording.read_recording` accepts, so every
export can be replayed; a note in the recording says so. Only the newest
``keep`` runs of this server are kept. Without a data directory, runs go to
a temporary folder that is removed when the server stops: export a run to
keep it.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

# Not the observer's MESSAGE_TYPES: the observer imports networkx, and the
# server makes its first run folder before it imports anything slow.
from backend.cluster.recording import MAX_BYTES, MAX_EVENTS, TRACE_TYPES, Recorder

log = logging.getLogger(__name__)

RECORDING = "events.jsonl"
#: How often (in events) the size of a recording is looked at.
SIZE_CHECK_EVERY = 2_000


class RunRecording:
    """Records one run's events to disk, within a size budget (thread-safe)."""

    def __init__(self, path: Path, config: dict[str, Any], *,
                 max_bytes: int = MAX_BYTES - 4 * 1024 * 1024,
                 trace_budget: int = MAX_BYTES // 2) -> None:
        self.recorder = Recorder(path, config)
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.trace_budget = trace_budget
        self.events = 0
        self.traces_off = False
        self.full = False

    def __call__(self, event: dict[str, Any]) -> None:
        if self.full or (self.traces_off and event.get("type") in TRACE_TYPES):
            return
        self.recorder(event)
        self.events += 1
        if self.events % SIZE_CHECK_EVERY == 0:
            self._check_size()

    def _check_size(self) -> None:
        try:
            size = self.path.stat().st_size
        except OSError:
            return
        if not self.traces_off and size >= self.trace_budget:
            self.traces_off = True
            self._note("the recording passed its size budget for message "
                       "traces: from here on it keeps protocol events only")
        if size >= self.max_bytes or self.events >= MAX_EVENTS - 10:
            self._note("the recording is full: later events are not recorded")
            self.full = True

    def _note(self, text: str) -> None:
        log.warning("run recording %s: %s", self.path, text)
        self.recorder({"node": 0, "type": "recording", "t": time.time(),
                       "text": text})

    def contents(self) -> bytes:
        """The recording so far, whole lines only (the run may still be going)."""
        self.recorder.flush()
        with open(self.path, "rb") as file:
            data = file.read(MAX_BYTES)
        end = data.rfind(b"\n")
        return data[:end + 1]

    def close(self) -> None:
        self.recorder.close()


class RunStore:
    """The folder of every run this server starts; the oldest beyond ``keep``
    go (only this server's own: earlier data is never touched)."""

    def __init__(self, root: str | Path | None, keep: int = 20) -> None:
        self._own = root is None
        self.root = Path(root) if root is not None else Path(
            tempfile.mkdtemp(prefix="streamlet-runs-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.runs: list[Path] = []

    def new_run(self) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for number in range(1, 10_000):
            path = self.root / f"run-{stamp}-{number}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            break
        else:  # pragma: no cover - ten thousand runs in one second
            raise OSError("no free run folder name")
        self.runs.append(path)
        while len(self.runs) > self.keep:
            shutil.rmtree(self.runs.pop(0), ignore_errors=True)
        return path

    def cleanup(self) -> None:
        """Remove the folder if it was a temporary one."""
        if self._own:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.root, ignore_errors=True)
