// The page: one Socket.IO connection, one model, one module per view.
//
// Batches are queued as they arrive and applied together once per animation
// frame; the views then render from the model (at most ~8 times a second,
// the clock every frame), so a burst of events never means a burst of DOM work.

import { applyI18n, getLang, onLangChange, savedLang, setLang, t } from "./i18n.js";
import { applyBatch, applySnapshot, createState, trackSubmitted } from "./model.js";
import { explainBlock } from "./narration.js";
import { createClockView } from "./views/clock.js";
import { createControlsView, presenterToken } from "./views/controls.js";
import { createFaultsView } from "./views/faults.js";
import { createInspectorView } from "./views/inspector.js";
import { createLogView } from "./views/log.js";
import { createNetworkView } from "./views/network.js";
import { createTeachingPanels } from "./views/teachingpanels.js";
import { createTransactionsView, fieldValue } from "./views/transactions.js";
import { createTimelineView } from "./views/timeline.js";
import { createTreeView } from "./views/tree.js";

// The views render at most this often: a little under the server's batch
// period (50 ms), so each batch is drawn at the next frame after it arrives
// and the lag from node to screen is the lag to the model plus one frame.
const RENDER_EVERY_MS = 40;
const $ = (selector) => document.querySelector(selector);
const nowS = () => Date.now() / 1000;
// A benchmark (bench/dashboard_soak.py) may set globalThis.streamletProbe to
// see when batches arrive, reach the model and reach the screen; unset, it
// costs one property read per batch.
const probe = () => globalThis.streamletProbe;

const state = createState();
const queue = [];
let selectedNode = null;
let pickedBlock = null;
let hoveredBlock = null;
// The server's reason for a picked block the page no longer holds.
let serverWhy = null;
let connected = null;
let dirty = true;
let lastRender = 0;
let waitingForSnapshot = false;

// The presenter token (if any) goes with every connection; without it the
// server treats this page as a viewer when a token is in force.
const socket = globalThis.io({ transports: ["websocket", "polling"],
                               auth: (send) => send({ token: presenterToken() }) });

/** Emit a control and resolve with its acknowledgement ({ok, ...} or {ok: false, error}). */
function control(event, payload) {
  if (!socket.connected) {
    return Promise.resolve({ ok: false, error: t("error.offline") });
  }
  return socket.timeout(15000).emitWithAck(event, payload)
    .catch(() => ({ ok: false, error: t("error.timeout") }));
}

// --- views -------------------------------------------------------------------

const network = createNetworkView($("#network"), {
  onLink: (a, b) => faults.pickLink(a, b),
  onSelect(id) {
    selectedNode = id;
    teaching.follow(id);
    dirty = true;
  },
});
const tree = createTreeView($("#tree-scroll"), $("#tree"), {
  async onPick(hash) {
    pickedBlock = hash;
    dirty = true;
    if (state.blocks.has(hash)) return;  // worded here, in the page's language
    const reply = await control("why", { block: hash });
    serverWhy = { hash, text: reply.ok ? reply.block.why : reply.error };
    dirty = true;
  },
  onHover(hash) {
    hoveredBlock = hash;
    dirty = true;
  },
  onViewChange() {
    dirty = true;  // scrolled: the epochs now in view get their details
  },
});
const clock = createClockView($("#clock"));
const inspector = createInspectorView($("#inspector"), {
  async onCrash(id) {
    const reply = await control("crash", { node: id });
    inspector.showError(reply.ok ? "" : reply.error);
  },
  async onRestart(id) {
    inspector.showError(t("insp.restarting"));
    const reply = await control("restart", { node: id });
    inspector.showError(reply.ok ? "" : reply.error);
  },
});
const transactions = createTransactionsView($("#tx-panel"), {
  async onSubmit(body) {
    const reply = await control("transaction", body);
    if (reply.ok) {
      trackSubmitted(state, reply.id, body.sender, body.receiver, body.amount);
      dirty = true;
    }
    return reply;
  },
  onRate(rate) {
    return control("tx_rate", { rate });
  },
});
const log = createLogView($("#event-log"));
const teaching = createTeachingPanels(document, {
  onPickNode(id) {
    selectedNode = id;
    dirty = true;
  },
});
const controls = createControlsView($("#controls"), {
  onClock: (action) => control("clock", { action }),
  onDelta: (delta) => control("delta", { delta }),
  onScenario: (id) => control("scenario", { id }),
  onToken() {
    socket.disconnect().connect();  // the server reads the token on connecting
  },
});
const faults = createFaultsView($("#faults-panel"), {
  onLink: (body) => control("link", body),
  onPartition: (groups) => control("partition", { groups }),
  onHeal: () => control("heal", {}),
  onAsynchrony: (on) => control("asynchrony", { on }),
});
// Time travel: every view below draws `timeline.shown(state)`, the live model
// or the one rebuilt for the moment chosen on the timeline.
const timeline = createTimelineView($("#timeline"), {
  onMove: (view) => control("view", view),
  onChange() {
    dirty = true;
  },
});

$("#show-echoes").addEventListener("change", (event) => {
  network.setShowEchoes(event.target.checked);
});

// --- cluster settings -----------------------------------------------------------

const clusterForm = $("#cluster-form");

