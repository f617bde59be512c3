// Event log: the cluster's story in readable lines, newest at the bottom.

import { getLang } from "../i18n.js";
import { translateLog } from "../logtext.js";
import { createFollower } from "./follow.js";

const d3 = globalThis.d3;
const SHOWN = 80;

export function createLogView(listEl) {
  const list = d3.select(listEl);
  const follower = createFollower(listEl, "y", { slackPx: 30 });
  let shownLang = getLang();
  return {
    render(state) {
      const lang = getLang();
      const words = (line) => translateLog(line.text, lang);
      const lines = list.selectAll("li").data(state.log.slice(-SHOWN), (line) => line.id).join(
        (enter) => enter.append("li")
          .attr("class", (line) => `ev-${line.type}`)
          .text(words),
        (update) => update,
        (exit) => exit.remove(),
      );
      if (lang !== shownLang) lines.text(words);
      shownLang = lang;
      follower.contentChanged();
    },
  };
}
