// Network view: the nodes on a ring, the epoch's leader ringed in orange,
// crashed nodes greyed with a cross, and every traced message travelling
// from its sender to its receiver, for as long as the trip really took plus
// a floor that keeps a 1 ms hop visible.
//
// The messages are drawn on a canvas laid over the links, once a frame
// (tick). As SVG dots moved by d3 they were 2,000 DOM changes a second; moved
// by compositor animations, one layer each, and the compositor of a machine
// without a GPU could not keep up with a hundred of them
// (bench/dashboard_render.py, docs/PERFORMANCE.md).

import { t } from "../i18n.js";
import { dotAt, messageTrip, ringPosition } from "../layout.js";
import { faultyLinks, travelMs } from "../model.js";
import { setAttr, setClass, setText } from "./dom.js";

const d3 = globalThis.d3;
const CX = 300;
const CY = 285;
const RING = 205;
const W = 600;  // the SVG's viewBox (templates/index.html)
const H = 560;
// Colours of the dots by message kind, as CSS custom properties (dashboard.css).
const KIND_COLOUR = { propose: "--orange", vote: "--green", tx: "--purple",
                      sync_request: "--yellow", sync_response: "--yellow" };
// At most this many messages are drawn at once; the rest are counted.
const MAX_IN_FLIGHT = 220;

function crossPath(r) {
  return `M${-r},${-r}L${r},${r}M${r},${-r}L${-r},${r}`;
}

