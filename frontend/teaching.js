// What the teaching views need beyond the model: who voted in which epoch
// and who was down, which node holds which block, and the series of the live
// charts. Folded from the same snapshot and batches as the model.
//
// DOM-free and bounded: the last `gridEpochs` epochs of the vote grid, the
// last `latencyBlocks` finalized blocks, `seconds` seconds of throughput and
// `messagePoints` message-rate samples. Known shortcoming: a page that
// connects mid-run learns votes only from the snapshot's blocks (who voted
// for each), not who declined or who was down in past epochs, and which node
// holds a block from its votes, notarizations and finalizations only; from
// then on each event tells it exactly.

export const TEACHING_LIMITS = {
  gridEpochs: 40,
  latencyBlocks: 60,
  seconds: 60,
  messagePoints: 90,
};

export function createTeaching() {
  return {
    grid: new Map(),      // epoch -> {leader, votes, skipped, crashed}
    down: new Set(),      // nodes down now (crashed or restarting)
    filledTo: 0,          // the last epoch down nodes were marked in
    held: new Map(),      // block hash -> Map(node -> "held" | "orphan")
    finalSeen: new Set(), // blocks already counted as final
    latency: [],          // {hash, epoch, latency} per finalized block
    finalTxs: new Map(),  // server second -> transactions finalized in it
    lastT: 0,
    sent: new Map(),      // node -> {sent, t}: its last cumulative counter
    rates: new Map(),     // node -> messages per second
    messages: [],         // {t, perEpoch}
  };
}

function column(tk, epoch) {
  let col = tk.grid.get(epoch);
  if (!col) {
    col = { leader: null, votes: new Map(), skipped: new Map(), crashed: new Set() };
    tk.grid.set(epoch, col);
  }
  return col;
}

function hold(tk, hash, node, how = "held") {
  if (!hash || node == null) return;
  let holders = tk.held.get(hash);
  if (!holders) {
    holders = new Map();
    tk.held.set(hash, holders);
  }
  // An orphan that is later attached is held; never the other way round.
  if (how === "held" || !holders.has(node)) holders.set(node, how);
}

/** Mark the nodes that are down as crashed in every epoch up to `epoch`. */
function fillDown(tk, epoch) {
  if (epoch <= tk.filledTo) return;
  const from = Math.max(tk.filledTo + 1, epoch - TEACHING_LIMITS.gridEpochs);
  for (let e = from; e <= epoch; e++) {
    for (const node of tk.down) column(tk, e).crashed.add(node);
  }
  tk.filledTo = epoch;
}

function prune(tk, state) {
  const low = state.epoch - TEACHING_LIMITS.gridEpochs;
  for (const epoch of tk.grid.keys()) if (epoch < low) tk.grid.delete(epoch);
  for (const hash of tk.held.keys()) if (!state.blocks.has(hash)) tk.held.delete(hash);
  for (const hash of tk.finalSeen) if (!state.blocks.has(hash)) tk.finalSeen.delete(hash);
  const oldest = tk.lastT - TEACHING_LIMITS.seconds;
  for (const second of tk.finalTxs.keys()) if (second < oldest) tk.finalTxs.delete(second);
}

/** Start again from a snapshot the model has just applied. */
export function seedTeaching(tk, state) {
  Object.assign(tk, createTeaching());
  for (const block of state.blocks.values()) {
    if (!block.known) continue;
    const holders = new Set([...block.voters, ...block.notarizedBy, ...block.finalizedBy]);
    if (block.proposer != null) holders.add(block.proposer);
    for (const node of holders) hold(tk, block.hash, node);
    if (block.epoch != null && block.epoch > state.epoch - TEACHING_LIMITS.gridEpochs) {
      const col = column(tk, block.epoch);
      col.leader = block.proposer;
      for (const voter of block.voters) col.votes.set(voter, block.hash);
    }
    if (block.finalizedBy.size) tk.finalSeen.add(block.hash);
  }
  for (const node of state.nodes.values()) {
    if (node.status !== "running") tk.down.add(node.id);
  }
  tk.filledTo = state.epoch - 1;
  fillDown(tk, state.epoch);
  tk.lastT = state.clock?.t ?? 0;
  return tk;
}

