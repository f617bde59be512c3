// Transactions: the form (checked by the server, whose message is shown as
// text), the list of this page's transactions with their progress, and the
// switch and rate for random transactions.

import { t } from "../i18n.js";

const d3 = globalThis.d3;
const SHOWN = 12;

/** The typed text as JSON: a number when it reads as one, else the text
 * itself, so the server's check can say what is wrong with it. */
export function fieldValue(text) {
  const t = text.trim();
  if (t === "") return undefined;
  if (/^[+-]?\d+$/.test(t)) return Number.parseInt(t, 10);
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number.parseFloat(t);
  return t;
}

export function createTransactionsView(root, { onSubmit, onRate }) {
  const form = root.querySelector("#tx-form");
  const error = root.querySelector("#tx-error");
  const list = d3.select(root.querySelector("#tx-list"));
  const randomSwitch = root.querySelector("#tx-random");
  const rateInput = root.querySelector("#tx-rate");
  const rateError = root.querySelector("#tx-rate-error");

  function markInvalid(message) {
    for (const input of form.querySelectorAll("input")) {
      const bad = message != null && message.startsWith(input.name);
      input.setAttribute("aria-invalid", bad ? "true" : "false");
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    for (const name of ["sender", "receiver", "amount"]) {
      const value = fieldValue(form.elements[name].value);
      if (value !== undefined) body[name] = value;
    }
    const reply = await onSubmit(body);
    if (reply.ok) {
      error.textContent = "";
      markInvalid(null);
    } else {
      error.textContent = reply.error;
      markInvalid(reply.error);
    }
  });

  async function sendRate() {
    const rate = randomSwitch.checked ? fieldValue(rateInput.value) : 0;
    const reply = await onRate(rate === undefined ? "" : rate);
    rateError.textContent = reply.ok ? "" : reply.error;
    if (!reply.ok) randomSwitch.checked = false;
  }
  randomSwitch.addEventListener("change", sendRate);
  rateInput.addEventListener("change", () => randomSwitch.checked && sendRate());

  return {
    setRate(rate) {
      randomSwitch.checked = rate > 0;
      if (rate > 0) rateInput.value = String(rate);
    },
    render(state) {
      const mine = [...state.txs.values()].filter((tx) => tx.mine).slice(-SHOWN).reverse();
      list.selectAll("li").data(mine, (tx) => tx.id).join(
        (enter) => {
          const li = enter.append("li").attr("data-tx-id", (tx) => tx.id);
          li.append("span").attr("class", "what");
          li.append("span").text(" — ");
          li.append("span").attr("class", "state");
          return li;
        },
      )
        .attr("class", (tx) => `tx ${tx.status}`)
        .call((li) => {
          li.select(".what").text((tx) => t("tx.line", tx));
          li.select(".state").text((tx) => (tx.epoch != null && tx.status !== "pending"
            ? t("tx.statusIn", { status: t(`tx.status.${tx.status}`), epoch: tx.epoch })
            : t(`tx.status.${tx.status}`)));
        });
    },
  };
}