function fillClusterForm(settings) {
  clusterForm.elements.nodes.value = settings.nodes ?? "";
  clusterForm.elements.delta.value = settings.delta ?? "";
  clusterForm.elements.leader.value = settings.leader ?? "round-robin";
  clusterForm.elements.echo.checked = Boolean(settings.echo);
}

clusterForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { leader: clusterForm.elements.leader.value,
                 echo: clusterForm.elements.echo.checked };
  for (const name of ["nodes", "delta"]) {
    const value = fieldValue(clusterForm.elements[name].value);
    if (value !== undefined) body[name] = value;
  }
  $("#cluster-error").textContent = t("cluster.starting");
  const reply = await control("cluster", body);
  $("#cluster-error").textContent = reply.ok ? "" : reply.error;
});

// --- status badges -------------------------------------------------------------

function renderBadges() {
  const safety = $("#safety");
  const s = state.safety;
  if (!state.ready) return;
  if (s.ok) {
    safety.className = "badge ok";
    safety.textContent = t("safety.ok", { height: s.final_height ?? 0 });
  } else {
    safety.className = "badge bad";
    const last = s.violations?.at(-1);
    safety.textContent = t("safety.bad", { detail: last ? last.detail : t("safety.seeLog") });
  }
  const skipped = network.notDrawn();
  $("#network-note").textContent = skipped
    ? t("network.noteSkipped", { count: skipped })
    : t("network.note");
}

/** Why the hovered (else the picked) block is, or is not yet, final. */
function renderWhy() {
  const hash = hoveredBlock ?? pickedBlock;
  const why = hash ? explainBlock(state, hash, getLang()) : null;
  let text = why ? why.text : t("tree.whyHint");
  if (why?.reason === "unknown" && serverWhy?.hash === hash) text = serverWhy.text;
  const el = $("#block-why");
  if (el.textContent !== text) el.textContent = text;  // no relayout when unchanged
}

// --- language ------------------------------------------------------------------

function renderConnection() {
  const badge = $("#connection");
  if (connected === null) {
    badge.textContent = t("conn.connecting");
    return;
  }
  badge.className = connected ? "badge ok" : "badge bad";
  badge.textContent = t(connected ? "conn.live" : "conn.lost");
}

function translatePage() {
  applyI18n(document);
  renderConnection();
  dirty = true;
}

const langPicker = $("#lang-picker");
setLang(savedLang());
langPicker.value = getLang();
langPicker.addEventListener("change", () => setLang(langPicker.value));
onLangChange(translatePage);
translatePage();

// --- the connection ------------------------------------------------------------

socket.on("connect", async () => {
  connected = true;
  renderConnection();
  const reply = await control("scenarios", {});
  if (reply.ok) controls.setScenarios(reply.scenarios);
});
socket.on("disconnect", () => {
  connected = false;
  renderConnection();
});
socket.on("snapshot", (snap) => {
  const newCluster = snap.generation !== state.generation;
  applySnapshot(state, snap, nowS());
  timeline.onSnapshot(state, snap);
  controls.setLive(snap.mode !== "replay");
  controls.showScenario(snap.scenario);
  teaching.snapshot(state);
  queue.length = 0;
  waitingForSnapshot = false;
  if (newCluster) {
    network.reset();
    tree.reset();
    fillClusterForm(snap.settings ?? {});
    transactions.setRate(snap.settings?.tx_rate ?? 0);
    if (!state.nodes.has(selectedNode)) selectedNode = null;
    pickedBlock = null;
    hoveredBlock = null;
  }
  dirty = true;
});
socket.on("role", (info) => {
  controls.setRole(info);
  timeline.setRole(info);
});
socket.on("presenter_view", (view) => timeline.onPresenterView(view));
socket.on("scenario", (info) => controls.showScenario(info));
socket.on("batch", (batch) => {
  queue.push(batch);
  probe()?.received?.(batch);
});
socket.on("error", (err) => {
  // Acknowledged controls show their own error where they were made; this
  // catches the rest.
  console.warn("server:", err && err.error);
});

// --- the frame loop ----------------------------------------------------------------

function frame(time) {
  if (queue.length && !waitingForSnapshot) {
    const now = nowS();
    for (const batch of queue.splice(0)) {
      const result = applyBatch(state, batch, now);
      if (result.needSnapshot) {
        waitingForSnapshot = true;
        socket.emit("snapshot");
        break;
      }
      dirty = dirty || result.applied;
      if (result.applied) timeline.onBatch(batch, state);
      if (result.applied) teaching.batch(state, batch);
      if (result.applied) probe()?.applied?.(batch);
    }
  }
  const shown = timeline.shown(state);
  const moment = timeline.momentT();
  if (state.ready) {
    clock.render(shown, moment == null ? nowS() : moment - shown.clockOffsetS);
  }
  if (dirty && time - lastRender >= RENDER_EVERY_MS) {
    dirty = false;
    lastRender = time;
    network.render(shown, selectedNode);
    tree.render(shown, pickedBlock);
    inspector.render(shown, selectedNode, nowS());
    transactions.render(shown);
    log.render(shown);
    controls.render(state);
    faults.render(state);
    timeline.render();
    renderBadges();
    renderWhy();
    teaching.render(state);
    probe()?.rendered?.();
  } else if (selectedNode != null && time - lastRender >= 1000) {
    inspector.render(shown, selectedNode, nowS());  // keeps the uptime ticking
    lastRender = time;
  }
  network.tick(performance.now());  // the messages in flight move at every frame
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
