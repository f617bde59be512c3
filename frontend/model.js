// The dashboard's state, built from the server's snapshot and event batches.
//
// DOM-free on purpose: the views read this state and render it, and
// `node --test` checks it without a browser (tests/web/js/). Everything here is
// bounded: old blocks, transactions, log lines and message traces are dropped.

import { describe, describeForNode } from "./describe.js";

export const STATUS_RANK = { pending: 0, proposed: 1, notarized: 2, finalized: 3 };

export const LIMITS = {
  blockEpochs: 80,   // blocks kept: the tree shows 60 epochs, a margin for forks
  txs: 500,
  log: 200,
  nodeLog: 40,
  tail: 12,
  messages: 600,
  messageAgeS: 4,
  finalizations: 20,
  logged: 4000,
};

export function quorum(n) {
  return Math.floor(n / 2) + 1;
}

export function createState() {
  return {
    ready: false,
    seq: 0,
    generation: 0,
    n: 0,
    quorum: 0,
    genesisHash: "",
    genesis: null,
    epochSeconds: 1,
    paused: false,
    pausedEpoch: 0,
    faults: { links: [], groups: [] },
    settings: {},
    epoch: 0,
    leader: 0,
    clock: { epoch: 0, leader: 0, leaders: {}, t: 0 },
    offsets: [],
    clockOffsetS: 0,
    nodes: new Map(),
    blocks: new Map(),
    txs: new Map(),
    log: [],
    logSeq: 0,
    logged: new Set(),
    messages: new Map(),
    messageSeq: 0,
    droppedMessages: 0,
    finalizations: [],
    safety: { ok: true, violations: [], violation_count: 0 },
    lastT: 0,
  };
}

function nodeFrom(raw) {
  return {
    id: raw.id,
    status: raw.status ?? "starting",
    pid: raw.pid ?? null,
    port: raw.port ?? null,
    restarts: raw.restarts ?? 0,
    startedAt: raw.started_at ?? null,
    epoch: raw.epoch ?? 0,
    finalizedHeight: raw.finalized_height ?? 0,
    tail: [...(raw.tail ?? [])],
    lastVote: raw.last_vote ?? null,
    pending: raw.pending ?? 0,
    stats: null,
    log: [],
  };
}

function blockFrom(raw) {
  return {
    hash: raw.hash,
    parent: raw.parent ?? null,
    epoch: raw.epoch ?? null,
    height: raw.height ?? null,
    proposer: raw.proposer ?? null,
    txs: [...(raw.txs ?? [])],
    txCount: raw.tx_count ?? (raw.txs ?? []).length,
    known: raw.known ?? true,
    voters: new Set(raw.voters ?? []),
    notarizedBy: new Set(raw.notarized_by ?? []),
    finalizedBy: new Set(raw.finalized_by ?? []),
    justification: raw.justification ?? null,
  };
}

// --- snapshot ---------------------------------------------------------------

/** Replace the whole state with a server snapshot; `nowS` is the local clock. */
export function applySnapshot(state, snap, nowS) {
  const fresh = createState();
  Object.assign(state, fresh);
  state.ready = true;
  state.seq = snap.seq;
  state.generation = snap.generation;
  state.n = snap.n;
  state.quorum = snap.quorum ?? quorum(snap.n);
  state.genesisHash = snap.genesis_hash;
  state.genesis = snap.genesis;
  state.epochSeconds = snap.epoch_seconds || 1;
  state.paused = Boolean(snap.paused);
  state.faults = snap.faults ?? state.faults;
  state.pausedEpoch = snap.paused ? snap.clock?.epoch ?? 0 : 0;
  state.settings = snap.settings ?? {};
  state.epoch = snap.epoch;
  state.leader = snap.leader;
  state.safety = snap.safety ?? state.safety;
  if (snap.clock) setClock(state, snap.clock, snap.t, nowS);

  for (const raw of snap.nodes ?? []) state.nodes.set(raw.id, nodeFrom(raw));
  for (const raw of snap.blocks ?? []) state.blocks.set(raw.hash, blockFrom(raw));
  for (const raw of snap.txs ?? []) state.txs.set(raw.id, txFrom(raw));

  // Log lines are rebuilt from the recent events, without applying them again.
  for (const ev of snap.events ?? []) logEvent(state, ev);
  for (const [id, events] of Object.entries(snap.node_events ?? {})) {
    const node = state.nodes.get(Number(id));
    if (!node) continue;
    for (const ev of events) nodeLog(state, node, ev);
  }
  return state;
}

