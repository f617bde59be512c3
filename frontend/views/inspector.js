// Node inspector: one node's process and protocol state, its finalized
// chain's tail, its own log, and the Crash and Restart buttons.

import { uptimeS } from "../layout.js";
import { blockName } from "../model.js";

const d3 = globalThis.d3;

function duration(seconds) {
  if (seconds == null) return "down";
  if (seconds < 60) return `${seconds.toFixed(0)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.floor(seconds % 60)} s`;
}

export function createInspectorView(root, { onCrash, onRestart }) {
  const title = root.querySelector("#insp-title");
  const hint = root.querySelector("#insp-hint");
  const fields = d3.select(root.querySelector("#insp-fields"));
  const tail = d3.select(root.querySelector("#insp-tail"));
  const log = d3.select(root.querySelector("#insp-log"));
  const crash = root.querySelector("#btn-crash");
  const restart = root.querySelector("#btn-restart");
  const error = root.querySelector("#insp-error");
  let current = null;

  crash.addEventListener("click", () => current != null && onCrash(current));
  restart.addEventListener("click", () => current != null && onRestart(current));

  return {
    showError(text) {
      error.textContent = text;
    },
    render(state, selected, nowS) {
      const node = state.nodes.get(selected);
      if (current !== selected) error.textContent = "";
      current = node ? selected : null;
      hint.hidden = Boolean(node);
      crash.disabled = !node || node.status !== "running";
      restart.disabled = !node || node.status !== "crashed";
      if (!node) {
        title.textContent = "Node inspector";
        fields.selectAll("*").remove();
        return;
      }
      title.textContent = `Node n${node.id}`;
      const vote = node.lastVote
        ? `${blockName(state, node.lastVote.block)} in epoch ${node.lastVote.epoch}` : "none yet";
      const rows = [
        ["status", node.status],
        ["pid", node.pid ?? "–"],
        ["port", node.port ?? "–"],
        ["uptime", duration(uptimeS(state, node, nowS))],
        ["restarts", node.restarts],
        ["epoch", node.epoch],
        ["finalized height", node.finalizedHeight],
        ["pending txs", node.pending],
        ["last vote", vote],
      ];
      if (node.stats) rows.push(["messages", `${node.stats.sent} sent, ${node.stats.received} received`]);
      // A dt/dd pair per row, keyed by the row's name.
      const pairs = fields.selectAll("div.row").data(rows, (r) => r[0]).join((enter) => {
        const div = enter.append("div").attr("class", "row").style("display", "contents");
        div.append("dt").text((r) => r[0]);
        div.append("dd");
        return div;
      });
      pairs.select("dd").text((r) => String(r[1]));

      tail.selectAll("li").data(node.tail.slice(-8), (h) => h).join("li")
        .text((h) => blockName(state, h));
      log.selectAll("li").data(node.log.slice(-14), (line) => line.id).join(
        (enter) => enter.append("li").attr("class", (line) => `ev-${line.type}`).text((line) => line.text),
      );
    },
  };
}
