// One node's own block tree, beside the merged one: only the blocks that node
// holds, light blue where it has seen them notarized, dark blue where it has
// finalized them, dotted when it keeps a block aside because its parent is
// unknown; a green dot marks the blocks it voted for. Pick the node in the
// panel's menu, or click it on the ring.

import { t } from "../i18n.js";
import { layoutTree } from "../layout.js";
import { nodeTreeState } from "../teaching.js";
import { setAttr, setClass, setText } from "./dom.js";
import { createFollower } from "./follow.js";

const d3 = globalThis.d3;
const WINDOW_EPOCHS = 30;
const COL = 52;
const LANE = 40;
const BW = 42;
const BH = 30;
const TOP = 22;
const LEFT = 8;

function status(b) {
  if (b.orphan) return t("nodetree.orphan");
  if (b.finalizedBy.size) return t("nodetree.final");
  if (b.notarizedBy.size) return t("nodetree.notarized");
  return t("nodetree.held");
}

export function createNodeTreeView(root, { onPick }) {
  const picker = root.querySelector("#nodetree-node");
  const scrollEl = root.querySelector("#nodetree-scroll");
  const follower = createFollower(scrollEl, "x");
  const summary = root.querySelector("#nodetree-summary");
  const svg = d3.select(root.querySelector("#nodetree"));
  const content = svg.append("g").attr("class", "content");
  const gTicks = content.append("g").attr("class", "ticks");
  const gEdges = content.append("g").attr("class", "edges");
  const gBlocks = content.append("g").attr("class", "blocks");
  let chosen = null;
  let options = "";

  const x = (epoch) => LEFT + (epoch - 1) * COL;
  const y = (lane) => TOP + lane * LANE;

  picker.addEventListener("change", () => {
    chosen = Number(picker.value);
    onPick?.(chosen);
  });

  function fillPicker(state) {
    const ids = [...state.nodes.keys()].sort((a, b) => a - b);
    const key = ids.join(",");
    if (key === options) return;
    options = key;
    picker.replaceChildren(...ids.map((id) => {
      const option = document.createElement("option");
      option.value = String(id);
      option.textContent = `n${id}`;
      return option;
    }));
    if (!ids.includes(chosen)) chosen = ids[0] ?? null;
    if (chosen != null) picker.value = String(chosen);
  }

  function renderTree(layout) {
    const epochs = d3.range(layout.minEpoch, layout.maxEpoch + 1);
    gTicks.selectAll("text.epoch-tick").data(epochs, (e) => e).join(
      (enter) => enter.append("text").attr("class", "epoch-tick")
        .attr("x", (e) => x(e) + BW / 2).attr("y", 14).text((e) => `e${e}`),
    ).style("display", (e) => (e % 2 === 0 ? null : "none"));

    const path = d3.linkHorizontal()
      .source((e) => [x(e.fromEpoch) + BW, y(e.fromLane) + BH / 2])
      .target((e) => [x(e.toEpoch), y(e.toLane) + BH / 2]);
    gEdges.selectAll("path.edge").data(layout.edges, (e) => e.key).join("path")
      .call(setAttr, "class", "edge").call(setAttr, "d", path);

    const join = gBlocks.selectAll("g.block").data(layout.placed, (p) => p.block.hash).join(
      (enter) => {
        const g = enter.append("g").attr("class", "block small");
        g.append("rect").attr("class", "box").attr("width", BW).attr("height", BH)
          .attr("rx", 6);
        g.append("text").attr("class", "name");
        g.append("circle").attr("class", "voted-dot").attr("r", 4);
        g.append("title");
        return g;
      },
    )
      .call(setAttr, "data-block-hash", (p) => p.block.hash);
    // Placed with x/y on the parts rather than a transform per block, which
    // is a paint property node of its own (docs/PERFORMANCE.md).
    join.select("rect.box").call(setAttr, "x", (p) => x(p.block.epoch))
      .call(setAttr, "y", (p) => y(p.lane));
    join.select("text.name").call(setAttr, "x", (p) => x(p.block.epoch) + 5)
      .call(setAttr, "y", (p) => y(p.lane) + 20);
    join.select("circle.voted-dot").call(setAttr, "cx", (p) => x(p.block.epoch) + BW - 6)
      .call(setAttr, "cy", (p) => y(p.lane) + 7);
    join.call(setClass, "notarized", (p) => p.block.notarizedBy.size > 0)
      .call(setClass, "finalized", (p) => p.block.finalizedBy.size > 0)
      .call(setClass, "orphan", (p) => p.block.orphan)
      .call(setClass, "voted", (p) => p.block.voted);
    join.select("text.name").call(setText, (p) => `b${p.block.epoch}`);
    join.select("title").call(setText, (p) => `b${p.block.epoch}: ${status(p.block)}`
      + (p.block.voted ? `, ${t("nodetree.voted")}` : ""));
  }

  return {
    /** Follow the node picked on the ring. */
    follow(id) {
      if (id == null || id === chosen) return;
      chosen = id;
      if (picker.querySelector(`option[value="${id}"]`)) picker.value = String(id);
    },
    render(state, tk) {
      fillPicker(state);
      if (chosen == null) {
        summary.textContent = t("nodetree.none");
        return;
      }
      const layout = layoutTree(nodeTreeState(tk, state, chosen), WINDOW_EPOCHS);
      const shown = layout.placed.map((p) => p.block);
      const width = LEFT * 2 + Math.max(layout.maxEpoch - layout.minEpoch + 1, 8) * COL;
      svg.call(setAttr, "width", width)
        .call(setAttr, "height", TOP + layout.laneCount * LANE + 6);
      content.call(setAttr, "transform", `translate(${-(layout.minEpoch - 1) * COL},0)`);
      renderTree(layout);
      follower.contentChanged();

      const node = state.nodes.get(chosen);
      const count = (test) => shown.filter(test).length;
      const aside = count((b) => b.orphan);
      const orphans = aside ? t("nodetree.orphans", { count: aside }) : "";
      let text = t("nodetree.summary", { node: chosen, held: shown.length,
        epochs: WINDOW_EPOCHS, notarized: count((b) => b.notarizedBy.size > 0),
        final: count((b) => b.finalizedBy.size > 0), orphans });
      if (node && node.status !== "running") text += ` ${t("nodetree.down", { node: chosen })}`;
      if (summary.textContent !== text) summary.textContent = text;
    },
    reset() {
      options = "";
    },
  };
}
