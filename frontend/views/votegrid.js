// Vote grid: a row per node, a column per recent epoch. A filled green cell
// is a vote for that epoch's block, an orange cell with a bar a vote the rule
// refused (why, on hover), a grey crossed cell a node that was down, an empty
// one no vote (often: no proposal reached the node). The leader of each
// epoch is written above its column.

import { t } from "../i18n.js";
import { voteGrid } from "../teaching.js";
import { setAttr, setClass, setText } from "./dom.js";

const d3 = globalThis.d3;
const EPOCHS = 30;
const CELL = 17;     // px per cell, gap included
const LEFT = 34;     // room for the node labels
const TOP = 26;      // room for the leaders
const BOTTOM = 18;   // room for the epoch labels

function cellTitle(state, c) {
  const params = { node: c.node, epoch: c.epoch };
  if (c.kind === "voted") {
    const block = state.blocks.get(c.block);
    return t("votegrid.cellVoted", { ...params, block: block?.epoch != null
      ? `b${block.epoch}` : String(c.block).slice(0, 6) });
  }
  if (c.kind === "skipped") return t("votegrid.cellSkipped", { ...params, reason: c.reason });
  if (c.kind === "crashed") return t("votegrid.cellCrashed", params);
  return t(c.proposed ? "votegrid.cellNone" : "votegrid.cellNoBlock", params);
}

export function createVoteGridView(svgEl) {
  const svg = d3.select(svgEl);
  const gRows = svg.append("g").attr("class", "row-labels");
  // Columns and cells are placed by epoch with x/y, not a transform each (a
  // transform per cell made every frame's paint dearer: docs/PERFORMANCE.md);
  // one transform on the group slides the grid as the epochs go by.
  const gCols = svg.append("g").attr("class", "columns");
  const colX = (epoch) => LEFT + (epoch - 1) * CELL;

  return {
    render(state, tk) {
      const grid = voteGrid(tk, state, EPOCHS);
      const first = grid.columns[0]?.epoch ?? 1;
      const rowY = new Map(grid.nodes.map((id, i) => [id, TOP + i * CELL]));
      const height = TOP + grid.nodes.length * CELL + BOTTOM;
      svg.call(setAttr, "viewBox", `0 0 ${LEFT + EPOCHS * CELL + 14} ${height}`);

      gRows.selectAll("text.node-label").data(grid.nodes, (id) => id).join("text")
        .call(setAttr, "class", "node-label").call(setAttr, "x", LEFT - 6)
        .call(setAttr, "y", (id) => rowY.get(id) + CELL / 2)
        .call(setText, (id) => `n${id}`);

      gCols.call(setAttr, "transform", `translate(${-(first - 1) * CELL},0)`);
      const cols = gCols.selectAll("g.col").data(grid.columns, (c) => c.epoch).join(
        (enter) => {
          const g = enter.append("g").attr("class", "col").attr("data-epoch", (c) => c.epoch);
          const mid = (c) => colX(c.epoch) + CELL / 2 - 1;
          g.append("text").attr("class", "leader").attr("x", mid).attr("y", TOP - 8);
          g.append("text").attr("class", "epoch").attr("x", mid);
          g.append("title");
          return g;
        },
      )
        .call(setClass, "now", (c) => c.epoch === state.epoch);
      cols.select("text.leader").call(setText, (c) => (c.leader ? String(c.leader) : ""));
      cols.select("text.epoch").call(setAttr, "y", height - 4)
        .call(setText, (c) => (c.epoch % 5 === 0 ? `e${c.epoch}` : ""));
      cols.select("title").call(setText, (c) => t("votegrid.column",
        { epoch: c.epoch, leader: c.leader ?? "?" }));

      cols.each(function (col) {
        const x0 = colX(col.epoch);
        const cells = col.cells.map((c) => ({ ...c, proposed: col.proposed }));
        const join = d3.select(this).selectAll("g.cell").data(cells, (c) => c.node).join(
          (enter) => {
            const g = enter.append("g").attr("class", "cell");
            g.append("rect").attr("width", CELL - 3).attr("height", CELL - 3).attr("rx", 2);
            g.append("path").attr("class", "mark");
            g.append("title");
            return g;
          },
        )
          .call(setAttr, "data-node", (c) => c.node)
          .call(setAttr, "data-kind", (c) => c.kind);
        join.select("rect").call(setAttr, "class", (c) => `cell ${c.kind}`)
          .call(setAttr, "data-node", (c) => c.node)
          .call(setAttr, "x", x0).call(setAttr, "y", (c) => rowY.get(c.node));
        join.select("path.mark").call(setAttr, "d", (c) => {
          const m = CELL - 3;
          const [l, tp] = [x0 + 3, rowY.get(c.node) + 3];
          const [r, bt] = [x0 + m - 3, rowY.get(c.node) + m - 3];
          if (c.kind === "crashed") return `M${l},${tp}L${r},${bt}M${r},${tp}L${l},${bt}`;
          if (c.kind === "skipped") return `M${l},${(tp + bt) / 2}L${r},${(tp + bt) / 2}`;
          return "";
        });
        join.select("title").call(setText, (c) => cellTitle(state, c));
      });
    },
  };
}
