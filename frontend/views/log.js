// Event log: the cluster's story in readable lines, newest at the bottom.

const d3 = globalThis.d3;
const SHOWN = 80;

export function createLogView(listEl) {
  const list = d3.select(listEl);
  return {
    render(state) {
      const following = listEl.scrollTop + listEl.clientHeight >= listEl.scrollHeight - 30;
      list.selectAll("li").data(state.log.slice(-SHOWN), (line) => line.id).join(
        (enter) => enter.append("li")
          .attr("class", (line) => `ev-${line.type}`)
          .text((line) => line.text),
        (update) => update,
        (exit) => exit.remove(),
      );
      if (following) listEl.scrollTop = listEl.scrollHeight;
    },
  };
}
