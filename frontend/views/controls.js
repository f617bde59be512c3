// Controls of the whole run: pause the epochs, step one epoch at a time,
// resume, change Δ, play one of the preset scenarios and save the session as
// a scenario of its own; the presenter token; the keyboard shortcuts
// (space pauses or resumes, → steps, ? shows the shortcuts).

import { fieldValue } from "./transactions.js";

const TOKEN_KEY = "streamlet-lab.presenter-token";
// Keys typed into these are the field's own, never a shortcut.
const OWN_KEYS = "input, textarea, select, button, a, [contenteditable], [role=button]";

/**
 * The presenter token: from the address (?token=…, which is then taken out of
 * the address bar so that a projected screen does not show it) or from this
 * tab's storage; "" when there is none.
 */
export function presenterToken() {
  const url = new URL(globalThis.location.href);
  const given = url.searchParams.get("token");
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

function saveToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Download `blob` as `filename` (an attachment the page fetched itself). */
export function download(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** The file name a Content-Disposition header gives, or `fallback`. */
export function attachmentName(response, fallback) {
  const header = response.headers.get("Content-Disposition") ?? "";
  const match = /filename="([^"]+)"/.exec(header);
  return match ? match[1] : fallback;
}

export function createControlsView(root, { onClock, onDelta, onScenario, onToken }) {
  const pause = root.querySelector("#btn-pause");
  const step = root.querySelector("#btn-step");
  const resume = root.querySelector("#btn-resume");
  const deltaForm = root.querySelector("#delta-form");
  const scenarioForm = root.querySelector("#scenario-form");
  const select = scenarioForm.elements.scenario;
  const error = root.querySelector("#controls-error");
  const about = root.querySelector("#scenario-about");
  const saveForm = root.querySelector("#save-scenario-form");
  const tokenForm = root.querySelector("#token-form");
  const role = root.querySelector("#role");
  const overlay = document.querySelector("#shortcuts");
  let scenarios = [];
  let model = null;  // the live model, read when a key is pressed
  let live = true;

  const show = (reply) => {
    error.textContent = reply.ok ? "" : reply.error;
  };
  const clock = async (action) => show(await onClock(action));
  pause.addEventListener("click", () => clock("pause"));
  step.addEventListener("click", () => clock("step"));
  resume.addEventListener("click", () => clock("resume"));
  deltaForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = fieldValue(deltaForm.elements.delta.value);
    show(await onDelta(value === undefined ? "" : value));
  });
  scenarioForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "starting the scenario's cluster…";
    const chosen = scenarios.find((s) => s.id === select.value);
    const reply = await onScenario(select.value);
    show(reply);
    if (reply.ok && chosen) about.textContent = `${chosen.name}: ${chosen.description}`;
  });

  saveForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const query = new URLSearchParams({
      name: saveForm.elements.name.value.trim() || "Saved session",
      description: saveForm.elements.description.value,
    });
    try {
      const response = await fetch(`/api/scenario/export?${query}`);
      if (!response.ok) {
        show({ ok: false, error: (await response.json()).error });
        return;
      }
      download(await response.blob(), attachmentName(response, "scenario.json"));
      show({ ok: true });
    } catch {
      show({ ok: false, error: "the server could not be reached" });
    }
  });

  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = tokenForm.elements.token.value.trim();
    tokenForm.elements.token.value = "";
    saveToken(token);
    onToken(token);
  });

  // --- keyboard -------------------------------------------------------------

  // Focus goes back where it was when the dialog opened: left on the hidden
  // close button, it would make the next space or arrow a button's key.
  let opener = null;
  function showShortcuts(open) {
    if (open === !overlay.hidden) return;
    const close = overlay.querySelector("button");
    if (open) opener = document.activeElement;
    overlay.hidden = !open;
    if (open) {
      close.focus();
    } else if (opener instanceof HTMLElement && opener !== document.body
               && opener.isConnected) {
      opener.focus();
    } else {
      close.blur();
    }
  }
  overlay.querySelector("button").addEventListener("click", () => showShortcuts(false));
  root.querySelector("#btn-shortcuts").addEventListener("click", () => showShortcuts(true));

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "?") {
      event.preventDefault();
      showShortcuts(overlay.hidden);
      return;
    }
    if (!overlay.hidden) {
      if (event.key === "Escape") showShortcuts(false);
      return;
    }
    if (event.target instanceof Element && event.target.closest(OWN_KEYS)) return;
    if (event.key === " ") {
      event.preventDefault();
      clock(model?.paused ? "resume" : "pause");
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      if (model?.paused) clock("step");
      else show({ ok: false, error: "→ steps one epoch while paused: press space first" });
    }
  });

  return {
    setScenarios(list) {
      scenarios = list;
      // Options are rebuilt only here, once per page load, from server text.
      select.replaceChildren(...list.map((s) => {
        const option = document.createElement("option");
        option.value = s.id;
        option.textContent = s.name;
        return option;
      }));
    },
    /** The scenario the server is playing (or null), told to every page. */
    showScenario(info) {
      about.textContent = info ? `${info.name}: ${info.description}` : "";
    },
    clearScenario() {
      about.textContent = "";
    },
    /** This page's role: {presenter, token_required, message} from the server. */
    setRole(info) {
      role.hidden = !info.token_required;
      role.className = `badge ${info.presenter ? "ok" : "viewer"}`;
      role.textContent = info.presenter ? "presenter" : "viewer";
      role.title = info.message || "this page holds the presenter token";
      tokenForm.hidden = !info.token_required || info.presenter;
      if (info.message && !info.presenter) show({ ok: false, error: info.message });
    },
    /** Live or replayed: a replay has no clock to pause. */
    setLive(isLive) {
      live = isLive;
    },
    render(state) {
      model = state;
      pause.disabled = state.paused || !live;
      step.disabled = !state.paused || !live;
      resume.disabled = !state.paused || !live;
      const input = deltaForm.elements.delta;
      if (document.activeElement !== input) input.value = String(state.epochSeconds / 2);
    },
  };
}
