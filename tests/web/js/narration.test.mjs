// Narration: every rule of PROTOCOL.md has a caption in English and
// Portuguese, and the event that shows the rule at work produces it.
// Run with `node --test tests/web/js/`.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { applyBatch, applySnapshot, createState } from "../../../frontend/model.js";
import {
  RULES, captionText, contextOf, createNarrator, explainBlock, hasCaption, narrate,
  ruleName,
} from "../../../frontend/narration.js";

const G = "0".repeat(64);
const h = (c) => c.repeat(64);
const STATE_PY = new URL("../../../backend/core/state.py", import.meta.url);

function summary(hash, parent, epoch, height, txs = [], proposer = epoch) {
  return { hash, parent, epoch, height, proposer, txs };
}

function world({ crashed = [] } = {}) {
  const nodes = [1, 2, 3, 4, 5].map((id) => ({
    id, status: crashed.includes(id) ? "crashed" : "running", pid: 100 + id,
    finalized_height: 0, tail: [] }));
  return applySnapshot(createState(), {
    seq: 1, generation: 1, n: 5, quorum: 3, genesis_hash: G, genesis: 1000,
    epoch_seconds: 1, settings: { nodes: 5, leader: "round-robin" }, epoch: 9,
    leader: 4, nodes, txs: [], events: [], node_events: {},
    blocks: [
      { ...summary(h("5"), G, 5, 1), voters: [1, 2, 3], notarized_by: [1, 2] },
      { ...summary(h("6"), h("5"), 6, 2), voters: [1, 2, 3] },
      { ...summary(h("7"), h("6"), 7, 3), voters: [1, 2, 3] },
      { ...summary(h("9"), h("7"), 9, 4), voters: [2] },
    ],
    safety: { ok: true, violations: [], violation_count: 0 },
  }, 1000);
}

const b9 = summary(h("9"), h("7"), 9, 4, ["1:0", "2:0"], 4);

/**
 * One event per rule, each the event the running system emits when that
 * rule is at work, and a word its caption must contain in both languages.
 */
