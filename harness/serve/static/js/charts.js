// Charts: uPlot (vendored, static/vendor/uplot) for series and bars; small SVG of our own for
// sparklines and range rows. Labels are placed by uPlot with textContent, and by us as SVG text.

import { h, s, fmt } from "./dom.js";

const PALETTE = ["#2563eb", "#059669", "#d97706", "#7c3aed", "#dc2626", "#0891b2", "#db2777", "#65a30d"];
export const color = (i) => PALETTE[i % PALETTE.length];

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const COUNTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];

// `labels` sets the room between x ticks, so long labels never run into each other.
function axes(yFormat, xValues, labels, integer = false) {
  const ink = cssVar("--muted");
  const grid = { stroke: cssVar("--line-2"), width: 1 };
  const space = Math.max(80, 7 * Math.max(0, ...labels.map((label) => String(label).length)) + 16);
  return [
    { stroke: ink, grid, ticks: { show: false }, values: xValues, space, incrs: COUNTS },
    { stroke: ink, grid, ticks: { show: false }, size: 60, values: (u, ticks) => ticks.map(yFormat), ...(integer ? { incrs: COUNTS } : {}) },
  ];
}

function mount(target, make) {
  const width = Math.max(280, target.clientWidth || 600);
  const plot = make(width);
  const observer = new ResizeObserver(() => {
    const next = Math.max(280, target.clientWidth);
    if (Math.abs(next - plot.width) > 4) plot.setSize({ width: next, height: plot.height });
  });
  observer.observe(target);
  return () => {
    observer.disconnect();
    plot.destroy();
  };
}

// One point per label (a run), evenly spaced: series [{label, values, color?}]. Returns a
// function that removes the chart.
export function seriesChart(target, labels, series, { yFormat = String, height = 220, yRange } = {}) {
  if (!window.uPlot || !labels.length) return () => {};
  const x = labels.map((_, i) => i);
  const tick = (u, ticks) => ticks.map((t) => (Number.isInteger(t) && labels[t] !== undefined ? labels[t] : ""));
  return mount(target, (width) => new window.uPlot({
    width,
    height,
    cursor: { points: { size: 7 } },
    legend: { show: series.length > 1 },
    scales: { x: { time: false, range: [-0.3, Math.max(1, labels.length - 0.7)] }, y: yRange ? { range: yRange } : { auto: true } },
    axes: axes(yFormat, tick, labels),
    series: [
      { label: "run", value: (u, v) => (v === null || labels[v] === undefined ? "" : labels[v]) },
      ...series.map((item, i) => ({
        label: item.label,
        stroke: item.color || color(i),
        width: 2,
        spanGaps: true,
        points: { show: true, size: 7, fill: item.color || color(i) },
        value: (u, v) => (v === null || v === undefined ? "" : yFormat(v)),
      })),
    ],
  }, [x, ...series.map((item) => item.values)], target));
}

// Runs' starts as short axis labels (UTC): "12-06 14:09"; the date left out when every run is on
// one day, and seconds added when two runs started in the same minute, so that no two points
// carry the same label.
export function shortTimes(texts) {
  const iso = texts.map((text) => {
    const moment = new Date(text);
    return Number.isNaN(moment.getTime()) ? null : moment.toISOString();
  });
  const known = iso.filter((stamp) => stamp !== null);
  const oneDay = new Set(known.map((stamp) => stamp.slice(0, 10))).size <= 1;
  const minutes = known.map((stamp) => stamp.slice(0, 16));
  const seconds = new Set(minutes).size < minutes.length;
  return iso.map((stamp, i) => {
    if (stamp === null) return String(texts[i] ?? "");
    const time = stamp.slice(11, seconds ? 19 : 16);
    return oneDay ? time : `${stamp.slice(5, 10)} ${time}`;
  });
}

