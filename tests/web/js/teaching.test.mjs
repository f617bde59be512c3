// The teaching views' tracker: vote grid, blocks per node, chart series.
// Run with `node --test tests/web/js/`.

import assert from "node:assert/strict";
import { test } from "node:test";

import { layoutTree } from "../../../frontend/layout.js";
import { applyBatch, applySnapshot, createState } from "../../../frontend/model.js";
import {
  TEACHING_LIMITS, createTeaching, finalizedPerSecond, messageBounds, nodeTreeState,
  observeTeaching, seedTeaching, voteGrid,
} from "../../../frontend/teaching.js";

const G = "0".repeat(64);
const h = (c) => c.repeat(64);

function summary(hash, parent, epoch, height, txs = [], proposer = epoch) {
  return { hash, parent, epoch, height, proposer, txs };
}

function start(blocks = []) {
  const state = applySnapshot(createState(), {
    seq: 1, generation: 1, n: 5, quorum: 3, genesis_hash: G, genesis: 1000,
    epoch_seconds: 2, settings: {}, epoch: 0, leader: 0, txs: [], events: [],
    node_events: {}, blocks, safety: { ok: true, violations: [], violation_count: 0 },
    nodes: [1, 2, 3, 4, 5].map((id) => ({ id, status: "running", tail: [] })),
  }, 1000);
  return { state, tk: seedTeaching(createTeaching(), state) };
}

function feed({ state, tk }, events, t = 1000) {
  const batch = { seq: state.seq + 1, generation: 1, events, messages: [], t };
  assert.equal(applyBatch(state, batch, t).applied, true);
  observeTeaching(tk, state, batch);
}

function epoch(e, leader, block, voters, extra = []) {
  const evs = [{ type: "epoch", node: 1, epoch: e, leader, t: 1000 + e }];
  if (block) evs.push({ type: "propose", node: leader, epoch: e, block, t: 1000 + e });
  for (const v of voters) {
    evs.push({ type: "vote", node: v, epoch: e, block: block.hash, height: block.height,
               t: 1000 + e });
  }
  return [...evs, ...extra];
}

test("the vote grid tells voted, declined, crashed and no vote apart", () => {
  const w = start();
  const b1 = summary(h("a"), G, 1, 1);
  feed(w, epoch(1, 1, b1, [1, 2, 3], [
    { type: "vote_skipped", node: 4, epoch: 1, block: h("a"), reason: "it has seen …" }]));
  feed(w, [{ type: "node_status", node: 5, status: "crashed", epoch: 1, t: 1001 }]);
  feed(w, epoch(2, 2, null, []));
  feed(w, epoch(3, 3, null, []));

  const grid = voteGrid(w.tk, w.state, 30);
  assert.deepEqual(grid.columns.map((c) => c.epoch), [1, 2, 3]);
  const kinds = (e) => grid.columns.find((c) => c.epoch === e).cells.map((c) => c.kind);
  assert.deepEqual(kinds(1), ["voted", "voted", "voted", "skipped", "crashed"]);
  assert.deepEqual(kinds(2), ["none", "none", "none", "none", "crashed"]);
  assert.deepEqual(kinds(3), ["none", "none", "none", "none", "crashed"]);
  assert.equal(grid.columns[0].leader, 1);
  assert.equal(grid.columns[0].proposed, true);
  assert.equal(grid.columns[1].proposed, false);
  assert.equal(grid.columns[0].cells[3].reason, "it has seen …");

  // Back up: from then on its cells are its own again.
  feed(w, [{ type: "node_status", node: 5, status: "running", epoch: 3, t: 1004 }]);
  feed(w, epoch(4, 4, null, []));
  assert.equal(voteGrid(w.tk, w.state, 30).columns.at(-1).cells[4].kind, "none");
});

test("the vote grid and its memory are bounded to the last epochs", () => {
  const w = start();
  for (let e = 1; e <= 100; e++) feed(w, epoch(e, ((e - 1) % 5) + 1, null, []));
  const grid = voteGrid(w.tk, w.state, 30);
  assert.equal(grid.columns.length, 30);
  assert.equal(grid.columns[0].epoch, 71);
  assert.ok(w.tk.grid.size <= TEACHING_LIMITS.gridEpochs + 1);
});

