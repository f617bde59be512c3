// "Keep the newest in view" for a scrolled panel, without forcing a layout.
//
// Reading scrollLeft or scrollHeight right after a view changed the DOM makes
// the browser lay the whole page out on the spot, and writing scrollLeft does
// it again: with three panels that follow their newest entry this was the
// dearest thing a render did (bench/dashboard_render.py, docs/PERFORMANCE.md).
// Here whether the viewer is at the end comes from scroll events, and the jump
// to the end is made in a task after the frame, when the layout is done anyway.

const due = new Set();
let channel = null;

/** Run `jump` once in a task after this frame (the same jump is run once). */
function afterFrame(jump) {
  if (channel === null) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => {
      const jumps = [...due];
      due.clear();
      for (const j of jumps) j();
    };
  }
  if (due.has(jump)) return;
  due.add(jump);
  if (due.size === 1) channel.port2.postMessage(0);
}

/**
 * Follow the end of `el` along `axis` ("x" or "y") while the viewer is there.
 * Call `contentChanged()` after each render; scrolling back stops following,
 * scrolling to within `slackPx` of the end starts it again. `schedule` runs
 * the jump later (after the frame; tests pass their own).
 */
export function createFollower(el, axis, { slackPx = 40, schedule = afterFrame } = {}) {
  const horizontal = axis === "x";
  let following = true;
  const atEnd = () => (horizontal
    ? el.scrollLeft + el.clientWidth >= el.scrollWidth - slackPx
    : el.scrollTop + el.clientHeight >= el.scrollHeight - slackPx);
  el.addEventListener("scroll", () => {
    following = atEnd();
  }, { passive: true });

  function jump() {
    if (!following) return;
    if (horizontal) {
      const end = el.scrollWidth - el.clientWidth;
      if (el.scrollLeft < end) el.scrollLeft = end;
    } else {
      const end = el.scrollHeight - el.clientHeight;
      if (el.scrollTop < end) el.scrollTop = end;
    }
  }

  return {
    contentChanged() {
      if (following) schedule(jump);
    },
    isFollowing: () => following,
  };
}
