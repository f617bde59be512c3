// Time travel over the page's model: run with `node --test tests/web/js/`.

import assert from "node:assert/strict";
import { test } from "node:test";

import { applyBatch, applySnapshot, createState } from "../../../frontend/model.js";
import {
  createTimeline, firstIndex, indexAtTime, lastIndex, loadReplay, recordBatch,
  recordSnapshot, resetTimeline, stateAt, timeAt,
} from "../../../frontend/timetravel.js";

const G = "0".repeat(64);
const hash = (epoch) => epoch.toString(16).padStart(64, "a");

function snapshot(extra = {}) {
  return {
    seq: 0, generation: 1, n: 3, quorum: 2, genesis_hash: G, genesis: 1000,
    epoch_seconds: 1, settings: {}, epoch: 0, leader: 0, t: 1000,
    nodes: [1, 2, 3].map((id) => ({ id, status: "running", tail: [] })),
    blocks: [], txs: [], events: [], node_events: {},
    safety: { ok: true, violations: [], violation_count: 0 }, ...extra,
  };
}

// Epoch e: b<e> extends b<e-1>, all three vote and notarize; from epoch 3 on,
// b<e-1> is final (three consecutive epochs; b1 is never reported final).
function epochEvents(epoch) {
  const t = 1000 + epoch;
  const block = { hash: hash(epoch), parent: epoch > 1 ? hash(epoch - 1) : G, epoch,
                  height: epoch, proposer: 1 + (epoch % 3), txs: [] };
  const events = [{ type: "epoch", node: 1, epoch, leader: block.proposer, t },
                  { type: "propose", node: block.proposer, epoch, block, t }];
  for (const node of [1, 2, 3]) {
    events.push({ type: "vote", node, epoch, block: block.hash, height: epoch, t });
    events.push({ type: "notarize", node, block: block.hash, voters: [1, 2, 3],
                  block_epoch: epoch, t });
  }
  if (epoch >= 3) {
    const final = { ...block, hash: hash(epoch - 1), parent: epoch > 2 ? hash(epoch - 2) : G,
                    epoch: epoch - 1, height: epoch - 1 };
    for (const node of [1, 2, 3]) {
      events.push({ type: "finalize", node, epoch, blocks: [final], height: epoch - 1,
                    justification: [hash(epoch - 2), hash(epoch - 1), hash(epoch)], t });
    }
  }
  return events;
}

function batchFor(state, epoch, extra = {}) {
  return { seq: state.seq + 1, generation: state.generation, events: epochEvents(epoch),
           messages: [{ type: "send", node: 1, to: 2, msg: `m${epoch}`, kind: "vote", t: 1 }],
           t: 1000 + epoch, clock: { epoch, leader: 1, leaders: {}, t: 1000 + epoch },
           ...extra };
}

/** A live page: a snapshot, then `epochs` batches, each recorded after it applies. */
function livePage(epochs, options) {
  const timeline = createTimeline(options);
  const state = applySnapshot(createState(), snapshot(), 1000);
  recordSnapshot(timeline, state, 1000);
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const batch = batchFor(state, epoch);
    assert.ok(applyBatch(state, batch, batch.t).applied);
    assert.ok(recordBatch(timeline, batch, state));
  }
  return { timeline, state };
}

const finalEpochs = (state) => [...state.blocks.values()]
  .filter((b) => b.finalizedBy.size).map((b) => b.epoch).sort((a, b) => a - b);

test("the state at an earlier entry is the model as it was then", () => {
  const { timeline, state } = livePage(12, { checkpointEvery: 20 });
  assert.equal(firstIndex(timeline), 0);
  assert.equal(lastIndex(timeline), 12);

  const past = stateAt(timeline, 4);  // after epoch 4's batch
  assert.equal(past.epoch, 4);
  assert.deepEqual(finalEpochs(past), [2, 3]);
  assert.deepEqual([...past.blocks.keys()].length, 4);
  assert.equal(past.messages.size, 0);  // traces are not kept
  assert.equal(state.epoch, 12);        // the live model is untouched
  assert.deepEqual(finalEpochs(state), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);

  assert.equal(stateAt(timeline, 0).blocks.size, 0);  // the snapshot itself
  const end = stateAt(timeline, 12);
  assert.deepEqual(finalEpochs(end), finalEpochs(state));
  assert.deepEqual(end.log.map((l) => l.text), state.log.map((l) => l.text));
});

