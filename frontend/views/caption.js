// Caption line: what just happened and which rule made it happen, with the
// few captions before it. The narrator (narration.js) picks the caption;
// this view words it in the page's language, as text only.

import { t } from "../i18n.js";
import { captionText, ruleName } from "../narration.js";

const d3 = globalThis.d3;
const HISTORY_SHOWN = 4;

export function createCaptionView(root) {
  const now = root.querySelector("#caption-now");
  const tag = root.querySelector("#caption-rule");
  const text = root.querySelector("#caption-text");
  const history = d3.select(root.querySelector("#caption-history"));
  let shown = null;
  let shownLang = null;
  let shownHistory = -1;

  return {
    /** Show `current` (a narrator entry or null) and the ones before it. */
    render(current, past, lang) {
      if (current === shown && lang === shownLang && past.length === shownHistory) return;
      shown = current;
      shownLang = lang;
      shownHistory = past.length;
      if (!current) {
        now.removeAttribute("data-rule");
        tag.textContent = "";
        text.textContent = t("caption.waiting");
      } else {
        now.dataset.rule = current.rule;
        tag.textContent = ruleName(current.rule, lang);
        text.textContent = captionText(current, lang);
      }
      history.selectAll("li").data(past.slice(0, HISTORY_SHOWN), (e) => e.key).join(
        (enter) => {
          const li = enter.append("li");
          li.append("span").attr("class", "rule-tag small");
          li.append("span").attr("class", "what");
          return li;
        },
      )
        .attr("data-rule", (e) => e.rule)
        .call((li) => {
          li.select(".rule-tag").text((e) => ruleName(e.rule, lang));
          li.select(".what").text((e) => ` ${captionText(e, lang)}`);
        })
        .order();
    },
  };
}
