// The page's two languages: every key in both, every key the page uses
// defined, the glossary complete, the choice remembered, the event logs
// translated. Run with `node --test tests/web/js/`.

import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

import { describe, describeForNode } from "../../../frontend/describe.js";
import {
  DICTIONARY, GLOSSARY, LANGS, STORAGE_KEY, applyI18n, format, getLang, onLangChange,
  savedLang, setLang, t,
} from "../../../frontend/i18n.js";
import { translateLog } from "../../../frontend/logtext.js";

const ROOT = new URL("../../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, ROOT), "utf8");
const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

// Words that are the same in both languages on purpose.
const SAME = new Set(["cluster.delta", "glossary.delta", "glossary.gst", "insp.row.pid",
                      "tx.line"]);

test("English and Portuguese have the same keys and the same placeholders", () => {
  const en = DICTIONARY.en;
  const pt = DICTIONARY.pt;
  assert.deepEqual(Object.keys(pt).sort(), Object.keys(en).sort());
  for (const key of Object.keys(en)) {
    assert.deepEqual(placeholders(pt[key]), placeholders(en[key]), key);
    if (!SAME.has(key)) assert.notEqual(pt[key], en[key], `${key} is not translated`);
  }
});

test("every key the page uses is defined", () => {
  const used = new Set();
  const html = read("templates/index.html");
  for (const m of html.matchAll(/data-i18n="([\w.]+)"/g)) used.add(m[1]);
  for (const m of html.matchAll(/data-i18n-attr="([^"]+)"/g)) {
    for (const pair of m[1].split(";")) used.add(pair.split(":")[1].trim());
  }
  const sources = ["frontend/main.js",
    ...readdirSync(new URL("frontend/views/", ROOT)).map((f) => `frontend/views/${f}`)];
  for (const file of sources) {
    for (const m of read(file).matchAll(/\bt\("([\w.]+)"/g)) used.add(m[1]);
  }
  assert.ok(used.size > 100, `only ${used.size} keys found`);
  for (const key of used) assert.ok(key in DICTIONARY.en, `the page uses "${key}", undefined`);
  // Keys built at run time: a node's status and a transaction's.
  for (const status of ["running", "crashed", "starting"]) assert.ok(`status.${status}` in DICTIONARY.en);
  for (const status of ["pending", "proposed", "notarized", "finalized"]) {
    assert.ok(`tx.status.${status}` in DICTIONARY.en);
  }
});

test("the glossary defines every term the issue asks for, in both languages", () => {
  assert.deepEqual(GLOSSARY, ["epoch", "leader", "proposal", "vote", "notarized",
    "finalized", "echo", "quorum", "delta", "gst", "fork", "crashRecovery"]);
  for (const lang of LANGS) {
    for (const term of GLOSSARY) {
      assert.ok(t(`glossary.${term}`, {}, lang).length > 0);
      assert.ok(t(`glossary.${term}.def`, {}, lang).length > 40, `${lang} ${term}`);
    }
  }
  assert.equal(t("glossary.fork", {}, "pt"), "bifurcação");
});

test("format fills placeholders and leaves a missing one visible", () => {
  assert.equal(t("clock.left", { s: "0.40" }, "en"), "0.40 s left");
  assert.equal(t("clock.left", { s: "0.40" }, "pt"), "faltam 0.40 s");
  assert.equal(format("{a} and {b}", { a: 1 }), "1 and {b}");
  assert.equal(t("no.such.key"), "no.such.key");
});

test("the chosen language is remembered; an unknown one is refused", () => {
  const saved = new Map();
  const storage = { getItem: (k) => saved.get(k) ?? null, setItem: (k, v) => saved.set(k, v) };
  const heard = [];
  const stop = onLangChange((lang) => heard.push(lang));
  try {
    assert.equal(savedLang(storage), "en");
    assert.equal(setLang("pt", storage), true);
    assert.equal(getLang(), "pt");
    assert.equal(saved.get(STORAGE_KEY), "pt");
    assert.equal(savedLang(storage), "pt");
    assert.equal(setLang("pt", storage), true);  // no change: no second call
    assert.equal(setLang("fr", storage), false);
    assert.equal(getLang(), "pt");
    saved.set(STORAGE_KEY, "<b>");
    assert.equal(savedLang(storage), "en");
    assert.deepEqual(heard, ["pt"]);
  } finally {
    setLang("en", storage);
    stop();
  }
});

test("applyI18n sets text and attributes, never HTML", () => {
  const el = (dataset) => ({ dataset, textContent: "", attrs: {},
                             setAttribute(k, v) { this.attrs[k] = v; } });
  const title = el({ i18n: "tree.title" });
  const svg = el({ i18nAttr: "aria-label:tree.aria; title:log.title" });
  const root = {
    documentElement: { lang: "" },
    querySelectorAll: (selector) => (selector === "[data-i18n]" ? [title] : [svg]),
  };
  setLang("pt", null);
  try {
    applyI18n(root);
  } finally {
    setLang("en", null);
  }
  assert.equal(title.textContent, "Árvore de blocos");
  assert.deepEqual(svg.attrs, { "aria-label": "Os blocos das últimas épocas, por época e "
    + "bifurcação", title: "Registo de eventos" });
  assert.equal(root.documentElement.lang, "pt-PT");
});

// --- the event logs ----------------------------------------------------------------

const G = "0".repeat(64);
const h = (c) => c.repeat(64);
const state = {
  genesisHash: G, n: 5, blocks: new Map([[h("6"), { epoch: 6 }], [h("7"), { epoch: 7 }]]),
};
const b7 = { hash: h("7"), parent: h("6"), epoch: 7, height: 3, proposer: 2, txs: ["1:0"] };
const b6 = { hash: h("6"), parent: G, epoch: 6, height: 2, proposer: 1, txs: [] };

// One event of every kind describe.js words, for the cluster's log ...
const CLUSTER = [
  { type: "epoch", epoch: 7, leader: 2 },
  { type: "propose", node: 2, block: b7 },
  { type: "propose", node: 1, block: { ...b6, hash: h("8") } },
  { type: "notarize", block: h("7"), voters: [1, 2, 3], block_epoch: 7 },
  { type: "finalize", blocks: [b6, b7], justification: [h("6"), h("7"), h("9")] },
  { type: "finalize", blocks: [{ ...b7, hash: h("a") }], justification: [] },
  { type: "node_status", node: 2, status: "crashed", pid: 41 },
  { type: "node_status", node: 2, status: "running", pid: 42 },
  { type: "node_status", node: 2, status: "starting", restarts: 1 },
  { type: "caught_up", node: 2, finalized_height: 9 },
  { type: "store_reloaded", node: 2, blocks: 1, votes: 4, finalized_height: 9 },
  { type: "tx_submitted", tx: "1:0", sender: 1, receiver: 2, amount: 5, via: 3 },
  { type: "safety_violation", node: 3, detail: "b7 conflicts with the finalized chain" },
  { type: "clock", paused: true, epoch: 7 },
  { type: "clock", paused: false, epoch_seconds: 2 },
  { type: "confusion_over", node: 3, held: 12 },
  { type: "scenario", text: "playing 'x'" },
  { type: "faults", groups: [[1, 2], [3, 4, 5]], links: [{ from: 1, to: 2, delay_ms: 100,
                                                          loss: 0.2 }] },
  { type: "faults", groups: [], links: [] },
  { type: "cluster", config: { nodes: 5, delta: 1, leader: "round-robin", echo: true } },
];

// ... and for a node's own log.
const NODE = [
  { type: "epoch", epoch: 7, leader: 2 },
  { type: "propose", block: b7 },
  { type: "vote", block: h("7"), epoch: 7 },
  ...["its height or epoch does not follow its parent",
      "b7 was already notarized by the others' votes",
      "it has seen a notarized chain of height 3, as long as b7",
      "before restarting it voted for a block extending height 4",
      "the block repeats a transaction of its chain",
  ].map((reason) => ({ type: "vote_skipped", block: h("7"), epoch: 7, reason })),
  { type: "notarize", block: h("7"), block_epoch: 7 },
  { type: "finalize", blocks: [b6, b7], height: 3 },
  { type: "tx", tx: "1:0" },
  { type: "orphan", block: h("7") },
  { type: "synced", peer: 4, learned: 2 },
  { type: "caught_up", finalized_height: 9 },
  { type: "started", pid: 7, restored: true },
  { type: "store_reloaded", blocks: 3 },
  { type: "node_status", status: "crashed", pid: 7 },
  ...["n2 is not the leader of epoch 7 (n3 is)", "epoch 7 is long past",
      "epoch 70 is too far ahead", "a second proposal in the same epoch",
  ].map((reason) => ({ type: "rejected", kind: "propose", reason })),
  { type: "rejected", kind: "tx", reason: "the transaction pool is full" },
  { type: "dropped_frame", reason: "bad frame" },
  { type: "safety_violation", detail: "b7 conflicts with the finalized chain" },
];

// English words no Portuguese line should keep (server free text aside).
const ENGLISH = /\b(the|with|extending|proposed|voted|notarized|finalized|crashed|begins|seen|before|epoch|height|block|leader|running|restarting|held|network|healed|rejected|took)\b/;

test("every line of the cluster's log has a Portuguese translation", () => {
  for (const ev of CLUSTER) {
    const en = describe(ev, state, () => true);
    assert.ok(en, `no English line for ${ev.type}`);
    const pt = translateLog(en, "pt");
    assert.notEqual(pt, en, `not translated: "${en}"`);
    const kept = ev.type === "safety_violation" || ev.type === "scenario" ? "" : pt;
    assert.doesNotMatch(kept, ENGLISH, `English left in "${pt}"`);
    assert.equal(translateLog(en, "en"), en);
  }
});

test("every line of a node's own log has a Portuguese translation", () => {
  for (const ev of NODE) {
    const en = describeForNode(ev, state);
    assert.ok(en, `no English line for ${ev.type}`);
    const pt = translateLog(en, "pt");
    assert.notEqual(pt, en, `not translated: "${en}"`);
    if (ev.type !== "safety_violation" && ev.type !== "dropped_frame") {
      assert.doesNotMatch(pt, ENGLISH, `English left in "${pt}"`);
    }
  }
});

test("translated lines keep the numbers and names", () => {
  const line = describe(CLUSTER[1], state, () => true);
  assert.equal(translateLog(line, "pt"),
               "época 7: n2 propôs b7, que estende b6, com 1 transação");
  const skip = describeForNode(NODE[5], state);
  assert.equal(translateLog(skip, "pt"),
               "não votou em b7: já viu uma cadeia notarizada de altura 3, tão longa como b7");
  assert.equal(translateLog("a line of a shape nobody knows", "pt"),
               "a line of a shape nobody knows");
});
