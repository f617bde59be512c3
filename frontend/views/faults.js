// Network faults from the page: delay and loss on a link (one way or both;
// clicking a link on the ring picks it), nodes put into partition groups and
// healed, and the asynchrony switch that makes every message slower than Δ
// until it is released (the moment of GST, "global stabilisation time").

import { fieldValue } from "./transactions.js";

const GROUPS = ["A", "B", "C"];

export function createFaultsView(root, { onLink, onPartition, onHeal, onAsynchrony }) {
  const linkForm = root.querySelector("#link-form");
  const partitionForm = root.querySelector("#partition-form");
  const groupsEl = root.querySelector("#partition-nodes");
  const heal = root.querySelector("#btn-heal");
  const asynchrony = root.querySelector("#asynchrony");
  const error = root.querySelector("#faults-error");
  let ids = [];
  let shownGroups = "";

  const show = (reply) => {
    error.textContent = reply.ok ? "" : reply.error;
  };

  function options(select, values) {
    const current = select.value;
    select.replaceChildren(...values.map((id) => {
      const option = document.createElement("option");
      option.value = String(id);
      option.textContent = `n${id}`;
      return option;
    }));
    if (values.map(String).includes(current)) select.value = current;
  }

  function buildGroups() {
    groupsEl.replaceChildren(...ids.map((id) => {
      const label = document.createElement("label");
      label.className = "group-pick";
      label.append(`n${id} `);
      const select = document.createElement("select");
      select.name = `n${id}`;
      select.dataset.node = String(id);
      for (const value of [...GROUPS, ""]) {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = value || "alone";
        select.append(option);
      }
      label.append(select);
      return label;
    }));
  }

  function showGroups(groups) {
    // The form follows the cluster unless someone is choosing groups in it.
    const key = JSON.stringify(groups);
    if (key === shownGroups || partitionForm.contains(document.activeElement)) return;
    shownGroups = key;
    const groupOf = new Map();
    groups.forEach((g, i) => g.forEach((id) => groupOf.set(id, GROUPS[i] ?? "")));
    for (const select of groupsEl.querySelectorAll("select")) {
      const id = Number(select.dataset.node);
      select.value = groups.length ? groupOf.get(id) ?? "" : "A";
    }
  }

  linkForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const f = linkForm.elements;
    const body = { from: Number(f.from.value), to: Number(f.to.value),
                   both: f.both.checked };
    const delay = fieldValue(f.delay_ms.value);
    const loss = fieldValue(f.loss.value);
    if (delay !== undefined) body.delay_ms = delay;
    // Typed in per cent, sent as a fraction; text goes as it is, for the
    // server to say what is wrong with it.
    if (loss !== undefined) body.loss = typeof loss === "number" ? loss / 100 : loss;
    show(await onLink(body));
  });

  partitionForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const groups = GROUPS.map((name) => ids.filter((id) =>
      partitionForm.elements[`n${id}`].value === name)).filter((g) => g.length);
    show(await onPartition(groups));
  });

  heal.addEventListener("click", async () => {
    shownGroups = "";
    show(await onHeal());
  });

  asynchrony.addEventListener("change", async () => {
    const reply = await onAsynchrony(asynchrony.checked);
    if (!reply.ok) asynchrony.checked = !asynchrony.checked;
    show(reply);
  });

  return {
    /** A link of the ring was clicked: choose it in the form. */
    pickLink(a, b) {
      linkForm.elements.from.value = String(a);
      linkForm.elements.to.value = String(b);
      linkForm.elements.delay_ms.focus();
    },
    render(state) {
      const now = [...state.nodes.keys()].sort((a, b) => a - b);
      if (now.join() !== ids.join()) {
        ids = now;
        options(linkForm.elements.from, ids);
        options(linkForm.elements.to, ids);
        if (ids.length > 1 && linkForm.elements.to.value === linkForm.elements.from.value) {
          linkForm.elements.to.value = String(ids[1]);
        }
        buildGroups();
        shownGroups = "";
      }
      showGroups(state.faults?.groups ?? []);
      if (document.activeElement !== asynchrony) {
        asynchrony.checked = Boolean(state.faults?.asynchrony);
      }
    },
  };
}
