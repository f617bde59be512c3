// The teaching panels together: the caption line, one node's own tree, the
// vote grid, the live charts and the glossary. One tracker (teaching.js) and
// one narrator (narration.js) are fed the same snapshot and batches as the
// model, right after the model has applied them. The caption is drawn with
// every render; the grid, the node's tree and the charts at most every
// SLOW_MS (or at once after a language or node change), which is plenty for a
// reader and keeps their DOM work off most frames.

import { getLang } from "../i18n.js";
import { contextOf, createNarrator } from "../narration.js";
import { createTeaching, observeTeaching, seedTeaching } from "../teaching.js";
import { createCaptionView } from "./caption.js";
import { createChartsView } from "./charts.js";
import { createGlossaryView } from "./glossary.js";
import { createNodeTreeView } from "./nodetree.js";
import { createVoteGridView } from "./votegrid.js";

const SLOW_MS = 400;

export function createTeachingPanels(doc, { onPickNode } = {}) {
  const tk = createTeaching();
  let slowAt = -Infinity;
  let slowLang = null;
  const narrator = createNarrator();
  const caption = createCaptionView(doc.querySelector("#caption"));
  const nodeTree = createNodeTreeView(doc.querySelector("#nodetree-panel"), {
    onPick(id) {
      slowAt = -Infinity;
      onPickNode?.(id);
    },
  });
  const grid = createVoteGridView(doc.querySelector("#votegrid"));
  const charts = createChartsView(doc.querySelector("#charts-panel"));
  const glossary = createGlossaryView(doc.querySelector("#glossary"));

  return {
    /** The model has just applied a snapshot: start again from it. */
    snapshot(state) {
      slowAt = -Infinity;
      seedTeaching(tk, state);
      narrator.reset();
      nodeTree.reset();
    },
    /** The model has just applied `batch`. */
    batch(state, batch) {
      observeTeaching(tk, state, batch);
      // Echoes are seen in the message traces ("deliver" with echo set).
      const events = [...(batch.events ?? []), ...(batch.messages ?? [])];
      narrator.observe(events, contextOf(state), performance.now());
    },
    /** Show the tree of the node picked on the ring. */
    follow(id) {
      nodeTree.follow(id);
      slowAt = -Infinity;
    },
    render(state) {
      const lang = getLang();
      const now = performance.now();
      caption.render(narrator.next(now), narrator.history(), lang);
      if (now - slowAt < SLOW_MS && lang === slowLang) return;
      slowAt = now;
      slowLang = lang;
      nodeTree.render(state, tk);
      grid.render(state, tk);
      charts.render(state, tk, lang);
      glossary.render(lang);
    },
  };
}
