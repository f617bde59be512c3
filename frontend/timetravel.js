// Time travel: the batches a page received, kept (bounded), so that the model
// can be rebuilt as it was at any moment of the run.
//
// DOM-free. Each entry of a timeline is one step of the page's model: the
// snapshot it started from, then one entry per batch it applied. Every
// `checkpointEvery` events (and at every snapshot) the entry also holds a
// copy of the model; the state at entry i is the nearest copy at or before i
// with the batches after it applied again. Message traces are not kept (they
// are animation): a past moment shows nodes, links, blocks and logs, and no
// messages in flight.
//
// Positions are absolute: entry k keeps its number when older entries are
// dropped to stay within `maxEvents` and `maxEntries`, so a position held by a
// view stays valid (or is clamped) as the timeline moves on.

import { applyBatch, applySnapshot, createState } from "./model.js";

export const TIMELINE_LIMITS = {
  checkpointEvery: 1500, // events between two copies of the model
  maxEvents: 100_000,    // events kept in all (about 100 MB of page memory)
  maxEntries: 40_000,    // entries kept in all (quiet batches carry no events)
};

export function createTimeline(options = {}) {
  return {
    limits: { ...TIMELINE_LIMITS, ...options },
    entries: [],
    dropped: 0,
    events: 0,
    sinceCheckpoint: 0,
    cache: null,
  };
}

/** Forget everything: a new cluster, or a recording replaces the run. */
export function resetTimeline(timeline) {
  timeline.dropped += timeline.entries.length;
  timeline.entries = [];
  timeline.events = 0;
  timeline.sinceCheckpoint = 0;
  timeline.cache = null;
}

/** A copy of the model without message traces (they are never replayed). */
function freeze(state) {
  const messages = state.messages;
  state.messages = new Map();
  try {
    return structuredClone(state);
  } finally {
    state.messages = messages;
  }
}

/** The page applied a snapshot to `state`: a fresh starting point. */
export function recordSnapshot(timeline, state, t) {
  timeline.entries.push({ t, seq: state.seq, batch: null, events: 0,
                          checkpoint: freeze(state) });
  timeline.sinceCheckpoint = 0;
  prune(timeline);
}

/**
 * The page applied `batch` to `state` (the model after it). Returns false when
 * the timeline has no starting point yet (the batch cannot be replayed).
 */
export function recordBatch(timeline, batch, state) {
  if (!timeline.entries.length) return false;
  const events = batch.events ?? [];
  const entry = {
    t: batch.t, seq: batch.seq, events: events.length, checkpoint: null,
    batch: { seq: batch.seq, generation: batch.generation, events, t: batch.t,
             clock: batch.clock, safety: batch.safety, pending: batch.pending },
  };
  timeline.entries.push(entry);
  timeline.events += events.length;
  timeline.sinceCheckpoint += events.length;
  if (timeline.sinceCheckpoint >= timeline.limits.checkpointEvery) {
    entry.checkpoint = freeze(state);
    timeline.sinceCheckpoint = 0;
  }
  prune(timeline);
  return true;
}

function prune(timeline) {
  const { maxEvents, maxEntries } = timeline.limits;
  while (timeline.events > maxEvents || timeline.entries.length > maxEntries) {
    // Drop up to the next copy of the model: the first entry must hold one.
    const next = timeline.entries.findIndex((e, i) => i > 0 && e.checkpoint);
    if (next < 0) return;
    const gone = timeline.entries.splice(0, next);
    for (const entry of gone) timeline.events -= entry.events;
    timeline.dropped += gone.length;
    if (timeline.cache && timeline.cache.index < timeline.dropped) timeline.cache = null;
  }
}

export function firstIndex(timeline) {
  return timeline.dropped;
}

export function lastIndex(timeline) {
  return timeline.dropped + timeline.entries.length - 1;
}

export function isEmpty(timeline) {
  return timeline.entries.length === 0;
}

function clampIndex(timeline, index) {
  return Math.min(Math.max(index, firstIndex(timeline)), lastIndex(timeline));
}

/** The server time of entry `index` (the moment its batch left the server). */
export function timeAt(timeline, index) {
  if (isEmpty(timeline)) return null;
  return timeline.entries[clampIndex(timeline, index) - timeline.dropped].t;
}

/** The last entry at or before server time `t` (the first if `t` is earlier). */
export function indexAtTime(timeline, t) {
  const entries = timeline.entries;
  if (!entries.length) return null;
  let low = 0;
  let high = entries.length - 1;
  if (t < entries[0].t) return timeline.dropped;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (entries[mid].t <= t) low = mid;
    else high = mid - 1;
  }
  return timeline.dropped + low;
}

/**
 * The model as it was after entry `index`. The result is shared with the next
 * call (scrubbing forward continues from it): read it, never change it.
 */
export function stateAt(timeline, index) {
  if (isEmpty(timeline)) return null;
  const target = clampIndex(timeline, index) - timeline.dropped;
  let start = target;
  while (!timeline.entries[start].checkpoint) start--;
  const cache = timeline.cache;
  let state;
  let from;
  if (cache && cache.local >= start && cache.local <= target
      && cache.dropped === timeline.dropped) {
    if (cache.local === target) return cache.state;
    state = cache.state;
    from = cache.local + 1;
  } else {
    state = structuredClone(timeline.entries[start].checkpoint);
    from = start + 1;
  }
  for (let i = from; i <= target; i++) {
    const entry = timeline.entries[i];
    // The offset is kept as it was: a replayed batch is not a clock sample.
    applyBatch(state, entry.batch, entry.t - state.clockOffsetS);
  }
  timeline.cache = { local: target, index: target + timeline.dropped,
                     dropped: timeline.dropped, state };
  return state;
}

/**
 * A replay: the recording's first snapshot and all its batches. Returns the
 * model at the end of the recording.
 */
export function loadReplay(timeline, base, batches) {
  resetTimeline(timeline);
  const state = applySnapshot(createState(), base, base.t);
  recordSnapshot(timeline, state, batches.length ? batches[0].t : base.t);
  for (const batch of batches) {
    if (applyBatch(state, batch, batch.t - state.clockOffsetS).applied) {
      recordBatch(timeline, batch, state);
    }
  }
  return state;
}
