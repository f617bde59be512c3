// Node inspector: one node's process and protocol state, its finalized
// chain's tail, its own log, and the Crash and Restart buttons.

import { getLang, t } from "../i18n.js";
import { uptimeS } from "../layout.js";
import { translateLog } from "../logtext.js";
import { blockName } from "../model.js";

const d3 = globalThis.d3;

function duration(seconds) {
  if (seconds == null) return t("insp.down");
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
        title.textContent = t("insp.title");
        fields.selectAll("*").remove();
        return;
      }
      title.textContent = t("insp.node", { id: node.id });
      const vote = node.lastVote
        ? t("insp.voteIn", { block: blockName(state, node.lastVote.block),
                             epoch: node.lastVote.epoch })
        : t("insp.noneYet");
      const rows = [
        [t("insp.row.status"), t(`status.${node.status}`)],
        [t("insp.row.pid"), node.pid ?? "–"],
        [t("insp.row.port"), node.port ?? "–"],
        [t("insp.row.uptime"), duration(uptimeS(state, node, nowS))],
        [t("insp.row.restarts"), node.restarts],
        [t("insp.row.epoch"), node.epoch],
        [t("insp.row.finalizedHeight"), node.finalizedHeight],
        [t("insp.row.pendingTxs"), node.pending],
        [t("insp.row.lastVote"), vote],
      ];
      if (node.stats) {
        rows.push([t("insp.row.messages"), t("insp.messagesValue", node.stats)]);
      }
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
      const words = (line) => translateLog(line.text, getLang());
      log.selectAll("li").data(node.log.slice(-14), (line) => line.id).join(
        (enter) => enter.append("li").attr("class", (line) => `ev-${line.type}`),
      ).text(words);
    },
  };
}
