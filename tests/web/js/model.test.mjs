// The dashboard's DOM-free model: run with `node --test tests/web/js/`.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  LIMITS, applyBatch, applySnapshot, blockName, createState, faultyLinks, isNotarized,
  trackSubmitted, travelMs,
} from "../../../frontend/model.js";
import { epochClock, layoutTree, leaderOf, uptimeS } from "../../../frontend/layout.js";

const G = "0".repeat(64);
const h = (c) => c.repeat(64);

function snapshot(extra = {}) {
  return {
    seq: 10, generation: 1, n: 5, quorum: 3, genesis_hash: G, genesis: 1000,
    epoch_seconds: 2, settings: { nodes: 5, leader: "round-robin" }, epoch: 0,
    leader: 0, t: 1000, clock: { epoch: 0, leader: 1, leaders: { 1: 1 }, t: 1000 },
    nodes: [1, 2, 3, 4, 5].map((id) => ({ id, status: "running", pid: 100 + id,
      port: 9000 + id, restarts: 0, started_at: 1000, finalized_height: 0,
      tail: [], pending: 0 })),
    blocks: [], txs: [], events: [], node_events: {},
    safety: { ok: true, violations: [], violation_count: 0 },
    ...extra,
  };
}

function summary(hash, parent, epoch, height, txs = [], proposer = epoch) {
  return { hash, parent, epoch, height, proposer, txs };
}

function ready() {
  return applySnapshot(createState(), snapshot(), 1000);
}

let seq = 10;
function batch(state, events, extra = {}) {
  seq = state.seq + 1;
  return applyBatch(state, { seq, generation: state.generation, events,
                             messages: [], t: 1000, ...extra }, 1000);
}

// A good-case epoch: the leader proposes, all five vote, everyone notarizes.
function epochEvents(block) {
  const evs = [{ type: "epoch", node: 1, epoch: block.epoch, leader: block.proposer, t: 1 },
               { type: "propose", node: block.proposer, epoch: block.epoch, block, t: 1 }];
  for (let v = 1; v <= 5; v++) {
    evs.push({ type: "vote", node: v, epoch: block.epoch, block: block.hash,
               height: block.height, parent: block.parent, t: 1 });
  }
  for (let v = 1; v <= 5; v++) {
    evs.push({ type: "notarize", node: v, block: block.hash, voters: [1, 2, 3, 4, 5],
               block_epoch: block.epoch, t: 1 });
  }
  return evs;
}

test("snapshot sets nodes, quorum and log from the server's state", () => {
  const b1 = summary(h("a"), G, 1, 1);
  const state = applySnapshot(createState(), snapshot({
    blocks: [{ ...b1, tx_count: 0, voters: [1, 2, 3], notarized_by: [1],
               finalized_by: [], known: true }],
    events: [{ type: "propose", node: 1, epoch: 1, block: b1, t: 1 }],
    node_events: { 2: [{ type: "vote", node: 2, epoch: 1, block: h("a"), t: 1 }] },
  }), 1000);

  assert.equal(state.ready, true);
  assert.equal(state.nodes.size, 5);
  assert.equal(state.quorum, 3);
  assert.equal(blockName(state, h("a")), "b1");
  assert.equal(blockName(state, G), "genesis");
  assert.ok(isNotarized(state, state.blocks.get(h("a"))));
  assert.deepEqual(state.log.map((l) => l.text), ["epoch 1: n1 proposed b1 extending genesis"]);
  assert.deepEqual(state.nodes.get(2).log.map((l) => l.text), ["voted for b1 in epoch 1"]);
});

test("batches are applied in sequence; stale ones skipped, gaps ask for a snapshot", () => {
  const state = ready();
  assert.deepEqual(applyBatch(state, { seq: 10, generation: 1, events: [] }, 1000),
                   { applied: false, needSnapshot: false });
  assert.deepEqual(applyBatch(state, { seq: 12, generation: 1, events: [] }, 1000),
                   { applied: false, needSnapshot: true });
  assert.deepEqual(applyBatch(state, { seq: 11, generation: 1, events: [] }, 1000),
                   { applied: true, needSnapshot: false });
  assert.deepEqual(applyBatch(state, { seq: 12, generation: 2, events: [] }, 1000),
                   { applied: false, needSnapshot: true });
  assert.equal(state.seq, 11);
});

test("a batch before any snapshot is ignored", () => {
  const state = createState();
  const result = applyBatch(state, { seq: 1, generation: 1, events: [] }, 0);
  assert.deepEqual(result, { applied: false, needSnapshot: false });
});

