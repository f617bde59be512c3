// Geometry and time for the views, computed from the model without any DOM.

import { isFinalized, isNotarized } from "./model.js";

/**
 * Lay the block tree out by epoch (x) and fork lane (y).
 *
 * Only blocks of the last `windowEpochs` epochs are placed, so the page's DOM
 * stays bounded however long the run. Depth-first from the oldest visible
 * blocks, the "best" child keeps its parent's lane (finalized first, then
 * notarized, then the one whose branch reaches the latest epoch), and every
 * other child opens a fork in the lowest lane that is free from its epoch on.
 */
export function layoutTree(state, windowEpochs = 60) {
  let maxEpoch = state.epoch;
  for (const b of state.blocks.values()) {
    if (b.epoch != null && b.epoch > maxEpoch) maxEpoch = b.epoch;
  }
  const minEpoch = Math.max(1, maxEpoch - windowEpochs + 1);
  const visible = [...state.blocks.values()]
    .filter((b) => b.known && b.epoch >= minEpoch)
    .sort((a, b) => a.epoch - b.epoch || (a.hash < b.hash ? -1 : 1));

  const byHash = new Map(visible.map((b) => [b.hash, b]));
  const children = new Map();
  const roots = [];
  for (const b of visible) {
    if (byHash.has(b.parent)) {
      if (!children.has(b.parent)) children.set(b.parent, []);
      children.get(b.parent).push(b);
    } else {
      roots.push(b);
    }
  }

  // The latest epoch each block's branch reaches, children before parents.
  const reach = new Map();
  for (let i = visible.length - 1; i >= 0; i--) {
    const b = visible[i];
    let r = b.epoch;
    for (const c of children.get(b.hash) ?? []) r = Math.max(r, reach.get(c.hash));
    reach.set(b.hash, r);
  }
  const rank = (b) => [isFinalized(b) ? 0 : 1, isNotarized(state, b) ? 0 : 1,
                       -reach.get(b.hash), b.epoch];
  const better = (a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
    return a.hash < b.hash ? -1 : 1;
  };
  roots.sort(better);
  for (const list of children.values()) list.sort(better);

  const laneEnd = [];
  const freeLane = (epoch) => {
    let lane = 0;
    while (laneEnd[lane] !== undefined && laneEnd[lane] >= epoch) lane++;
    return lane;
  };
  const placed = [];
  const lanes = new Map();
  // An explicit stack instead of recursion: a long chain is one deep branch.
  const stack = roots.map((b) => [b, null]).reverse();
  while (stack.length) {
    const [block, inherited] = stack.pop();
    const lane = inherited ?? freeLane(block.epoch);
    lanes.set(block.hash, lane);
    laneEnd[lane] = Math.max(laneEnd[lane] ?? -1, block.epoch);
    placed.push({ block, lane });
    const kids = children.get(block.hash) ?? [];
    // Pushed in reverse so the best child is laid out (and takes the lane) first.
    for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], i === 0 ? lane : null]);
  }

  const edges = [];
  for (const { block } of placed) {
    if (lanes.has(block.parent)) {
      edges.push({ key: block.hash, parent: block.parent, child: block.hash,
                   fromEpoch: byHash.get(block.parent).epoch,
                   fromLane: lanes.get(block.parent),
                   toEpoch: block.epoch, toLane: lanes.get(block.hash) });
    }
  }
  return { minEpoch, maxEpoch, laneCount: Math.max(1, laneEnd.length), placed, edges,
           lanes };
}

/** The leader of `epoch`, from the server's look-ahead or the round-robin rule. */
export function leaderOf(state, epoch) {
  const ahead = state.clock?.leaders?.[epoch] ?? state.clock?.leaders?.[String(epoch)];
  if (ahead != null) return ahead;
  if (epoch === state.epoch && state.leader) return state.leader;
  if (state.settings?.leader === "round-robin" && state.n) return ((epoch - 1) % state.n) + 1;
  return null;
}

/**
 * The epoch clock at local time `nowS` (seconds): epoch e runs from
 * genesis + (e-1)·2Δ to genesis + e·2Δ, as every node computes it.
 */