const FOLD = {
  epoch(tk, ev) {
    column(tk, ev.epoch).leader = ev.leader;
    fillDown(tk, ev.epoch);
  },
  propose(tk, ev) {
    hold(tk, ev.block?.hash, ev.node);
  },
  block(tk, ev) {
    hold(tk, ev.block?.hash, ev.node);
  },
  orphan(tk, ev) {
    hold(tk, ev.block, ev.node, "orphan");
  },
  vote(tk, ev) {
    hold(tk, ev.block, ev.node);
    column(tk, ev.epoch).votes.set(ev.node, ev.block);
  },
  vote_skipped(tk, ev) {
    column(tk, ev.epoch).skipped.set(ev.node, String(ev.reason ?? ""));
  },
  notarize(tk, ev) {
    // block_epoch is null when the votes came before the body: not held yet.
    if (ev.block_epoch != null) hold(tk, ev.block, ev.node);
  },
  finalize(tk, ev) {
    for (const summary of ev.blocks ?? []) {
      hold(tk, summary.hash, ev.node);
      if (tk.finalSeen.has(summary.hash)) continue;
      tk.finalSeen.add(summary.hash);
      // Latency in epochs: the epoch the first node finalized it in, minus
      // the block's own epoch (the good case of PROTOCOL.md: about two).
      if (ev.epoch != null && summary.epoch != null) {
        tk.latency.push({ hash: summary.hash, epoch: summary.epoch,
                          latency: ev.epoch - summary.epoch });
      }
      const txs = (summary.txs ?? []).length;
      if (txs && ev.t != null) {
        const second = Math.floor(ev.t);
        tk.finalTxs.set(second, (tk.finalTxs.get(second) ?? 0) + txs);
      }
    }
    tk.latency.sort((a, b) => a.epoch - b.epoch);
    if (tk.latency.length > TEACHING_LIMITS.latencyBlocks) {
      tk.latency.splice(0, tk.latency.length - TEACHING_LIMITS.latencyBlocks);
    }
  },
  node_status(tk, ev) {
    if (ev.status === "running") {
      tk.down.delete(ev.node);
      return;
    }
    tk.down.add(ev.node);
    tk.rates.delete(ev.node);
    tk.sent.delete(ev.node);
    if (ev.status === "crashed" && ev.epoch != null) column(tk, ev.epoch).crashed.add(ev.node);
  },
  stats(tk, ev) {
    const before = tk.sent.get(ev.node);
    tk.sent.set(ev.node, { sent: ev.sent, t: ev.t });
    // A restarted node counts from zero again: that sample gives no rate.
    if (!before || ev.sent < before.sent || !(ev.t > before.t)) return;
    tk.rates.set(ev.node, (ev.sent - before.sent) / (ev.t - before.t));
  },
};

/** Fold one batch the model has just applied (`state` is after it). */
export function observeTeaching(tk, state, batch) {
  let stats = false;
  for (const ev of batch.events ?? []) {
    const fold = FOLD[ev.type];
    if (fold) fold(tk, ev);
    if (ev.type === "stats") stats = true;
    if (typeof ev.t === "number" && ev.t > tk.lastT) tk.lastT = ev.t;
  }
  if (typeof batch.t === "number" && batch.t > tk.lastT) tk.lastT = batch.t;
  fillDown(tk, state.epoch);
  if (stats && tk.rates.size) {
    let perSecond = 0;
    for (const rate of tk.rates.values()) perSecond += rate;
    tk.messages.push({ t: tk.lastT, perEpoch: perSecond * state.epochSeconds });
    if (tk.messages.length > TEACHING_LIMITS.messagePoints) tk.messages.shift();
  }
  prune(tk, state);
}

// --- what the views draw -----------------------------------------------------------

/**
 * The vote grid: a column per epoch (the last `epochs` up to the current
 * one), a row per node; each cell "voted", "skipped" (the vote rule said
 * no), "crashed" or "none".
 */
export function voteGrid(tk, state, epochs = 30) {
  const last = Math.max(state.epoch, 0);
  const first = Math.max(1, last - epochs + 1);
  const proposed = new Set();
  for (const block of state.blocks.values()) if (block.known) proposed.add(block.epoch);
  const nodes = [...state.nodes.keys()].sort((a, b) => a - b);
  const columns = [];
  for (let epoch = first; epoch <= last; epoch++) {
    const col = tk.grid.get(epoch);
    const cells = nodes.map((node) => {
      let kind = "none";
      if (col?.votes.has(node)) kind = "voted";
      else if (col?.skipped.has(node)) kind = "skipped";
      else if (col?.crashed.has(node)) kind = "crashed";
      return { node, epoch, kind, block: col?.votes.get(node) ?? null,
               reason: col?.skipped.get(node) ?? null };
    });
    columns.push({ epoch, leader: col?.leader ?? null, proposed: proposed.has(epoch),
                   cells });
  }
  return { nodes, columns };
}

/**
 * The block tree as node `id` knows it, shaped like the model's state so
 * that layout.js can lay it out: only the blocks it holds, notarized and
 * finalized as that node saw them. `orphan` marks a block it keeps aside
 * because its parent is unknown; `voted` one it voted for.
 */
export function nodeTreeState(tk, state, id) {
  const blocks = new Map();
  for (const [hash, holders] of tk.held) {
    const how = holders.get(id);
    const block = state.blocks.get(hash);
    if (!how || !block || !block.known) continue;
    blocks.set(hash, {
      ...block,
      voters: new Set(),
      notarizedBy: new Set(block.notarizedBy.has(id) ? [id] : []),
      finalizedBy: new Set(block.finalizedBy.has(id) ? [id] : []),
      orphan: how === "orphan",
      voted: block.voters.has(id),
    });
  }
  // The node's own epoch: a crashed node's tree ends where it stopped.
  const epoch = state.nodes.get(id)?.epoch || state.epoch;
  return { epoch, quorum: state.quorum, genesisHash: state.genesisHash, blocks,
           nodes: state.nodes };
}

/**
 * Transactions finalized in each of the last `seconds` whole seconds (server
 * time); the second still running is left out, it would read low.
 */
export function finalizedPerSecond(tk, seconds = TEACHING_LIMITS.seconds) {
  const last = Math.floor(tk.lastT) - 1;
  const out = [];
  if (!last) return out;
  for (let s = last - seconds + 1; s <= last; s++) {
    out.push({ t: s, txs: tk.finalTxs.get(s) ?? 0 });
  }
  return out;
}

/** Messages per epoch without echo (n² − 1) and with it (n³ − n), PROTOCOL.md. */
export function messageBounds(n) {
  return { noEcho: n * n - 1, echo: n * n * n - n };
}