function setClock(state, clock, serverT, nowS) {
  state.clock = clock;
  if (clock.epoch > state.epoch) {
    state.epoch = clock.epoch;
    state.leader = clock.leader;
  }
  if (typeof serverT === "number" && typeof nowS === "number") {
    // Server minus local time, seen through a delay: the largest sample of the
    // last few is the one least shortened by that delay.
    state.offsets.push(serverT - nowS);
    if (state.offsets.length > 20) state.offsets.shift();
    state.clockOffsetS = Math.max(...state.offsets);
  }
}

// --- batches ----------------------------------------------------------------

/**
 * Apply one batch. Returns {applied, needSnapshot}: a batch from another
 * cluster or after a gap in the sequence means the page must ask for a new
 * snapshot; a batch the snapshot already covers is skipped.
 */
export function applyBatch(state, batch, nowS) {
  if (!state.ready) return { applied: false, needSnapshot: false };
  if (batch.generation !== state.generation) {
    return { applied: false, needSnapshot: batch.generation > state.generation };
  }
  if (batch.seq <= state.seq) return { applied: false, needSnapshot: false };
  if (batch.seq !== state.seq + 1) return { applied: false, needSnapshot: true };

  state.seq = batch.seq;
  state.lastT = batch.t ?? state.lastT;
  for (const ev of batch.events ?? []) applyEvent(state, ev);
  for (const ev of batch.messages ?? []) applyMessage(state, ev);
  state.droppedMessages += batch.dropped_messages ?? 0;
  if (batch.pending) {
    for (const [id, count] of Object.entries(batch.pending)) {
      const node = state.nodes.get(Number(id));
      if (node) node.pending = count;
    }
  }
  if (batch.clock) setClock(state, batch.clock, batch.t, nowS);
  if (batch.safety) state.safety = batch.safety;
  pruneMessages(state);
  return { applied: true, needSnapshot: false };
}

/** Fold one protocol or cluster event into the state. */
export function applyEvent(state, ev) {
  const node = state.nodes.get(ev.node);
  const handler = HANDLERS[ev.type];
  // The log line is worded before the event changes the state, so "first
  // time" checks (first notarization of a block, say) still see the past.
  logEvent(state, ev);
  if (handler) handler(state, ev, node);
  if (node) nodeLog(state, node, ev);
}

const HANDLERS = {
  epoch(state, ev, node) {
    if (node) node.epoch = Math.max(node.epoch, ev.epoch);
    if (ev.epoch > state.epoch) {
      state.epoch = ev.epoch;
      state.leader = ev.leader;
      pruneBlocks(state);
    }
  },
  propose(state, ev) {
    addBlock(state, ev.block);
  },
  block(state, ev) {
    addBlock(state, ev.block);
  },
  vote(state, ev, node) {
    const block = placeholder(state, ev.block, ev.epoch);
    if (node) {
      block.voters.add(node.id);
      node.lastVote = { epoch: ev.epoch, block: ev.block, height: ev.height };
    }
  },
  notarize(state, ev, node) {
    const block = placeholder(state, ev.block, ev.block_epoch);
    for (const voter of ev.voters ?? []) block.voters.add(voter);
    if (node) block.notarizedBy.add(node.id);
    for (const id of block.txs) txProgress(state, id, "notarized", block);
  },
  finalize(state, ev, node) {
    const fresh = [];
    for (const summary of ev.blocks ?? []) {
      const block = addBlock(state, summary);
      if (block.finalizedBy.size === 0) fresh.push(block.hash);
      if (!block.justification) block.justification = ev.justification ?? null;
      if (node) {
        block.finalizedBy.add(node.id);
        if (summary.height > node.finalizedHeight) {
          node.tail.push(summary.hash);
          if (node.tail.length > LIMITS.tail) node.tail.shift();
          node.finalizedHeight = summary.height;
        }
      }
      for (const id of block.txs) txProgress(state, id, "finalized", block);
    }
    if (node) node.finalizedHeight = Math.max(node.finalizedHeight, ev.height ?? 0);
    if (fresh.length) {
      state.finalizations.push({
        id: `${ev.justification?.[1] ?? fresh[fresh.length - 1]}`,
        blocks: fresh,
        justification: ev.justification ?? [],
        t: ev.t,
      });
      if (state.finalizations.length > LIMITS.finalizations) {
        state.finalizations.shift();
      }
    }
  },
  tx(state, ev) {
    const tx = ensureTx(state, ev.tx);
    tx.sender ??= ev.sender;
    tx.receiver ??= ev.receiver;
    tx.amount ??= ev.amount;
  },
  tx_submitted(state, ev) {
    const tx = ensureTx(state, ev.tx);
    Object.assign(tx, { sender: ev.sender, receiver: ev.receiver,
                        amount: ev.amount, via: ev.via });
  },
  started(state, ev, node) {
    if (!node) return;
    node.pid = ev.pid ?? node.pid;
    node.port = ev.port ?? node.port;
    node.finalizedHeight = Math.max(node.finalizedHeight, ev.finalized_height ?? 0);
  },
  caught_up(state, ev, node) {
    if (node) node.finalizedHeight = Math.max(node.finalizedHeight,
                                              ev.finalized_height ?? 0);
  },
  synced(state, ev, node) {
    HANDLERS.caught_up(state, ev, node);
  },
  node_status(state, ev, node) {
    if (!node) return;
    if (ev.status === "running" && node.status !== "running") node.startedAt = ev.t;
    node.status = ev.status;
    node.pid = ev.pid ?? node.pid;
    node.port = ev.port ?? node.port;
    node.restarts = ev.restarts ?? node.restarts;
  },
  stats(state, ev, node) {
    if (node) node.stats = { sent: ev.sent, received: ev.received };
  },
  cluster(state, ev) {
    state.genesis = ev.genesis ?? state.genesis;
    state.epochSeconds = ev.epoch_seconds ?? state.epochSeconds;
  },
  faults(state, ev) {
    state.faults = { links: ev.links ?? [], groups: ev.groups ?? [],
                     asynchrony: Boolean(ev.asynchrony) };
  },
  clock(state, ev) {
    // Pause, step, resume and a new Δ all move genesis or the epoch length.
    state.genesis = ev.genesis ?? state.genesis;
    state.epochSeconds = ev.epoch_seconds ?? state.epochSeconds;
    state.paused = Boolean(ev.paused);
    if (state.paused) state.pausedEpoch = ev.epoch;
  },
  safety_violation(state, ev) {
    state.safety = {
      ...state.safety,
      ok: false,
      violation_count: (state.safety.violation_count ?? 0) + 1,
      violations: [...(state.safety.violations ?? []),
                   { node: ev.node, detail: ev.detail, block: ev.block }],
    };
  },
};