export function epochClock(state, nowS) {
  if (state.paused) {
    const epoch = state.pausedEpoch;
    return { epoch, leader: leaderOf(state, epoch), leftS: null, fraction: 0, paused: true };
  }
  if (state.genesis == null) return { epoch: 0, leader: null, leftS: null, fraction: 0 };
  const elapsed = nowS + state.clockOffsetS - state.genesis;
  if (elapsed < 0) {
    return { epoch: 0, leader: leaderOf(state, 1), leftS: -elapsed, fraction: 0 };
  }
  const length = state.epochSeconds;
  const epoch = Math.floor(elapsed / length) + 1;
  const into = elapsed - (epoch - 1) * length;
  return { epoch, leader: leaderOf(state, epoch), leftS: length - into,
           fraction: into / length };
}

/** Seconds a node has been up at local time `nowS`, or null when it is down. */
export function uptimeS(state, node, nowS) {
  if (node.status !== "running" || node.startedAt == null) return null;
  return Math.max(0, nowS + state.clockOffsetS - node.startedAt);
}

/** Position of node `index` (0-based) of `n` on a ring, the first at the top. */
export function ringPosition(index, n, cx, cy, radius) {
  const angle = -Math.PI / 2 + (2 * Math.PI * index) / n;
  return { x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle) };
}

/**
 * The epochs of the tree worth drawing in full: those of the columns a
 * scrolled panel shows, plus `marginEpochs` on each side, within the
 * window [minEpoch, maxEpoch]. Column e starts at leftPx + (e - minEpoch) ·
 * colPx; the panel shows [scrollLeftPx, scrollLeftPx + viewWidthPx). With the
 * panel's width not yet known (0), every epoch of the window counts as shown.
 */
export function epochsInView({ minEpoch, maxEpoch, scrollLeftPx, viewWidthPx, colPx,
                               leftPx = 0, marginEpochs = 0 }) {
  if (!(viewWidthPx > 0)) return { from: minEpoch, to: maxEpoch };
  const first = minEpoch + Math.floor((scrollLeftPx - leftPx) / colPx) - marginEpochs;
  const last = minEpoch + Math.ceil((scrollLeftPx + viewWidthPx - leftPx) / colPx)
    + marginEpochs;
  const from = Math.min(maxEpoch, Math.max(minEpoch, first));
  return { from, to: Math.max(from, Math.min(maxEpoch, last)) };
}

/**
 * Where a message dot starts and stops on the ring: from node a towards node
 * b, moved `offsetPx` sideways so a→b and b→a do not overlap; a dropped
 * message stops halfway.
 */
export function messageTrip(a, b, dropped, offsetPx = 7) {
  const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
  const ox = ((b.y - a.y) / len) * offsetPx;
  const oy = ((a.x - b.x) / len) * offsetPx;
  const start = { x: a.x + ox, y: a.y + oy };
  const end = dropped ? { x: (a.x + b.x) / 2 + ox, y: (a.y + b.y) / 2 + oy }
    : { x: b.x + ox, y: b.y + oy };
  return { start, end };
}

/**
 * Where a message dot is `elapsedMs` into a trip of `travelMs` (from
 * messageTrip): it moves at an even pace from start to end; a dropped one
 * reaches its stop in half the time, then stays there as a lost mark that
 * fades, `fade` going from 0 to 1 over the other half.
 */
export function dotAt(trip, elapsedMs, travelMs, dropped) {
  const moveMs = dropped ? travelMs / 2 : travelMs;
  const k = moveMs > 0 ? Math.min(1, Math.max(0, elapsedMs / moveMs)) : 1;
  const { start, end } = trip;
  const dot = { x: start.x + (end.x - start.x) * k, y: start.y + (end.y - start.y) * k,
                lost: false, fade: 0 };
  if (dropped && elapsedMs >= moveMs) {
    dot.lost = true;
    dot.fade = Math.min(1, (elapsedMs - moveMs) / Math.max(1, travelMs - moveMs));
  }
  return dot;
}