const SAMPLES = {
  leader: [{ type: "epoch", node: 1, epoch: 9, leader: 4 }, "n4"],
  propose: [{ type: "propose", node: 4, epoch: 9, block: b9 }, "b9"],
  vote: [{ type: "vote", node: 2, epoch: 9, block: h("9"), height: 4, parent: h("7") },
         "n2"],
  "vote-not-longer": [{ type: "vote_skipped", node: 4, epoch: 9, block: h("9"),
    reason: "it has seen a notarized chain of height 4, as long as b9" }, "b9"],
  "vote-recovery": [{ type: "vote_skipped", node: 3, epoch: 9, block: h("9"),
    reason: "before restarting it voted for a block extending height 5" }, "5"],
  "vote-repeated-tx": [{ type: "vote_skipped", node: 3, epoch: 9, block: h("9"),
    reason: "the block repeats a transaction of its chain" }, "b9"],
  "vote-notarized": [{ type: "vote_skipped", node: 5, epoch: 9, block: h("9"),
    reason: "b9 was already notarized by the others' votes" }, "n5"],
  "vote-bad-height": [{ type: "vote_skipped", node: 5, epoch: 9, block: h("9"),
    reason: "its height or epoch does not follow its parent" }, "b9"],
  "vote-other": [{ type: "vote_skipped", node: 5, epoch: 9, block: h("9"),
    reason: "a reason nobody foresaw" }, "a reason nobody foresaw"],
  tally: [{ type: "tally", node: 1, block: h("9"), voter: 2, count: 2, epoch: 9 }, "3"],
  notarize: [{ type: "notarize", node: 1, block: h("7"), voters: [1, 2, 3],
               block_epoch: 7 }, "b7"],
  "notarize-early": [{ type: "notarize", node: 1, block: h("e"), voters: [1, 2, 3],
                       block_epoch: null }, "n1"],
  finalize: [{ type: "finalize", node: 2, epoch: 7, height: 2,
               blocks: [summary(h("5"), G, 5, 1), summary(h("6"), h("5"), 6, 2)],
               justification: [h("5"), h("6"), h("7")] }, "b6"],
  echo: [{ type: "deliver", node: 5, via: 2, origin: 1, kind: "vote", echo: true,
           epoch: 9, msg: "v1" }, "n2"],
  orphan: [{ type: "orphan", node: 3, block: h("9"), parent: h("7") }, "b7"],
  future: [{ type: "block", node: 3, epoch: 8, block: b9 }, "b9"],
  "reject-leader": [{ type: "rejected", node: 1, kind: "propose", ref: h("9"),
    reason: "n2 is not the leader of epoch 9 (n4 is)" }, "n4"],
  "reject-second": [{ type: "rejected", node: 1, kind: "propose", ref: h("9"),
    reason: "a second proposal in the same epoch" }, "n1"],
  "reject-ahead": [{ type: "rejected", node: 1, kind: "propose", ref: h("9"),
    reason: "epoch 40 is too far ahead" }, "40"],
  "reject-past": [{ type: "rejected", node: 1, kind: "propose", ref: h("9"),
    reason: "epoch 2 is long past" }, "2"],
  "reject-block": [{ type: "rejected", node: 1, kind: "block", ref: h("9"),
    reason: "height or epoch does not follow its parent" }, "b9"],
  "reject-full": [{ type: "rejected", node: 1, kind: "tx", ref: "1:9",
    reason: "the transaction pool is full" }, "the transaction pool is full"],
  "reject-other": [{ type: "rejected", node: 1, kind: "vote", ref: "x",
    reason: "something new" }, "something new"],
  tx: [{ type: "tx", node: 2, tx: "7:3", sender: 7, receiver: 8, amount: 5 }, "7:3"],
  crash: [{ type: "node_status", node: 2, status: "crashed", pid: 9, t: 5 }, "n2"],
  restart: [{ type: "node_status", node: 2, status: "starting", restarts: 1, t: 6 },
            "n2"],
  "recovery-store": [{ type: "store_reloaded", node: 2, blocks: 14, votes: 9,
                       finalized_height: 12, t: 7 }, "14"],
  "recovery-sync": [{ type: "synced", node: 2, peer: 4, learned: 3, more: false,
                      finalized_height: 12, t: 8 }, "n4"],
  "recovery-caught-up": [{ type: "caught_up", node: 2, finalized_height: 12, t: 9 },
                         "12"],
  confusion: [{ type: "confusion_over", node: 3, held: 14 }, "14"],
  safety: [{ type: "safety_violation", node: 3, block: h("9"),
             detail: "b9 conflicts with the finalized chain" }, "b9"],
};

test("every rule has a name and a caption in English and in Portuguese", () => {
  for (const rule of Object.keys(RULES)) {
    for (const lang of ["en", "pt"]) {
      assert.ok(hasCaption(rule, lang), `${rule} has no ${lang} caption`);
      assert.notEqual(ruleName(rule, lang), rule, `${rule} has no ${lang} name`);
    }
    assert.notEqual(ruleName(rule, "en"), ruleName(rule, "pt"));
  }
});

test("the captions cover every rule of PROTOCOL.md", () => {
  const refs = Object.values(RULES).map((r) => r.ref).join("; ");
  for (const section of ["Epochs", "Propose", "Vote", "Notarize", "Finalize", "Echo",
                         "Crash-recovery", "fork demonstration", "Theorem 12"]) {
    assert.ok(refs.includes(section), `no caption names PROTOCOL.md's ${section}`);
  }
  // Corner cases 1-6, 8, 9, 11, 12 and 14 happen as events; 7, 10 and 13 are
  // about configurations, clocks and framing and have no event of their own.
  const cases = new Set();
  for (const m of refs.matchAll(/corner cases? (\d+)(?: and (\d+))?/gi)) {
    cases.add(Number(m[1]));
    if (m[2]) cases.add(Number(m[2]));
  }
  for (const n of [1, 2, 3, 4, 5, 6, 8, 9, 11, 12, 14]) assert.ok(cases.has(n), `case ${n}`);
});

