// Block tree view: every block of the last 60 epochs, placed by epoch (x) and
// fork lane (y). Proposed blocks are dashed, notarized ones light blue,
// finalized ones solid dark blue; a row of ticks tells which nodes have
// notarized (light) or finalized (dark) each block. A new finalization rings
// its three consecutive-epoch blocks in orange for a few seconds. A pending
// block shows a quorum meter (its votes out of the more than n/2 needed), and
// hovering a block says why it is, or is not yet, final (narration.js).

import { getLang, t } from "../i18n.js";
import { layoutTree } from "../layout.js";
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

function justificationText(state, f) {
  const [first, middle, third] = f.justification.map((h) => state.blocks.get(h)?.epoch);
  return t("tree.justification", { first, middle, third });
}

export function createTreeView(scrollEl, svgEl, { onPick, onHover }) {
  const svg = d3.select(svgEl);
  const follower = createFollower(scrollEl, "x");
  const content = svg.append("g").attr("class", "content");
  const gTicks = content.append("g").attr("class", "ticks");
  const gEdges = content.append("g").attr("class", "edges");
  const gBlocks = content.append("g").attr("class", "blocks");
  const gJust = content.append("g").attr("class", "justifications");
  const firstFinal = new Map();  // hash -> performance.now() when first seen final

  // Positions are absolute by epoch; the content group slides left as the
  // window moves, so blocks never move sideways on their own.
  const x = (epoch) => LEFT + (epoch - 1) * COL;
  const y = (lane) => TOP + lane * LANE;

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
    gEdges.selectAll("path.edge").data(layout.edges, (e) => e.key).join(
      (enter) => enter.append("path").attr("class", "edge").attr("d", path)
        .style("opacity", 0).call((p) => p.transition().duration(400).style("opacity", 1)),
      (update) => update.call(setAttr, "d", path),
      (exit) => exit.remove(),
    ).each(function (e) {
      const child = state.blocks.get(e.child);
      d3.select(this)
        .call(setClass, "notarized", Boolean(child) && isNotarized(state, child))
        .call(setClass, "finalized", Boolean(child) && isFinalized(child));
    });
  }

  function renderBlocks(layout, state, picked) {
    const now = performance.now();
    const ids = [...state.nodes.keys()].sort((a, b) => a - b);
    const tickW = (BW - 12) / Math.max(1, ids.length);
    const at = (p) => `translate(${x(p.block.epoch)},${y(p.lane)})`;

    const join = gBlocks.selectAll("g.block").data(layout.placed, (p) => p.block.hash).join(
      (enter) => {
        const g = enter.append("g")
          .attr("class", "block")
          .attr("data-block-hash", (p) => p.block.hash)
          .attr("tabindex", 0)
          .attr("role", "button")
          .attr("transform", at)
          .style("opacity", 0)
          .on("click", (event, p) => onPick(p.block.hash))
          .on("mouseenter focus", (event, p) => onHover?.(p.block.hash))
          .on("mouseleave blur", () => onHover?.(null))
          .on("keydown", (event, p) => {
            if (event.key === "Enter" || event.key === " ") onPick(p.block.hash);
          });
        g.append("rect").attr("class", "box").attr("width", BW).attr("height", BH).attr("rx", 8);
        const meter = g.append("g").attr("class", "meter").attr("transform", "translate(6,3)");
        meter.append("rect").attr("class", "meter-bg").attr("width", BW - 12).attr("height", 5);
        meter.append("rect").attr("class", "meter-fill").attr("height", 5);
        g.append("text").attr("class", "name").attr("x", 7).attr("y", 22);
        g.append("text").attr("class", "meta").attr("x", 7).attr("y", 41);
        g.append("text").attr("class", "votes").attr("x", 7).attr("y", 58);
        g.append("g").attr("class", "node-ticks").attr("transform", `translate(6,${BH - 13})`);
        g.append("title");
        g.transition("fade").duration(400).style("opacity", 1);
        return g;
      },
      (update) => update,
      (exit) => exit.transition("fade").duration(300).style("opacity", 0).remove(),
    );
    // A block changes lane when a fork overtakes its branch: slide it there.
    join.each(function (p) {
      const target = at(p);
      if (this.slideTarget === undefined) this.slideTarget = target;
      if (this.slideTarget !== target) {
        this.slideTarget = target;
        d3.select(this).transition("move").duration(400).attr("transform", target);
      }
    });

    join.each(function (p) {
      const b = p.block;
      const final = isFinalized(b);
      if (final && !firstFinal.has(b.hash)) firstFinal.set(b.hash, now);
      const g = d3.select(this)
        .call(setClass, "notarized", isNotarized(state, b))
        .call(setClass, "finalized", final)
        .call(setClass, "fresh", final && now - firstFinal.get(b.hash) < 1600)
        .call(setClass, "picked", b.hash === picked);
      g.select("text.name").call(setText, `b${b.epoch}`);
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
      g.select("g.node-ticks").selectAll("rect.tick").data(ids, (id) => id).join(
        (enter) => enter.append("rect").attr("class", "tick").attr("height", 7),
      )
        .call(setAttr, "x", (id, i) => i * tickW)
        .call(setAttr, "width", Math.max(2, tickW - 1.5))
        .call(setClass, "notarized-here", (id) => b.notarizedBy.has(id))
        .call(setClass, "final-here", (id) => b.finalizedBy.has(id));
    });
    for (const hash of firstFinal.keys()) {
      if (!state.blocks.has(hash)) firstFinal.delete(hash);
    }
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
    gJust.selectAll("g.just").data(recent, (f) => f.id).join(
      (enter) => {
        const g = enter.append("g").attr("class", "just").style("opacity", 0);
        g.append("rect").attr("class", "justification").attr("rx", 12);
        g.append("text").attr("class", "justification-label")
          .text((f) => justificationText(state, f));
        g.transition().duration(300).style("opacity", 1)
          .transition().delay((HIGHLIGHT_S - 1) * 1000).duration(700).style("opacity", 0);
        return g;
      },
      (update) => update,
      (exit) => exit.remove(),
    ).each(function (f) {
      const b = box(f);
      const g = d3.select(this);
      g.select("rect").attr("x", b.x0).attr("y", b.y0)
        .attr("width", b.x1 - b.x0).attr("height", b.y1 - b.y0);
      g.select("text").attr("x", b.x0 + 4).attr("y", b.y1 + 16);
    });
  }

  return {
    render(state, picked) {
      const layout = layoutTree(state, WINDOW_EPOCHS);
      const epochs = layout.maxEpoch - layout.minEpoch + 1;
      const width = LEFT * 2 + Math.max(epochs, 8) * COL;
      const height = TOP + layout.laneCount * LANE + 24;
      svg.attr("width", width).attr("height", height);
      content.attr("transform", `translate(${-(layout.minEpoch - 1) * COL},0)`);
      renderTicks(layout, state);
      renderEdges(layout, state);
      renderBlocks(layout, state, picked);
      renderJustifications(layout, state);
      // Follow the newest epoch unless the viewer scrolled back to look.
      follower.contentChanged();
    },
    reset() {
      firstFinal.clear();
    },
  };
}