test("a snapshot seeds the grid with the voters of the blocks it carries", () => {
  const b3 = { ...summary(h("c"), G, 3, 1), voters: [1, 4], notarized_by: [],
               finalized_by: [], known: true };
  const { state, tk } = start([b3]);
  state.epoch = 3;
  seedTeaching(tk, state);
  const col = voteGrid(tk, state, 30).columns.at(-1);
  assert.deepEqual(col.cells.map((c) => c.kind), ["voted", "none", "none", "voted", "none"]);
});

test("each node's tree has only the blocks it holds, as it notarized them", () => {
  const w = start();
  const b1 = summary(h("a"), G, 1, 1);
  const b2 = summary(h("b"), h("a"), 2, 2);
  const b4 = summary(h("d"), h("c"), 4, 4);
  feed(w, epoch(1, 1, b1, [1, 2, 3]));
  feed(w, [{ type: "notarize", node: 1, block: h("a"), voters: [1, 2, 3], block_epoch: 1 },
           { type: "block", node: 1, block: b2, epoch: 2 },
           { type: "block", node: 2, block: b2, epoch: 2 },
           { type: "orphan", node: 3, block: h("d"), parent: h("c"), epoch: 4 },
           { type: "block", node: 1, block: b4, epoch: 4 }]);

  const one = nodeTreeState(w.tk, w.state, 1);
  assert.equal(one.blocks.get(h("a")).voted, true);
  assert.equal(one.blocks.get(h("a")).notarizedBy.size, 1);
  assert.equal(one.blocks.get(h("b")).notarizedBy.size, 0);
  const layout = layoutTree(one, 30);
  assert.deepEqual(layout.placed.map((p) => p.block.epoch), [1, 2, 4]);

  // n3 voted for b1 and keeps b4 aside; it never saw b2.
  const three = nodeTreeState(w.tk, w.state, 3);
  assert.deepEqual([...three.blocks.values()].map((b) => [b.epoch, b.orphan]),
                   [[1, false], [4, true]]);
  assert.equal(three.blocks.get(h("a")).notarizedBy.size, 0);
  // n4 and n5 hold nothing but genesis.
  assert.equal(nodeTreeState(w.tk, w.state, 5).blocks.size, 0);
});

test("finality latency is counted once per block, from the first finalization", () => {
  const w = start();
  const b1 = summary(h("a"), G, 1, 1, ["1:0", "1:1"]);
  const b2 = summary(h("b"), h("a"), 2, 2, ["2:0"]);
  const fin = (node, ep, t) => ({ type: "finalize", node, epoch: ep, height: 2, t,
                                   blocks: [b1, b2],
                                   justification: [h("a"), h("b"), h("c")] });
  feed(w, [fin(1, 3, 1010.2)], 1010.2);
  feed(w, [fin(2, 4, 1010.7), fin(3, 5, 1011.3)], 1012.5);
  assert.deepEqual(w.tk.latency.map((l) => [l.epoch, l.latency]), [[1, 2], [2, 1]]);

  const tps = finalizedPerSecond(w.tk, 5);
  assert.deepEqual(tps.map((p) => p.t), [1007, 1008, 1009, 1010, 1011]);
  assert.deepEqual(tps.map((p) => p.txs), [0, 0, 0, 3, 0]);
});

test("messages per epoch come from the nodes' sent counters, restarts skipped", () => {
  const w = start();
  const stats = (node, sent, t) => ({ type: "stats", node, sent, received: 0, t });
  feed(w, [stats(1, 100, 1000), stats(2, 100, 1000)], 1000);
  assert.equal(w.tk.messages.length, 0);  // one sample gives no rate yet
  feed(w, [stats(1, 130, 1001), stats(2, 120, 1002)], 1002);
  // n1: 30/s, n2: 10/s; epochs of 2 s: 80 messages per epoch.
  assert.deepEqual(w.tk.messages.map((m) => m.perEpoch), [80]);
  feed(w, [stats(2, 5, 1003)], 1003);  // n2 restarted: its counter went back
  assert.deepEqual(w.tk.messages.map((m) => m.perEpoch), [80, 80]);
  feed(w, [{ type: "node_status", node: 1, status: "crashed", epoch: 1, t: 1004 },
           stats(2, 25, 1004)], 1004);
  assert.deepEqual(w.tk.messages.map((m) => m.perEpoch), [80, 80, 40]);
  assert.deepEqual(messageBounds(5), { noEcho: 24, echo: 120 });
});