// --- blocks ------------------------------------------------------------------

function placeholder(state, hash, epoch) {
  let block = state.blocks.get(hash);
  if (!block) {
    block = blockFrom({ hash, epoch: epoch ?? null, known: false });
    state.blocks.set(hash, block);
  }
  if (block.epoch == null && epoch != null) block.epoch = epoch;
  return block;
}

function addBlock(state, summary) {
  const block = placeholder(state, summary.hash, summary.epoch);
  if (block.known) return block;
  Object.assign(block, {
    parent: summary.parent, epoch: summary.epoch, height: summary.height,
    proposer: summary.proposer, txs: [...(summary.txs ?? [])],
    txCount: (summary.txs ?? []).length, known: true,
  });
  let status = "proposed";
  if (block.notarizedBy.size) status = "notarized";
  if (block.finalizedBy.size) status = "finalized";
  for (const id of block.txs) txProgress(state, id, status, block);
  return block;
}

function pruneBlocks(state) {
  const low = state.epoch - LIMITS.blockEpochs;
  for (const [hash, block] of state.blocks) {
    if ((block.epoch ?? 0) < low) state.blocks.delete(hash);
  }
}

/** Is the block notarized (by any node, or with a quorum of votes seen)? */
export function isNotarized(state, block) {
  return block.notarizedBy.size > 0 || block.voters.size >= state.quorum;
}

export function isFinalized(block) {
  return block.finalizedBy.size > 0;
}

export function blockName(state, hash) {
  if (!hash) return "?";
  if (hash === state.genesisHash) return "genesis";
  const block = state.blocks.get(hash);
  if (block && block.epoch != null) return `b${block.epoch}`;
  return `block ${hash.slice(0, 6)}`;
}

// --- transactions ----------------------------------------------------------

function txFrom(raw) {
  return {
    id: raw.id, sender: raw.sender ?? null, receiver: raw.receiver ?? null,
    amount: raw.amount ?? null, status: raw.status ?? "pending",
    block: raw.block ?? null, epoch: raw.epoch ?? null, via: raw.via ?? null,
  };
}

function ensureTx(state, id) {
  let tx = state.txs.get(id);
  if (!tx) {
    tx = txFrom({ id });
    state.txs.set(id, tx);
    if (state.txs.size > LIMITS.txs) {
      state.txs.delete(state.txs.keys().next().value);
    }
  }
  return tx;
}

