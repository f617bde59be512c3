// Block tree view: every block of the last 60 epochs, placed by epoch (x) and
// fork lane (y). Proposed blocks are dashed, notarized ones light blue,
// finalized ones solid dark blue; a row of ticks tells which nodes have
// notarized (light) or finalized (dark) each block. A new finalization rings
// its three consecutive-epoch blocks in orange for a few seconds. A pending
// block shows a quorum meter (its votes out of the more than n/2 needed), and
// hovering a block says why it is, or is not yet, final (narration.js).
//
// Drawing costs were measured with bench/dashboard_render.py (numbers in
// docs/PERFORMANCE.md), and three habits keep them down:
// - every block of the window is in the page (its box, name and state), but
//   only the epochs in view, plus a margin, carry the details (counts, ticks,
//   the "why" title); scrolling brings them in at the next render;
// - blocks are placed with x/y on their parts, not a transform per group: a
//   transform is a paint property node of its own, and a thousand of them made
//   every frame's paint and layerization dear;
// - what fades or flashes does so with CSS opacity animations, which the
//   compositor runs without repainting the tree at every frame.

import { getLang, t } from "../i18n.js";
import { epochsInView, layoutTree } from "../layout.js";
import { isFinalized, isNotarized } from "../model.js";
import { explainBlock } from "../narration.js";
import { setAttr, setClass, setText } from "./dom.js";
import { createFollower } from "./follow.js";

const d3 = globalThis.d3;
const WINDOW_EPOCHS = 60;
const COL = 102;       // px per epoch
const LANE = 104;      // px per fork lane
const BW = 82;         // block width
const BH = 78;         // block height
const TOP = 34;
const LEFT = 14;
const HIGHLIGHT_S = 3; // how long a justification stays ringed
const FRESH_MS = 1600; // how long a newly final block flashes
const MARGIN_EPOCHS = 4; // drawn in full beyond each side of the view

function justificationText(state, f) {
  const [first, middle, third] = f.justification.map((h) => state.blocks.get(h)?.epoch);
  return t("tree.justification", { first, middle, third });
}

/** Put a block's parts at (x0, y0): its group has no transform of its own. */
function place(g, x0, y0, tickW) {
  g.select("rect.box").call(setAttr, "x", x0).call(setAttr, "y", y0);
  g.selectAll("rect.meter-bg, rect.meter-fill")
    .call(setAttr, "x", x0 + 6).call(setAttr, "y", y0 + 3);
  g.select("text.name").call(setAttr, "x", x0 + 7).call(setAttr, "y", y0 + 22);
  g.select("text.meta").call(setAttr, "x", x0 + 7).call(setAttr, "y", y0 + 41);
  g.select("text.votes").call(setAttr, "x", x0 + 7).call(setAttr, "y", y0 + 58);
  g.selectAll("rect.tick").call(setAttr, "x", (id, i) => x0 + 6 + i * tickW)
    .call(setAttr, "y", y0 + BH - 13);
}