test("each rule's event produces that rule's caption in both languages", () => {
  assert.deepEqual(Object.keys(SAMPLES).sort(), Object.keys(RULES).sort());
  const ctx = contextOf(world({ crashed: [2] }));
  for (const [rule, [ev, word]] of Object.entries(SAMPLES)) {
    const entry = narrate(ev, ctx);
    assert.ok(entry, `${rule}: no caption for ${ev.type}`);
    assert.equal(entry.rule, rule, `${ev.type} narrated as ${entry.rule}, not ${rule}`);
    const en = captionText(entry, "en");
    const pt = captionText(entry, "pt");
    for (const [lang, text] of [["en", en], ["pt", pt]]) {
      assert.ok(text.length > 20, `${rule} ${lang}: "${text}"`);
      assert.ok(text.includes(word), `${rule} ${lang} lacks "${word}": ${text}`);
      assert.doesNotMatch(text, /undefined|NaN|null|\[object|\$\{/, `${rule} ${lang}`);
    }
    assert.notEqual(en, pt, `${rule}: the Portuguese caption is the English one`);
  }
});

test("the captions use the numbers of the event", () => {
  const ctx = contextOf(world({ crashed: [2] }));
  const crash = narrate(SAMPLES.crash[0], ctx);
  assert.match(captionText(crash, "en"), /4 of 5 nodes are up, still more than n\/2 \(3\)/);
  assert.match(captionText(crash, "pt"), /Estão ativos 4 de 5 nós/);
  const fin = narrate(SAMPLES.finalize[0], ctx);
  assert.equal(captionText(fin, "en"), "b6 is final: b5, b6 and b7 are notarized blocks "
    + "of consecutive epochs in one chain, so the middle one becomes final with its whole "
    + "prefix (b5 too), never the third.");
  const skip = narrate(SAMPLES["vote-not-longer"][0], ctx);
  assert.equal(captionText(skip, "en"), "n4 does not vote for b9: it has seen a notarized "
    + "chain as long (height 4); a vote needs a strictly longer one.");
  assert.equal(captionText(skip, "pt"), "n4 não vota em b9: já viu uma cadeia notarizada "
    + "tão longa (altura 4); para votar é preciso uma estritamente mais longa.");
});

test("with too few nodes up, the crash caption says nothing can be notarized", () => {
  const ctx = contextOf(world({ crashed: [1, 2, 3] }));
  const entry = narrate({ type: "node_status", node: 3, status: "crashed", t: 1 }, ctx);
  assert.match(captionText(entry, "en"), /2 of 5 nodes are up, fewer than the 3/);
  assert.match(captionText(entry, "pt"), /nada pode ser notarizado/);
});

function literals(source) {
  return [...source.matchAll(/f?"([^"]*)"/g)].map((m) => m[1]).join("")
    .replace(/\{[^}]*\}/g, "7");
}

test("every reason the core gives for not voting maps to a rule", () => {
  const source = readFileSync(STATE_PY, "utf8");
  const reasons = [...source.matchAll(/reason = \(?((?:\s*f?"[^"]*")+)/g)]
    .map((m) => literals(m[1]));
  assert.ok(reasons.length >= 5, `found only ${reasons.length} reasons in state.py`);
  const ctx = contextOf(world());
  for (const reason of reasons) {
    const entry = narrate({ type: "vote_skipped", node: 1, epoch: 7, block: h("7"),
                            reason }, ctx);
    assert.notEqual(entry.rule, "vote-other", `no rule for the core's "${reason}"`);
  }
});

test("every reason the core gives for rejecting a message maps to a rule", () => {
  const source = readFileSync(STATE_PY, "utf8");
  const found = [...source.matchAll(/_reject\(out, "(\w+)",((?:\s*f?"[^"]*")+)/g)];
  assert.ok(found.length >= 6, `found only ${found.length} rejections in state.py`);
  const ctx = contextOf(world());
  for (const [, kind, text] of found) {
    const reason = literals(text);
    const entry = narrate({ type: "rejected", node: 1, kind, ref: h("7"), reason }, ctx);
    assert.notEqual(entry.rule, "reject-other", `no rule for the core's "${reason}"`);
  }
});

test("a block for the node's own epoch is not a future one; a plain delivery no echo", () => {
  const ctx = contextOf(world());
  assert.equal(narrate({ type: "block", node: 3, epoch: 9, block: b9 }, ctx), null);
  assert.equal(narrate({ type: "deliver", node: 3, via: 1, origin: 1, kind: "vote",
                         echo: false }, ctx), null);
  assert.equal(narrate({ type: "stats", node: 3, sent: 5 }, ctx), null);
});

test("five nodes reporting one notarization make one caption", () => {
  const narrator = createNarrator({ holdMs: 0 });
  const ctx = contextOf(world());
  const events = [1, 2, 3, 4, 5].map((node) => ({ type: "notarize", node, block: h("7"),
                                                  voters: [1, 2, 3], block_epoch: 7 }));
  narrator.observe(events, ctx, 0);
  assert.equal(narrator.next(0).rule, "notarize");
  assert.equal(narrator.next(10).rule, "notarize");  // nothing else to show
  assert.equal(narrator.history().length, 0);
});

test("a caption stays up for its hold time, then the rules take turns", () => {
  const narrator = createNarrator({ holdMs: 1000, staleMs: 10_000 });
  const ctx = contextOf(world());
  narrator.observe([SAMPLES.leader[0], SAMPLES.propose[0], SAMPLES.vote[0]], ctx, 0);
  const first = narrator.next(0).rule;
  assert.equal(first, "propose");  // the highest priority of the three
  assert.equal(narrator.next(500).rule, "propose");
  const second = narrator.next(1000).rule;
  assert.equal(second, "vote");
  assert.equal(narrator.next(2000).rule, "leader");
  assert.deepEqual(narrator.history().map((e) => e.rule), ["vote", "propose"]);
});

test("a crash does not wait for the caption on screen to time out", () => {
  const narrator = createNarrator({ holdMs: 5000 });
  const ctx = contextOf(world({ crashed: [2] }));
  narrator.observe([SAMPLES.vote[0]], ctx, 0);
  assert.equal(narrator.next(0).rule, "vote");
  narrator.observe([SAMPLES.propose[0], SAMPLES.crash[0]], ctx, 100);
  assert.equal(narrator.next(100).rule, "crash");
  assert.equal(narrator.next(200).rule, "crash");  // the proposal waits its turn
});

test("what happened before the previous epoch is never shown", () => {
  const narrator = createNarrator({ holdMs: 0 });
  const ctx = contextOf(world());
  narrator.observe([{ ...SAMPLES.tx[0], epoch: 7 }, { ...SAMPLES.vote[0], epoch: 8 }], ctx, 0);
  narrator.observe([{ type: "epoch", node: 1, epoch: 9, leader: 4 }], ctx, 10);
  assert.equal(narrator.next(20).rule, "leader");
  assert.equal(narrator.next(30).rule, "vote");  // epoch 8: the previous one
  assert.equal(narrator.next(40).rule, "vote");  // the tx of epoch 7 is gone
});

test("candidates without an epoch go stale after a while", () => {
  const narrator = createNarrator({ holdMs: 0, staleMs: 1000 });
  narrator.observe([SAMPLES.tx[0]], contextOf(world()), 0);
  assert.equal(narrator.next(5000), null);
});

// --- why a block is, or is not yet, final ----------------------------------------

function finalizedWorld() {
  const state = world();
  const events = [1, 2, 3].map((node) => ({
    type: "finalize", node, epoch: 7, height: 2, t: 2,
    blocks: [summary(h("5"), G, 5, 1), summary(h("6"), h("5"), 6, 2)],
    justification: [h("5"), h("6"), h("7")] }));
  applyBatch(state, { seq: 2, generation: 1, events, messages: [], t: 2 }, 1000);
  return state;
}

test("a final block says who finalized it and through which three epochs", () => {
  const state = finalizedWorld();
  const mid = explainBlock(state, h("6"), "en");
  assert.equal(mid.reason, "final");
  assert.equal(mid.text, "b6 is final on n1, n2, n3: b5, b6, b7 are notarized in "
    + "consecutive epochs, and the middle one is final with its prefix; not yet on n4, n5.");
  assert.match(explainBlock(state, h("6"), "pt").text,
               /^b6 é final em n1, n2, n3: b5, b6, b7 estão notarizados/);
  const prefix = explainBlock(state, h("5"), "en");
  assert.match(prefix.text, /as part of the prefix of b6/);
  assert.match(explainBlock(state, h("5"), "pt").text, /como parte do prefixo de b6/);
});

test("a notarized block names the epoch whose notarization is missing", () => {
  const state = world();
  // b7 (parent b6 of epoch 6) lacks a notarized child from epoch 8, and
  // epoch 9 has begun: it can only become final through a descendant.
  const b7 = explainBlock(state, h("7"), "en");
  assert.equal(b7.reason, "noChild");
  assert.match(b7.text, /epoch 8 produced no notarized child/);
  assert.match(explainBlock(state, h("7"), "pt").text, /a época 8 não produziu/);
  // b6 has its notarized child b7 from epoch 7: final once processed.
  assert.equal(explainBlock(state, h("6"), "en").reason, "soon");
});

test("a block whose parent is not from the epoch before cannot be the middle", () => {
  const state = world();
  const b10 = summary(h("a"), h("7"), 10, 4, [], 5);
  applyBatch(state, { seq: 2, generation: 1, messages: [], t: 2, events: [
    { type: "epoch", node: 1, epoch: 10, leader: 5 },
    { type: "propose", node: 5, epoch: 10, block: b10 },
    { type: "notarize", node: 1, block: h("a"), voters: [1, 2, 3], block_epoch: 10 }] },
  1000);
  const why = explainBlock(state, h("a"), "en");
  assert.equal(why.reason, "parentGap");
  assert.match(why.text, /parent is from epoch 7, not 9, so the notarization of a block of epoch 9/);
  assert.match(explainBlock(state, h("a"), "pt").text, /falta a notarização de um bloco da época 9/);
});

test("a block short of votes says how many, and whether its epoch is over", () => {
  const state = world();
  const b9why = explainBlock(state, h("9"), "en");
  assert.equal(b9why.reason, "notNotarized");
  assert.match(b9why.text, /1 of the 3 votes needed/);
  applyBatch(state, { seq: 2, generation: 1, messages: [], t: 2,
                      events: [{ type: "epoch", node: 1, epoch: 10, leader: 5 }] }, 1000);
  assert.equal(explainBlock(state, h("9"), "en").reason, "notNotarizedOver");
  assert.match(explainBlock(state, h("9"), "pt").text, /terminou com 1 dos 3 votos/);
});

test("a block beside a final one is on an abandoned fork", () => {
  const state = finalizedWorld();
  const rival = summary(h("r"), h("5"), 8, 2, [], 3);
  applyBatch(state, { seq: 3, generation: 1, messages: [], t: 3,
                      events: [{ type: "block", node: 1, epoch: 9, block: rival }] }, 1000);
  const why = explainBlock(state, h("r"), "en");
  assert.equal(why.reason, "abandoned");
  assert.match(why.text, /b6 is final at height 2/);
  assert.equal(explainBlock(state, G, "pt").text, "a génese é final por definição.");
});
