// Controls of the whole run: pause the epochs, step one epoch at a time,
// resume, change Δ, and play one of the preset scenarios.

import { fieldValue } from "./transactions.js";

export function createControlsView(root, { onClock, onDelta, onScenario }) {
  const pause = root.querySelector("#btn-pause");
  const step = root.querySelector("#btn-step");
  const resume = root.querySelector("#btn-resume");
  const deltaForm = root.querySelector("#delta-form");
  const scenarioForm = root.querySelector("#scenario-form");
  const select = scenarioForm.elements.scenario;
  const error = root.querySelector("#controls-error");
  const about = root.querySelector("#scenario-about");
  let scenarios = [];

  const show = (reply) => {
    error.textContent = reply.ok ? "" : reply.error;
  };
  pause.addEventListener("click", async () => show(await onClock("pause")));
  step.addEventListener("click", async () => show(await onClock("step")));
  resume.addEventListener("click", async () => show(await onClock("resume")));
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
    about.textContent = reply.ok && chosen ? `${chosen.name}: ${chosen.description}` : "";
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
    clearScenario() {
      about.textContent = "";
    },
    render(state) {
      pause.disabled = state.paused;
      step.disabled = !state.paused;
      resume.disabled = !state.paused;
      const input = deltaForm.elements.delta;
      if (document.activeElement !== input) input.value = String(state.epochSeconds / 2);
    },
  };
}
