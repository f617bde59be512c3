// Glossary: the protocol's words, each with a short definition, in the
// page's language.

import { GLOSSARY, t } from "../i18n.js";

const d3 = globalThis.d3;

export function createGlossaryView(listEl) {
  const list = d3.select(listEl);
  let shownLang = null;
  return {
    render(lang) {
      if (lang === shownLang) return;
      shownLang = lang;
      list.selectAll("div.term").data(GLOSSARY, (key) => key).join((enter) => {
        const div = enter.append("div").attr("class", "term")
          .attr("data-term", (key) => key);
        div.append("dt");
        div.append("dd");
        return div;
      }).call((div) => {
        div.select("dt").text((key) => t(`glossary.${key}`));
        div.select("dd").text((key) => t(`glossary.${key}.def`));
      });
    },
  };
}