test("scrubbing back and forth gives the same states whatever the path", () => {
  const { timeline } = livePage(10, { checkpointEvery: 25 });
  const direct = (i) => {
    timeline.cache = null;
    return finalEpochs(stateAt(timeline, i));
  };
  const expected = [...Array(11).keys()].map(direct);
  for (const i of [10, 2, 3, 7, 7, 1, 9, 0, 5]) {
    assert.deepEqual(finalEpochs(stateAt(timeline, i)), expected[i], `entry ${i}`);
  }
});

test("positions outside the timeline are clamped; times map to entries", () => {
  const { timeline } = livePage(5);
  assert.equal(stateAt(timeline, 99).epoch, 5);
  assert.equal(stateAt(timeline, -3).epoch, 0);
  assert.equal(timeAt(timeline, 3), 1003);
  assert.equal(indexAtTime(timeline, 1003.5), 3);
  assert.equal(indexAtTime(timeline, 1003), 3);
  assert.equal(indexAtTime(timeline, 10), 0);
  assert.equal(indexAtTime(timeline, 5000), 5);
});

test("old entries are dropped within the bounds; positions stay absolute", () => {
  const { timeline, state } = livePage(40, { checkpointEvery: 30, maxEvents: 200 });
  assert.ok(timeline.events <= 200);
  assert.ok(firstIndex(timeline) > 0);
  assert.equal(lastIndex(timeline), 40);
  assert.ok(timeline.entries[0].checkpoint, "the first kept entry holds a copy");
  assert.equal(stateAt(timeline, 40).epoch, 40);
  assert.deepEqual(finalEpochs(stateAt(timeline, 40)), finalEpochs(state));
  // Earlier than what is kept: the oldest kept moment.
  assert.equal(stateAt(timeline, 0).epoch, stateAt(timeline, firstIndex(timeline)).epoch);
});

test("a batch before any snapshot is not kept; a reset starts over", () => {
  const timeline = createTimeline();
  const state = applySnapshot(createState(), snapshot(), 1000);
  assert.equal(recordBatch(timeline, batchFor(state, 1), state), false);
  recordSnapshot(timeline, state, 1000);
  const before = lastIndex(timeline);
  resetTimeline(timeline);
  assert.equal(stateAt(timeline, before), null);
  recordSnapshot(timeline, state, 1001);
  assert.equal(firstIndex(timeline), lastIndex(timeline));
});

test("a new snapshot mid-run (after a gap) is a starting point of its own", () => {
  const { timeline, state } = livePage(4);
  const resync = applySnapshot(createState(), snapshot({ seq: 50, epoch: 9 }), 1010);
  recordSnapshot(timeline, resync, 1010);
  const batch = batchFor(resync, 10);
  applyBatch(resync, batch, batch.t);
  recordBatch(timeline, batch, resync);
  assert.equal(stateAt(timeline, 4).epoch, 4);
  assert.equal(stateAt(timeline, 6).epoch, 10);
  assert.equal(state.epoch, 4);
});

test("a replay is rebuilt from its first snapshot and every batch", () => {
  const { timeline: live, state: end } = livePage(9);
  const batches = live.entries.slice(1).map((e) => ({ ...e.batch, messages: [] }));

  const timeline = createTimeline({ checkpointEvery: 10 });
  const final = loadReplay(timeline, snapshot(), batches);
  assert.equal(lastIndex(timeline) - firstIndex(timeline), 9);
  assert.deepEqual(finalEpochs(final), finalEpochs(end));
  assert.equal(stateAt(timeline, firstIndex(timeline) + 2).epoch, 2);
  assert.equal(timeAt(timeline, firstIndex(timeline)), 1001);
});
