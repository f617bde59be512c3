// What the tree draws in full and where a message dot is at each frame: the
// geometry the views take from layout.js, without a browser.

import assert from "node:assert/strict";
import { test } from "node:test";

import { dotAt, epochsInView, messageTrip } from "../../../frontend/layout.js";

// The tree's own sizes: columns of 102 px after a 14 px edge, a 60-epoch window.
const TREE = { minEpoch: 41, maxEpoch: 100, colPx: 102, leftPx: 14, marginEpochs: 4 };

test("epochsInView: the columns at the start of the panel, plus the margin", () => {
  // 1,000 px show columns 41..50 and part of 51; the margin adds 4 after.
  const range = epochsInView({ ...TREE, scrollLeftPx: 0, viewWidthPx: 1000 });
  assert.deepEqual(range, { from: 41, to: 55 });
});

test("epochsInView: scrolled to the end, the newest epochs and 4 before", () => {
  const contentPx = 2 * 14 + 60 * 102;
  const range = epochsInView({ ...TREE, scrollLeftPx: contentPx - 1000,
                               viewWidthPx: 1000 });
  assert.deepEqual(range, { from: 87, to: 100 });
});

test("epochsInView: scrolled to the middle, only the middle is drawn in full", () => {
  const range = epochsInView({ ...TREE, scrollLeftPx: 20 * 102, viewWidthPx: 510 });
  assert.deepEqual(range, { from: 56, to: 70 });
  assert.ok(range.to - range.from + 1 < TREE.maxEpoch - TREE.minEpoch + 1);
});

test("epochsInView: a panel of unknown width draws the whole window", () => {
  assert.deepEqual(epochsInView({ ...TREE, scrollLeftPx: 0, viewWidthPx: 0 }),
                   { from: 41, to: 100 });
});

test("epochsInView: a window narrower than the panel is drawn whole", () => {
  const range = epochsInView({ ...TREE, minEpoch: 1, maxEpoch: 5, scrollLeftPx: 0,
                               viewWidthPx: 1000 });
  assert.deepEqual(range, { from: 1, to: 5 });
});

test("messageTrip: a to b and b to a run side by side, 7 px apart each way", () => {
  const a = { x: 0, y: 0 };
  const b = { x: 100, y: 0 };
  const there = messageTrip(a, b, false);
  const back = messageTrip(b, a, false);
  assert.deepEqual(there, { start: { x: 0, y: -7 }, end: { x: 100, y: -7 } });
  assert.deepEqual(back, { start: { x: 100, y: 7 }, end: { x: 0, y: 7 } });
});

test("messageTrip: a dropped message stops halfway", () => {
  const trip = messageTrip({ x: 0, y: 0 }, { x: 0, y: 80 }, true);
  assert.deepEqual(trip.end, { x: 7, y: 40 });
});

test("dotAt: a message moves at an even pace and arrives at the end", () => {
  const trip = { start: { x: 0, y: 0 }, end: { x: 200, y: 100 } };
  assert.deepEqual(dotAt(trip, 0, 400, false), { x: 0, y: 0, lost: false, fade: 0 });
  assert.deepEqual(dotAt(trip, 100, 400, false), { x: 50, y: 25, lost: false, fade: 0 });
  assert.deepEqual(dotAt(trip, 400, 400, false), { x: 200, y: 100, lost: false, fade: 0 });
  // A dot started later in the frame than the frame's clock is still at the start.
  assert.deepEqual(dotAt(trip, -5, 400, false), { x: 0, y: 0, lost: false, fade: 0 });
});

test("dotAt: a dropped message reaches its stop in half the time, then fades", () => {
  const trip = messageTrip({ x: 0, y: 0 }, { x: 100, y: 0 }, true);
  assert.deepEqual(dotAt(trip, 100, 400, true), { x: 25, y: -7, lost: false, fade: 0 });
  assert.deepEqual(dotAt(trip, 200, 400, true), { x: 50, y: -7, lost: true, fade: 0 });
  assert.deepEqual(dotAt(trip, 300, 400, true), { x: 50, y: -7, lost: true, fade: 0.5 });
  assert.equal(dotAt(trip, 400, 400, true).fade, 1);
});