test("a good epoch: one proposal line, one notarization line, votes counted", () => {
  const state = ready();
  const b1 = summary(h("a"), G, 1, 1, ["1:0"]);
  batch(state, epochEvents(b1));

  const block = state.blocks.get(h("a"));
  assert.equal(block.voters.size, 5);
  assert.deepEqual([...block.notarizedBy].sort(), [1, 2, 3, 4, 5]);
  assert.deepEqual(state.log.map((l) => l.text), [
    "epoch 1 begins: leader n1",
    "epoch 1: n1 proposed b1 extending genesis with 1 tx",
    "b1 notarized (5/5 votes)",
  ]);
  assert.equal(state.epoch, 1);
  assert.equal(state.txs.get("1:0").status, "notarized");
  assert.deepEqual(state.nodes.get(3).lastVote, { epoch: 1, block: h("a"), height: 1 });
});

test("finalization marks blocks, logs once and remembers the justifying triple", () => {
  const state = ready();
  const b1 = summary(h("a"), G, 1, 1);
  const b2 = summary(h("b"), h("a"), 2, 2, ["4:0"]);
  const b3 = summary(h("c"), h("b"), 3, 3);
  batch(state, [...epochEvents(b1), ...epochEvents(b2), ...epochEvents(b3)]);
  const finals = [1, 2, 3, 4, 5].map((node) => ({
    type: "finalize", node, epoch: 3, blocks: [b1, b2],
    justification: [h("a"), h("b"), h("c")], height: 2, t: 3,
  }));
  batch(state, finals);

  assert.deepEqual([...state.blocks.get(h("b")).finalizedBy].sort(), [1, 2, 3, 4, 5]);
  assert.equal(state.blocks.get(h("c")).finalizedBy.size, 0);
  const lines = state.log.filter((l) => l.type === "finalize").map((l) => l.text);
  assert.deepEqual(lines, ["b1, b2 finalized (b1, b2, b3: three consecutive epochs)"]);
  assert.equal(state.finalizations.length, 1);
  assert.deepEqual(state.finalizations[0].justification, [h("a"), h("b"), h("c")]);
  assert.deepEqual(state.nodes.get(4).tail, [h("a"), h("b")]);
  assert.equal(state.nodes.get(4).finalizedHeight, 2);
  assert.equal(state.txs.get("4:0").status, "finalized");
  assert.equal(state.txs.get("4:0").epoch, 2);
});

test("votes before the proposal are kept and the body fills the block in", () => {
  const state = ready();
  batch(state, [{ type: "vote", node: 2, epoch: 1, block: h("a"), height: 1, t: 1 }]);
  assert.equal(state.blocks.get(h("a")).known, false);
  batch(state, [{ type: "block", node: 3, block: summary(h("a"), G, 1, 1), t: 1 }]);
  const block = state.blocks.get(h("a"));
  assert.equal(block.known, true);
  assert.deepEqual([...block.voters], [2]);
});

test("crash and restart of a node follow node_status events", () => {
  const state = ready();
  batch(state, [{ type: "node_status", node: 2, status: "crashed", pid: 102, restarts: 0,
                  t: 5 }]);
  assert.equal(state.nodes.get(2).status, "crashed");
  assert.equal(uptimeS(state, state.nodes.get(2), 1010), null);
  assert.equal(state.log.at(-1).text, "n2 crashed (process 102 killed)");

  batch(state, [{ type: "node_status", node: 2, status: "running", pid: 222, restarts: 1,
                  t: 1008 }]);
  const node = state.nodes.get(2);
  assert.equal(node.status, "running");
  assert.equal(node.pid, 222);
  assert.equal(node.restarts, 1);
  assert.equal(uptimeS(state, node, 1010), 2);
});

test("transactions submitted here are tracked from pending to finalized", () => {
  const state = ready();
  trackSubmitted(state, "7:0", 7, 8, 5);
  assert.equal(state.txs.get("7:0").status, "pending");
  const b1 = summary(h("a"), G, 1, 1, ["7:0"]);
  batch(state, [{ type: "propose", node: 1, epoch: 1, block: b1, t: 1 }]);
  assert.equal(state.txs.get("7:0").status, "proposed");
  assert.equal(state.txs.get("7:0").mine, true);
});

test("send and deliver traces pair up per link; old ones are dropped", () => {
  const state = ready();
  batch(state, [], {
    messages: [
      { type: "send", node: 1, msg: "p/x", kind: "propose", to: 2, echo: false,
        delay_ms: 0, dropped: false, t: 1000 },
      { type: "deliver", node: 2, msg: "p/x", kind: "propose", via: 1, origin: 1,
        echo: false, sent_t: 1000, t: 1000.2 },
      { type: "send", node: 2, msg: "p/x", kind: "propose", to: 3, echo: true,
        delay_ms: 300, dropped: true, t: 1000.2 },
    ],
  });
  assert.equal(state.messages.size, 2);
  const first = state.messages.get("p/x|1|2");
  assert.equal(Math.round(travelMs(first, 0)), 200);
  assert.equal(travelMs(state.messages.get("p/x|2|3"), 0), 300);
  assert.equal(state.messages.get("p/x|2|3").dropped, true);

  batch(state, [], { t: 1000 + LIMITS.messageAgeS + 1 });
  assert.equal(state.messages.size, 0);
});