function txProgress(state, id, status, block) {
  const tx = ensureTx(state, id);
  if (STATUS_RANK[status] <= STATUS_RANK[tx.status]) return;
  tx.status = status;
  tx.block = block.hash;
  tx.epoch = block.epoch;
}

/** Record a transaction this page submitted, before any node reports it. */
export function trackSubmitted(state, id, sender, receiver, amount) {
  const tx = ensureTx(state, id);
  Object.assign(tx, { sender, receiver, amount });
  tx.mine = true;
  return tx;
}

// --- message traces ----------------------------------------------------------

function messageKey(msg, from, to) {
  return `${msg}|${from}|${to}`;
}

/** A "send" or "deliver" trace: one message on one link. */
export function applyMessage(state, ev) {
  if (ev.type === "send") {
    const key = messageKey(ev.msg, ev.node, ev.to);
    const known = state.messages.get(key);
    state.messages.set(key, {
      ...(known ?? {}),
      key, seq: known?.seq ?? ++state.messageSeq, msg: ev.msg, kind: ev.kind,
      from: ev.node, to: ev.to, echo: Boolean(ev.echo), sentT: ev.t,
      delayMs: ev.delay_ms ?? 0, dropped: Boolean(ev.dropped),
      deliverT: known?.deliverT ?? null,
    });
  } else if (ev.type === "deliver") {
    const key = messageKey(ev.msg, ev.via, ev.node);
    const known = state.messages.get(key);
    if (known) {
      known.deliverT = ev.t;
    } else {
      state.messages.set(key, {
        key, seq: ++state.messageSeq, msg: ev.msg, kind: ev.kind, from: ev.via,
        to: ev.node, echo: Boolean(ev.echo), sentT: ev.sent_t ?? ev.t,
        delayMs: 0, dropped: false, deliverT: ev.t,
      });
    }
  }
}

function pruneMessages(state) {
  const old = state.lastT - LIMITS.messageAgeS;
  for (const [key, m] of state.messages) {
    if ((m.deliverT ?? m.sentT) < old) state.messages.delete(key);
  }
  while (state.messages.size > LIMITS.messages) {
    state.messages.delete(state.messages.keys().next().value);
  }
}

/** How long the page shows a message in flight, in ms: its real travel time
 * (send to deliver), stretched by a floor so a 1 ms hop is still visible. */
export function travelMs(message, floorMs = 450) {
  const real = message.deliverT != null && message.sentT != null
    ? (message.deliverT - message.sentT) * 1000
    : message.delayMs;
  return floorMs + Math.max(0, Math.min(real, 5000));
}

// --- logs --------------------------------------------------------------------

function once(state, key) {
  if (state.logged.has(key)) return false;
  state.logged.add(key);
  if (state.logged.size > LIMITS.logged) {
    state.logged.delete(state.logged.values().next().value);
  }
  return true;
}

function logEvent(state, ev) {
  const text = describe(ev, state, (key) => once(state, key));
  if (!text) return;
  state.log.push({ id: ++state.logSeq, t: ev.t, type: ev.type, node: ev.node, text });
  if (state.log.length > LIMITS.log) state.log.shift();
}

function nodeLog(state, node, ev) {
  const text = describeForNode(ev, state);
  if (!text) return;
  node.log.push({ id: ++state.logSeq, t: ev.t, type: ev.type, text });
  if (node.log.length > LIMITS.nodeLog) node.log.shift();
}

/**
 * Links the network faults affect, for drawing: a partition cuts every link
 * between nodes of different groups (a node in no group is cut off from all),
 * and a link with injected delay or loss is "slow" or "lossy".
 */
export function faultyLinks(state) {
  const out = new Map();
  const ids = [...state.nodes.keys()].sort((a, b) => a - b);
  const groups = state.faults?.groups ?? [];
  if (groups.length) {
    const groupOf = new Map();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, i)));
    for (const a of ids) {
      for (const b of ids) {
        if (a < b && (groupOf.get(a) ?? -1 - a) !== (groupOf.get(b) ?? -1 - b)) {
          out.set(`${a}-${b}`, { key: `${a}-${b}`, a, b, kind: "cut" });
        }
      }
    }
  }
  for (const link of state.faults?.links ?? []) {
    const [a, b] = [Math.min(link.from, link.to), Math.max(link.from, link.to)];
    const key = `${a}-${b}`;
    if (out.has(key)) continue;
    const kind = link.loss ? "lossy" : link.delay_ms ? "slow" : null;
    if (kind) out.set(key, { key, a, b, kind });
  }
  return [...out.values()];
}
