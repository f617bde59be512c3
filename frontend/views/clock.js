// Epoch clock: the current epoch, its leader and the time left in it,
// computed every frame from the genesis time and the epoch length (2Δ).

import { t } from "../i18n.js";
import { epochClock } from "../layout.js";

export function createClockView(root) {
  const epochEl = root.querySelector("#clock-epoch");
  const leaderEl = root.querySelector("#clock-leader");
  const leftEl = root.querySelector("#clock-left");
  const fillEl = root.querySelector("#clock-fill");

  return {
    render(state, nowS) {
      const clock = epochClock(state, nowS);
      epochEl.textContent = clock.epoch ? String(clock.epoch) : "–";
      leaderEl.textContent = clock.leader ? `n${clock.leader}` : "–";
      if (clock.paused) leftEl.textContent = t("clock.paused");
      else leftEl.textContent = clock.leftS == null ? "–" : t("clock.left", { s: clock.leftS.toFixed(2) });
      fillEl.style.width = `${(clock.fraction * 100).toFixed(1)}%`;
    },
  };
}