export function createTreeView(scrollEl, svgEl, { onPick, onHover, onViewChange }) {
  const svg = d3.select(svgEl);
  const follower = createFollower(scrollEl, "x");
  const content = svg.append("g").attr("class", "content");
  const gTicks = content.append("g").attr("class", "ticks");
  const gEdges = content.append("g").attr("class", "edges");
  const gBlocks = content.append("g").attr("class", "blocks");
  const gFlash = content.append("g").attr("class", "flashes");
  const gJust = content.append("g").attr("class", "justifications");
  const firstFinal = new Map();  // hash -> performance.now() when first seen final
  // The panel's scroll and width, kept from its own events: reading them
  // during a render would force a layout of the page (see follow.js).
  const view = { scrollLeftPx: scrollEl.scrollLeft, viewWidthPx: scrollEl.clientWidth };
  let span = { minEpoch: 1, maxEpoch: 1, contentPx: 0 };  // the window's epochs, its width
  let drawn = null;  // the epochs drawn in full at the last render

  // Positions are absolute by epoch; the content group slides left as the
  // window moves, so blocks never move sideways on their own.
  const x = (epoch) => LEFT + (epoch - 1) * COL;
  const y = (lane) => TOP + lane * LANE;

  function inView() {
    // While following the newest epoch the panel is (or is about to be)
    // scrolled to the end of the content, whatever the last scroll event said.
    const end = Math.max(0, span.contentPx - view.viewWidthPx);
    return epochsInView({ ...span, ...view, colPx: COL, leftPx: LEFT,
                          marginEpochs: MARGIN_EPOCHS,
                          scrollLeftPx: follower.isFollowing() ? end : view.scrollLeftPx });
  }

  function viewMoved() {
    const range = inView();
    if (drawn && (range.from !== drawn.from || range.to !== drawn.to)) onViewChange?.();
  }
  scrollEl.addEventListener("scroll", () => {
    view.scrollLeftPx = scrollEl.scrollLeft;
    viewMoved();
  }, { passive: true });
  new ResizeObserver((entries) => {
    view.viewWidthPx = entries[entries.length - 1].contentRect.width;
    viewMoved();
  }).observe(scrollEl);

  function renderTicks(layout, state) {
    const epochs = d3.range(layout.minEpoch, layout.maxEpoch + 1);
    gTicks.selectAll("text.epoch-tick").data(epochs, (e) => e).join(
      (enter) => enter.append("text").attr("class", "epoch-tick")
        .attr("x", (e) => x(e) + BW / 2).attr("y", 20).text((e) => `e${e}`),
    ).call(setClass, "now", (e) => e === state.epoch);
  }

  function renderEdges(layout, state) {
    const path = (e) => {
      const x0 = x(e.fromEpoch) + BW;
      const y0 = y(e.fromLane) + BH / 2;
      const x1 = x(e.toEpoch);
      const y1 = y(e.toLane) + BH / 2;
      const mid = (x0 + x1) / 2;
      return `M${x0},${y0}C${mid},${y0} ${mid},${y1} ${x1},${y1}`;
    };
    // A new edge fades in by the CSS animation of path.edge.
    gEdges.selectAll("path.edge").data(layout.edges, (e) => e.key).join(
      (enter) => enter.append("path").attr("class", "edge"),
    ).call(setAttr, "d", path).each(function (e) {
      const child = state.blocks.get(e.child);
      d3.select(this)
        .call(setClass, "notarized", Boolean(child) && isNotarized(state, child))
        .call(setClass, "finalized", Boolean(child) && isFinalized(child));
    });
  }

  // The counts, the quorum meter, the ticks and the title of a block in view.
  function renderDetails(g, b, state, ids, tickW) {
    g.select("text.meta").call(setText, `n${b.proposer} · ${b.txCount} tx`);
    const votes = b.voters.size;
    // Progress towards the quorum (more than n/2), then a tick once reached.
    const params = { votes, quorum: state.quorum };
    g.select("text.votes").call(setText, t(votes < state.quorum ? "tree.votes"
      : "tree.votesDone", params));
    g.select("rect.meter-fill").call(setAttr, "width",
                                     (BW - 12) * Math.min(1, votes / Math.max(1, state.quorum)));
    g.select("g.meter").call(setAttr, "aria-label", t("tree.meterAria", params));
    g.select("title").call(setText, explainBlock(state, b.hash, getLang()).text);
    const ticks = g.select("g.node-ticks").selectAll("rect.tick").data(ids, (id) => id);
    const added = !ticks.enter().empty() || !ticks.exit().empty();
    ticks.join((enter) => enter.append("rect").attr("class", "tick").attr("height", 7))
      .call(setAttr, "width", Math.max(2, tickW - 1.5))
      .call(setClass, "notarized-here", (id) => b.notarizedBy.has(id))
      .call(setClass, "final-here", (id) => b.finalizedBy.has(id));
    return added;
  }

  function dropDetails(g) {
    g.selectAll("text.meta, text.votes, title").call(setText, "");
    g.select("g.node-ticks").selectAll("rect.tick").remove();
  }

  function renderBlocks(layout, state, picked, range) {
    const now = performance.now();
    const ids = [...state.nodes.keys()].sort((a, b) => a - b);
    const tickW = (BW - 12) / Math.max(1, ids.length);

    // A new block fades in by the CSS animation of #tree .block; one leaving
    // the window is already out of view, and goes at once.
    const join = gBlocks.selectAll("g.block").data(layout.placed, (p) => p.block.hash).join(
      (enter) => {
        const g = enter.append("g")
          .attr("class", "block")
          .attr("data-block-hash", (p) => p.block.hash)
          .attr("tabindex", 0)
          .attr("role", "button")
          .on("click", (event, p) => onPick(p.block.hash))
          .on("mouseenter focus", (event, p) => onHover?.(p.block.hash))
          .on("mouseleave blur", () => onHover?.(null))
          .on("keydown", (event, p) => {
            if (event.key === "Enter" || event.key === " ") onPick(p.block.hash);
          });
        g.append("rect").attr("class", "box").attr("width", BW).attr("height", BH).attr("rx", 8);
        const meter = g.append("g").attr("class", "meter");
        meter.append("rect").attr("class", "meter-bg").attr("width", BW - 12).attr("height", 5);
        meter.append("rect").attr("class", "meter-fill").attr("height", 5);
        g.append("text").attr("class", "name");
        g.append("text").attr("class", "meta");
        g.append("text").attr("class", "votes");
        g.append("g").attr("class", "node-ticks");
        g.append("title");
        return g;
      },
    );

    join.each(function (p) {
      const b = p.block;
      const final = isFinalized(b);
      if (final && !firstFinal.has(b.hash)) firstFinal.set(b.hash, now);
      const g = d3.select(this)
        .call(setClass, "notarized", isNotarized(state, b))
        .call(setClass, "finalized", final)
        .call(setClass, "fresh", final && now - firstFinal.get(b.hash) < FRESH_MS)
        .call(setClass, "picked", b.hash === picked);
      g.select("text.name").call(setText, `b${b.epoch}`);

      let moved = false;
      if (b.epoch >= range.from && b.epoch <= range.to) {
        moved = renderDetails(g, b, state, ids, tickW);
        this.detailed = true;
      } else if (this.detailed) {
        dropDetails(g);
        this.detailed = false;
      }

      // A block changes lane when a fork overtakes its branch: slide it there.
      const to = { x: x(b.epoch), y: y(p.lane), tickW };
      const from = this.at;
      this.at = to;
      if (from && from.y !== to.y) {
        const lane = d3.interpolateNumber(from.y, to.y);
        g.transition("move").duration(400)
          .tween("place", () => (k) => place(g, to.x, lane(k), to.tickW));
      } else if (moved || !from || from.x !== to.x || from.tickW !== to.tickW) {
        place(g, to.x, to.y, tickW);
      }
    });
    for (const hash of firstFinal.keys()) {
      if (!state.blocks.has(hash)) firstFinal.delete(hash);
    }
    return join;
  }

  // A newly final block flashes in orange: a ring over it that the
  // compositor fades out (CSS), instead of a stroke animated at every frame.
  function renderFlashes(layout, now) {
    const fresh = layout.placed.filter((p) => {
      const since = firstFinal.get(p.block.hash);
      return since !== undefined && now - since < FRESH_MS;
    });
    gFlash.selectAll("rect.flash").data(fresh, (p) => p.block.hash).join(
      (enter) => enter.append("rect").attr("class", "flash").attr("rx", 8)
        .attr("width", BW).attr("height", BH),
    ).call(setAttr, "x", (p) => x(p.block.epoch)).call(setAttr, "y", (p) => y(p.lane));
  }

  function renderJustifications(layout, state) {
    const serverNow = Date.now() / 1000 + state.clockOffsetS;
    const where = new Map(layout.placed.map((p) => [p.block.hash, p]));
    // Only the newest finalization is ringed: with short epochs several would
    // overlap and none could be read.
    const recent = state.finalizations.slice(-1).filter((f) => serverNow - f.t < HIGHLIGHT_S
      && f.justification.length === 3 && f.justification.every((h) => where.has(h)));
    const box = (f) => {
      const ps = f.justification.map((h) => where.get(h));
      const x0 = Math.min(...ps.map((p) => x(p.block.epoch))) - 6;
      const x1 = Math.max(...ps.map((p) => x(p.block.epoch))) + BW + 6;
      const y0 = Math.min(...ps.map((p) => y(p.lane))) - 6;
      const y1 = Math.max(...ps.map((p) => y(p.lane))) + BH + 6;
      return { x0, x1, y0, y1 };
    };
    // The ring fades in and out by the CSS animation of g.just.
    gJust.selectAll("g.just").data(recent, (f) => f.id).join(
      (enter) => {
        const g = enter.append("g").attr("class", "just");
        g.append("rect").attr("class", "justification").attr("rx", 12);
        g.append("text").attr("class", "justification-label")
          .text((f) => justificationText(state, f));
        return g;
      },
    ).each(function (f) {
      const b = box(f);
      const g = d3.select(this);
      g.select("rect").call(setAttr, "x", b.x0).call(setAttr, "y", b.y0)
        .call(setAttr, "width", b.x1 - b.x0).call(setAttr, "height", b.y1 - b.y0);
      g.select("text").call(setAttr, "x", b.x0 + 4).call(setAttr, "y", b.y1 + 16);
    });
  }

  return {
    render(state, picked) {
      const layout = layoutTree(state, WINDOW_EPOCHS);
      const epochs = layout.maxEpoch - layout.minEpoch + 1;
      const width = LEFT * 2 + Math.max(epochs, 8) * COL;
      const height = TOP + layout.laneCount * LANE + 24;
      svg.call(setAttr, "width", width).call(setAttr, "height", height);
      content.call(setAttr, "transform", `translate(${-(layout.minEpoch - 1) * COL},0)`);
      span = { minEpoch: layout.minEpoch, maxEpoch: layout.maxEpoch, contentPx: width };
      drawn = inView();
      renderTicks(layout, state);
      renderEdges(layout, state);
      renderBlocks(layout, state, picked, drawn);
      renderFlashes(layout, performance.now());
      renderJustifications(layout, state);
      // Follow the newest epoch unless the viewer scrolled back to look.
      follower.contentChanged();
    },
    reset() {
      firstFinal.clear();
    },
  };
}
