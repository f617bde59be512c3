// Timeline under the page: scrub back and forth through the run (every view
// then shows the model as it was at that moment), return to live; download
// the run; open a recording to replay it; and, on a viewer's page, follow the
// presenter's position unless detached.
//
// The timeline of a live run starts when this page connected (or when the
// run started, if the page was already open); a replay has all of its run.

import {
  createTimeline, firstIndex, indexAtTime, isEmpty, lastIndex, loadReplay,
  recordBatch, recordSnapshot, resetTimeline, stateAt, timeAt,
} from "../timetravel.js";
import { attachmentName, download, presenterToken } from "./controls.js";

// A presenter's moves reach the viewers at most this often.
const MOVE_EVERY_MS = 250;

function clockText(t) {
  return new Date(t * 1000).toLocaleTimeString([], { hour12: false });
}

export function createTimelineView(root, { onMove, onChange }) {
  const range = root.querySelector("#timeline-range");
  const at = root.querySelector("#timeline-at");
  const liveButton = root.querySelector("#btn-live");
  const follow = root.querySelector("#timeline-follow");
  const followLabel = root.querySelector("#follow-label");
  const fileInput = root.querySelector("#replay-file");
  const exportLink = root.querySelector("#run-export");
  const error = root.querySelector("#timeline-error");
  const timeline = createTimeline();
  let position = null;   // null: live (the end of a replay)
  let replay = null;     // {generation, info} while a recording is shown
  let generation = null;
  let presenter = true;  // may this page steer the viewers?
  let steering = false;  // is a presenter token in force at all?
  let lastMove = 0;
  let moveTimer = null;
  let loading = null;

  function changed() {
    onChange();
  }

  function move(to) {
    position = to;
    changed();
    if (!presenter || !steering) return;
    // Throttled: dragging sends a few moves a second, and the last one.
    clearTimeout(moveTimer);
    const send = () => {
      lastMove = performance.now();
      onMove(position == null ? { live: true }
        : { live: false, t: timeAt(timeline, position) });
    };
    const wait = MOVE_EVERY_MS - (performance.now() - lastMove);
    if (wait <= 0) send();
    else moveTimer = setTimeout(send, wait);
  }

  range.addEventListener("input", () => {
    const value = Number(range.value);
    move(value >= lastIndex(timeline) && !replay ? null : value);
  });
  liveButton.addEventListener("click", () => move(null));

  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    error.textContent = `opening ${file.name}…`;
    try {
      const response = await fetch(`/api/replay?${new URLSearchParams({
        name: file.name.slice(0, 100) })}`, {
        method: "POST", body: file,
        headers: { "Content-Type": "application/x-ndjson",
                   "X-Presenter-Token": presenterToken() },
      });
      const reply = await response.json();
      error.textContent = response.ok ? "" : reply.error;
    } catch {
      error.textContent = "the recording could not be sent to the server";
    }
  });

  exportLink.addEventListener("click", async (event) => {
    event.preventDefault();
    const response = await fetch("/api/run/export").catch(() => null);
    if (!response || !response.ok) {
      error.textContent = response ? (await response.json()).error
        : "the server could not be reached";
      return;
    }
    error.textContent = "";
    download(await response.blob(), attachmentName(response, "streamlet-run.jsonl"));
  });

  async function fetchReplay(gen) {
    const batches = [];
    let base = null;
    let from = 0;
    while (from != null) {
      const response = await fetch(`/api/replay?from=${from}`);
      const page = await response.json();
      if (!response.ok) throw new Error(page.error);
      if (page.generation !== gen) return null;  // another run took its place
      base ??= page.base;
      batches.push(...page.batches);
      from = page.next;
    }
    return { base, batches };
  }

  async function startReplay(snap) {
    replay = { generation: snap.generation, info: snap.replay };
    resetTimeline(timeline);
    position = null;
    at.textContent = "loading the recording…";
    const gen = snap.generation;
    loading = gen;
    try {
      const data = await fetchReplay(gen);
      if (!data || loading !== gen) return;
      loadReplay(timeline, data.base, data.batches);
      error.textContent = snap.replay.skipped
        ? `${snap.replay.skipped} malformed events of the recording were left out` : "";
    } catch (err) {
      error.textContent = `the replay could not be loaded: ${err.message}`;
    } finally {
      if (loading === gen) loading = null;
      changed();
    }
  }

  return {
    /** The page applied `snap` to `state` (a new run, a resync, a replay). */
    onSnapshot(state, snap) {
      const newRun = snap.generation !== generation;
      generation = snap.generation;
      if (snap.mode === "replay") {
        if (newRun || !replay) startReplay(snap);
      } else {
        if (newRun || replay) {
          replay = null;
          loading = null;
          resetTimeline(timeline);
          position = null;
        }
        recordSnapshot(timeline, state, snap.t);
      }
      if (snap.presenter_view) this.onPresenterView(snap.presenter_view);
      changed();
    },
    /** The page applied `batch` to the live `state`. */
    onBatch(batch, state) {
      if (!replay) recordBatch(timeline, batch, state);
    },
    /** This page's role: viewers may follow the presenter. */
    setRole(info) {
      presenter = info.presenter;
      steering = info.token_required;
      followLabel.hidden = presenter || !steering;
    },
    /** The presenter moved: a following viewer goes along. */
    onPresenterView(view) {
      if (presenter || !follow.checked) return;
      if (view.generation != null && view.generation !== generation) return;
      if (view.live) position = null;
      else if (!isEmpty(timeline)) position = indexAtTime(timeline, view.t);
      changed();
    },
    isReplay() {
      return replay != null;
    },
    isLive() {
      return position == null;
    },
    /** The model every view draws: the live one, or the one at `position`. */
    shown(live) {
      if (position == null || isEmpty(timeline)) return live;
      return stateAt(timeline, position) ?? live;
    },
    /** The server time the clock shows: the moment looked at, or now (null). */
    momentT() {
      if (isEmpty(timeline)) return null;
      if (position != null) return timeAt(timeline, position);
      return replay ? timeAt(timeline, lastIndex(timeline)) : null;
    },
    render() {
      const empty = isEmpty(timeline);
      range.disabled = empty;
      if (!empty) {
        range.min = String(firstIndex(timeline));
        range.max = String(lastIndex(timeline));
        if (document.activeElement !== range || position == null) {
          range.value = String(position ?? lastIndex(timeline));
        }
      }
      liveButton.disabled = position == null;
      liveButton.textContent = replay ? "End" : "Live";
      root.classList.toggle("past", position != null);
      root.classList.toggle("replay", replay != null);
      if (loading != null) return;
      const name = replay ? `replay of ${replay.info.name}` : "live";
      if (empty) at.textContent = name;
      else if (position == null) at.textContent = replay ? `${name}: the end` : "live";
      else {
        const state = stateAt(timeline, position);
        at.textContent = `${replay ? `${name}: ` : ""}epoch ${state?.epoch ?? "–"}`
          + ` at ${clockText(timeAt(timeline, position))}`;
      }
    },
  };
}
