// Live charts, small: finality latency in epochs per finalized block,
// transactions finalized per second, and messages per epoch against the
// paper's n² − 1 (no echo) and n³ − n (echo) lines. Redrawn only when their
// data or the language changes.

import { t } from "../i18n.js";
import { finalizedPerSecond, messageBounds } from "../teaching.js";

const d3 = globalThis.d3;
const W = 420;
const H = 170;
const M = { top: 12, right: 14, bottom: 24, left: 44 };

function frame(svgEl) {
  const svg = d3.select(svgEl).attr("viewBox", `0 0 ${W} ${H}`);
  const plot = svg.append("g").attr("transform", `translate(${M.left},${M.top})`);
  return {
    svg,
    xAxis: plot.append("g").attr("class", "axis x")
      .attr("transform", `translate(0,${H - M.top - M.bottom})`),
    yAxis: plot.append("g").attr("class", "axis y"),
    marks: plot.append("g").attr("class", "marks"),
    empty: plot.append("text").attr("class", "empty")
      .attr("x", (W - M.left - M.right) / 2).attr("y", (H - M.top - M.bottom) / 2),
  };
}

const innerW = W - M.left - M.right;
const innerH = H - M.top - M.bottom;

function showEmpty(chart, empty) {
  chart.empty.text(empty ? t("charts.empty") : "");
}

function renderLatency(chart, tk) {
  const data = tk.latency;
  showEmpty(chart, !data.length);
  const x = d3.scaleBand().domain(data.map((d) => d.epoch)).range([0, innerW])
    .padding(0.2);
  const y = d3.scaleLinear()
    .domain([0, Math.max(3, d3.max(data, (d) => d.latency) ?? 0)]).nice().range([innerH, 0]);
  chart.xAxis.call(d3.axisBottom(x)
    .tickValues(data.map((d) => d.epoch).filter((e, i, all) => i % Math.ceil(all.length / 8) === 0))
    .tickFormat((e) => `b${e}`));
  chart.yAxis.call(d3.axisLeft(y).ticks(4).tickFormat(d3.format("d")));
  chart.marks.selectAll("rect.bar").data(data, (d) => d.hash).join("rect")
    .attr("class", "bar")
    .attr("x", (d) => x(d.epoch)).attr("width", x.bandwidth())
    .attr("y", (d) => y(Math.max(0, d.latency)))
    .attr("height", (d) => innerH - y(Math.max(0, d.latency)))
    .selectAll("title").data((d) => [d]).join("title")
    .text((d) => `b${d.epoch}: ${d.latency}`);
}

function renderThroughput(chart, tk) {
  const data = finalizedPerSecond(tk);
  showEmpty(chart, !data.length);
  const x = d3.scaleLinear().domain([-data.length + 1, 0]).range([0, innerW]);
  const y = d3.scaleLinear().domain([0, Math.max(2, d3.max(data, (d) => d.txs) ?? 0)])
    .nice().range([innerH, 0]);
  chart.xAxis.call(d3.axisBottom(x).ticks(6).tickFormat((s) => `${s} s`));
  chart.yAxis.call(d3.axisLeft(y).ticks(4).tickFormat(d3.format("d")));
  const last = data.length - 1;
  const area = d3.area().x((d, i) => x(i - last)).y0(innerH).y1((d) => y(d.txs))
    .curve(d3.curveStepAfter);
  chart.marks.selectAll("path.area").data(data.length ? [data] : []).join("path")
    .attr("class", "area").attr("d", area);
}

function renderMessages(chart, tk, state) {
  const data = tk.messages;
  const bounds = messageBounds(state.n || 0);
  showEmpty(chart, !data.length);
  const t0 = data[0]?.t ?? 0;
  const t1 = data.at(-1)?.t ?? 1;
  const x = d3.scaleLinear().domain([t0 - t1, 0]).range([0, innerW]);
  const top = Math.max(bounds.echo, d3.max(data, (d) => d.perEpoch) ?? 0) * 1.1;
  const y = d3.scaleLinear().domain([0, top || 1]).nice().range([innerH, 0]);
  chart.xAxis.call(d3.axisBottom(x).ticks(5).tickFormat((s) => `${Math.round(s)} s`));
  chart.yAxis.call(d3.axisLeft(y).ticks(4).tickFormat(d3.format("~s")));

  const refs = [{ key: "noEcho", value: bounds.noEcho, label: t("charts.noEcho") },
                { key: "echo", value: bounds.echo, label: t("charts.echo") }];
  const lines = chart.marks.selectAll("g.ref").data(refs, (r) => r.key).join((enter) => {
    const g = enter.append("g").attr("class", (r) => `ref ${r.key}`);
    g.append("line").attr("x1", 0).attr("x2", innerW);
    g.append("text").attr("x", 4);
    return g;
  });
  lines.select("line").attr("y1", (r) => y(r.value)).attr("y2", (r) => y(r.value));
  lines.select("text").attr("y", (r) => y(r.value) - 4).text((r) => `${r.label}: ${r.value}`);

  const line = d3.line().x((d) => x(d.t - t1)).y((d) => y(d.perEpoch));
  chart.marks.selectAll("path.measured").data(data.length ? [data] : []).join("path")
    .attr("class", "measured").attr("d", line);
  const last = data.length ? [data.at(-1)] : [];
  chart.marks.selectAll("text.measured-label").data(last).join("text")
    .attr("class", "measured-label")
    .attr("x", innerW - 2).attr("y", (d) => y(d.perEpoch) + 14)
    .text((d) => `${t("charts.measured")}: ${Math.round(d.perEpoch)}`);
}

export function createChartsView(root) {
  const latency = frame(root.querySelector("#chart-latency"));
  const throughput = frame(root.querySelector("#chart-tps"));
  const messages = frame(root.querySelector("#chart-messages"));
  let drawn = "";

  return {
    render(state, tk, lang) {
      // What the charts show changes with new finalizations, a new second, a
      // new message sample, n or the language; nothing else needs a redraw.
      const key = [tk.latency.length, tk.latency.at(-1)?.hash, Math.floor(tk.lastT),
                   tk.messages.length, tk.messages.at(-1)?.t, state.n, lang].join("|");
      if (key === drawn) return;
      drawn = key;
      renderLatency(latency, tk);
      renderThroughput(throughput, tk);
      renderMessages(messages, tk, state);
    },
  };
}