test("memory stays bounded: old blocks and extra log lines go", () => {
  const state = ready();
  let parent = G;
  for (let e = 1; e <= 150; e++) {
    const b = summary(e.toString(16).padStart(64, "0"), parent, e, e);
    batch(state, epochEvents(b));
    parent = b.hash;
  }
  assert.ok(state.blocks.size <= LIMITS.blockEpochs + 2);
  assert.ok(state.log.length <= LIMITS.log);
  assert.ok(state.nodes.get(1).log.length <= LIMITS.nodeLog);
});

test("tree layout: one lane for a chain, a second lane for a fork", () => {
  const state = ready();
  const b1 = summary(h("a"), G, 1, 1);
  const b2 = summary(h("b"), h("a"), 2, 2);
  const b3 = summary(h("c"), h("a"), 3, 2);   // a fork: also extends b1
  const b4 = summary(h("d"), h("c"), 4, 3);
  batch(state, [...epochEvents(b1), ...epochEvents(b3), ...epochEvents(b4)]);
  batch(state, [{ type: "propose", node: 2, epoch: 2, block: b2, t: 2 }]);

  const layout = layoutTree(state, 60);
  const lane = Object.fromEntries(layout.placed.map((p) => [p.block.epoch, p.lane]));
  // The notarized branch (b3, b4) keeps b1's lane; the lone b2 opens a fork.
  assert.deepEqual(lane, { 1: 0, 2: 1, 3: 0, 4: 0 });
  assert.equal(layout.laneCount, 2);
  assert.deepEqual(layout.edges.map((e) => e.key).sort(), [h("b"), h("c"), h("d")]);
});

test("tree layout keeps only the last window of epochs", () => {
  const state = ready();
  let parent = G;
  for (let e = 1; e <= 70; e++) {
    const b = summary(e.toString(16).padStart(64, "0"), parent, e, e);
    batch(state, epochEvents(b));
    parent = b.hash;
  }
  const layout = layoutTree(state, 60);
  assert.equal(layout.minEpoch, 11);
  assert.equal(layout.placed.length, 60);
  assert.ok(layout.placed.every((p) => p.lane === 0));
});

test("epoch clock counts from genesis in epochs of 2Δ", () => {
  const state = ready();   // genesis 1000, epochs of 2 s, round-robin of 5
  assert.deepEqual(epochClock(state, 999), { epoch: 0, leader: 1, leftS: 1, fraction: 0 });
  const c = epochClock(state, 1007.5);
  assert.equal(c.epoch, 4);
  assert.equal(c.leader, 4);
  assert.equal(c.leftS, 0.5);
  assert.equal(c.fraction, 0.75);
  assert.equal(leaderOf(state, 7), 2);
});

test("a paused clock holds its epoch; resume and a new Δ move genesis", () => {
  const state = ready();
  batch(state, [{ type: "clock", node: 0, paused: true, epoch: 6, genesis: 1000,
                  epoch_seconds: 2, t: 1011 }]);
  const held = epochClock(state, 1100);
  assert.deepEqual([held.epoch, held.paused, held.leftS], [6, true, null]);
  assert.equal(state.log.at(-1).text, "epoch clock paused in epoch 6");

  batch(state, [{ type: "clock", node: 0, paused: false, epoch: 7, genesis: 1088,
                  epoch_seconds: 4, t: 1112 }]);
  const running = epochClock(state, 1113);
  assert.equal(running.epoch, 7);
  assert.equal(running.leftS, 3);
});

test("a partition cuts the links between groups; slow links are marked", () => {
  const state = ready();
  batch(state, [{ type: "faults", node: 0, t: 1, groups: [[1, 2], [3, 4, 5]],
                  links: [{ from: 1, to: 2, delay_ms: 300 }] }]);
  const links = Object.fromEntries(faultyLinks(state).map((l) => [l.key, l.kind]));
  assert.deepEqual(links, { "1-3": "cut", "1-4": "cut", "1-5": "cut", "2-3": "cut",
                            "2-4": "cut", "2-5": "cut", "1-2": "slow" });
  assert.equal(state.log.at(-1).text,
               "network faults: partition {1, 2} | {3, 4, 5}; n1→n2 300 ms delay");

  batch(state, [{ type: "faults", node: 0, t: 2, groups: [], links: [] }]);
  assert.deepEqual(faultyLinks(state), []);
  assert.equal(state.log.at(-1).text, "network healed");
});