// One bar per label, one series per metric value.
export function barChart(target, labels, series, { yFormat = String, height = 220, integer = false } = {}) {
  if (!window.uPlot || !labels.length) return () => {};
  const x = labels.map((_, i) => i);
  const bars = window.uPlot.paths.bars({ size: [0.6 / series.length, 80], gap: 2 });
  const short = (text) => (text.length > 18 ? `${text.slice(0, 17)}…` : text);
  return mount(target, (width) => new window.uPlot({
    width,
    height,
    legend: { show: series.length > 1 },
    cursor: { points: { show: false } },
    scales: { x: { time: false, range: [-0.6, labels.length - 0.4] }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] } },
    axes: axes(yFormat, (u, ticks) => ticks.map((t) => (Number.isInteger(t) && labels[t] !== undefined ? short(labels[t]) : "")), labels.map(short), integer),
    series: [
      { value: (u, v) => (v === null || labels[v] === undefined ? "" : labels[v]) },
      ...series.map((item, i) => ({
        label: item.label,
        fill: (item.color || color(i)) + "cc",
        stroke: item.color || color(i),
        paths: bars,
        points: { show: false },
        value: (u, v) => (v === null || v === undefined ? "" : yFormat(v)),
      })),
    ],
  }, [x, ...series.map((item) => item.values)], target));
}

// A histogram of `values` in `buckets` equal bins, drawn with barChart.
export function histogram(target, values, { buckets = 12, format = String, height = 220 } = {}) {
  if (!values.length) return () => {};
  const low = Math.min(...values);
  const high = Math.max(...values);
  const width = (high - low) / buckets || 1;
  const counts = new Array(buckets).fill(0);
  for (const value of values) counts[Math.min(buckets - 1, Math.floor((value - low) / width))] += 1;
  const labels = counts.map((_, i) => format(low + i * width));
  return barChart(target, labels, [{ label: "attempts", values: counts }], { yFormat: (v) => String(Math.round(v)), integer: true, height });
}

// A sparkline of values in [0, 1] (nulls skipped), as SVG.
export function sparkline(values, { width = 96, height = 24 } = {}) {
  const svg = s("svg", { class: "spark", width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  const points = values.map((v, i) => [i, v]).filter(([, v]) => v !== null && v !== undefined);
  if (!points.length) return svg;
  const step = values.length > 1 ? (width - 6) / (values.length - 1) : 0;
  const xy = points.map(([i, v]) => [3 + i * step, 3 + (1 - v) * (height - 6)]);
  const line = xy.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
  const area = `${line}L${xy[xy.length - 1][0].toFixed(1)},${height}L${xy[0][0].toFixed(1)},${height}Z`;
  svg.append(s("path", { class: "area", d: area }), s("path", { class: "line", d: line }));
  const [lx, ly] = xy[xy.length - 1];
  svg.append(s("circle", { cx: lx.toFixed(1), cy: ly.toFixed(1), r: 2.5 }));
  svg.append(s("title", {}, values.map((v) => fmt.pct(v)).join(" → ")));
  return svg;
}

// Rows of [label, min, mean, max]: a bar from min to max with a dot at the mean, per row.
export function rangeRows(rows, { format = String } = {}) {
  const max = Math.max(1, ...rows.map((row) => row[3]));
  const at = (v) => `${(v / max) * 100}%`;
  return h("div", { class: "ranges" }, rows.map(([label, low, mean, high]) => {
    const span = h("span", { class: "span" });
    span.style.left = at(low);
    span.style.width = `calc(${at(high - low)} + 2px)`;
    const dot = h("span", { class: "dot" });
    dot.style.left = `calc(${at(mean)} - 4px)`;
    return h("div", { class: "range", title: `${label}: ${format(low)} – ${format(high)}, mean ${format(mean)}` },
      h("span", { class: "label" }, label),
      h("span", { class: "track" }, span, dot),
      h("span", { class: "value" }, format(mean)));
  }), h("div", { class: "range axis" }, h("span", {}), h("span", { class: "track-axis" }, h("span", {}, "0"), h("span", {}, format(max))), h("span", {})));
}