export function createNetworkView(svgEl, { onSelect, onLink }) {
  const svg = d3.select(svgEl);
  const gLinks = svg.append("g").attr("class", "links");
  const gHits = svg.append("g").attr("class", "link-hits");
  // A foreignObject keeps the SVG's coordinates and the canvas's place
  // between the links and the nodes.
  const messageLayer = svg.append("foreignObject").attr("class", "messages")
    .attr("x", 0).attr("y", 0).attr("width", W).attr("height", H);
  const canvas = messageLayer.append("xhtml:canvas").node();
  const scale = Math.min(2, globalThis.devicePixelRatio || 1);
  canvas.width = W * scale;
  canvas.height = H * scale;
  const ctx = canvas.getContext("2d");
  let flying = [];     // the dots to draw: trip, start time, duration, looks
  let painted = false; // something is on the canvas
  let colours = null;
  const gLeader = svg.append("g").attr("class", "leader");
  const gNodes = svg.append("g").attr("class", "nodes");
  const started = new Map();  // message key -> performance.now() when drawn
  let showEchoes = false;
  let notDrawn = 0;
  let positions = new Map();
  let leaderPlace = "";

  function layout(state) {
    const ids = [...state.nodes.keys()].sort((a, b) => a - b);
    positions = new Map(ids.map((id, i) => [id, ringPosition(i, ids.length, CX, CY, RING)]));
    return state.n > 9 ? 25 : 34;
  }

  function renderNodes(state, selected, radius) {
    const nodes = [...state.nodes.values()];
    const at = (d) => {
      const p = positions.get(d.id);
      return `translate(${p.x},${p.y})`;
    };
    const join = gNodes.selectAll("g.node").data(nodes, (d) => d.id).join(
      (enter) => {
        const g = enter.append("g")
          .attr("class", "node")
          .attr("data-node-id", (d) => d.id)
          .attr("tabindex", 0)
          .attr("role", "button")
          .attr("transform", `translate(${CX},${CY})`)
          .style("opacity", 0)
          .on("click", (event, d) => onSelect(d.id))
          .on("keydown", (event, d) => {
            if (event.key === "Enter" || event.key === " ") onSelect(d.id);
          });
        g.append("circle").attr("class", "body");
        g.append("path").attr("class", "cross");
        g.append("text").attr("class", "label");
        g.append("text").attr("class", "sub");
        g.append("title");
        g.transition().duration(600).attr("transform", at).style("opacity", 1);
        return g;
      },
      (update) => update.call(setAttr, "transform", at),
      (exit) => exit.transition().duration(300).style("opacity", 0).remove(),
    );
    join
      .call(setClass, "crashed", (d) => d.status === "crashed")
      .call(setClass, "starting", (d) => d.status === "starting")
      .call(setClass, "selected", (d) => d.id === selected)
      .call(setAttr, "aria-label", (d) => t("network.nodeAria",
                                            { id: d.id, status: t(`status.${d.status}`) }));
    join.select("circle.body").call(setAttr, "r", radius);
    join.select("text.label").call(setText, (d) => `n${d.id}`);
    join.select("text.sub")
      .call(setAttr, "y", radius + 22)
      .call(setText, (d) => (d.status === "crashed" ? t("network.crashed")
        : t("network.height", { height: d.finalizedHeight })));
    join.select("path.cross").call(setAttr, "d", crossPath(radius * 0.72));
    join.select("title").call(setText, (d) => t("network.nodeTitle", { id: d.id,
      status: t(`status.${d.status}`), pid: d.pid ?? "–", height: d.finalizedHeight }));
  }

  function renderLeader(state, radius) {
    const leader = positions.get(state.leader);
    const data = leader ? [state.leader] : [];
    const ring = gLeader.selectAll("circle.leader-ring").data(data).join(
      (enter) => enter.append("circle").attr("class", "leader-ring")
        .attr("cx", leader?.x ?? CX).attr("cy", leader?.y ?? CY),
    );
    const tag = gLeader.selectAll("text.leader-tag").data(data).join(
      (enter) => enter.append("text").attr("class", "leader-tag").text("leader")
        .attr("x", leader?.x ?? CX).attr("y", (leader?.y ?? CY) - radius - 14),
    );
    ring.call(setAttr, "r", radius + 9);
    tag.call(setText, t("network.leader"));
    // Move only when the leader changes: restarting the move at every render
    // would keep the ring from ever arriving.
    const placeKey = `${state.leader}@${leader?.x},${leader?.y}`;
    if (leader && placeKey !== leaderPlace) {
      leaderPlace = placeKey;
      const from = { x: Number(ring.attr("cx")), y: Number(ring.attr("cy")) };
      ring.attr("cx", leader.x).attr("cy", leader.y);
      tag.attr("x", leader.x).attr("y", leader.y - radius - 14);
      // The ring and its tag are at the new leader already; a transform
      // animation, which the compositor runs, slides them there from the old
      // one (the leader changes every epoch: a d3 transition of cx and cy
      // repainted the page at most frames).
      const slide = [
        { transform: `translate(${from.x - leader.x}px, ${from.y - leader.y}px)` },
        { transform: "translate(0px, 0px)" },
      ];
      for (const el of [ring.node(), tag.node()]) {
        el.animate(slide, { duration: 350, easing: "ease-in-out" });
      }
    }
  }

  // A line from node a to node b of its datum.
  function setLine(line) {
    line.call(setAttr, "x1", (l) => positions.get(l.a).x)
      .call(setAttr, "y1", (l) => positions.get(l.a).y)
      .call(setAttr, "x2", (l) => positions.get(l.b).x)
      .call(setAttr, "y2", (l) => positions.get(l.b).y);
  }

  function renderLinks(state) {
    const links = faultyLinks(state).filter((l) => positions.has(l.a) && positions.has(l.b));
    // Lines on their way out are marked and left out of the next joins: a
    // render at every batch would otherwise restart their fade-out for as long
    // as batches keep coming, and a healed cut would stay drawn.
    gLinks.selectAll("line.link:not(.leaving)").data(links, (l) => l.key).join(
      (enter) => enter.append("line").style("opacity", 0)
        .call((line) => line.transition().duration(400).style("opacity", 1)),
      (update) => update,
      (exit) => exit.classed("leaving", true)
        .transition().duration(400).style("opacity", 0).remove(),
    )
      .call(setAttr, "class", (l) => `link ${l.kind}`)
      .call(setLine);
  }

  // Every pair of nodes has a wide invisible line over its link: clicking it
  // picks that link in the network faults panel.
  function renderHits() {
    const ids = [...positions.keys()];
    const pairs = [];
    for (const a of ids) {
      for (const b of ids) if (a < b) pairs.push({ key: `${a}-${b}`, a, b });
    }
    gHits.selectAll("line.link-hit").data(onLink ? pairs : [], (p) => p.key).join(
      (enter) => enter.append("line").attr("class", "link-hit")
        .attr("data-link", (p) => p.key)
        .on("click", (event, p) => onLink(p.a, p.b))
        .call((line) => line.append("title")
          .text((p) => `n${p.a} – n${p.b}: click to add delay or loss`)),
    )
      .call(setLine);
  }

  function renderMessages(state) {
    const now = performance.now();
    const visible = [];
    let inFlight = 0;
    for (const m of state.messages.values()) {
      if (m.echo && !showEchoes) continue;
      if (!positions.has(m.from) || !positions.has(m.to)) continue;
      let t0 = started.get(m.key);
      if (t0 === undefined) {
        if (inFlight >= MAX_IN_FLIGHT) {
          started.set(m.key, -Infinity);
          notDrawn++;
          continue;
        }
        t0 = now;
        started.set(m.key, t0);
      }
      if (now - t0 < travelMs(m)) {
        visible.push(m);
        inFlight++;
      }
    }
    for (const key of started.keys()) {
      if (!state.messages.has(key)) started.delete(key);
    }

    flying = visible.map((m) => ({
      trip: messageTrip(positions.get(m.from), positions.get(m.to), m.dropped),
      t0: started.get(m.key), ms: travelMs(m), dropped: m.dropped, echo: m.echo,
      kind: m.kind,
    }));
    // Read by the benchmarks (the dots are no longer elements to count).
    const count = String(flying.length);
    if (canvas.dataset.inFlight !== count) canvas.dataset.inFlight = count;
  }

  function readColours() {
    const css = getComputedStyle(svgEl);
    const get = (name) => css.getPropertyValue(name).trim() || "#999";
    const byKind = Object.fromEntries(Object.entries(KIND_COLOUR)
      .map(([kind, name]) => [kind, get(name)]));
    return { byKind, other: get("--grey"), ink: get("--ink"), lost: get("--vermillion") };
  }

  // One dot as the stylesheet drew the SVG ones: a filled circle with a thin
  // ink ring, an echo smaller, faint and dashed; a lost message a red ring
  // that grows and fades where it was dropped.
  function drawDot(dot, f) {
    ctx.beginPath();
    if (dot.lost) {
      ctx.globalAlpha = 1 - dot.fade;
      ctx.arc(dot.x, dot.y, (f.echo ? 5 : 8) + 3 * dot.fade, 0, 2 * Math.PI);
      ctx.setLineDash([]);
      ctx.lineWidth = 3;
      ctx.strokeStyle = colours.lost;
      ctx.stroke();
      ctx.globalAlpha = 1;
      return;
    }
    ctx.arc(dot.x, dot.y, f.echo ? 5 : 8, 0, 2 * Math.PI);
    ctx.globalAlpha = f.echo ? 0.35 : 1;
    ctx.fillStyle = colours.byKind[f.kind] ?? colours.other;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.setLineDash(f.echo ? [2, 2] : []);
    ctx.lineWidth = 1;
    ctx.strokeStyle = colours.ink;
    ctx.stroke();
  }

  return {
    setShowEchoes(value) {
      showEchoes = value;
    },
    notDrawn() {
      return notDrawn;
    },
    /** Draw the messages in flight at `now` (performance.now()); every frame. */
    tick(now) {
      if (!flying.length && !painted) return;
      colours ??= readColours();
      ctx.setTransform(scale, 0, 0, scale, 0, 0);
      ctx.clearRect(0, 0, W, H);
      painted = false;
      for (const f of flying) {
        const elapsed = now - f.t0;
        if (elapsed >= f.ms) continue;
        drawDot(dotAt(f.trip, elapsed, f.ms, f.dropped), f);
        painted = true;
      }
    },
    render(state, selected) {
      const radius = layout(state);
      renderNodes(state, selected, radius);
      renderLinks(state);
      renderHits();
      renderLeader(state, radius);
      renderMessages(state);
    },
    reset() {
      started.clear();
      leaderPlace = "";
      flying = [];
    },
  };
}
